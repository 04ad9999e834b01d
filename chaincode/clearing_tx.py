"""Clearing and settlement: ledger state → canonical oracle input → stored result → trades → funds.

``ClearMarket`` assembles the oracle input only from ledger state (the market, the network version it
recorded, the day's baseline or the published capacity limits, the active bids), runs the oracle on
every endorsing peer, and stores the canonical input bytes, the result bytes, both hashes and the
oracle version. Because every market organisation must endorse it, peers whose oracles disagree
produce different write sets and the clearing cannot be committed.

Capacity bids are escrowed here, at gate closure, not when placed (see :func:`_fund_bids`), so that
concurrent bids of one aggregator write no common key.

``SettleMarket`` moves escrowed money as the stored result says: capacity owners pay the DSO (from
their bid escrow, the rest is released); in a flexibility market the DSO pays owners from its
escrowed budget (refused if the payments exceed it) and gets the remainder back.
"""

from __future__ import annotations

import json
from typing import Any

from chaincode import __version__, bids, clock, funds, governance, markets, money, network_data
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, Conflict, FailedPrecondition, NotFound
from chaincode.state import key
from clearing import canonical

CAPACITY_SCHEMA = "flexledger.capacity/1"
FLEX_SCHEMA = "flexledger.clearing/1"


async def capacity_document(tx: Tx, market: dict[str, Any], active: list[dict[str, Any]]) -> dict[str, Any]:
    limits = await tx.ledger.get(key("limits", market["id"]))
    if limits is None:
        raise ChaincodeError("marketId", f"market {market['id']} has no published capacity limits")
    offers = [
        {"id": b["id"], "owner": b["owner"], "device": b["device"], "feeder": b["feeder"], "periods": b["periods"],
         "quantity_mw": b["quantity_mw"], "min_mw": b["min_mw"], "divisible": b["divisible"],
         "price_eur_per_mwh": b["price_eur_per_mwh"], "timestamp": b["timestamp"]}
        for b in active
    ]
    return {
        "schema": CAPACITY_SCHEMA,
        "market": {"id": market["id"], "stage": market["kind"].removeprefix("capacity_"), "rule": market["rule"],
                   "priority": market["priority"], "pricing": market["pricing"], "periods": market["periods"],
                   "period_minutes": market["period_minutes"], "rules": market["rules"]},
        "limits": limits["limits"],
        "bids": sorted(offers, key=lambda o: o["id"]),
    }


async def flexibility_document(tx: Tx, market: dict[str, Any], active: list[dict[str, Any]]) -> dict[str, Any]:
    baseline = await tx.ledger.get(key("baseline", market["day"]))
    if baseline is None:
        raise NotFound("marketId", f"no baseline has been published for {market['day']}")
    if baseline["periods"] != market["periods"] or baseline["period_minutes"] != market["period_minutes"]:
        raise FailedPrecondition("marketId", f"the baseline of {market['day']} no longer matches the market's periods")
    net = await network_data.read_network(tx, market["network_version"])
    offers = [{"id": b["id"], "owner": b["owner"], "node": b["node"], "products": b["products"]}
              for b in active]
    return {
        "schema": FLEX_SCHEMA,
        "periods": market["periods"],
        "period_minutes": market["period_minutes"],
        "network": net["network"],
        "baseline": baseline["baseline"],
        "substation": baseline["substation"],
        "shedding_cost": baseline["shedding_cost"],
        "offers": sorted(offers, key=lambda o: o["id"]),
    }


async def _fund_bids(tx: Tx, market: dict[str, Any], active: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Escrow each owner's bids at gate closure, in the order they were placed; drop those not covered.

    Why here and not at bid time: a bid that wrote its owner's balance would make every concurrent bid
    of that owner collide (MVCC) on that one key. So a bid only checks that its own maximum value is
    available; the money is locked here, in the one clearing transaction, where every bid of the
    owner is known. Rule: an owner's bids are funded in (timestamp, id) order while its available
    money covers their maximum values; a bid it cannot cover is marked ``unfunded`` and takes no part.
    """
    now = clock.iso(tx.now_ms)
    funded: list[dict[str, Any]] = []
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for bid in sorted(active, key=lambda b: (b["timestamp_ms"], b["id"])):
        by_owner.setdefault(bid["owner"], []).append(bid)
    for owner in sorted(by_owner):
        available = (await funds.load(tx, owner)).available_cents
        locked = 0
        for bid in by_owner[owner]:
            if locked + bid["escrow_cents"] <= available:
                locked += bid["escrow_cents"]
                funded.append(bid)
                continue
            bid.update(status="unfunded", unfunded_at=now)
            tx.ledger.put(key("bid", market["id"], bid["id"]), bid)
        await funds.lock(tx, market["id"], owner, locked, "bid.price_eur_per_mwh")
    return sorted(funded, key=lambda b: b["id"])


def _trades(market: dict[str, Any], result: dict[str, Any], active: list[dict[str, Any]],
            payments: dict[str, int]) -> list[dict[str, Any]]:
    by_id = {b["id"]: b for b in active}
    trades: list[dict[str, Any]] = []
    if markets.is_capacity(market):
        awards = result.get("awards_mw") or {}
        for bid_id in sorted(awards):
            mw = awards[bid_id]
            if bid_id in by_id and mw:
                bid = by_id[bid_id]
                trades.append({"type": "award", "bid_id": bid_id, "owner": bid["owner"], "device": bid["device"],
                               "periods": bid["periods"], "awarded_mw": mw,
                               "clearing_price_eur_per_mwh": result.get("clearing_price_eur_per_mwh")})
        for owner, cents in payments.items():
            if cents:
                trades.append({"type": "payment", "from": owner, "to": market["buyer"], "amount_cents": cents})
    else:
        dispatch = result.get("dispatch_mw") or {}
        for bid_id in sorted(dispatch):
            if bid_id in by_id:
                bid = by_id[bid_id]
                trades.append({"type": "dispatch", "bid_id": bid_id, "owner": bid["owner"], "device": bid["device"],
                               "dispatch_mw": dispatch[bid_id]})
        for owner, cents in payments.items():
            if cents:
                trades.append({"type": "payment", "from": market["buyer"], "to": owner, "amount_cents": cents})
    return trades


async def clear_market(tx: Tx, market_id: str) -> dict[str, Any]:
    await governance.require(tx, "dso")
    market = await markets.load(tx, market_id)
    if market["status"] not in ("open", "closed"):
        raise Conflict("marketId", f"market {market_id} is already {market['status']}")
    if not clock.reached(tx, market["gate_closes_ms"]):
        raise FailedPrecondition("marketId", f"market {market_id} can be cleared only after its gate closes at "
                             f"{market['gate_closes']} (now {clock.iso(tx.now_ms)}, this endorser's clock "
                             f"{clock.iso(tx.local_ms)})")
    placed = await bids.active_bids(tx, market_id)
    active = placed
    if markets.is_capacity(market):
        active = await _fund_bids(tx, market, placed)
        document, mechanism = await capacity_document(tx, market, active), None
    else:
        document, mechanism = await flexibility_document(tx, market, active), market["rule"]
    outcome = await tx.oracle.run(document, mechanism)
    payments = money.payments_in_cents(outcome.result.get("payments_eur"))
    owners = {b["owner"] for b in active}
    for owner in payments:
        if owner not in owners and payments[owner]:
            raise ChaincodeError(f"clearing.payments_eur.{owner}", "pays an organisation that placed no bid")
    now = clock.iso(tx.now_ms)
    record = {
        "market_id": market_id,
        "kind": market["kind"],
        "mechanism": mechanism or market["rule"],
        "input_hash": outcome.input_hash,
        "input_sha256": canonical.sha256_hex(outcome.input_bytes),
        "result_hash": outcome.result_hash,
        "oracle": {"oracle": outcome.oracle, "chaincode": __version__},
        "payments_cents": payments,
        "unfunded_bids": sorted({b["id"] for b in placed} - {b["id"] for b in active}),
        "cleared_at": now,
        "tx_id": tx.tx_id,
    }
    tx.ledger.put_bytes(key("clearinginput", market_id), outcome.input_bytes)
    tx.ledger.put_bytes(key("clearingresult", market_id), outcome.result_bytes)
    tx.ledger.put(key("clearing", market_id), record)
    for seq, trade in enumerate(_trades(market, outcome.result, active, payments)):
        tx.ledger.put(key("trade", market_id, f"{seq:04d}"), {"market_id": market_id, "seq": seq, **trade})
    market.update(status="cleared", cleared_at=now, updated_at=now)
    tx.ledger.put(key("market", market_id), market)
    tx.ledger.emit("MarketCleared", {"market_id": market_id, "result_hash": outcome.result_hash,
                                     "input_hash": outcome.input_hash, "oracle": record["oracle"],
                                     "unfunded_bids": record["unfunded_bids"]})
    return record


async def settle_market(tx: Tx, market_id: str) -> dict[str, Any]:
    await governance.require(tx, "settlement")
    market = await markets.load(tx, market_id)
    if market["status"] != "cleared":
        raise FailedPrecondition("marketId", f"market {market_id} is {market['status']}; only a cleared market is settled")
    record = await tx.ledger.get(key("clearing", market_id))
    payments: dict[str, int] = record["payments_cents"]
    buyer = market["buyer"]
    transfers = []
    if markets.is_capacity(market):
        for owner in sorted(payments):
            held = await funds.market_escrow(tx, market_id, owner)
            if payments[owner] > held:
                raise FailedPrecondition(f"payments_cents.{owner}", f"{payments[owner]} cents exceed the {held} cents "
                                     f"{owner} holds in escrow for market {market_id}")
            if payments[owner]:
                await funds.pay(tx, market_id, owner, buyer, payments[owner])
                transfers.append({"from": owner, "to": buyer, "amount_cents": payments[owner]})
    else:
        total = sum(payments.values())
        held = await funds.market_escrow(tx, market_id, buyer)
        if total > held:
            raise FailedPrecondition("marketId", f"payments of {total} cents exceed the escrowed budget of {held} cents "
                                 f"for market {market_id}")
        for owner in sorted(payments):
            if payments[owner]:
                await funds.pay(tx, market_id, buyer, owner, payments[owner])
                transfers.append({"from": buyer, "to": owner, "amount_cents": payments[owner]})
    released = []
    for escrow in await tx.ledger.values("escrow", market_id):
        if escrow["cents"]:
            released.append({"participant": escrow["participant"], "amount_cents": escrow["cents"]})
            await funds.release(tx, market_id, escrow["participant"], escrow["cents"])
    now = clock.iso(tx.now_ms)
    settlement = {"market_id": market_id, "result_hash": record["result_hash"], "transfers": transfers,
                  "released": released, "settled_at": now, "tx_id": tx.tx_id}
    tx.ledger.put(key("settlement", market_id), settlement)
    market.update(status="settled", settled_at=now, updated_at=now)
    tx.ledger.put(key("market", market_id), market)
    tx.ledger.emit("MarketSettled", {"market_id": market_id, "result_hash": record["result_hash"],
                                     "transfers": transfers})
    return settlement


async def get_clearing(tx: Tx, market_id: str) -> dict[str, Any]:
    """The stored input and result, so anyone can re-run the oracle and compare hashes."""
    await governance.require_any(tx)
    await markets.load(tx, market_id)
    record = await tx.ledger.get(key("clearing", market_id))
    if record is None:
        raise FailedPrecondition("marketId", f"market {market_id} has not been cleared")
    raw_input = await tx.ledger.get_bytes(key("clearinginput", market_id))
    raw_result = await tx.ledger.get_bytes(key("clearingresult", market_id))
    return {**record, "input": json.loads(raw_input), "result": json.loads(raw_result)}
