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
from chaincode.errors import ChaincodeError, FailedPrecondition, NotFound
from chaincode.state import key
from clearing import limits
from clearing.limits import echo

FLEX_SCHEMA = "flexledger.clearing/1"
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


async def publish_capacity_limits(tx: Tx, limits_json: str) -> dict[str, Any]:
    """Limits per feeder and period for one capacity market, until its gate closes (then they are frozen,
    so the DSO cannot reshape the market after seeing the bids).

    ``from_day_ahead`` (an intraday market only) derives the limits from what the cleared day-ahead
    market of the same day and feeder left: its limits minus the capacity it awarded.
    """
    from chaincode import markets  # local: markets imports this module

    await governance.require(tx, "dso")
    doc = validate.obj(validate.parse_json(limits_json, "limits", bare=True), "$", ("market_id", "limits", "from_day_ahead"),
                       ("market_id",))
    market = await markets.load(tx, validate.ident(doc["market_id"], "market_id"), "market_id")
    if not market["kind"].startswith("capacity"):
        raise ChaincodeError("market_id", f"market {market['id']} is a {market['kind']} market, not a capacity market")
    if market["status"] != "open" or tx.now_ms >= market["gate_closes_ms"]:
        raise ChaincodeError("market_id", f"the limits of market {market['id']} are frozen: its gate closed at "
                             f"{market['gate_closes']}")
    net = await read_network(tx, market["network_version"])
    if "from_day_ahead" in doc:
        if "limits" in doc:
            raise ChaincodeError("limits", "give either limits or from_day_ahead, not both")
        limits = await _left_from_day_ahead(tx, market, validate.ident(doc["from_day_ahead"], "from_day_ahead"))
    else:
        if "limits" not in doc:
            raise ChaincodeError("limits", "is required")
        limits = _parse_limits(doc["limits"], net, market["periods"])
    record = {"market_id": market["id"], "limits": limits, "published_at": clock.iso(tx.now_ms)}
    if "from_day_ahead" in doc:
        record["from_day_ahead"] = doc["from_day_ahead"]
    tx.ledger.put(key("limits", market["id"]), record)
    return record


def _parse_limits(value: Any, net: dict[str, Any], periods: int) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise ChaincodeError("limits", "must be a non-empty list of {feeder, period, capacity_mw}")
    seen: set[tuple[str, int]] = set()
    out = []
    for i, item in enumerate(value):
        field = f"limits[{i}]"
        validate.obj(item, field, ("feeder", "period", "capacity_mw"), ("feeder", "period", "capacity_mw"))
        feeder = validate.ident(item["feeder"], f"{field}.feeder")
        if feeder not in net["feeders"]:
            raise ChaincodeError(f"{field}.feeder", f"unknown feeder {echo(feeder)} in network version {net['version']}")
        period = validate.integer(item["period"], f"{field}.period", 0, periods - 1)
        if (feeder, period) in seen:
            raise ChaincodeError(field, f"duplicate limit for feeder {feeder} period {period}")
        seen.add((feeder, period))
        capacity = validate.number(item["capacity_mw"], f"{field}.capacity_mw", minimum=0, maximum=limits.MAX_MW)
        out.append({"feeder": feeder, "period": period, "capacity_mw": capacity})
    return sorted(out, key=lambda r: (r["feeder"], r["period"]))


async def _left_from_day_ahead(tx: Tx, market: dict[str, Any], da_id: str) -> list[dict[str, Any]]:
    from chaincode import markets

    if market["kind"] != "capacity_intraday":
        raise ChaincodeError("from_day_ahead", "only an intraday market takes its limits from a day-ahead market")
    da = await markets.load(tx, da_id, "from_day_ahead")
    if da["kind"] != "capacity_day_ahead" or da["day"] != market["day"] or da["feeder"] != market["feeder"]:
        raise ChaincodeError("from_day_ahead", f"{da_id} is not the day-ahead capacity market of this day and feeder")
    if da["status"] not in ("cleared", "settled"):
        raise FailedPrecondition("from_day_ahead", f"day-ahead market {da_id} is not cleared yet")
    if da["periods"] != market["periods"] or da["period_minutes"] != market["period_minutes"]:
        raise ChaincodeError("from_day_ahead", f"{da_id} has a different period grid")
    # the oracle's own helper, on the stored day-ahead input and result, in integer watts
    from clearing.capacity import remaining_capacity
    from clearing.errors import ValidationError

    document = await tx.ledger.get(key("clearinginput", da_id))
    result = await tx.ledger.get(key("clearingresult", da_id))
    try:
        return remaining_capacity(document, result)
    except ValidationError as exc:
        raise ChaincodeError("from_day_ahead", f"{exc.field}: {exc.message}") from exc


async def read_capacity_limits(tx: Tx, market_id: str) -> dict[str, Any]:
    await governance.require_any(tx)
    validate.ident(market_id, "marketId")
    record = await tx.ledger.get(key("limits", market_id))
    if record is None:
        raise NotFound("marketId", f"no capacity limits have been published for market {market_id}")
    return record


async def read_network_arg(tx: Tx, version: str) -> dict[str, Any]:
    """``ReadNetwork``: ``""`` means the latest version."""
    await governance.require_any(tx)
    if version == "":
        return await read_network(tx)
    if not isinstance(version, str) or not re.fullmatch(r"[0-9]{1,8}", version):
        raise ChaincodeError("version", f"must be a version number or empty for the latest, got {echo(version)}")
    return await read_network(tx, int(version))
