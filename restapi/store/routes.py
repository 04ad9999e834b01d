"""REST routes of the query store: how far it is, and the consistency check against the ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from restapi.auth import Principal
from restapi.errors import ERROR_RESPONSES, ApiError
from restapi.state import AppState, decode, principal, require, state_of
from restapi.store import consistency
from restapi.store.db import QueryStore

router = APIRouter(responses=ERROR_RESPONSES, tags=["query store"])
Anyone = Annotated[Principal, Depends(principal)]
Auditor = Annotated[Principal, Depends(require("auditor", "dso"))]
State = Annotated[AppState, Depends(state_of)]


class StoreStatusOut(BaseModel):
    next_block: int
    ledger_height: int
    records: int
    transactions: int


class TransactionOut(BaseModel):
    block: int
    index: int
    tx_id: str
    header_type: str
    validation_code: str
    creator_msp: str
    endorsers: list[str]
    function: str
    event: str
    writes: int


class ConsistencyOut(BaseModel):
    height: int
    consistent: bool
    checked: dict[str, int]
    differences: list[str]


def _store(state: AppState) -> QueryStore:
    if state.store is None:
        raise ApiError(404, "store_off", "this service runs without a query store (FLEXLEDGER_QUERY_DB=off)")
    return state.store


@router.get("/store/status", summary="How far the off-chain query store has followed the ledger")
def status(who: Anyone, state: State) -> StoreStatusOut:
    s = _store(state).status()
    return StoreStatusOut(next_block=s.next_block, ledger_height=state.ledger.height(who.user),
                          records=s.records, transactions=s.transactions)


@router.post("/audit/store-consistency", summary="Compare the query store with the ledger, record by record")
def check(who: Auditor, state: State) -> ConsistencyOut:
    store = _store(state)
    report = consistency.check(
        store, lambda fn, *args: decode(state.ledger.evaluate(who.user, fn, *args)),
        lambda: state.ledger.height(who.user),
    )
    return ConsistencyOut(height=report.height, consistent=report.consistent, checked=report.checked,
                          differences=report.differences)


TxIds = Annotated[list[str], Query(min_length=1, max_length=200, description="transaction ids")]


@router.get("/audit/transactions", summary="Committed transactions by id: block, function, creator, endorsers")
def transactions(who: Auditor, state: State, tx_id: TxIds) -> list[TransactionOut]:
    for one in tx_id:
        if not one or len(one) > 128 or not one.isalnum():
            raise ApiError(422, "validation_error", "tx_id: transaction ids are letters and digits", "tx_id")
    return [TransactionOut(**t) for t in _store(state).transactions(tx_id)]
