"""Markets (MARKETFLEX "market management"): created and edited by the DSO, joined by enrolment.

Kinds: ``capacity_day_ahead`` and ``capacity_intraday`` (limited feeder capacity sold or shared,
rules premium_capacity / social_equity) and ``flexibility`` (the DSO buys P/Q up/down products; opened
by a DSO flexibility request, which escrows its budget). Every market fixes its gate times, price
resolution, order granularity, quantity and price bounds, and the network version latest at creation.

Status: ``open`` (bids accepted while gate_opens <= tx time < gate_closes) → ``closed`` (CloseGate)
→ ``cleared`` (ClearMarket) → ``settled`` (SettleMarket).
"""

from __future__ import annotations

from typing import Any

from chaincode import clock, funds, governance, network_data, owner_bids, validate
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, Conflict, FailedPrecondition, NotFound
from chaincode.state import key
from clearing import limits
from clearing.capacity.rules import RULE_FIELDS
from clearing.limits import echo

KINDS = ("capacity_day_ahead", "capacity_intraday", "flexibility")
CAPACITY_RULES = ("premium_capacity", "social_equity")
FLEX_RULES = ("vcg", "dlmp")
PRIORITIES = ("fcfs", "highest_demand")
PRICINGS = ("pay_as_bid", "uniform")
FLEX_DEFAULT_RULES = {"price_resolution_eur": 0.01, "quantity_step_mw": 0.001, "min_quantity_mw": 0.0,
                      "max_quantity_mw": 1000.0, "min_price_eur_per_mwh": 0.0, "max_price_eur_per_mwh": 10000.0}
_MARKET_FIELDS = ("id", "kind", "feeder", "day", "rule", "priority", "pricing", "gate_opens", "gate_closes",
                  "periods", "period_minutes", "rules", "budget_cents", "sealed", "reveal_seconds",
                  owner_bids.FIELD)
_PATCHABLE = ("rule", "priority", "pricing", "gate_opens", "gate_closes", "periods", "period_minutes", "rules",
              "sealed", "reveal_seconds", owner_bids.FIELD)
#: How long after gate closure the owners of sealed bids may reveal them, unless the market says otherwise.
DEFAULT_REVEAL_SECONDS = 600
MAX_REVEAL_SECONDS = 86400


async def load(tx: Tx, market_id: str, field: str = "marketId") -> dict[str, Any]:
    validate.ident(market_id, field)
    market = await tx.ledger.get(key("market", market_id))
    if market is None:
        raise NotFound(field, f"market {market_id} does not exist")
    return market


def gate_open(market: dict[str, Any], now_ms: int) -> bool:
    return market["status"] == "open" and market["gate_opens_ms"] <= now_ms < market["gate_closes_ms"]


def require_gate_open(tx: Tx, market: dict[str, Any], field: str) -> None:
    """Bids and cancellations only while the gate is open, by the claimed time and this endorser's clock."""
    clock.require_not_behind(tx)
    now = clock.iso(tx.now_ms)
    if market["status"] != "open" or not clock.before(tx, market["gate_closes_ms"]):
        raise FailedPrecondition(field, f"the gate of market {market['id']} closed at {market['gate_closes']} (now {now})")
    if tx.now_ms < market["gate_opens_ms"]:
        raise FailedPrecondition(field, f"the gate of market {market['id']} opens at {market['gate_opens']} (now {now})")


def _rules(value: Any, field: str) -> dict[str, float]:
    """Market rules, each bounded (clearing.limits) before the exact multiple checks divide by the steps."""
    doc = validate.obj(value, field, RULE_FIELDS, RULE_FIELDS)
    mw, price, step = limits.MAX_MW, limits.MAX_PRICE_EUR_PER_MWH, limits.MIN_STEP

    def num(name: str, **bounds: float) -> float:
        return validate.number(doc[name], f"{field}.{name}", **bounds)

    rules = {
        "price_resolution_eur": num("price_resolution_eur", minimum=step, maximum=price),
        "quantity_step_mw": num("quantity_step_mw", minimum=step, maximum=mw),
        "min_quantity_mw": num("min_quantity_mw", minimum=0, maximum=mw),
        "max_quantity_mw": num("max_quantity_mw", above=0, maximum=mw),
        "min_price_eur_per_mwh": num("min_price_eur_per_mwh", minimum=0, maximum=price),
        "max_price_eur_per_mwh": num("max_price_eur_per_mwh", minimum=0, maximum=price),
    }
    if rules["min_quantity_mw"] > rules["max_quantity_mw"]:
        raise ChaincodeError(f"{field}.min_quantity_mw", "must be <= max_quantity_mw")
    if rules["min_price_eur_per_mwh"] > rules["max_price_eur_per_mwh"]:
        raise ChaincodeError(f"{field}.min_price_eur_per_mwh", "must be <= max_price_eur_per_mwh")
    for bound in ("min_quantity_mw", "max_quantity_mw"):
        validate.check_multiple(rules[bound], rules["quantity_step_mw"], f"{field}.{bound}", "order granularity")
    for bound in ("min_price_eur_per_mwh", "max_price_eur_per_mwh"):
        validate.check_multiple(rules[bound], rules["price_resolution_eur"], f"{field}.{bound}", "price resolution")
    return rules


async def _build(tx: Tx, doc: dict[str, Any], network_version: int, prefix: str) -> dict[str, Any]:
    """Validate a complete market document; returns the market record (without status fields)."""
    kind = doc.get("kind")
    if kind not in KINDS:
        raise ChaincodeError(f"{prefix}.kind", f"must be one of {', '.join(KINDS)}, got {echo(kind)}")
    market_id = validate.ident(doc.get("id"), f"{prefix}.id")
    day = clock.parse_day(doc.get("day"), f"{prefix}.day")
    net = await network_data.read_network(tx, network_version)
    feeder = doc.get("feeder")
    if feeder is not None or kind != "flexibility":
        feeder = validate.ident(feeder, f"{prefix}.feeder")
        if feeder not in net["feeders"]:
            raise ChaincodeError(f"{prefix}.feeder", f"unknown feeder {echo(feeder)} in network version {net['version']}")
    opens = clock.parse_iso(doc.get("gate_opens"), f"{prefix}.gate_opens")
    closes = clock.parse_iso(doc.get("gate_closes"), f"{prefix}.gate_closes")
    if closes <= opens:
        raise ChaincodeError(f"{prefix}.gate_closes", "must be after gate_opens")
    if closes <= tx.now_ms:
        raise ChaincodeError(f"{prefix}.gate_closes", f"must be after the transaction time {clock.iso(tx.now_ms)}")
    record: dict[str, Any] = {"id": market_id, "kind": kind, "day": day, "feeder": feeder,
                              "gate_opens": clock.iso(opens), "gate_closes": clock.iso(closes),
                              "gate_opens_ms": opens, "gate_closes_ms": closes, "network_version": net["version"]}
    if kind == "flexibility":
        for name in ("priority", "pricing"):
            if doc.get(name) is not None:
                raise ChaincodeError(f"{prefix}.{name}", "applies to capacity markets only")
        rule = doc.get("rule") or "vcg"
        if rule not in FLEX_RULES:
            raise ChaincodeError(f"{prefix}.rule", f"must be one of {', '.join(FLEX_RULES)}, got {echo(rule)}")
        baseline = await tx.ledger.get(key("baseline", day))
        if baseline is None:
            raise NotFound(f"{prefix}.day", f"no baseline has been published for {day}")
        for name in ("periods", "period_minutes"):
            if doc.get(name) is not None and doc[name] != baseline[name]:
                raise ChaincodeError(f"{prefix}.{name}", f"must match the baseline of {day} ({baseline[name]})")
        periods, minutes = baseline["periods"], baseline["period_minutes"]
        rules = _rules(doc.get("rules", FLEX_DEFAULT_RULES), f"{prefix}.rules")
        budget = validate.integer(doc.get("budget_cents"), f"{prefix}.budget_cents", 0, limits.MAX_CENTS)
        record.update(rule=rule, priority=None, pricing=None, budget_cents=budget)
    else:
        if "budget_cents" in doc:
            raise ChaincodeError(f"{prefix}.budget_cents", "applies to flexibility markets only")
        rule = doc.get("rule")
        if rule not in CAPACITY_RULES:
            raise ChaincodeError(f"{prefix}.rule", f"must be one of {', '.join(CAPACITY_RULES)}, got {echo(rule)}")
        priority = doc.get("priority") or "fcfs"
        if priority not in PRIORITIES:
            raise ChaincodeError(f"{prefix}.priority", f"must be one of {', '.join(PRIORITIES)}, got {echo(priority)}")
        pricing = doc.get("pricing") or "pay_as_bid"
        if pricing not in PRICINGS:
            raise ChaincodeError(f"{prefix}.pricing", f"must be one of {', '.join(PRICINGS)}, got {echo(pricing)}")
        periods = validate.integer(doc.get("periods"), f"{prefix}.periods", 1, limits.MAX_PERIODS)
        minutes = validate.integer(doc.get("period_minutes"), f"{prefix}.period_minutes", 1, limits.MAX_PERIOD_MINUTES)
        if "rules" not in doc:
            raise ChaincodeError(f"{prefix}.rules", "is required")
        rules = _rules(doc["rules"], f"{prefix}.rules")
        record.update(rule=rule, priority=priority, pricing=pricing, budget_cents=None)
    if periods * minutes > 1440:
        raise ChaincodeError(f"{prefix}.periods", f"{periods} periods of {minutes} minutes exceed one day")
    record.update(periods=periods, period_minutes=minutes, rules=rules)
    record.update(_sealing(doc, closes, prefix))
    record[owner_bids.FIELD] = _bid_endorsement(doc, record, prefix)
    return record


def _bid_endorsement(doc: dict[str, Any], record: dict[str, Any], prefix: str) -> str:
    """Who endorses a bid: every market organisation (default) or the bidder's own peer, checked by all at
    gate closure (chaincode/owner_bids.py); not where the order of bids in time decides, nor sealed markets."""
    field = f"{prefix}.{owner_bids.FIELD}"
    mode = doc.get(owner_bids.FIELD) or owner_bids.ALL
    if mode not in owner_bids.MODES:
        raise ChaincodeError(field, f"must be one of {', '.join(owner_bids.MODES)}, got {echo(mode)}")
    if mode == owner_bids.OWNER and record["rule"] == "social_equity":
        raise ChaincodeError(field, "owner-endorsed bids carry their owner's word for time; social_equity serves "
                             "bids in time order, so every organisation must endorse them")
    if mode == owner_bids.OWNER and record["sealed"]:
        raise ChaincodeError(field, "sealed markets take commitments endorsed by every organisation")
    return mode


def _sealing(doc: dict[str, Any], gate_closes_ms: int, prefix: str) -> dict[str, Any]:
    """The DSO's choice of sealed bidding, and the reveal window that follows the gate (docs/chaincode.md)."""
    sealed = validate.boolean(doc.get("sealed", False), f"{prefix}.sealed")
    if not sealed:
        if doc.get("reveal_seconds") is not None:
            raise ChaincodeError(f"{prefix}.reveal_seconds", "applies to sealed markets only")
        return {"sealed": False, "reveal_seconds": None, "reveal_closes": None, "reveal_closes_ms": None}
    seconds = validate.integer(doc.get("reveal_seconds", DEFAULT_REVEAL_SECONDS), f"{prefix}.reveal_seconds",
                               1, MAX_REVEAL_SECONDS)
    closes = gate_closes_ms + 1000 * seconds
    return {"sealed": True, "reveal_seconds": seconds, "reveal_closes": clock.iso(closes), "reveal_closes_ms": closes}


async def create_market(tx: Tx, market_json: str) -> dict[str, Any]:
    await governance.require(tx, "dso")
    doc = validate.obj(validate.parse_json(market_json, "market"), "market", _MARKET_FIELDS, ("id", "kind", "day"))
    return await _create(tx, dict(doc), "market")


async def request_flexibility(tx: Tx, request_json: str) -> dict[str, Any]:
    """A DSO flexibility request: opens a flexibility market and escrows the DSO's budget for it."""
    await governance.require(tx, "dso")
    fields = ("id", "day", "gate_opens", "gate_closes", "budget_cents", "feeder", "rule", "rules", "sealed",
              "reveal_seconds", owner_bids.FIELD)
    doc = validate.obj(validate.parse_json(request_json, "request"), "request", fields,
                       ("id", "day", "gate_opens", "gate_closes", "budget_cents"))
    return await _create(tx, {**doc, "kind": "flexibility"}, "request")


async def _create(tx: Tx, doc: dict[str, Any], prefix: str) -> dict[str, Any]:
    version = await network_data.latest_version(tx)
    if version == 0:
        raise NotFound("network", "no network has been published by the DSO yet")
    record = await _build(tx, doc, version, prefix)
    if await tx.ledger.get(key("market", record["id"])) is not None:
        raise Conflict(f"{prefix}.id", f"market {record['id']} already exists")
    now = clock.iso(tx.now_ms)
    record.update(status="open", buyer=tx.caller.msp_id, created_at=now, updated_at=now)
    if record["kind"] == "flexibility":
        await funds.lock(tx, record["id"], tx.caller.msp_id, record["budget_cents"], f"{prefix}.budget_cents")
    tx.ledger.put(key("market", record["id"]), record)
    return record


async def update_market(tx: Tx, market_id: str, patch_json: str) -> dict[str, Any]:
    """Edit a market's parameters; only before its gate opens, so no bid ever sees two rule sets."""
    await governance.require(tx, "dso")
    market = await load(tx, market_id, "id")
    if tx.now_ms >= market["gate_opens_ms"] or market["status"] != "open":
        raise FailedPrecondition("id", f"market {market_id} can only be edited before its gate opens at {market['gate_opens']}")
    patch = validate.parse_json(patch_json, "patch")
    if not isinstance(patch, dict) or not patch:
        raise ChaincodeError("patch", "must be a non-empty JSON object")
    for name in sorted(patch):
        if name not in _PATCHABLE:
            raise ChaincodeError(f"patch.{name}", f"cannot be changed; changeable: {', '.join(_PATCHABLE)}")
    merged = {name: market[name] for name in _MARKET_FIELDS if market.get(name) is not None}
    merged.update(gate_opens=market["gate_opens"], gate_closes=market["gate_closes"])
    if isinstance(patch.get("rules"), dict):
        patch = {**patch, "rules": {**market["rules"], **patch["rules"]}}
    merged.update(patch)
    rebuilt = await _build(tx, merged, market["network_version"], "patch")
    market.update(rebuilt)
    market["updated_at"] = clock.iso(tx.now_ms)
    tx.ledger.put(key("market", market_id), market)
    return market


async def enrol(tx: Tx, market_id: str) -> dict[str, Any]:
    await governance.require(tx, "aggregator")
    market = await load(tx, market_id)
    clock.require_not_behind(tx)
    if market["status"] != "open" or not clock.before(tx, market["gate_closes_ms"]):
        raise FailedPrecondition("marketId", f"market {market_id} no longer takes enrolments (gate closed {market['gate_closes']})")
    k = key("enrolment", market_id, tx.caller.msp_id)
    if await tx.ledger.get(k) is not None:
        raise Conflict("marketId", f"{tx.caller.msp_id} is already enrolled in market {market_id}")
    record = {"market_id": market_id, "participant": tx.caller.msp_id, "enrolled_at": clock.iso(tx.now_ms)}
    tx.ledger.put(k, record)
    if owner_bids.owner_endorsed(market):
        return {**record, "bid_slots": await owner_bids.open_slots(tx, market)}
    return record


async def is_enrolled(tx: Tx, market_id: str, msp: str) -> bool:
    return await tx.ledger.get(key("enrolment", market_id, msp)) is not None


async def close_gate(tx: Tx, market_id: str) -> dict[str, Any]:
    """Mark the gate closed once its time has passed; emits ``GateClosed`` with the bid count."""
    await governance.require(tx, "dso")
    market = await load(tx, market_id)
    if market["status"] != "open":
        raise Conflict("marketId", f"market {market_id} is already {market['status']}")
    if not clock.reached(tx, market["gate_closes_ms"]):
        raise FailedPrecondition("marketId", f"the gate of market {market_id} closes at {market['gate_closes']}, "
                             f"not before (now {clock.iso(tx.now_ms)}, this endorser's clock {clock.iso(tx.local_ms)})")
    market["status"] = "closed"
    market["closed_at"] = clock.iso(tx.now_ms)
    market["updated_at"] = market["closed_at"]
    event: dict[str, Any] = {"market_id": market_id, "closed_at": market["closed_at"]}
    if owner_bids.owner_endorsed(market):
        event["refused_bids"] = market["refused_bids"] = await accept_posted_bids(tx, market)
    tx.ledger.put(key("market", market_id), market)
    bids = [b for b in await tx.ledger.values("bid", market_id) if b["status"] in ("active", "sealed")]
    tx.ledger.emit("GateClosed", {**event, "bids": len(bids)})
    return market


async def accept_posted_bids(tx: Tx, market: dict[str, Any]) -> list[dict[str, str]]:
    from chaincode.bids import accept_posted  # bids reads markets: imported here, when a gate closes

    return await accept_posted(tx, market)


async def read_market(tx: Tx, market_id: str) -> dict[str, Any]:
    await governance.require_any(tx)
    market = await load(tx, market_id)
    enrolled = [e["participant"] for e in await tx.ledger.values("enrolment", market_id)]
    return {**market, "enrolled": enrolled}


async def list_markets(tx: Tx, query_json: str) -> list[dict[str, Any]]:
    await governance.require_any(tx)
    query: dict[str, Any] = {}
    if query_json.strip():
        query = dict(validate.obj(validate.parse_json(query_json, "query"), "query", ("kind", "day", "status", "feeder")))
    return [m for m in await tx.ledger.values("market") if all(m.get(k) == v for k, v in query.items())]
