"""Auditor endpoints: read-only queries and independent re-verification of a cleared market.

``verify`` trusts nothing but the ledger's stored input: it re-runs the clearing oracle in this process
and compares the canonical result hash with the one the endorsing organisations committed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from contract.records import Clearing, HistoryEntry, Portfolio
from restapi.auth import Principal
from restapi.errors import ERROR_RESPONSES, ApiError
from restapi.models import MSP_PATTERN, VerifyOut, returns
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


@router.post("/markets/{market_id}/verify", summary="Re-run the oracle on the stored input, compare hashes")
def verify(market_id: PathId, who: Auditor, state: State) -> VerifyOut:
    from clearing import api as oracle
    from clearing import canonical

    record = decode(state.ledger.evaluate(who.user, "GetClearing", market_id))
    if not isinstance(record, dict) or not isinstance(record.get("input"), dict):
        raise ApiError(409, "conflict", "market has no stored clearing input (not cleared yet?)", "market_id")
    stored = record.get("result") if isinstance(record.get("result"), dict) else {}
    stored_hash = record.get("result_hash") or stored.get("result_hash")
    document = record["input"]
    mechanism = stored.get("mechanism") if document.get("schema") == oracle.FLEX_SCHEMA else None
    try:
        recomputed = oracle.clear(document, mechanism)
    except Exception as exc:  # noqa: BLE001 - any failure of the oracle means "does not verify"
        raise ApiError(409, "not_verifiable", f"the oracle refused the stored input: {exc}", "input") from None
    input_hash = record.get("input_hash")
    keys = sorted((set(stored) | set(recomputed)) - {"result_hash"})
    differences = [k for k in keys if canonical.dumps(stored.get(k)) != canonical.dumps(recomputed.get(k))]
    return VerifyOut(
        market_id=market_id, mechanism=mechanism, stored_result_hash=stored_hash,
        recomputed_result_hash=recomputed.get("result_hash"),
        input_hash_matches=input_hash is None or input_hash == canonical.hash_of(document, canonical.EXACT)
        or input_hash == recomputed.get("input_hash"),
        matches=stored_hash is not None and stored_hash == recomputed.get("result_hash"),
        outcome_matches=bool(stored) and not [k for k in differences if k != "oracle"],
        differences=differences,
    )
