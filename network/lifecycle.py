"""Chaincode lifecycle for chaincode-as-a-service: package, install, approve, commit.

The package holds no code — only ``connection.json`` for the project's external builder — and
is byte-for-byte reproducible (fixed mtimes, owners and order), so every organisation installs
the same package and gets the same package ID.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import time
from pathlib import Path

from network import fabric_cli
from network.layout import Layout
from network.topology import Org, Topology


def _tar_gz(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    return gzip.compress(raw.getvalue(), mtime=0)


def label(topo: Topology) -> str:
    return f"{topo.chaincode}_{topo.chaincode_version}"


def build_package(layout: Layout, topo: Topology) -> tuple[Path, str]:
    """Write the CCaaS package; return its path and package ID (``label:sha256``)."""
    connection = json.dumps({"address": "", "dial_timeout": "10s", "tls_required": True}, sort_keys=True)
    code = _tar_gz({"connection.json": connection.encode()})
    metadata = json.dumps({"type": "ccaas", "label": label(topo)}, sort_keys=True).encode()
    package = _tar_gz({"code.tar.gz": code, "metadata.json": metadata})
    layout.chaincode_dir.mkdir(parents=True, exist_ok=True)
    path = layout.chaincode_dir / f"{label(topo)}.tar.gz"
    path.write_bytes(package)
    return path, f"{label(topo)}:{hashlib.sha256(package).hexdigest()}"


def installed(layout: Layout, topo: Topology, org: Org) -> list[str]:
    out = fabric_cli.run("peer", ["lifecycle", "chaincode", "queryinstalled", "--output", "json"],
                         fabric_cli.peer_env(layout, topo, org), f"queryinstalled ({org.name})")  # fmt: skip
    start = out.find("{")
    data = json.loads(out[start:]) if start >= 0 else {}
    return [c["package_id"] for c in data.get("installed_chaincodes") or []]


def install(layout: Layout, topo: Topology, org: Org, package: Path, package_id: str) -> None:
    if package_id in installed(layout, topo, org):
        return
    fabric_cli.run("peer", ["lifecycle", "chaincode", "install", str(package)],
                   fabric_cli.peer_env(layout, topo, org), f"chaincode install ({org.name})")  # fmt: skip


def _definition_args(topo: Topology, sequence: int) -> list[str]:
    return ["--channelID", topo.channel, "--name", topo.chaincode, "--version", topo.chaincode_version,
            "--sequence", str(sequence), "--signature-policy", topo.endorsement_policy]  # fmt: skip


def approvals(layout: Layout, topo: Topology, sequence: int) -> dict[str, bool]:
    """Which organisations approved the definition (by org name)."""
    org = topo.orgs[0]
    out = fabric_cli.run(
        "peer", ["lifecycle", "chaincode", "checkcommitreadiness", *_definition_args(topo, sequence), "--output", "json"],
        fabric_cli.peer_env(layout, topo, org), "checkcommitreadiness",
    )  # fmt: skip
    data = json.loads(out[out.find("{") :]).get("approvals", {})
    return {o.name: bool(data.get(o.msp_id)) for o in topo.orgs}


def committed(layout: Layout, topo: Topology, org: Org | None = None) -> dict | None:
    org = org or topo.orgs[0]
    try:
        out = fabric_cli.run(
            "peer", ["lifecycle", "chaincode", "querycommitted", "--channelID", topo.channel, "--name", topo.chaincode,
                     "--output", "json"],
            fabric_cli.peer_env(layout, topo, org), "querycommitted", timeout=20,
        )  # fmt: skip
    except fabric_cli.FabricCommandFailed:
        return None
    return json.loads(out[out.find("{") :])


def approve(layout: Layout, topo: Topology, org: Org, package_id: str, sequence: int) -> None:
    fabric_cli.run(
        "peer", ["lifecycle", "chaincode", "approveformyorg", *fabric_cli.orderer_args(layout, topo),
                 *_definition_args(topo, sequence), "--package-id", package_id, "--waitForEvent"],
        fabric_cli.peer_env(layout, topo, org), f"approveformyorg ({org.name})",
    )  # fmt: skip


def commit(layout: Layout, topo: Topology, sequence: int) -> None:
    org = topo.orgs[0]
    fabric_cli.run(
        "peer", ["lifecycle", "chaincode", "commit", *fabric_cli.orderer_args(layout, topo),
                 *_definition_args(topo, sequence), *fabric_cli.peer_target_args(layout, topo, list(topo.orgs)),
                 "--waitForEvent"],
        fabric_cli.peer_env(layout, topo, org), "chaincode commit",
    )  # fmt: skip


def wait_until_ready(layout: Layout, topo: Topology, probe, timeout: float = 60.0) -> None:
    """Wait until ``probe()`` (a query through the chaincode) stops failing: the servers are reachable."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            probe()
            return
        except Exception as exc:  # noqa: BLE001 - anything means not ready yet
            last = exc
            time.sleep(0.5)
    raise TimeoutError(f"chaincode not ready after {timeout:.0f} s: {last}")
