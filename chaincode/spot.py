"""The wholesale spot module (MARKETFLEX II.2): local flexibility offered to an external exchange.

The platform is only the intermediary: the exchange clears, the ledger checks. Flow of one session:

1. ``PublishExchangeKey`` (DSO): the Ed25519 public key of an exchange whose signed results count.
2. ``CreateSpotSession`` (DSO): a day-ahead or intraday session for one day and one exchange.
3. ``SubmitSpotOffer`` (aggregator, before the session's gate closes): sell (inject) or buy (withdraw)
   MW per period of a device it manages, with a limit price.
4. ``CheckSpotSession`` (DSO, after the gate): the network check (:mod:`clearing.wholesale`) on the day's
   baseline, the cleared local markets and the recorded spot trades, with the worst case of what is
   already out (forwarded mFRR bids, other sessions' orders awaiting the exchange), marks each offer
   feasible, curtailed or rejected; buy offers escrow their maximum cost; the book is stored with its hash.
5. The exchange adapter (outside the chaincode) sends the book and brings back the exchange's result,
   a document signed with the exchange's key.
6. ``RecordSpotResults`` (DSO relays it): the signature, the book hash, each trade against its order
   (never more than forwarded, never against the limit price) and the traded injections against the
   network limits are checked; only then are the trades recorded.
7. ``SettleSpotSession`` (settlement): sellers are credited what the exchange pays (money entering),
   buyers pay from their escrow (money leaving); the record keeps both sums for conservation audits.
"""

from __future__ import annotations

import base64
import binascii
import json
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from chaincode import clock, funds, governance, validate
from chaincode import wholesale_grid as grid
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, Conflict, FailedPrecondition, Forbidden
from chaincode.state import key
from clearing import canonical, limits, wholesale
from clearing.limits import echo
from contract.wholesale import (
    BOOK_SCHEMA,
    EXCHANGE_KEY_FIELDS,
    RESULT_DOCUMENT_FIELDS,
    RESULT_SCHEMA,
    RESULT_TRADE_FIELDS,
    RESULTS_FIELDS,
    SPOT_OFFER_FIELDS,
    SPOT_SESSION_FIELDS,
)

VENUES = ("day_ahead", "intraday")
SIDES = ("sell", "buy")


def scope(session_id: str) -> str:
    """Escrow scope of a session (kept apart from market ids)."""
    return f"spot:{session_id}"


# ----------------------------------------------------------------------------- exchange keys
async def publish_exchange_key(tx: Tx, key_json: str) -> dict[str, Any]:
    """The DSO publishes (or rotates) the key an exchange signs its results with."""
    await governance.require(tx, "dso")
    doc = validate.obj(validate.parse_json(key_json, "exchangeKey"), "exchangeKey", EXCHANGE_KEY_FIELDS,
                       EXCHANGE_KEY_FIELDS)
    name = validate.ident(doc["exchange"], "exchangeKey.exchange")
    pem = doc["public_key_pem"]
    if not isinstance(pem, str) or len(pem) > limits.TEXT_MAX_LENGTH * 4:
        raise ChaincodeError("exchangeKey.public_key_pem", "must be a PEM public key (text)")
    public = _load_key(pem, "exchangeKey.public_key_pem")
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    previous = await tx.ledger.get(key("exchangekey", name))
    record = {"exchange": name, "algorithm": "ed25519", "public_key_pem": pem,
              "fingerprint_sha256": canonical.sha256_hex(der),
              "revision": previous["revision"] + 1 if previous else 1, "published_at": clock.iso(tx.now_ms),
              "published_by": tx.caller.msp_id}
    tx.ledger.put(key("exchangekey", name), record)
    return record


def _load_key(pem: str, field: str) -> Ed25519PublicKey:
    try:
        public = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise ChaincodeError(field, f"is not a readable PEM public key: {exc}") from exc
    if not isinstance(public, Ed25519PublicKey):
        raise ChaincodeError(field, f"must be an Ed25519 key, got {type(public).__name__}")
    return public


# ----------------------------------------------------------------------------- sessions and offers
async def load_session(tx: Tx, session_id: str, field: str = "sessionId") -> dict[str, Any]:
    return await grid.load_record(tx, "spotsession", session_id, field, "spot session")


async def create_spot_session(tx: Tx, session_json: str) -> dict[str, Any]:
    await governance.require(tx, "dso")
    doc = validate.obj(validate.parse_json(session_json, "session"), "session", SPOT_SESSION_FIELDS,
                       SPOT_SESSION_FIELDS)
    session_id = validate.ident(doc["id"], "session.id")
    day = clock.parse_day(doc["day"], "session.day")
    if doc["venue"] not in VENUES:
        raise ChaincodeError("session.venue", f"must be one of {', '.join(VENUES)}, got {echo(doc['venue'])}")
    exchange = validate.ident(doc["exchange"], "session.exchange")
    if await tx.ledger.get(key("exchangekey", exchange)) is None:
        raise FailedPrecondition("session.exchange", f"no key has been published for exchange {exchange}")
    closes = clock.parse_iso(doc["gate_closes"], "session.gate_closes")
    if closes <= tx.now_ms:
        raise ChaincodeError("session.gate_closes", f"must be after the transaction time {clock.iso(tx.now_ms)}")
    baseline = await grid.baseline_of(tx, day, "session.day")
    if await tx.ledger.get(key("spotsession", session_id)) is not None:
        raise Conflict("session.id", f"spot session {session_id} already exists")
    now = clock.iso(tx.now_ms)
    session = {"id": session_id, "day": day, "venue": doc["venue"], "exchange": exchange,
               "gate_closes": clock.iso(closes), "gate_closes_ms": closes, "periods": baseline["periods"],
               "period_minutes": baseline["period_minutes"], "status": "open", "created_at": now, "updated_at": now}
    tx.ledger.put(key("spotsession", session_id), session)
    return session


async def submit_spot_offer(tx: Tx, offer_json: str) -> dict[str, Any]:
    """An aggregator's offer for a device it manages, while the session's gate is open."""
    await governance.require(tx, "aggregator")
    doc = validate.obj(validate.parse_json(offer_json, "offer"), "offer", SPOT_OFFER_FIELDS, SPOT_OFFER_FIELDS)
    offer_id = validate.ident(doc["id"], "offer.id")
    session = await load_session(tx, validate.ident(doc["session_id"], "offer.session_id"), "offer.session_id")
    clock.require_not_behind(tx)
    if session["status"] != "open" or not clock.before(tx, session["gate_closes_ms"]):
        raise FailedPrecondition("offer.session_id", f"the gate of spot session {session['id']} closed at "
                                 f"{session['gate_closes']} (now {clock.iso(tx.now_ms)})")
    device = await grid.managed_device(tx, doc["device"], "offer.device")
    if doc["side"] not in SIDES:
        raise ChaincodeError("offer.side", f"must be one of {', '.join(SIDES)}, got {echo(doc['side'])}")
    quantity = grid.quantities(doc["quantity_mw"], "offer.quantity_mw", session["periods"], device.max_power_mw)
    price = grid.price(doc["price_eur_per_mwh"], "offer.price_eur_per_mwh")
    if await tx.ledger.get(key("spotoffer", session["id"], offer_id)) is not None:
        raise Conflict("offer.id", f"offer {offer_id} already exists in spot session {session['id']}")
    offer = {"id": offer_id, "session_id": session["id"], "owner": tx.caller.msp_id, "device": device.id,
             "node": device.node, "side": doc["side"], "quantity_mw": quantity, "price_eur_per_mwh": price,
             "status": "submitted", "timestamp": clock.iso(tx.now_ms), "timestamp_ms": tx.now_ms, "tx_id": tx.tx_id}
    tx.ledger.put(key("spotoffer", session["id"], offer_id), offer)
    tx.ledger.emit("SpotOfferSubmitted", {"session_id": session["id"], "offer_id": offer_id, "owner": offer["owner"]})
    return offer


def _orders(offers: list[dict[str, Any]], field: str) -> list[wholesale.Order]:
    return [wholesale.Order(o["id"], o["node"], 1 if o["side"] == "sell" else -1, tuple(o[field])) for o in offers]


def _status(asked: list[float], granted: list[float]) -> str:
    if not any(granted):
        return "rejected"
    return "feasible" if granted == asked else "curtailed"


async def check_spot_session(tx: Tx, session_id: str) -> dict[str, Any]:
    """The DSO's network check after the gate: what of each offer may go to the exchange."""
    await governance.require(tx, "dso")
    session = await load_session(tx, session_id)
    if session["status"] != "open":
        raise FailedPrecondition("sessionId", f"spot session {session_id} is already {session['status']}")
    if not clock.reached(tx, session["gate_closes_ms"]):
        raise FailedPrecondition("sessionId", f"spot session {session_id} can be checked only after its gate "
                                 f"closes at {session['gate_closes']} (now {clock.iso(tx.now_ms)})")
    baseline = await grid.baseline_of(tx, session["day"], "sessionId")
    firm = await grid.firm(tx, session["day"], with_activations=False)
    feeder = grid.feeder(await grid.feeder_document(tx, baseline), firm, "network")
    offers = sorted(await tx.ledger.values("spotoffer", session_id), key=lambda o: (o["timestamp_ms"], o["id"]))
    reserved = await grid.outstanding(tx, session["day"], session["periods"])
    granted = wholesale.curtail(feeder, _orders(offers, "quantity_mw"), reserved)
    locked: dict[str, int] = {}
    book = []
    for offer in offers:
        forwarded = granted[offer["id"]]
        status = _status(offer["quantity_mw"], forwarded)
        if offer["side"] == "buy" and status != "rejected":
            cents = sum(grid.energy_cents(offer["price_eur_per_mwh"], q, session["period_minutes"], up=True)
                        for q in forwarded)
            available = (await funds.load(tx, offer["owner"])).available_cents - locked.get(offer["owner"], 0)
            if cents > available:
                forwarded, status = [0.0] * len(forwarded), "unfunded"
            else:
                locked[offer["owner"]] = locked.get(offer["owner"], 0) + cents
                offer["escrow_cents"] = cents
        offer.update(forwarded_mw=forwarded, status=status, checked_at=clock.iso(tx.now_ms))
        tx.ledger.put(key("spotoffer", session_id, offer["id"]), offer)
        if any(forwarded):
            book.append({"id": offer["id"], "participant": offer["owner"], "side": offer["side"],
                         "price_eur_per_mwh": offer["price_eur_per_mwh"], "quantity_mw": forwarded})
    for owner in sorted(locked):
        await funds.lock(tx, scope(session_id), owner, locked[owner], "offer.price_eur_per_mwh")
    document = {"schema": BOOK_SCHEMA, "session_id": session_id, "exchange": session["exchange"],
                "venue": session["venue"], "day": session["day"], "periods": session["periods"],
                "period_minutes": session["period_minutes"], "orders": book}
    raw = canonical.dumps(document)
    tx.ledger.put_bytes(key("spotbook", session_id), raw)
    now = clock.iso(tx.now_ms)
    counts = {s: sum(1 for o in offers if o["status"] == s) for s in ("feasible", "curtailed", "rejected", "unfunded")}
    session.update(status="checked", book_hash=canonical.sha256_hex(raw), checked_at=now, updated_at=now,
                   offer_counts=counts)
    tx.ledger.put(key("spotsession", session_id), session)
    tx.ledger.emit("SpotSessionChecked", {"session_id": session_id, "book_hash": session["book_hash"], **counts})
    return session


async def read_spot_book(tx: Tx, session_id: str) -> dict[str, Any]:
    """The order book that left for the exchange, exactly as hashed (what the adapter sends)."""
    await governance.require_any(tx)
    session = await load_session(tx, session_id)
    raw = await tx.ledger.get_bytes(key("spotbook", session_id))
    if raw is None:
        raise FailedPrecondition("sessionId", f"spot session {session_id} has not been checked yet")
    return {"book_hash": session["book_hash"], "book": json.loads(raw)}


async def read_spot_session(tx: Tx, session_id: str) -> dict[str, Any]:
    await governance.require_any(tx)
    session = await load_session(tx, session_id)
    return {**session, "offers": await tx.ledger.values("spotoffer", session_id)}


async def list_spot_sessions(tx: Tx, day: str) -> list[dict[str, Any]]:
    await governance.require_any(tx)
    sessions = await tx.ledger.values("spotsession")
    if day:
        day = clock.parse_day(day, "day")
        sessions = [s for s in sessions if s["day"] == day]
    return sessions


# ----------------------------------------------------------------------------- exchange results
def _signed_document(envelope: Any, public: Ed25519PublicKey) -> dict[str, Any]:
    doc = validate.obj(envelope, "results", RESULTS_FIELDS, RESULTS_FIELDS)
    signature = doc["signature"]
    if not isinstance(signature, str):
        raise ChaincodeError("results.signature", "must be base64 text")
    try:
        raw_sig = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ChaincodeError("results.signature", "is not valid base64") from exc
    if not isinstance(doc["document"], dict):
        raise ChaincodeError("results.document", "must be an object")
    try:
        public.verify(raw_sig, canonical.dumps(doc["document"]))
    except InvalidSignature as exc:
        raise Forbidden("results.signature", "does not verify with the exchange's published key: the results "
                        "were not signed by the exchange or were changed after signing") from exc
    return dict(doc["document"])


def _check_trades(document: dict[str, Any], session: dict[str, Any], offers: dict[str, dict[str, Any]]
                  ) -> tuple[list[float], list[dict[str, Any]]]:
    """The exchange's trades against the forwarded book: known orders, within volume, limit prices kept."""
    periods = session["periods"]
    prices_raw = document["prices_eur_per_mwh"]
    if not isinstance(prices_raw, list) or len(prices_raw) != periods:
        raise ChaincodeError("results.document.prices_eur_per_mwh", f"must list one price per period ({periods})")
    prices = [validate.number(p, f"results.document.prices_eur_per_mwh[{i}]", minimum=0,
                              maximum=limits.MAX_PRICE_EUR_PER_MWH) for i, p in enumerate(prices_raw)]
    raw_trades = document["trades"]
    if not isinstance(raw_trades, list):
        raise ChaincodeError("results.document.trades", "must be a list")
    trades, seen = [], set()
    for i, item in enumerate(raw_trades):
        field = f"results.document.trades[{i}]"
        row = validate.obj(item, field, RESULT_TRADE_FIELDS, RESULT_TRADE_FIELDS)
        order_id = validate.ident(row["order_id"], f"{field}.order_id")
        offer = offers.get(order_id)
        if offer is None or not any(offer.get("forwarded_mw") or []):
            raise ChaincodeError(f"{field}.order_id", f"order {order_id} was not forwarded to the exchange")
        if order_id in seen:
            raise ChaincodeError(f"{field}.order_id", f"order {order_id} is traded twice")
        seen.add(order_id)
        accepted_raw = row["accepted_mw"]
        if not isinstance(accepted_raw, list) or len(accepted_raw) != periods:
            raise ChaincodeError(f"{field}.accepted_mw", f"must list one quantity per period ({periods})")
        accepted = []
        for t, value in enumerate(accepted_raw):
            q = validate.number(value, f"{field}.accepted_mw[{t}]", minimum=0)
            if q > offer["forwarded_mw"][t]:
                raise ChaincodeError(f"{field}.accepted_mw[{t}]", f"{q:g} MW exceeds the {offer['forwarded_mw'][t]:g} MW "
                                     f"forwarded for order {order_id}")
            limit = offer["price_eur_per_mwh"]
            if q and offer["side"] == "sell" and prices[t] < limit:
                raise ChaincodeError(f"{field}.accepted_mw[{t}]", f"sells order {order_id} at {prices[t]:g} EUR/MWh, "
                                     f"below its limit {limit:g}")
            if q and offer["side"] == "buy" and prices[t] > limit:
                raise ChaincodeError(f"{field}.accepted_mw[{t}]", f"buys order {order_id} at {prices[t]:g} EUR/MWh, "
                                     f"above its limit {limit:g}")
            accepted.append(q)
        eur = sum((validate.dec(p) * validate.dec(q) for p, q in zip(prices, accepted, strict=True)), Decimal(0))
        cents = int((eur * session["period_minutes"] / Decimal(60) * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        trades.append({"order_id": order_id, "owner": offer["owner"], "device": offer["device"], "node": offer["node"],
                       "side": offer["side"], "accepted_mw": accepted, "amount_cents": cents})
    return prices, sorted(trades, key=lambda t: t["order_id"])


async def record_spot_results(tx: Tx, session_id: str, results_json: str) -> dict[str, Any]:
    """Validate the exchange's signed results against the book and the network, then record the trades."""
    await governance.require(tx, "dso")
    session = await load_session(tx, session_id)
    if session["status"] != "checked":
        raise FailedPrecondition("sessionId", f"spot session {session_id} is {session['status']}; results are "
                                 "recorded once, after the network check")
    exchange_key = await tx.ledger.get(key("exchangekey", session["exchange"]))
    public = _load_key(exchange_key["public_key_pem"], "exchangeKey")
    envelope = validate.parse_json(results_json, "results")
    document = _signed_document(envelope, public)
    doc = validate.obj(document, "results.document", RESULT_DOCUMENT_FIELDS, RESULT_DOCUMENT_FIELDS)
    for name, want in (("schema", RESULT_SCHEMA), ("exchange", session["exchange"]), ("session_id", session_id),
                       ("book_hash", session["book_hash"])):
        if doc[name] != want:
            raise ChaincodeError(f"results.document.{name}", f"must be {want!r}, got {echo(doc[name])}")
    offers = {o["id"]: o for o in await tx.ledger.values("spotoffer", session_id)}
    prices, trades = _check_trades(dict(doc), session, offers)
    baseline = await grid.baseline_of(tx, session["day"], "sessionId")
    feeder = grid.feeder(await grid.feeder_document(tx, baseline), await grid.firm(tx, session["day"], with_activations=True),
                         "network")
    injections: grid.Injections = {}
    for trade in trades:
        for t, q in enumerate(trade["accepted_mw"]):
            grid.add(injections, trade["node"], t, q if trade["side"] == "sell" else -q)
    broken = wholesale.violations(feeder, injections)
    if broken:
        raise FailedPrecondition("results.document.trades", "the traded volumes break the network limits: "
                                 + "; ".join(v.describe() for v in broken[:3]))
    raw = canonical.dumps({"document": document, "signature": envelope["signature"]})
    tx.ledger.put_bytes(key("spotresult", session_id), raw)
    now = clock.iso(tx.now_ms)
    session.update(status="traded", prices_eur_per_mwh=prices, trades=trades, results_sha256=canonical.sha256_hex(raw),
                   recorded_at=now, updated_at=now)
    tx.ledger.put(key("spotsession", session_id), session)
    tx.ledger.emit("SpotResultsRecorded", {"session_id": session_id, "trades": len(trades),
                                           "results_sha256": session["results_sha256"]})
    return session


async def settle_spot_session(tx: Tx, session_id: str) -> dict[str, Any]:
    """Sellers receive the exchange's payment, buyers pay it from escrow; the rest of escrow is released."""
    await governance.require(tx, "settlement")
    session = await load_session(tx, session_id)
    if session["status"] != "traded":
        raise FailedPrecondition("sessionId", f"spot session {session_id} is {session['status']}; only a session "
                                 "with recorded results is settled")
    received = paid = 0
    transfers = []
    for trade in session["trades"]:
        cents = trade["amount_cents"]
        if not cents:
            continue
        if trade["side"] == "sell":
            await funds.receive_external(tx, trade["owner"], cents)
            received += cents
            transfers.append({"from": session["exchange"], "to": trade["owner"], "amount_cents": cents})
        else:
            await funds.pay_external(tx, scope(session_id), trade["owner"], cents)
            paid += cents
            transfers.append({"from": trade["owner"], "to": session["exchange"], "amount_cents": cents})
    released = []
    for escrow in await tx.ledger.values("escrow", scope(session_id)):
        if escrow["cents"]:
            released.append({"participant": escrow["participant"], "amount_cents": escrow["cents"]})
            await funds.release(tx, scope(session_id), escrow["participant"], escrow["cents"])
    now = clock.iso(tx.now_ms)
    record = {"session_id": session_id, "exchange": session["exchange"], "received_cents": received,
              "paid_cents": paid, "transfers": transfers, "released": released, "settled_at": now, "tx_id": tx.tx_id}
    tx.ledger.put(key("spotsettlement", session_id), record)
    session.update(status="settled", settled_at=now, updated_at=now)
    tx.ledger.put(key("spotsession", session_id), session)
    tx.ledger.emit("SpotSessionSettled", {"session_id": session_id, "received_cents": received, "paid_cents": paid})
    return record


async def wholesale_flows(tx: Tx) -> dict[str, Any]:
    """Money that crossed the marketplace's boundary through the exchange (for conservation audits)."""
    await governance.require(tx, "auditor", "dso", "settlement")
    rows = await tx.ledger.values("spotsettlement")
    received = sum(r["received_cents"] for r in rows)
    paid = sum(r["paid_cents"] for r in rows)
    return {"received_cents": received, "paid_cents": paid, "net_in_cents": received - paid, "sessions": len(rows)}
