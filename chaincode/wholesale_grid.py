"""The feeder state the wholesale modules check against, assembled only from ledger state.

What is firm on a day, in this order: the DSO's baseline, the dispatch of every local flexibility
market of the day that has cleared, the spot trades the exchange confirmed, the mFRR activations the
TSO requested. Each module checks its orders on top of what is firm before them (spot: baseline + local;
mFRR: + spot trades), so the wholesale level never undoes what the local markets bought.

Money helpers live here too: energy value = price x MW x period hours, in integer cents.
"""

from __future__ import annotations

import json
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any

from chaincode import registry, validate
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, FailedPrecondition, Forbidden, NotFound
from chaincode.state import key
from clearing import limits, wholesale
from clearing.errors import ValidationError

FLEX_SCHEMA = "flexledger.clearing/1"

Injections = dict[tuple[str, int], float]


async def baseline_of(tx: Tx, day: str, field: str) -> dict[str, Any]:
    baseline = await tx.ledger.get(key("baseline", day))
    if baseline is None:
        raise FailedPrecondition(field, f"no baseline has been published for {day}")
    return baseline


async def feeder_document(tx: Tx, baseline: dict[str, Any]) -> dict[str, Any]:
    """The ``flexledger.clearing/1`` document of the day (no offers) on the baseline's network version."""
    from chaincode import network_data

    net = await network_data.read_network(tx, baseline["network_version"])
    return {"schema": FLEX_SCHEMA, "periods": baseline["periods"], "period_minutes": baseline["period_minutes"],
            "network": net["network"], "baseline": baseline["baseline"], "substation": baseline["substation"],
            "shedding_cost": baseline["shedding_cost"]}


def add(into: Injections, node: str, period: int, mw: float) -> None:
    if mw:
        into[(node, period)] = into.get((node, period), 0.0) + mw


async def local_dispatch(tx: Tx, day: str) -> Injections:
    """Net P injected by the cleared local flexibility markets of ``day`` (p_up - p_down per node)."""
    out: Injections = {}
    for market in await tx.ledger.values("market"):
        if market["kind"] != "flexibility" or market["day"] != day or market["status"] not in ("cleared", "settled"):
            continue
        raw = await tx.ledger.get_bytes(key("clearingresult", market["id"]))
        dispatch = (json.loads(raw) if raw else {}).get("dispatch_mw") or {}
        for bid_id in sorted(dispatch):
            bid = await tx.ledger.get(key("bid", market["id"], bid_id))
            if bid is None:
                continue
            products = dispatch[bid_id]
            for t, mw in enumerate(products.get("p_up") or []):
                add(out, bid["node"], t, mw)
            for t, mw in enumerate(products.get("p_down") or []):
                add(out, bid["node"], t, -mw)
    return out


async def spot_trades(tx: Tx, day: str) -> Injections:
    """Net P of the spot trades the exchange confirmed for ``day`` (sell +, buy -)."""
    out: Injections = {}
    for session in await tx.ledger.values("spotsession"):
        if session["day"] != day or session["status"] not in ("traded", "settled"):
            continue
        for trade in session.get("trades", []):
            sign = 1 if trade["side"] == "sell" else -1
            for t, mw in enumerate(trade["accepted_mw"]):
                add(out, trade["node"], t, sign * mw)
    return out


async def activations(tx: Tx, day: str) -> Injections:
    """Net P of the mFRR activations the TSO requested for ``day`` (up +, down -)."""
    out: Injections = {}
    for act in await tx.ledger.values("mfrractivation"):
        if act["day"] == day:
            add(out, act["node"], act["period"], act["quantity_mw"] * (1 if act["direction"] == "up" else -1))
    return out


async def firm(tx: Tx, day: str, *, with_activations: bool) -> Injections:
    """What is firm on ``day``: local dispatch and spot trades, and the mFRR activations if asked.

    An mFRR bid's check leaves activations out: the worst case of every forwarded bid (activated or
    not) is reserved instead, which already covers them.
    """
    out = await local_dispatch(tx, day)
    parts = [await spot_trades(tx, day)] + ([await activations(tx, day)] if with_activations else [])
    for part in parts:
        for k, mw in part.items():
            add(out, k[0], k[1], mw)
    return out


def mfrr_order(bid: dict[str, Any], periods: int, field: str = "forwarded_mw") -> wholesale.Order:
    """An mFRR bid as an order of the network check: its MW in its one period."""
    quantity = [0.0] * periods
    quantity[bid["period"]] = bid[field]
    return wholesale.Order(bid["id"], bid["node"], 1 if bid["direction"] == "up" else -1, tuple(quantity))


async def outstanding(tx: Tx, day: str, periods: int) -> list[wholesale.Order]:
    """Everything of ``day`` that has left and may still be taken, whose worst case a new check reserves.

    Every mFRR bid forwarded (activated or not: an activation is at most its bid) and every spot order of
    a session that was checked but whose results are not recorded yet (once recorded, its trades are firm).
    """
    out = [mfrr_order(b, periods) for b in await tx.ledger.values("mfrrbid")
           if b["day"] == day and b["forwarded_mw"]]
    for session in await tx.ledger.values("spotsession"):
        if session["day"] != day or session["status"] != "checked":
            continue
        for offer in await tx.ledger.values("spotoffer", session["id"]):
            if any(offer.get("forwarded_mw") or []):
                out.append(wholesale.Order(f"spot:{session['id']}:{offer['id']}", offer["node"],
                                           1 if offer["side"] == "sell" else -1, tuple(offer["forwarded_mw"])))
    return out


def feeder(document: dict[str, Any], injections: Injections, field: str) -> wholesale.Feeder:
    try:
        return wholesale.Feeder(document, injections)
    except ValidationError as exc:
        raise ChaincodeError(f"{field}.{exc.field}", exc.message) from exc


def energy_cents(price: float, mw: float, period_minutes: int, *, up: bool) -> int:
    """price x MW x hours in cents: rounded up for escrow (``up``), half-even for a payment."""
    eur = validate.dec(price) * validate.dec(mw) * period_minutes / Decimal(60)
    return int((eur * 100).quantize(Decimal(1), rounding=ROUND_CEILING if up else ROUND_HALF_EVEN))


def quantities(value: Any, field: str, periods: int, maximum: float) -> list[float]:
    """One non-negative MW per period, not all zero, each at most ``maximum``."""
    if not isinstance(value, list) or len(value) != periods:
        raise ChaincodeError(field, f"must list one quantity per period ({periods})")
    out = [validate.number(v, f"{field}[{i}]", minimum=0, maximum=maximum) for i, v in enumerate(value)]
    for i, q in enumerate(out):
        validate.check_multiple(q, wholesale.DEFAULT_STEP_MW, f"{field}[{i}]", "order granularity")
    if not any(out):
        raise ChaincodeError(field, "offers nothing in any period")
    return out


def price(value: Any, field: str) -> float:
    """A limit price in EUR/MWh: not negative, in whole cents."""
    out = validate.number(value, field, minimum=0, maximum=limits.MAX_PRICE_EUR_PER_MWH)
    validate.check_multiple(out, 0.01, field, "price resolution")
    return out


async def managed_device(tx: Tx, device_id: Any, field: str) -> registry.Device:
    """An active device the caller manages (only its manager may offer it anywhere)."""
    device = await registry.load(tx, validate.ident(device_id, field), field)
    if device.manager != tx.caller.msp_id:
        raise Forbidden(field, f"device {device.id} is managed by {device.manager}, not {tx.caller.msp_id}")
    if device.status != "active":
        raise FailedPrecondition(field, f"device {device.id} is retired")
    return device


async def load_record(tx: Tx, kind: str, ident: str, field: str, what: str) -> dict[str, Any]:
    """The record ``kind``/``ident``, or a NotFound naming ``field``."""
    validate.ident(ident, field)
    record = await tx.ledger.get(key(kind, ident))
    if record is None:
        raise NotFound(field, f"{what} {ident} does not exist")
    return record
