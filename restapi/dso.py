"""DSO and settlement endpoints: network model, baseline, limits, markets, requests, clearing, funds.

Clearing runs inside the chaincode on every market organisation's peer; the endorsement policy requires
all of them, so a divergent result fails here with 502 ``endorsement_mismatch`` naming the organisations.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from contract.records import Balance, Baseline, CapacityLimits, Clearing, Market, Network
from contract.records import Settlement as SettlementRecord
from restapi.auth import Principal
from restapi.errors import ERROR_RESPONSES, ApiError
from restapi.models import (
    BaselineIn,
    CapacityLimitsIn,
    FlexibilityRequestIn,
    FundsIn,
    MarketIn,
    MarketPatch,
    NetworkIn,
    returns,
)
from restapi.params import PathId
from restapi.state import AppState, decode, dump, require, state_of

router = APIRouter(responses=ERROR_RESPONSES)
Dso = Annotated[Principal, Depends(require("dso"))]
Settlement = Annotated[Principal, Depends(require("settlement"))]
State = Annotated[AppState, Depends(state_of)]


@router.put("/network", tags=["dso"], summary="Publish a new version of the feeder model", **returns(Network))
def publish_network(body: NetworkIn, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "PublishNetwork", dump(body.model_dump())))


@router.put("/baseline", tags=["dso"], summary="Publish the baseline schedule of a day", **returns(Baseline))
def publish_baseline(body: BaselineIn, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "PublishBaseline", dump(body.model_dump(exclude_none=True))))


@router.put("/capacity-limits", tags=["dso"], summary="Publish capacity limits of a capacity market",
            **returns(CapacityLimits))
def publish_limits(body: CapacityLimitsIn, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "PublishCapacityLimits", dump(body.model_dump(exclude_none=True))))


@router.post("/markets", status_code=201, tags=["dso"], summary="Create a market", **returns(Market))
def create_market(body: MarketIn, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "CreateMarket", dump(body.model_dump(exclude_none=True))))


@router.patch("/markets/{market_id}", tags=["dso"], summary="Edit a market before its gate opens",
              **returns(Market))
def update_market(market_id: PathId, body: MarketPatch, who: Dso, state: State) -> Any:
    patch = body.model_dump(exclude_none=True)
    if not patch:
        raise ApiError(422, "validation_error", "body: give at least one field to change", "body")
    return decode(state.ledger.submit(who.user, "UpdateMarket", market_id, dump(patch)))


@router.post("/markets/{market_id}/close-gate", tags=["dso"], summary="Record the gate closure (after gate_closes)",
             **returns(Market))
def close_gate(market_id: PathId, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "CloseGate", market_id))


@router.post("/flexibility-requests", status_code=201, tags=["dso"], summary="Request flexibility",
             **returns(Market))
def request_flexibility(body: FlexibilityRequestIn, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "RequestFlexibility", dump(body.model_dump(exclude_none=True))))


@router.post("/markets/{market_id}/clear", tags=["dso"], summary="Clear a market after gate closure",
             **returns(Clearing))
def clear_market(market_id: PathId, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "ClearMarket", market_id))


@router.post("/markets/{market_id}/settle", tags=["settlement"], summary="Settle a cleared market",
             **returns(SettlementRecord))
def settle_market(market_id: PathId, who: Settlement, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "SettleMarket", market_id))


@router.post("/funds/deposit", tags=["settlement"], summary="Credit a participant (integer cents)",
             **returns(Balance))
def deposit(body: FundsIn, who: Settlement, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "Deposit", body.participant, str(body.amount_cents)))


@router.post("/funds/withdraw", tags=["settlement"], summary="Debit a participant (integer cents)",
             **returns(Balance))
def withdraw(body: FundsIn, who: Settlement, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "Withdraw", body.participant, str(body.amount_cents)))
