"""Channel configuration updates: admit or remove an organisation, signed by a majority of admins.

The steps fabric-samples' addOrg3 runs by hand, as functions: fetch the latest config block, decode it
with configtxlator, change the JSON (an organisation's group under ``Application``, and for an
orderer its group under ``Orderer`` plus a Raft consenter), compute the update, wrap it in an envelope,
collect signatures (``peer channel signconfigtx``: each with one organisation's own admin identity, a
step that could run on that organisation's machine) and submit it (``peer channel update``). The
orderers check the signatures against the channel's ``Admins`` policies (MAJORITY); a minority is
refused by them, not by this module.
"""

from __future__ import annotations

import base64
import copy
import json
import tempfile
from pathlib import Path
from typing import Any

from network import fabric_cli
from network.configs import org_definition, write_yaml
from network.layout import Layout
from network.topology import Org, Topology


class UpdateRefused(RuntimeError):
    """The update cannot be built or was refused (by this module's checks or by the orderers)."""


def _lator(args: list[str], what: str) -> str:
    return fabric_cli.run("configtxlator", args, {}, what)


def _decode(path: Path, proto: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        _lator(["proto_decode", "--input", str(path), "--type", proto, "--output", str(out)], f"decode {proto}")
        return json.loads(out.read_text())


def _encode(doc: dict[str, Any], proto: str, path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.json"
        src.write_text(json.dumps(doc))
        _lator(["proto_encode", "--input", str(src), "--type", proto, "--output", str(path)], f"encode {proto}")


def fetch_config_block(layout: Layout, topo: Topology, org: Org, block: Path) -> Path:
    """Write the channel's latest config block to ``block``, fetched from the orderers as ``org``'s admin."""
    fabric_cli.run("peer", ["channel", "fetch", "config", str(block), "-c", topo.channel,
                            *fabric_cli.orderer_args(layout, topo)],
                   fabric_cli.peer_env(layout, topo, org), "peer channel fetch config")  # fmt: skip
    return block


def fetch_config(layout: Layout, topo: Topology, org: Org, workdir: Path) -> dict[str, Any]:
    """The channel's current configuration (JSON), fetched from the orderers as ``org``'s admin."""
    block = fetch_config_block(layout, topo, org, workdir / "config.block")
    return _decode(block, "common.Block")["data"]["data"][0]["payload"]["data"]["config"]


def org_group(layout: Layout, topo: Topology, org: Org) -> dict[str, Any]:
    """The organisation's channel group (MSP and policies) as configtxgen prints it, plus its anchor peer."""
    with tempfile.TemporaryDirectory() as tmp:
        write_yaml(Path(tmp) / "configtx.yaml", {"Organizations": [org_definition(layout, topo, org)]})
        out = fabric_cli.run("configtxgen", ["-configPath", tmp, "-printOrg", org.msp_id],
                             {"FABRIC_LOGGING_SPEC": "warning"}, f"configtxgen -printOrg {org.msp_id}")  # fmt: skip
    group = json.loads(out[out.find("{") :])
    group.setdefault("values", {})["AnchorPeers"] = {
        "mod_policy": "Admins", "version": "0",
        "value": {"anchor_peers": [{"host": topo.host, "port": org.peer_port}]},
    }  # fmt: skip
    return group


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def with_org(config: dict[str, Any], group: dict[str, Any], topo: Topology, org: Org,
             orderer_tls_cert: Path | None) -> dict[str, Any]:  # fmt: skip
    """``config`` with ``org`` admitted to the application (and, given its orderer's TLS cert, to Raft)."""
    changed = copy.deepcopy(config)
    groups = changed["channel_group"]["groups"]
    if org.msp_id in groups["Application"]["groups"]:
        raise UpdateRefused(f"{org.msp_id} is already a member of channel {topo.channel}")
    application = copy.deepcopy(group)
    application["values"].pop("Endpoints", None)  # orderer endpoints belong in the Orderer group only
    groups["Application"]["groups"][org.msp_id] = application
    if orderer_tls_cert is not None:
        orderer = copy.deepcopy(group)
        orderer["values"].pop("AnchorPeers", None)
        orderer["values"]["Endpoints"] = {"mod_policy": "Admins", "version": "0",
                                          "value": {"addresses": [f"{topo.host}:{org.orderer_port}"]}}  # fmt: skip
        groups["Orderer"]["groups"][org.msp_id] = orderer
        consenters = groups["Orderer"]["values"]["ConsensusType"]["value"]["metadata"]["consenters"]
        cert = _b64(orderer_tls_cert)
        consenters.append({"host": topo.host, "port": org.orderer_port, "client_tls_cert": cert,
                           "server_tls_cert": cert})  # fmt: skip
    return changed


def without_org(config: dict[str, Any], topo: Topology, org: Org) -> dict[str, Any]:
    """``config`` with ``org`` removed from the application, the orderer organisations and the consenters."""
    changed = copy.deepcopy(config)
    groups = changed["channel_group"]["groups"]
    if groups["Application"]["groups"].pop(org.msp_id, None) is None:
        raise UpdateRefused(f"{org.msp_id} is not a member of channel {topo.channel}")
    if groups["Orderer"]["groups"].pop(org.msp_id, None) is not None:
        metadata = groups["Orderer"]["values"]["ConsensusType"]["value"]["metadata"]
        metadata["consenters"] = [c for c in metadata["consenters"]
                                  if (c["host"], int(c["port"])) != (topo.host, org.orderer_port)]  # fmt: skip
    return changed


def build_update(topo: Topology, original: dict[str, Any], modified: dict[str, Any], path: Path) -> Path:
    """Write the unsigned update envelope (``common.Envelope`` holding a ``ConfigUpdate``) to ``path``."""
    with tempfile.TemporaryDirectory() as tmp:
        old, new, delta = Path(tmp) / "old.pb", Path(tmp) / "new.pb", Path(tmp) / "delta.pb"
        _encode(original, "common.Config", old)
        _encode(modified, "common.Config", new)
        _lator(["compute_update", "--channel_id", topo.channel, "--original", str(old), "--updated", str(new),
                "--output", str(delta)], "configtxlator compute_update")  # fmt: skip
        update = _decode(delta, "common.ConfigUpdate")
    envelope = {"payload": {"header": {"channel_header": {"channel_id": topo.channel, "type": 2}},
                            "data": {"config_update": update}}}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    _encode(envelope, "common.Envelope", path)
    return path


def signers(path: Path) -> list[str]:
    """MSP IDs that signed the update envelope, in signing order (without repeats)."""
    if not path.is_file():
        raise UpdateRefused(f"{path}: no such update file")
    try:
        envelope = _decode(path, "common.Envelope")
        signatures = envelope["payload"]["data"].get("signatures") or []
    except (fabric_cli.FabricCommandFailed, KeyError, TypeError) as exc:
        raise UpdateRefused(f"{path} is not a channel configuration update envelope") from exc
    found: list[str] = []
    for sig in signatures:
        msp = sig["signature_header"]["creator"]["mspid"]
        if msp not in found:
            found.append(msp)
    return found


def sign(layout: Layout, topo: Topology, org: Org, path: Path) -> None:
    """Add ``org``'s admin signature to the update (in place)."""
    signers(path)  # a clear error for a file that is not an update
    fabric_cli.run("peer", ["channel", "signconfigtx", "-f", str(path)], fabric_cli.peer_env(layout, topo, org),
                   f"peer channel signconfigtx ({org.name})")  # fmt: skip


def submit(layout: Layout, topo: Topology, org: Org, path: Path) -> None:
    """Send the update to the orderers as ``org``'s admin (who signs it too); they enforce the policy."""
    try:
        fabric_cli.run("peer", ["channel", "update", "-f", str(path), "-c", topo.channel,
                                *fabric_cli.orderer_args(layout, topo)],
                       fabric_cli.peer_env(layout, topo, org), f"peer channel update ({org.name})")  # fmt: skip
    except fabric_cli.FabricCommandFailed as exc:
        raise UpdateRefused(f"the orderers refused the channel update: {exc.output.strip()[-800:]}") from exc


def majority(count: int) -> int:
    """How many organisations a MAJORITY policy over ``count`` organisations needs."""
    return count // 2 + 1
