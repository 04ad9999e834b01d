"""Audit queries: key history, everything about one participant, the trades of a market.

History comes straight from the peer's history database (``GetHistoryForKey``), so an auditor sees
every committed version of a device, market, balance or clearing with the transaction that wrote it.
"""

from __future__ import annotations

import json
from typing import Any

from chaincode import clock, funds, governance, markets, validate
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, NotFound
from chaincode.network_data import version_tag
from chaincode.state import KINDS, key
from clearing.limits import echo


async def _history_key(tx: Tx, kind: str, ident: str) -> str:
    if kind not in KINDS:
        raise ChaincodeError("kind", f"unknown key kind {echo(kind)}; one of {', '.join(sorted(KINDS))}")
    if kind == "bid":
        ref = await tx.ledger.get(key("bidref", validate.ident(ident, "id")))
        if ref is None:
            raise NotFound("id", f"bid {ident} does not exist")
        return key("bid", ref["market_id"], ident)
    arity = KINDS[kind]
    if arity == 0:
        return key(kind)
    parts = ident.split("/") if arity == 2 else [ident]
    if len(parts) != arity:
        raise ChaincodeError("id", f"{kind} keys have {arity} parts; give them as a/b")
    if kind == "network":
        parts = [version_tag(validate.digits(ident, "id", 8))]
    return key(kind, *(validate.ident(p, "id") for p in parts))


async def get_history(tx: Tx, kind: str, ident: str) -> list[dict[str, Any]]:
    await governance.require(tx, "auditor", "dso")
    k = await _history_key(tx, kind, ident)
    entries = []
    iterator = await tx.ledger.stub.get_history_for_key(k)
    async for mod in iterator:
        raw = bytes(mod.value)
        try:
            value: Any = json.loads(raw) if raw else None
        except ValueError:
            value = raw.decode("utf-8", errors="replace")
        entries.append({"tx_id": mod.tx_id, "timestamp": clock.iso(clock.tx_millis(mod.timestamp)),
                        "is_delete": bool(mod.is_delete), "value": value})
    return entries


async def query_by_participant(tx: Tx, msp: str) -> dict[str, Any]:
    """Devices owned or managed, bids, trades and balance of one organisation."""
    record = await governance.load(tx)
    validate.ident(msp, "msp")
    if msp == tx.caller.msp_id:
        governance.check_role(record, tx, *governance.ROLE_FIELDS)
    else:
        governance.check_role(record, tx, "auditor", "dso")
    devices = [d for d in await tx.ledger.values("device") if msp in (d["owner"], d["manager"])]
    own_bids = [b for b in await tx.ledger.values("bid") if b["owner"] == msp]
    trades = [t for t in await tx.ledger.values("trade")
              if msp in (t.get("owner"), t.get("from"), t.get("to"))]
    balance = await funds.load(tx, msp)
    return {"participant": msp, "devices": devices, "bids": own_bids, "trades": trades,
            "balance": {"available_cents": balance.available_cents, "escrow_cents": balance.escrow_cents}}


async def list_trades(tx: Tx, market_id: str) -> list[dict[str, Any]]:
    await governance.require_any(tx)
    await markets.load(tx, market_id)
    return await tx.ledger.values("trade", market_id)


async def total_funds(tx: Tx) -> dict[str, Any]:
    """Sum of all balances (available + escrow): what conservation is checked against."""
    await governance.require(tx, "auditor", "dso", "settlement")
    rows = await funds.all_balances(tx)
    total = sum(r["available_cents"] + r["escrow_cents"] for r in rows)
    return {"total_cents": total, "participants": len(rows)}
