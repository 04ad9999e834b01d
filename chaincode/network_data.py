"""Network data the DSO publishes: the feeder model (versioned), day baselines and capacity limits.

The feeder model is the ``network`` part of the clearing schema plus a map feeder → nodes; it is
validated by the oracle's own parser so the chaincode never accepts a network the oracle would
refuse at clearing time. Each publication is a new version; markets record the version that was
latest when they were created, so a later publication never changes a running market.
"""

from __future__ import annotations

import re
from typing import Any

from chaincode import clock, governance, validate
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, NotFound
from chaincode.state import key
from clearing import limits
from clearing.api import FLEX_SCHEMA
from clearing.limits import echo

_DEFAULT_SHEDDING = {"load_eur_per_mwh": 450.0, "generation_eur_per_mwh": 50.0}


def _oracle_check(document: dict[str, Any], prefix: str = "") -> None:
    """Run the oracle's validating parser; its field names become ours (optionally prefixed)."""
    from clearing.errors import ValidationError
    from clearing.flex.instance import FlexInstance

    try:
        FlexInstance.from_document(document)
    except ValidationError as exc:
        raise ChaincodeError(f"{prefix}{exc.field}", exc.message) from exc


def version_tag(version: int) -> str:
    return f"{version:08d}"


async def latest_version(tx: Tx) -> int:
    head = await tx.ledger.get(key("networkhead"))
    return int(head["version"]) if head else 0


async def read_network(tx: Tx, version: int | None = None) -> dict[str, Any]:
    """A published network version (the latest when ``version`` is None)."""
    if version is None:
        version = await latest_version(tx)
        if version == 0:
            raise NotFound("network", "no network has been published by the DSO yet")
    record = await tx.ledger.get(key("network", version_tag(version)))
    if record is None:
        raise NotFound("version", f"network version {version} does not exist")
    return record


def feeder_of(network: dict[str, Any], node: str) -> str | None:
    for feeder, nodes in sorted(network["feeders"].items()):
        if node in nodes:
            return feeder
    return None


async def publish_network(tx: Tx, network_json: str) -> dict[str, Any]:
    await governance.require(tx, "dso")
    doc = validate.obj(validate.parse_json(network_json, "network", bare=True), "$", ("network", "feeders"), ("network", "feeders"))
    network = doc["network"]
    _oracle_check(
        {"schema": FLEX_SCHEMA, "periods": 1, "period_minutes": 60, "network": network,
         "shedding_cost": _DEFAULT_SHEDDING, "offers": []}
    )
    node_ids = {n["id"] for n in network["nodes"]}
    feeders = doc["feeders"]
    if not isinstance(feeders, dict) or not feeders:
        raise ChaincodeError("feeders", "must map at least one feeder id to its nodes")
    owner: dict[str, str] = {}
    clean: dict[str, list[str]] = {}
    for feeder in sorted(feeders):
        validate.ident(feeder, f"feeders.{feeder}")
        nodes = validate.string_list(feeders[feeder], f"feeders.{feeder}")
        if not nodes:
            raise ChaincodeError(f"feeders.{feeder}", "must list at least one node")
        for i, node in enumerate(nodes):
            if node not in node_ids:
                raise ChaincodeError(f"feeders.{feeder}[{i}]", f"unknown node {echo(node)}")
            if node in owner:
                raise ChaincodeError(f"feeders.{feeder}[{i}]", f"node {echo(node)} already belongs to feeder {owner[node]}")
            owner[node] = feeder
        clean[feeder] = sorted(nodes)
    version = await latest_version(tx) + 1
    record = {
        "version": version,
        "network": network,
        "feeders": clean,
        "published_at": clock.iso(tx.now_ms),
        "published_by": tx.caller.msp_id,
    }
    tx.ledger.put(key("network", version_tag(version)), record)
    tx.ledger.put(key("networkhead"), {"version": version})
    return record


async def publish_baseline(tx: Tx, baseline_json: str) -> dict[str, Any]:
    """The day's baseline schedule (+ substation exchange and shedding costs), checked against the latest network."""
    await governance.require(tx, "dso")
    fields = ("day", "periods", "period_minutes", "baseline", "substation", "shedding_cost")
    doc = validate.obj(validate.parse_json(baseline_json, "baseline", bare=True), "$", fields, ("day", "periods", "period_minutes"))
    day = clock.parse_day(doc["day"], "day")
    periods = validate.integer(doc["periods"], "periods", 1, limits.MAX_PERIODS)
    minutes = validate.integer(doc["period_minutes"], "period_minutes", 1, limits.MAX_PERIOD_MINUTES)
    if periods * minutes > 1440:
        raise ChaincodeError("periods", f"{periods} periods of {minutes} minutes exceed one day")
    net = await read_network(tx)
    body = {
        "baseline": doc.get("baseline", []),
        "substation": doc.get("substation", {"p_mw": None, "q_mvar": None}),
        "shedding_cost": doc.get("shedding_cost", _DEFAULT_SHEDDING),
    }
    _oracle_check({"schema": FLEX_SCHEMA, "periods": periods, "period_minutes": minutes,
                   "network": net["network"], "offers": [], **body})
    previous = await tx.ledger.get(key("baseline", day))
    record = {
        "day": day,
        "periods": periods,
        "period_minutes": minutes,
        **body,
        "network_version": net["version"],
        "revision": (previous["revision"] + 1) if previous else 1,
        "published_at": clock.iso(tx.now_ms),
    }
    tx.ledger.put(key("baseline", day), record)
    return record


async def read_baseline(tx: Tx, day: str) -> dict[str, Any]:
    clock.parse_day(day, "day")
    record = await tx.ledger.get(key("baseline", day))
    if record is None:
        raise NotFound("day", f"no baseline has been published for {day}")
    return record


async def read_network_arg(tx: Tx, version: str) -> dict[str, Any]:
    """``ReadNetwork``: ``""`` means the latest version."""
    await governance.require_any(tx)
    if version == "":
        return await read_network(tx)
    if not isinstance(version, str) or not re.fullmatch(r"[0-9]{1,8}", version):
        raise ChaincodeError("version", f"must be a version number or empty for the latest, got {echo(version)}")
    return await read_network(tx, int(version))
