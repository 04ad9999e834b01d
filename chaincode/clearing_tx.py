"""Clearing and settlement: ledger state → canonical oracle input → stored result → trades → funds.

``ClearMarket`` assembles the oracle input only from ledger state (the market, the network version it
recorded, the day's baseline or the published capacity limits, the active bids), runs the oracle on
every endorsing peer, and stores the canonical input bytes, the result bytes, both hashes and the
oracle version. Because every market organisation must endorse it, peers whose oracles disagree
produce different write sets and the clearing cannot be committed.

Capacity bids are escrowed here, at gate closure, not when placed (see
:meth:`chaincode.market_kinds.CapacityKind.fund`), so that concurrent bids of one aggregator write no
common key. What differs between the kinds of market lives in :mod:`chaincode.market_kinds`.

``SettleMarket`` moves escrowed money as the stored result says: capacity owners pay the DSO (from
their bid escrow, the rest is released); in a flexibility market the DSO pays owners from its
escrowed budget (refused if the payments exceed it) and gets the remainder back.
"""

from __future__ import annotations

import json
from typing import Any

from chaincode import (
    __version__,
    bids,
    clock,
    coordination,
    funds,
    governance,
    markets,
    money,
    owner_bids,
    sealed,
)
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, Conflict, FailedPrecondition
from chaincode.market_kinds import kind_of
from chaincode.state import key
from clearing import canonical


async def clear_market(tx: Tx, market_id: str) -> dict[str, Any]:
    await governance.require(tx, "dso")
    market = await markets.load(tx, market_id)
    if market["status"] not in ("open", "closed"):
        raise Conflict("marketId", f"market {market_id} is already {market['status']}")
    if not clock.reached(tx, market["gate_closes_ms"]):
        raise FailedPrecondition("marketId", f"market {market_id} can be cleared only after its gate closes at "
                             f"{market['gate_closes']} (now {clock.iso(tx.now_ms)}, this endorser's clock "
                             f"{clock.iso(tx.local_ms)})")
    if market["status"] == "open" and owner_bids.owner_endorsed(market):  # nobody closed the gate: close it here
        market["refused_bids"] = await bids.accept_posted(tx, market)
    unrevealed = await sealed.close_reveals(tx, market)
    kind = kind_of(market)
    placed = await bids.active_bids(tx, market_id)  # the one read of the market's (revealed) bids
    active = await kind.fund(tx, market, placed)
    document, mechanism = await kind.document(tx, market, active)
    outcome = await tx.oracle.run(document, mechanism)
    payments = money.payments_in_cents(outcome.result.payments_eur)
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
        "unrevealed_bids": unrevealed,
        "cleared_at": now,
        "tx_id": tx.tx_id,
    }
    if kind.bid_kind == "flexibility":  # DSO-TSO coordination: the rest goes to the TSO (chaincode.coordination)
        record["offered_to_tso"] = await coordination.offer_undispatched(tx, market, active, outcome.result)
    tx.ledger.put_bytes(key("clearinginput", market_id), outcome.input_bytes)
    tx.ledger.put_bytes(key("clearingresult", market_id), outcome.result_bytes)
    tx.ledger.put(key("clearing", market_id), record)
    for seq, trade in enumerate(kind.trades(market, outcome.result, {b["id"]: b for b in active}, payments)):
        tx.ledger.put(key("trade", market_id, f"{seq:04d}"), {"market_id": market_id, "seq": seq, **trade})
    market.update(status="cleared", cleared_at=now, updated_at=now)
    tx.ledger.put(key("market", market_id), market)
    tx.ledger.emit("MarketCleared", {"market_id": market_id, "result_hash": outcome.result_hash,
                                     "input_hash": outcome.input_hash, "oracle": record["oracle"],
                                     "unfunded_bids": record["unfunded_bids"], "unrevealed_bids": unrevealed})
    return record


async def settle_market(tx: Tx, market_id: str) -> dict[str, Any]:
    await governance.require(tx, "settlement")
    market = await markets.load(tx, market_id)
    if market["status"] != "cleared":
        raise FailedPrecondition("marketId", f"market {market_id} is {market['status']}; only a cleared market is settled")
    record = await tx.ledger.get(key("clearing", market_id))
    payments: dict[str, int] = record["payments_cents"]
    transfers = await kind_of(market).settle(tx, market, payments)
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
