"""Bids (MARKETFLEX III.A): device, quantity, period(s), price, timestamp, divisible or not.

An aggregator bids only for devices it manages, only in markets it enrolled in, only while the gate
is open (transaction timestamp), and every field is checked against the device and the market rules
before anything is written. The bid's timestamp is the transaction timestamp, never a client value.

The one-bid-per-device-and-period check reads a small per-device index key (``devicebids``), not a range
of all the market's bids: a range read would make concurrent bids on different devices collide in Fabric's
phantom-read validation, so that only one bid per block could commit.

Capacity bids in a ``premium_capacity`` market carry their maximum value (price × quantity × periods ×
period hours, rounded up to the cent) as ``escrow_cents``; a bid must be coverable by its owner's
available money when placed, and the money is escrowed at gate closure, in the clearing transaction,
so that settlement can always pay the DSO while concurrent bids of one owner never share a written key.
``social_equity`` markets charge nothing. Flexibility offers carry P/Q up/down products, one quantity per period.
"""

from __future__ import annotations

import json
from decimal import ROUND_CEILING, Decimal
from typing import Any

from chaincode import clock, funds, governance, markets, owner_bids, registry, validate
from chaincode.context import Tx, reads_first
from chaincode.errors import ChaincodeError, Conflict, FailedPrecondition, Forbidden, NotFound
from chaincode.market_kinds import kind_of
from chaincode.state import key, split_key
from clearing.api import CAPACITY_INPUT_BID_FIELDS
from contract.records import (
    CAPACITY_BID_FIELDS,
    CAPACITY_BID_REQUIRED,
    FLEX_BID_FIELDS,
    FLEX_PRODUCTS,
    PRODUCT_FIELDS,
)

#: Statuses of a bid that still takes part (``sealed``: committed, content not yet revealed; ``posted``: in an
#: owner-endorsed market's slot, checked again by every organisation at gate closure, chaincode/owner_bids.py).
LIVE = ("active", "sealed", "posted")


def max_value_cents(price: float, quantity: float, periods: int, period_minutes: int) -> int:
    """Most a capacity bid can be charged, in cents, rounded up (escrow must cover any payment)."""
    eur = validate.dec(price) * validate.dec(quantity) * periods * period_minutes / Decimal(60)
    return int((eur * 100).to_integral_value(rounding=ROUND_CEILING))


def _price(value: Any, rules: dict[str, float], field: str) -> float:
    price = validate.number(value, field, minimum=rules["min_price_eur_per_mwh"], maximum=rules["max_price_eur_per_mwh"])
    validate.check_multiple(price, rules["price_resolution_eur"], field, "price resolution")
    return price


def _capacity_bid(doc: Any, market: dict[str, Any], device: registry.Device) -> dict[str, Any]:
    doc = validate.obj(doc, "bid", CAPACITY_BID_FIELDS, CAPACITY_BID_REQUIRED)
    rules = market["rules"]
    raw_periods = doc["periods"]
    if not isinstance(raw_periods, list) or not raw_periods:
        raise ChaincodeError("bid.periods", "must be a non-empty list of period indexes")
    periods = [validate.integer(p, f"bid.periods[{i}]", 0, market["periods"] - 1) for i, p in enumerate(raw_periods)]
    if len(set(periods)) != len(periods):
        raise ChaincodeError("bid.periods", "lists a period twice")
    quantity = validate.number(doc["quantity_mw"], "bid.quantity_mw", above=0,
                               minimum=rules["min_quantity_mw"], maximum=rules["max_quantity_mw"])
    validate.check_multiple(quantity, rules["quantity_step_mw"], "bid.quantity_mw", "order granularity")
    if quantity > device.max_power_mw:
        raise ChaincodeError("bid.quantity_mw", f"exceeds the max power {device.max_power_mw:g} MW of device {device.id}")
    if quantity < device.min_power_mw:
        raise ChaincodeError("bid.quantity_mw", f"is below the device's min power {device.min_power_mw:g} MW")
    divisible = validate.boolean(doc.get("divisible", False), "bid.divisible")
    if divisible:
        min_mw = validate.number(doc.get("min_mw", device.min_power_mw), "bid.min_mw", minimum=0, maximum=quantity)
        if min_mw < device.min_power_mw:
            raise ChaincodeError("bid.min_mw", f"the divisible part must be >= the device's min power "
                                 f"{device.min_power_mw:g} MW, got {min_mw:g}")
        validate.check_multiple(min_mw, rules["quantity_step_mw"], "bid.min_mw", "order granularity")
    else:
        min_mw = validate.number(doc.get("min_mw", quantity), "bid.min_mw")
        if min_mw != quantity:
            raise ChaincodeError("bid.min_mw", f"a non-divisible bid is all or nothing: must equal quantity_mw {quantity:g}")
    price = _price(doc["price_eur_per_mwh"], rules, "bid.price_eur_per_mwh")
    escrow = 0
    if market["rule"] == "premium_capacity":
        escrow = max_value_cents(price, quantity, len(periods), market["period_minutes"])
    return {"periods": sorted(periods), "quantity_mw": quantity, "min_mw": min_mw, "divisible": divisible,
            "price_eur_per_mwh": price, "escrow_cents": escrow}


def _flex_offer(doc: Any, market: dict[str, Any], device: registry.Device) -> dict[str, Any]:
    doc = validate.obj(doc, "bid", FLEX_BID_FIELDS, FLEX_BID_FIELDS)
    rules = market["rules"]
    raw = doc["products"]
    if not isinstance(raw, dict) or not raw:
        raise ChaincodeError("bid.products", f"must offer at least one of {', '.join(FLEX_PRODUCTS)}")
    products: dict[str, Any] = {}
    for name in sorted(raw):
        field = f"bid.products.{name}"
        if name not in FLEX_PRODUCTS:
            raise ChaincodeError(field, f"unknown product; expected one of {', '.join(FLEX_PRODUCTS)}")
        spec = validate.obj(raw[name], field, PRODUCT_FIELDS, PRODUCT_FIELDS)
        series = spec["quantity_mw"]
        if not isinstance(series, list) or len(series) != market["periods"]:
            raise ChaincodeError(f"{field}.quantity_mw", f"must list one quantity per period ({market['periods']})")
        quantities = []
        for i, value in enumerate(series):
            q = validate.number(value, f"{field}.quantity_mw[{i}]", minimum=0, maximum=rules["max_quantity_mw"])
            if q > device.max_power_mw:
                raise ChaincodeError(f"{field}.quantity_mw[{i}]",
                                     f"exceeds the max power {device.max_power_mw:g} MW of device {device.id}")
            if q and q < max(rules["min_quantity_mw"], device.min_power_mw):
                raise ChaincodeError(f"{field}.quantity_mw[{i}]", "is below the minimum quantity of the market or "
                                     f"device ({max(rules['min_quantity_mw'], device.min_power_mw):g} MW)")
            validate.check_multiple(q, rules["quantity_step_mw"], f"{field}.quantity_mw[{i}]", "order granularity")
            quantities.append(q)
        if not any(quantities):
            raise ChaincodeError(f"{field}.quantity_mw", "offers nothing in any period")
        products[name] = {"price_eur_per_mwh": _price(spec["price_eur_per_mwh"], rules, f"{field}.price_eur_per_mwh"),
                          "quantity_mw": quantities}
    return {"products": products, "escrow_cents": 0}


#: How a bid of each kind is read (market_kinds.*.bid_kind).
_PARSERS = {"capacity": _capacity_bid, "flexibility": _flex_offer}


def _oracle_check(bid: dict[str, Any], market: dict[str, Any]) -> None:
    """The capacity oracle's own per-bid validator: a bid it would refuse at clearing is refused now."""
    from clearing.capacity import validate_bid
    from clearing.errors import ValidationError

    try:
        validate_bid({name: bid[name] for name in CAPACITY_INPUT_BID_FIELDS}, market["rules"], market["periods"], "bid")
    except ValidationError as exc:
        raise ChaincodeError(exc.field, exc.message) from exc


def _overlaps(new: dict[str, Any], old: dict[str, Any]) -> bool:
    if new.get("periods") is not None and old.get("periods") is not None:
        return bool(set(new["periods"]) & set(old["periods"]))
    return True  # one flexibility offer (or one sealed bid) per device and market


async def _require_funds_for(tx: Tx, bid: dict[str, Any]) -> None:
    """Refuse a bid whose own maximum value exceeds the owner's available money.

    Only a read: the money is escrowed at gate closure (``clearing_tx``), so concurrent bids of one
    owner write no common key and all commit.
    """
    if bid["escrow_cents"] == 0:
        return
    available = (await funds.load(tx, bid["owner"])).available_cents
    if available < bid["escrow_cents"]:
        raise FailedPrecondition("bid.price_eur_per_mwh", f"{bid['owner']} needs {bid['escrow_cents']} cents available "
                             f"for this bid's escrow but has {available}")


def placement_keys(tx: Tx, bid_json: str, *_: str) -> list[str]:
    """The keys every successful placement (open or sealed) reads: market, enrolment, device, bid id and the
    device's slot; none if the text is no bid whose ids form keys (the checks then refuse it, naming the field)."""
    try:
        doc = json.loads(bid_json)
    except ValueError:
        return []
    if not isinstance(doc, dict):
        return []
    ids = [doc.get(name) for name in ("id", "market_id", "device")]
    if not all(isinstance(v, str) and v for v in ids):
        return []
    bid_id, market_id, device_id = ids
    try:
        return [key("market", market_id), key("enrolment", market_id, tx.caller.msp_id), key("device", device_id),
                key("bidref", bid_id), key("devicebids", market_id, device_id)]
    except ChaincodeError:
        return []


async def market_and_device(tx: Tx, doc: Any) -> tuple[dict[str, Any], registry.Device]:
    """The checks every bid passes at placement, sealed or not: gate open, enrolled, device managed here."""
    if not isinstance(doc, dict):
        raise ChaincodeError("bid", "must be a JSON object")
    validate.ident(doc.get("id"), "bid.id")
    market = await markets.load(tx, validate.ident(doc.get("market_id"), "bid.market_id"), "bid.market_id")
    markets.require_gate_open(tx, market, "bid.market_id")
    if not await markets.is_enrolled(tx, market["id"], tx.caller.msp_id):
        raise FailedPrecondition("bid.market_id", f"{tx.caller.msp_id} is not enrolled in market {market['id']}")
    device = await registry.load(tx, validate.ident(doc.get("device"), "bid.device"), "bid.device")
    registry.require_manager(tx, device, "bid.device")
    if device.status != "active":
        raise FailedPrecondition("bid.device", f"device {device.id} is retired")
    if market["feeder"] is not None and device.feeder != market["feeder"]:
        raise ChaincodeError("bid.device", f"device {device.id} is on feeder {device.feeder}, "
                             f"market {market['id']} trades feeder {market['feeder']}")
    return market, device


def content(doc: Any, market: dict[str, Any], device: registry.Device) -> dict[str, Any]:
    """The checked price/quantity part of a bid (capacity or flexibility, by the market's kind)."""
    return _PARSERS[kind_of(market).bid_kind](doc, market, device)


async def claim_device(tx: Tx, market: dict[str, Any], device: registry.Device, bid_id: str,
                       periods: list[int] | None) -> None:
    """Refuse a duplicate bid id or a second bid on the device's periods; record the bid in the device's slot.

    ``periods`` None (a flexibility offer, or a sealed bid whose periods nobody may know yet) overlaps
    every other bid of the device in the market.
    """
    if await tx.ledger.get(key("bidref", bid_id)) is not None:
        raise Conflict("bid.id", f"bid {bid_id} already exists")
    slot_key = key("devicebids", market["id"], device.id)
    slot = await tx.ledger.get(slot_key) or {"market_id": market["id"], "device": device.id, "active": {}}
    refuse_overlap(device.id, market["id"], periods, slot["active"])
    slot["active"][bid_id] = periods
    tx.ledger.put(slot_key, slot)


def refuse_overlap(device_id: str, market_id: str, periods: list[int] | None,
                   active: dict[str, list[int] | None]) -> None:
    """Refuse a bid whose periods overlap one of the device's ``active`` bids (bid id → periods)."""
    for other_id, other_periods in sorted(active.items()):
        if _overlaps({"periods": periods}, {"periods": other_periods}):
            raise Conflict("bid.device", f"device {device_id} already has active bid {other_id} "
                                 f"in market {market_id} for the same period(s)")


def record(tx: Tx, market: dict[str, Any], device: registry.Device, bid_id: str, status: str) -> dict[str, Any]:
    """The public part of a bid: who, which device, and when (the FCFS order), from this transaction."""
    return record_of(tx.caller.msp_id, tx.now_ms, tx.tx_id, market, device, bid_id, status)


def record_of(owner: str, timestamp_ms: int, tx_id: str, market: dict[str, Any], device: registry.Device,
              bid_id: str, status: str) -> dict[str, Any]:
    return {"id": bid_id, "market_id": market["id"], "kind": kind_of(market).bid_kind,
            "owner": owner, "device": device.id, "feeder": device.feeder, "node": device.node,
            "timestamp": clock.iso(timestamp_ms), "timestamp_ms": timestamp_ms, "tx_id": tx_id, "status": status}


async def check_content(tx: Tx, bid: dict[str, Any], market: dict[str, Any]) -> None:
    """The checks on a complete bid: the capacity oracle's own validator, and the owner's money."""
    if bid["kind"] == "capacity":
        _oracle_check(bid, market)
    await _require_funds_for(tx, bid)


@reads_first(placement_keys)
async def place_bid(tx: Tx, bid_json: str) -> dict[str, Any]:
    await governance.require(tx, "aggregator")
    doc = validate.parse_json(bid_json, "bid")
    market, device = await market_and_device(tx, doc)
    if market.get("sealed"):
        raise FailedPrecondition("bid.market_id", f"market {market['id']} takes sealed bids only: commit a salted "
                                 "hash with CommitBid and reveal the bid after the gate closes")
    body = content(doc, market, device)
    bid_id = doc["id"]
    if owner_bids.owner_endorsed(market):
        return await _post(tx, market, device, doc, body)
    await claim_device(tx, market, device, bid_id, body.get("periods"))
    bid = {**record(tx, market, device, bid_id, "active"), **body}
    await check_content(tx, bid, market)
    tx.ledger.put(key("bid", market["id"], bid_id), bid)
    tx.ledger.put(key("bidref", bid_id), {"market_id": market["id"]})
    tx.ledger.emit("BidPlaced", {"market_id": market["id"], "bid_id": bid_id, "owner": bid["owner"],
                                 "device": device.id, "timestamp": bid["timestamp"]})
    return bid


async def _post(tx: Tx, market: dict[str, Any], device: registry.Device, doc: dict[str, Any],
                body: dict[str, Any]) -> dict[str, Any]:
    """A bid of an owner-endorsed market: the same checks (advice here, see chaincode/owner_bids.py), and its
    slot the only key written, so that the bidder's own peer is the one endorser Fabric asks for."""
    bid_id = doc["id"]
    if await tx.ledger.get(key("bidref", bid_id)) is not None:
        raise Conflict("bid.id", f"bid {bid_id} already exists")
    # read as every placement reads it (placement_keys), so a peer with batched reads and one without record the
    # same read set; gate closure writes it, so a bid racing the closure fails its MVCC check there too
    await tx.ledger.get(key("devicebids", market["id"], device.id))
    bid = {**record(tx, market, device, bid_id, "posted"), **body}
    await check_content(tx, bid, market)
    await owner_bids.post(tx, market, device, bid_id, doc, body.get("periods"), refuse_overlap)
    tx.ledger.emit("BidPlaced", {"market_id": market["id"], "bid_id": bid_id, "owner": bid["owner"],
                                 "device": device.id, "timestamp": bid["timestamp"]})
    return bid


async def accept_posted(tx: Tx, market: dict[str, Any]) -> list[dict[str, str]]:
    """Gate closure of an owner-endorsed market (endorsed by all): every posted bid checked again, the accepted
    ones written as ``bid`` records, every slot deleted. Returns the refused bids and why."""
    refused: list[dict[str, str]] = []
    taken: set[str] = set()
    for slot_key, slot in await owner_bids.slots_of(tx, market["id"]):
        _, (owner, _, device_id) = split_key(slot_key)
        tx.ledger.delete(slot_key)
        posted = owner_bids.posted_bids(slot)
        if posted is None or len(posted) > market["periods"]:  # at most one bid per period and device
            refused.append(owner_bids.refusal("", owner, ChaincodeError(
                "slot", f"device {device_id}: {'unreadable' if posted is None else 'more bids than periods'}")))
            continue
        try:
            device = await registry.load(tx, device_id, "bid.device")
        except ChaincodeError as exc:
            refused.extend(owner_bids.refusal(bid_id, owner, exc) for bid_id in sorted(posted))
            continue
        index_key = key("devicebids", market["id"], device_id)
        index = await tx.ledger.get(index_key) or {"market_id": market["id"], "device": device_id, "active": {}}
        for bid_id in sorted(posted):
            try:
                bid = await _accepted(tx, market, device, owner, bid_id, posted[bid_id], taken)
                refuse_overlap(device_id, market["id"], bid.get("periods"), index["active"])
            except ChaincodeError as exc:
                refused.append(owner_bids.refusal(bid_id, owner, exc))
                continue
            taken.add(bid_id)
            index["active"][bid_id] = bid.get("periods")
            tx.ledger.put(key("bid", market["id"], bid_id), bid)
            tx.ledger.put(key("bidref", bid_id), {"market_id": market["id"]})
        if index["active"]:
            tx.ledger.put(index_key, index)
    return refused


async def _accepted(tx: Tx, market: dict[str, Any], device: registry.Device, owner: str, bid_id: str,
                    posted: Any, taken: set[str]) -> dict[str, Any]:
    """One posted bid re-checked by this endorser as if it were placed now by ``owner`` at its claimed time."""
    validate.ident(bid_id, "bid.id")
    if not isinstance(posted, dict) or not isinstance(posted.get("doc"), dict):
        raise ChaincodeError("bid", "the slot holds no bid document")
    doc = posted["doc"]
    for name, expected in (("id", bid_id), ("market_id", market["id"]), ("device", device.id)):
        if doc.get(name) != expected:
            raise ChaincodeError(f"bid.{name}", f"is {doc.get(name)!r} in a slot of {expected}")
    if device.manager != owner:
        raise Forbidden("bid.device", f"device {device.id} is managed by {device.manager}, not {owner}")
    if device.status != "active":
        raise FailedPrecondition("bid.device", f"device {device.id} is retired")
    if market["feeder"] is not None and device.feeder != market["feeder"]:
        raise ChaincodeError("bid.device", f"device {device.id} is not on feeder {market['feeder']}")
    stamp = owner_bids.claimed_time(market, posted)
    if bid_id in taken or await tx.ledger.get(key("bidref", bid_id)) is not None:
        raise Conflict("bid.id", f"bid {bid_id} already exists")
    bid = {**record_of(owner, stamp, str(posted.get("tx_id", "")), market, device, bid_id, "active"),
           **content(doc, market, device)}
    if bid["kind"] == "capacity":
        _oracle_check(bid, market)
    return bid


def posted_view(market: dict[str, Any], slot_key: str, slot: dict[str, Any], bid_id: str) -> dict[str, Any]:
    """A posted bid as queries show it before gate closure (status ``posted``; its owner is the slot's). Only the
    owner's peer wrote it, so nothing in it is trusted to have a shape: what is not as expected is left out."""
    _, (owner, _, device_id) = split_key(slot_key)
    posted = (owner_bids.posted_bids(slot) or {}).get(bid_id)
    posted = posted if isinstance(posted, dict) else {}
    doc = posted.get("doc") if isinstance(posted.get("doc"), dict) else {}
    view = {"id": bid_id, "market_id": market["id"], "kind": kind_of(market).bid_kind, "owner": owner,
            "device": device_id, "status": "posted", "tx_id": posted.get("tx_id"),
            "timestamp_ms": posted.get("timestamp_ms"), "periods": posted.get("periods")}
    if isinstance(posted.get("timestamp_ms"), int):
        view["timestamp"] = clock.iso(posted["timestamp_ms"])
    for name in ("quantity_mw", "min_mw", "divisible", "price_eur_per_mwh", "products"):
        if name in doc:
            view[name] = doc[name]
    return view


async def load(tx: Tx, bid_id: str, field: str = "bidId") -> dict[str, Any]:
    validate.ident(bid_id, field)
    ref = await tx.ledger.get(key("bidref", bid_id))
    if ref is None:
        found = await owner_bids.find(tx, bid_id)
        if found is not None:
            market = await markets.load(tx, found[1]["market_id"])
            return posted_view(market, found[0], found[1], bid_id)
        raise NotFound(field, f"bid {bid_id} does not exist")
    return await tx.ledger.get(key("bid", ref["market_id"], bid_id))


async def _cancel_posted(tx: Tx, bid_id: str) -> dict[str, Any]:
    """Withdraw a posted bid from the caller's own slot: like the bid, only the owner's peer endorses it."""
    found = await owner_bids.find(tx, bid_id, tx.caller.msp_id)
    if found is None:
        raise NotFound("bidId", f"bid {bid_id} does not exist")
    slot_key, slot = found
    market = await markets.load(tx, slot["market_id"])
    markets.require_gate_open(tx, market, "bidId")
    view = posted_view(market, slot_key, slot, bid_id)
    del slot["bids"][bid_id]  # found there, so the slot's bids are a mapping
    tx.ledger.put(slot_key, slot)
    view.update(status="cancelled", cancelled_at=clock.iso(tx.now_ms))
    tx.ledger.emit("BidCancelled", {"market_id": market["id"], "bid_id": bid_id, "owner": view["owner"]})
    return view


async def cancel_bid(tx: Tx, bid_id: str) -> dict[str, Any]:
    await governance.require(tx, "aggregator")
    validate.ident(bid_id, "bidId")
    if await tx.ledger.get(key("bidref", bid_id)) is None:
        return await _cancel_posted(tx, bid_id)
    bid = await load(tx, bid_id)
    if bid["owner"] != tx.caller.msp_id:
        raise Forbidden("bidId", f"bid {bid_id} belongs to {bid['owner']}, not {tx.caller.msp_id}")
    if bid["status"] not in LIVE:
        raise Conflict("bidId", f"bid {bid_id} is already {bid['status']}")
    market = await markets.load(tx, bid["market_id"])
    markets.require_gate_open(tx, market, "bidId")
    bid["status"] = "cancelled"
    bid["cancelled_at"] = clock.iso(tx.now_ms)
    slot_key = key("devicebids", market["id"], bid["device"])
    slot = await tx.ledger.get(slot_key)
    if slot is not None:
        slot["active"].pop(bid_id, None)
        tx.ledger.put(slot_key, slot)
    tx.ledger.put(key("bid", market["id"], bid_id), bid)
    tx.ledger.emit("BidCancelled", {"market_id": market["id"], "bid_id": bid_id, "owner": bid["owner"]})
    return bid


async def active_bids(tx: Tx, market_id: str) -> list[dict[str, Any]]:
    return [b for b in await tx.ledger.values("bid", market_id) if b["status"] == "active"]


async def list_bids(tx: Tx, market_id: str) -> list[dict[str, Any]]:
    """The market's bids; in an owner-endorsed market before gate closure, its posted bids too."""
    await governance.require_any(tx)
    market = await markets.load(tx, market_id)
    found = await tx.ledger.values("bid", market_id)
    for slot_key, slot in await owner_bids.slots_of(tx, market_id):
        found.extend(posted_view(market, slot_key, slot, bid_id) for bid_id in sorted(owner_bids.posted_bids(slot) or {}))
    return sorted(found, key=lambda b: b["id"])
