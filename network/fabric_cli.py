"""Running Fabric's own command-line tools as an organisation's identity.

The peer CLI reads its identity and peer address from ``CORE_PEER_*`` variables; this module
builds them from the layout so that every call names who acts (which org, which user).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from network.binaries import locate
from network.layout import Layout
from network.topology import Org, Topology


class FabricCommandFailed(RuntimeError):
    def __init__(self, what: str, output: str) -> None:
        super().__init__(f"{what} failed:\n{output.strip()[-3000:]}")
        self.output = output


def peer_env(layout: Layout, topo: Topology, org: Org, user: str = "admin", target: Org | None = None) -> dict[str, str]:
    """Environment for ``peer`` acting as ``user`` of ``org`` against ``target``'s peer (default: its own)."""
    target = target or org
    return {
        "FABRIC_CFG_PATH": str(layout.node_dir(target.name, "peer0")),
        "CORE_PEER_LOCALMSPID": org.msp_id,
        "CORE_PEER_MSPCONFIGPATH": str(layout.user_dir(org.name, user) / "msp"),
        "CORE_PEER_ADDRESS": f"{topo.host}:{target.peer_port}",
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_ROOTCERT_FILE": str(layout.ca_cert(target.name)),
        "CORE_PEER_TLS_SERVERHOSTOVERRIDE": "",
        "FABRIC_LOGGING_SPEC": "warning",
    }


def orderer_args(layout: Layout, topo: Topology) -> list[str]:
    """``-o``/``--cafile`` for the first orderer (any Raft member forwards to the leader)."""
    org = topo.orderer_orgs[0]
    return ["-o", f"{topo.host}:{org.orderer_port}", "--tls", "--cafile", str(layout.ca_cert(org.name))]


def peer_target_args(layout: Layout, topo: Topology, orgs: list[Org]) -> list[str]:
    args: list[str] = []
    for org in orgs:
        args += ["--peerAddresses", f"{topo.host}:{org.peer_port}", "--tlsRootCertFiles", str(layout.ca_cert(org.name))]
    return args


def run(tool: str, args: list[str], env: dict[str, str], what: str, cwd: Path | None = None,
        timeout: float = 120) -> str:  # fmt: skip
    import os

    proc = subprocess.run(
        [str(locate(tool)), *args], env={**os.environ, **env}, cwd=cwd,
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise FabricCommandFailed(what, proc.stdout + proc.stderr)
    return proc.stdout + proc.stderr
