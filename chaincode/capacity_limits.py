"""Capacity limits: per feeder and period, what a capacity market may award (``PublishCapacityLimits``).

Why a module of its own: limits belong to a market and are checked against the network, so they need both
``markets`` and ``network_data``; kept in ``network_data`` they made the two import each other.
"""

from __future__ import annotations

from typing import Any

from chaincode import clock, governance, markets, network_data, validate
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, FailedPrecondition, NotFound
from chaincode.state import key
from clearing import limits
from clearing.limits import echo


async def publish_capacity_limits(tx: Tx, limits_json: str) -> dict[str, Any]:
    """Limits per feeder and period for one capacity market, until its gate closes (then they are frozen,
    so the DSO cannot reshape the market after seeing the bids).

    ``from_day_ahead`` (an intraday market only) derives the limits from what the cleared day-ahead
    market of the same day and feeder left: its limits minus the capacity it awarded.
    """
    await governance.require(tx, "dso")
    doc = validate.obj(validate.parse_json(limits_json, "limits", bare=True), "$", ("market_id", "limits", "from_day_ahead"),
                       ("market_id",))
    market = await markets.load(tx, validate.ident(doc["market_id"], "market_id"), "market_id")
    if not market["kind"].startswith("capacity"):
        raise ChaincodeError("market_id", f"market {market['id']} is a {market['kind']} market, not a capacity market")
    if market["status"] != "open" or tx.now_ms >= market["gate_closes_ms"]:
        raise ChaincodeError("market_id", f"the limits of market {market['id']} are frozen: its gate closed at "
                             f"{market['gate_closes']}")
    net = await network_data.read_network(tx, market["network_version"])
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
