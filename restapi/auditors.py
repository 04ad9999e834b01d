"""Auditor endpoints: read-only queries and independent re-verification of a cleared market.

``verify`` trusts nothing but the ledger (:mod:`gateway.verify`): it re-runs the clearing oracle in this
process and compares the canonical result hash with the one the endorsing organisations committed, checks
every revealed sealed bid against its commitment, and runs the AC power flow of a flexibility dispatch.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from contract.records import Clearing, HistoryEntry, Portfolio
from contract.verification import Verification
from restapi.auth import Principal
from restapi.errors import ERROR_RESPONSES, ApiError
from restapi.models import MSP_PATTERN, returns
from restapi.params import KeyId, PathId
from restapi.state import AppState, decode, require, state_of

router = APIRouter(prefix="/audit", responses=ERROR_RESPONSES, tags=["auditors"])
Auditor = Annotated[Principal, Depends(require("auditor", "dso"))]
State = Annotated[AppState, Depends(state_of)]
KeyKind = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z]+$",
                              description="device, market, bid, balance, escrow, clearing, network, ...")]


@router.get("/markets/{market_id}", summary="Stored clearing input, result and hashes", **returns(Clearing))
def clearing_record(market_id: PathId, who: Auditor, state: State) -> Any:
    """The stored clearing, plus who endorsed its transaction as the committed block records it."""
    record = decode(state.ledger.evaluate(who.user, "GetClearing", market_id))
    if isinstance(record, dict) and isinstance(record.get("tx_id"), str):
        committed = state.ledger.committed(who.user, record["tx_id"])
        record["committed"] = {"validation_code": committed.validation_code, "endorsed_by": list(committed.endorsers)}
    return record


@router.get("/history/{kind}/{key_id:path}",
            summary="Every committed version of a ledger record (multi-part ids as a/b)",
            **returns(list[HistoryEntry]))
def history(kind: KeyKind, key_id: KeyId, who: Auditor, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "GetHistory", kind, key_id))


@router.get("/participants/{msp_id}", summary="Devices, bids, trades and balance of a participant",
            **returns(Portfolio))
def participant(msp_id: Annotated[str, Path(min_length=1, max_length=64, pattern=MSP_PATTERN)],
                who: Auditor, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "QueryByParticipant", msp_id))


@router.post("/markets/{market_id}/verify",
             summary="Re-run the oracle on the stored input, check sealed-bid commitments and the AC power flow")
def verify(market_id: PathId, who: Auditor, state: State) -> Verification:
    from gateway.verify import NotVerifiable, verify_market

    try:
        return verify_market(lambda fn, *args: state.ledger.evaluate(who.user, fn, *args), market_id)
    except NotVerifiable as exc:
        code = "conflict" if exc.field == "market_id" else "not_verifiable"
        raise ApiError(409, code, exc.message, exc.field) from None
