"""Funds in integer cents per participant: available money and money held in escrow for a market.

Money is conserved: apart from ``Deposit`` and ``Withdraw`` (settlement role: money entering or
leaving the marketplace), every movement is a pair of equal and opposite integer changes — into
escrow, out of escrow, or from one participant's escrow to another's available balance. Each
participant's ``escrow_cents`` always equals the sum of its per-market escrow records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from chaincode import governance, validate
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, FailedPrecondition
from chaincode.state import key


@dataclass
class Balance:
    participant: str
    available_cents: int
    escrow_cents: int


async def load(tx: Tx, msp: str) -> Balance:
    record = await tx.ledger.get(key("balance", msp))
    if record is None:
        return Balance(participant=msp, available_cents=0, escrow_cents=0)
    return Balance(**record)


def _save(tx: Tx, balance: Balance) -> None:
    if balance.available_cents < 0 or balance.escrow_cents < 0:
        raise RuntimeError(f"balance of {balance.participant} would become negative")
    tx.ledger.put(key("balance", balance.participant), asdict(balance))


async def market_escrow(tx: Tx, market_id: str, msp: str) -> int:
    record = await tx.ledger.get(key("escrow", market_id, msp))
    return int(record["cents"]) if record else 0


def _save_escrow(tx: Tx, market_id: str, msp: str, cents: int) -> None:
    tx.ledger.put(key("escrow", market_id, msp), {"market_id": market_id, "participant": msp, "cents": cents})


async def lock(tx: Tx, market_id: str, msp: str, cents: int, field: str) -> None:
    """Move ``cents`` of ``msp``'s available money into its escrow for ``market_id``."""
    if cents == 0:
        return
    balance = await load(tx, msp)
    if balance.available_cents < cents:
        raise FailedPrecondition(
            field, f"{msp} needs {cents} cents available for escrow but has {balance.available_cents}"
        )
    balance.available_cents -= cents
    balance.escrow_cents += cents
    _save(tx, balance)
    _save_escrow(tx, market_id, msp, await market_escrow(tx, market_id, msp) + cents)


async def release(tx: Tx, market_id: str, msp: str, cents: int) -> None:
    """Give ``cents`` of ``msp``'s escrow for ``market_id`` back to its available money."""
    await pay(tx, market_id, msp, msp, cents)


async def pay(tx: Tx, market_id: str, payer: str, payee: str, cents: int) -> None:
    """Move ``cents`` from ``payer``'s escrow for ``market_id`` to ``payee``'s available money."""
    if cents == 0:
        return
    held = await market_escrow(tx, market_id, payer)
    if held < cents:
        raise FailedPrecondition("escrow", f"{payer} holds {held} cents in escrow for {market_id}, {cents} needed")
    source = await load(tx, payer)
    source.escrow_cents -= cents
    _save(tx, source)
    _save_escrow(tx, market_id, payer, held - cents)
    target = await load(tx, payee)
    target.available_cents += cents
    _save(tx, target)


async def _participant(tx: Tx, msp: str, field: str, former_too: bool = False) -> None:
    """Money moves only for participants; a former member's balance stays claimable (withdrawals only)."""
    record = await governance.load(tx)
    validate.ident(msp, field)
    allowed = governance.participants(record) + (record.get("former", []) if former_too else [])
    if msp not in allowed:
        raise ChaincodeError(field, f"{msp} is not a participant of the marketplace")


async def deposit(tx: Tx, msp: str, amount: str) -> dict[str, Any]:
    await governance.require(tx, "settlement")
    await _participant(tx, msp, "participantMsp")
    cents = validate.cents_arg(amount, "amountCents")
    balance = await load(tx, msp)
    balance.available_cents += cents
    _save(tx, balance)
    return asdict(balance)


async def withdraw(tx: Tx, msp: str, amount: str) -> dict[str, Any]:
    await governance.require(tx, "settlement")
    await _participant(tx, msp, "participantMsp", former_too=True)
    cents = validate.cents_arg(amount, "amountCents")
    balance = await load(tx, msp)
    if balance.available_cents < cents:
        raise FailedPrecondition("amountCents", f"{msp} has {balance.available_cents} cents available, {cents} requested")
    balance.available_cents -= cents
    _save(tx, balance)
    return asdict(balance)


async def get_balance(tx: Tx, msp: str) -> dict[str, Any]:
    """A participant sees its own balance; the DSO, auditors and settlement see everyone's."""
    record = await governance.load(tx)
    validate.ident(msp, "participantMsp")
    if msp != tx.caller.msp_id:
        governance.check_role(record, tx, "auditor", "dso", "settlement")
    else:
        governance.check_role(record, tx, *governance.ROLE_FIELDS)
    balance = await load(tx, msp)
    escrows = {e["market_id"]: e["cents"] for e in await _escrows_of(tx, msp) if e["cents"]}
    return {**asdict(balance), "escrow_by_market": escrows}


async def _escrows_of(tx: Tx, msp: str) -> list[dict[str, Any]]:
    return [e async for _, e in tx.ledger.scan("escrow") if e["participant"] == msp]


async def all_balances(tx: Tx) -> list[dict[str, Any]]:
    return await tx.ledger.values("balance")


async def receive_external(tx: Tx, msp: str, cents: int) -> None:
    """Money entering from outside the marketplace (an exchange paying a seller): like a deposit.

    Only the wholesale settlement functions call this and :func:`pay_external`; each records the amount
    in its settlement record, so that total funds = deposits - withdrawals + wholesale in - wholesale out.
    """
    if cents == 0:
        return
    balance = await load(tx, msp)
    balance.available_cents += cents
    _save(tx, balance)


async def pay_external(tx: Tx, scope: str, msp: str, cents: int) -> None:
    """Money leaving the marketplace from ``msp``'s escrow for ``scope`` (a buyer paying the exchange)."""
    if cents == 0:
        return
    held = await market_escrow(tx, scope, msp)
    if held < cents:
        raise ChaincodeError("escrow", f"{msp} holds {held} cents in escrow for {scope}, {cents} needed")
    balance = await load(tx, msp)
    balance.escrow_cents -= cents
    _save(tx, balance)
    _save_escrow(tx, scope, msp, held - cents)
