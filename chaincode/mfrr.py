"""The wholesale ancillary-service module (MARKETFLEX II.3): mFRR bids for the TSO's balancing platform.

The platform forwards bids and makes sure their activation cannot harm the distribution network:

* ``SubmitMfrrBid`` (aggregator): quantity, price, direction (``up`` = inject more / consume less,
  ``down`` = the opposite) and one activation period of a device it manages. The network check runs at
  once: on the day's firm state (baseline, cleared local markets, spot trades) and the worst case of
  what is already out (forwarded bids, spot orders awaiting the exchange), the bid is forwarded whole,
  curtailed, or rejected.
* DSO-TSO coordination (:mod:`chaincode.coordination`) adds bids the same way, from local offers the DSO
  did not dispatch.
* ``ActivateMfrr`` (TSO): an activation of a forwarded bid, at most its forwarded quantity, checked
  against the network with every other activation of the day; the TSO's payment is escrowed.
* ``RecordMfrrDelivery`` (DSO, from metering) and ``SettleMfrrActivation`` (settlement): the owner is
  paid for what was delivered, the TSO gets the rest of its escrow back, and the shortfall is recorded
  as ``non_delivered_mw`` for the auditor.

Why the bid list is read by range: the robust check must see every bid already forwarded for the day,
so two bids submitted in the same block conflict and one is re-submitted. Balancing bids are few.
"""

from __future__ import annotations

from typing import Any

from chaincode import clock, funds, governance, registry, validate
from chaincode import wholesale_grid as grid
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, Conflict, FailedPrecondition
from chaincode.state import key
from clearing import limits, wholesale
from clearing.limits import echo
from contract.wholesale import ACTIVATION_FIELDS, MFRR_BID_FIELDS, MFRR_CONSENT_FIELDS, MFRR_CONSENT_REQUIRED

DIRECTIONS = ("up", "down")
OPEN = ("forwarded", "curtailed")  # a bid the TSO may still activate


def scope(activation_id: str) -> str:
    return f"mfrr:{activation_id}"


async def bids_of_day(tx: Tx, day: str) -> list[dict[str, Any]]:
    return [b for b in await tx.ledger.values("mfrrbid") if b["day"] == day]


async def forward(tx: Tx, new_bids: list[dict[str, Any]], day: str, firm: grid.Injections) -> list[dict[str, Any]]:
    """Run the network check on ``new_bids`` (in the given order) and write them forwarded/curtailed/rejected.

    The worst case of everything of the day already out (:func:`grid.outstanding`: forwarded mFRR bids,
    spot orders awaiting the exchange) is reserved first, so that no combination of activations and
    trades the TSO and the exchange may choose can break a limit.
    """
    baseline = await grid.baseline_of(tx, day, "bid.day")
    feeder = grid.feeder(await grid.feeder_document(tx, baseline), firm, "network")
    periods = baseline["periods"]
    reserved = await grid.outstanding(tx, day, periods)
    granted = wholesale.curtail(feeder, [grid.mfrr_order(b, periods, "quantity_mw") for b in new_bids], reserved)
    for bid in new_bids:
        forwarded = granted[bid["id"]][bid["period"]]
        status = "rejected" if not forwarded else ("forwarded" if forwarded == bid["quantity_mw"] else "curtailed")
        bid.update(forwarded_mw=forwarded, status=status)
        tx.ledger.put(key("mfrrbid", bid["id"]), bid)
    return new_bids


async def load_bid(tx: Tx, bid_id: str, field: str) -> dict[str, Any]:
    return await grid.load_record(tx, "mfrrbid", bid_id, field, "mFRR bid")


async def submit_mfrr_bid(tx: Tx, bid_json: str) -> dict[str, Any]:
    await governance.require(tx, "aggregator")
    doc = validate.obj(validate.parse_json(bid_json, "bid"), "bid", MFRR_BID_FIELDS, MFRR_BID_FIELDS)
    bid_id = validate.ident(doc["id"], "bid.id")
    day = clock.parse_day(doc["day"], "bid.day")
    baseline = await grid.baseline_of(tx, day, "bid.day")
    period = validate.integer(doc["period"], "bid.period", 0, baseline["periods"] - 1)
    if doc["direction"] not in DIRECTIONS:
        raise ChaincodeError("bid.direction", f"must be one of {', '.join(DIRECTIONS)}, got {echo(doc['direction'])}")
    device = await grid.managed_device(tx, doc["device"], "bid.device")
    quantity = validate.number(doc["quantity_mw"], "bid.quantity_mw", above=0, maximum=device.max_power_mw)
    validate.check_multiple(quantity, wholesale.DEFAULT_STEP_MW, "bid.quantity_mw", "order granularity")
    price = grid.price(doc["price_eur_per_mwh"], "bid.price_eur_per_mwh")
    if await tx.ledger.get(key("mfrrbid", bid_id)) is not None:
        raise Conflict("bid.id", f"mFRR bid {bid_id} already exists")
    bid = new_bid(tx, bid_id, device, day, period, doc["direction"], quantity, price, "aggregator")
    [bid] = await forward(tx, [bid], day, await grid.firm(tx, day, with_activations=False))
    tx.ledger.emit("MfrrBidChecked", {"bid_id": bid_id, "status": bid["status"], "forwarded_mw": bid["forwarded_mw"]})
    return bid


def new_bid(tx: Tx, bid_id: str, device: registry.Device, day: str, period: int, direction: str,
            quantity: float, price: float, source: str) -> dict[str, Any]:
    return {"id": bid_id, "owner": device.manager, "device": device.id, "node": device.node, "day": day,
            "period": period, "direction": direction, "quantity_mw": quantity, "price_eur_per_mwh": price,
            "source": source, "forwarded_mw": 0.0, "status": "submitted", "timestamp": clock.iso(tx.now_ms),
            "tx_id": tx.tx_id}


async def set_mfrr_consent(tx: Tx, consent_json: str) -> dict[str, Any]:
    """The device's manager allows (or stops) offering its undispatched local flexibility to the TSO."""
    await governance.require(tx, "aggregator")
    doc = validate.obj(validate.parse_json(consent_json, "consent"), "consent",
                       MFRR_CONSENT_FIELDS, MFRR_CONSENT_REQUIRED)
    device = await grid.managed_device(tx, doc["device"], "consent.device")
    price = doc.get("price_eur_per_mwh")
    if price is not None:
        price = grid.price(price, "consent.price_eur_per_mwh")
    record = {"device": device.id, "manager": tx.caller.msp_id, "allow": validate.boolean(doc["allow"], "consent.allow"),
              "price_eur_per_mwh": price, "updated_at": clock.iso(tx.now_ms)}
    tx.ledger.put(key("mfrrconsent", device.id), record)
    return record


# ----------------------------------------------------------------------------- activations
async def load_activation(tx: Tx, activation_id: str, field: str = "activationId") -> dict[str, Any]:
    return await grid.load_record(tx, "mfrractivation", activation_id, field, "mFRR activation")


async def activate_mfrr(tx: Tx, activation_json: str) -> dict[str, Any]:
    """The TSO activates a forwarded bid; refused if the bid or the network does not allow it."""
    await governance.require(tx, "tso")
    doc = validate.obj(validate.parse_json(activation_json, "activation"), "activation", ACTIVATION_FIELDS,
                       ACTIVATION_FIELDS)
    activation_id = validate.ident(doc["id"], "activation.id")
    if await tx.ledger.get(key("mfrractivation", activation_id)) is not None:
        raise Conflict("activation.id", f"mFRR activation {activation_id} already exists")
    bid = await load_bid(tx, validate.ident(doc["bid_id"], "activation.bid_id"), "activation.bid_id")
    if bid["status"] not in OPEN:
        raise FailedPrecondition("activation.bid_id", f"mFRR bid {bid['id']} is {bid['status']} and cannot be activated")
    quantity = validate.number(doc["quantity_mw"], "activation.quantity_mw", above=0, maximum=bid["forwarded_mw"])
    validate.check_multiple(quantity, wholesale.DEFAULT_STEP_MW, "activation.quantity_mw", "order granularity")
    baseline = await grid.baseline_of(tx, bid["day"], "activation.bid_id")
    firm = await grid.firm(tx, bid["day"], with_activations=True)
    feeder = grid.feeder(await grid.feeder_document(tx, baseline), firm, "network")
    sign = 1 if bid["direction"] == "up" else -1
    broken = wholesale.violations(feeder, {(bid["node"], bid["period"]): sign * quantity})
    if broken:
        raise FailedPrecondition("activation.quantity_mw", "the activation would break the network limits: "
                                 + "; ".join(v.describe() for v in broken[:3]))
    cents = grid.energy_cents(bid["price_eur_per_mwh"], quantity, baseline["period_minutes"], up=True)
    await funds.lock(tx, scope(activation_id), tx.caller.msp_id, cents, "activation.quantity_mw")
    now = clock.iso(tx.now_ms)
    activation = {"id": activation_id, "bid_id": bid["id"], "day": bid["day"], "period": bid["period"],
                  "direction": bid["direction"], "node": bid["node"], "device": bid["device"], "owner": bid["owner"],
                  "tso": tx.caller.msp_id, "quantity_mw": quantity, "price_eur_per_mwh": bid["price_eur_per_mwh"],
                  "period_minutes": baseline["period_minutes"], "escrow_cents": cents, "status": "activated",
                  "delivered_mw": None, "non_delivered_mw": None, "activated_at": now, "tx_id": tx.tx_id}
    tx.ledger.put(key("mfrractivation", activation_id), activation)
    bid.update(status="activated", activation_id=activation_id, activated_at=now)
    tx.ledger.put(key("mfrrbid", bid["id"]), bid)
    tx.ledger.emit("MfrrActivated", {"activation_id": activation_id, "bid_id": bid["id"], "quantity_mw": quantity})
    return activation


async def record_mfrr_delivery(tx: Tx, activation_id: str, delivered_mw: str) -> dict[str, Any]:
    """The DSO's metered delivery of an activation; a shortfall stays visible as ``non_delivered_mw``."""
    await governance.require(tx, "dso")
    activation = await load_activation(tx, activation_id)
    if activation["status"] != "activated":
        raise FailedPrecondition("activationId", f"mFRR activation {activation_id} is already {activation['status']}")
    delivered = validate.number(validate.parse_json(delivered_mw, "deliveredMw", bare=True), "deliveredMw",
                                minimum=0, maximum=limits.MAX_MW)
    shortfall = max(0.0, round(activation["quantity_mw"] - delivered, 6))
    activation.update(status="delivered", delivered_mw=delivered, non_delivered_mw=shortfall,
                      delivery_recorded_at=clock.iso(tx.now_ms))
    tx.ledger.put(key("mfrractivation", activation_id), activation)
    tx.ledger.emit("MfrrDeliveryRecorded", {"activation_id": activation_id, "delivered_mw": delivered,
                                            "non_delivered_mw": shortfall})
    return activation


async def settle_mfrr_activation(tx: Tx, activation_id: str) -> dict[str, Any]:
    """The TSO pays the owner for what was delivered (at most what it activated); the rest is released."""
    await governance.require(tx, "settlement")
    activation = await load_activation(tx, activation_id)
    if activation["status"] != "delivered":
        raise FailedPrecondition("activationId", f"mFRR activation {activation_id} is {activation['status']}; "
                                 "only a delivery recorded by the DSO is settled")
    paid_mw = min(activation["delivered_mw"], activation["quantity_mw"])
    cents = grid.energy_cents(activation["price_eur_per_mwh"], paid_mw, activation["period_minutes"], up=False)
    await funds.pay(tx, scope(activation_id), activation["tso"], activation["owner"], cents)
    rest = await funds.market_escrow(tx, scope(activation_id), activation["tso"])
    await funds.release(tx, scope(activation_id), activation["tso"], rest)
    activation.update(status="settled", paid_cents=cents, released_cents=rest, settled_at=clock.iso(tx.now_ms))
    tx.ledger.put(key("mfrractivation", activation_id), activation)
    tx.ledger.emit("MfrrSettled", {"activation_id": activation_id, "paid_cents": cents,
                                   "non_delivered_mw": activation["non_delivered_mw"]})
    return activation


# ----------------------------------------------------------------------------- reads
async def _visible(tx: Tx, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The TSO, DSO, auditors and settlement see everything; an aggregator its own rows."""
    record = await governance.load(tx)
    if governance.has_role(record, tx, "tso", "dso", "auditor", "settlement"):
        return rows
    governance.check_role(record, tx, "aggregator")
    return [r for r in rows if r["owner"] == tx.caller.msp_id]


async def list_mfrr_bids(tx: Tx, day: str) -> list[dict[str, Any]]:
    return await _visible(tx, await bids_of_day(tx, clock.parse_day(day, "day")))


async def list_mfrr_activations(tx: Tx, day: str) -> list[dict[str, Any]]:
    day = clock.parse_day(day, "day")
    return await _visible(tx, [a for a in await tx.ledger.values("mfrractivation") if a["day"] == day])
