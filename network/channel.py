"""The application channel: genesis block, orderers joined through osnadmin, peers joined.

No system channel (Fabric v3 has none): each participant's orderer joins with the genesis
block through its channel-participation admin endpoint (mutual TLS with the org admin's TLS
certificate). Anchor peers are part of the genesis block, so no config update is needed.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from network import fabric_cli
from network.configs import configtx, write_yaml
from network.fabric_versions import FabricLine
from network.layout import Layout
from network.pki import Enrolled
from network.topology import Topology


def create_genesis(layout: Layout, topo: Topology, orderers: dict[str, Enrolled], fabric: FabricLine) -> None:
    out = layout.channel_dir
    out.mkdir(parents=True, exist_ok=True)
    write_yaml(out / "configtx.yaml", configtx(layout, topo, orderers, fabric))
    block = out / "genesis.block"
    if block.exists():
        return
    fabric_cli.run(
        "configtxgen",
        ["-configPath", str(out), "-profile", "FlexChannel", "-channelID", topo.channel, "-outputBlock", str(block)],
        {"FABRIC_LOGGING_SPEC": "warning"},
        "configtxgen (genesis block)",
    )


class OrdererRefused(RuntimeError):
    """The orderer's channel-participation API answered with an error status."""


def _osnadmin(layout: Layout, topo: Topology, org_name: str, args: list[str], what: str) -> dict:
    """Run osnadmin against ``org_name``'s orderer; return the JSON body of a 2xx answer.

    osnadmin exits 0 whatever the orderer answers (a 400 included), so its ``Status:`` line is
    the only outcome to trust.
    """
    org = topo.org(org_name)
    admin_tls = layout.user_dir(org.name, "admin") / "tls"
    out = fabric_cli.run(
        "osnadmin",
        [*args, "-o", f"{topo.host}:{org.orderer_admin_port}", "--ca-file", str(layout.ca_cert(org.name)),
         "--client-cert", str(admin_tls / "signcerts" / "cert.pem"),
         "--client-key", str(next((admin_tls / "keystore").glob("*_sk")))],
        {}, f"{what} ({org.name})",
    )  # fmt: skip
    status = re.search(r"Status:\s*(\d{3})", out)
    body_text = out[out.find("{") :] if "{" in out else "{}"
    try:
        body = json.loads(body_text)
    except ValueError:
        body = {}
    if status is None or not 200 <= int(status.group(1)) < 300:
        said = body.get("error") if isinstance(body, dict) else None
        raise OrdererRefused(f"{what} on {org.name}-orderer: HTTP {status.group(1) if status else '?'}: "
                             f"{said or out.strip()[-500:]}")  # fmt: skip
    return body if isinstance(body, dict) else {}


def orderer_channels(layout: Layout, topo: Topology, org_name: str) -> list[str]:
    body = _osnadmin(layout, topo, org_name, ["channel", "list"], "osnadmin channel list")
    return [c["name"] for c in body.get("channels") or []]


def join_orderers(layout: Layout, topo: Topology) -> None:
    block = layout.channel_dir / "genesis.block"
    for org in topo.orderer_orgs:
        join_orderer(layout, topo, org.name, block)


def join_orderer(layout: Layout, topo: Topology, org_name: str, block: Path) -> None:
    """Join one orderer with ``block``: the genesis block, or (for an orderer admitted later) the latest
    config block, from which it pulls the earlier blocks from the other consenters."""
    if topo.channel in orderer_channels(layout, topo, org_name):
        return
    _osnadmin(layout, topo, org_name, ["channel", "join", "--channelID", topo.channel, "--config-block", str(block)],
              "osnadmin channel join")  # fmt: skip


def orderer_channel_info(layout: Layout, topo: Topology, org_name: str) -> dict:
    """What ``org_name``'s orderer says of the channel: its consensus relation, status and height."""
    return _osnadmin(layout, topo, org_name, ["channel", "list", "--channelID", topo.channel], "osnadmin channel list")


def peer_channels(layout: Layout, topo: Topology, org_name: str) -> list[str]:
    org = topo.org(org_name)
    out = fabric_cli.run("peer", ["channel", "list"], fabric_cli.peer_env(layout, topo, org), "peer channel list")
    lines = out.splitlines()
    if "Channels peers has joined:" in out:
        lines = lines[lines.index(next(x for x in lines if "Channels peers has joined" in x)) + 1 :]
    return [line.strip() for line in lines if line.strip()]


def join_peers(layout: Layout, topo: Topology) -> None:
    block = layout.channel_dir / "genesis.block"
    for org in topo.orgs:
        if topo.channel in peer_channels(layout, topo, org.name):
            continue
        # The orderers may still be electing a Raft leader: retry the join for a short while.
        deadline = time.monotonic() + 60
        while True:
            try:
                fabric_cli.run("peer", ["channel", "join", "-b", str(block)],
                               fabric_cli.peer_env(layout, topo, org), f"peer channel join ({org.name})")  # fmt: skip
                break
            except fabric_cli.FabricCommandFailed:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)


def height(layout: Layout, topo: Topology, org_name: str) -> int | None:
    org = topo.org(org_name)
    try:
        out = fabric_cli.run("peer", ["channel", "getinfo", "-c", topo.channel],
                             fabric_cli.peer_env(layout, topo, org), "peer channel getinfo", timeout=20)  # fmt: skip
    except (fabric_cli.FabricCommandFailed, OSError):
        return None
    start = out.find("{")
    try:
        return int(json.loads(out[start:])["height"])
    except (ValueError, KeyError):
        return None
