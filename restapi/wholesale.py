"""Wholesale endpoints: the spot module (exchange) and the mFRR module (TSO), for every role they involve.

Spot: the DSO publishes the exchange's key, opens a session, runs the network check after the gate,
forwards the checked book to the exchange and enters its signed results; aggregators submit offers;
settlement settles. mFRR: aggregators submit bids and consent to DSO-TSO coordination; the DSO
forwards the open bids to the TSO platform and records metered delivery; the TSO activates (directly,
or by pulling its platform's activation requests); settlement settles; auditors read everything.
The exchange and the TSO platform are reached only through :mod:`adapters` (configured by environment).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from adapters import config, relay
from contract.wholesale import (
    CheckedBook,
    ExchangeKey,
    MfrrActivation,
    MfrrBid,
    MfrrConsent,
    SpotOffer,
    SpotSession,
    SpotSettlement,
    WholesaleFlows,
)
from gateway.errors import GatewayError
from restapi.auth import Principal
from restapi.errors import ERROR_RESPONSES, ApiError
from restapi.models import returns
from restapi.params import Filter, PathId
from restapi.state import AppState, decode, dump, principal, require, state_of
from restapi.wholesale_models import (
    ActivationIn,
    ActivationsEntered,
    DeliveryIn,
    ExchangeKeyIn,
    FundsAudit,
    MfrrBidIn,
    MfrrConsentIn,
    MfrrForwarded,
    SignedResultsIn,
    SpotOfferIn,
    SpotSessionIn,
)

router = APIRouter(responses=ERROR_RESPONSES)
Dso = Annotated[Principal, Depends(require("dso"))]
Aggregator = Annotated[Principal, Depends(require("aggregator"))]
Settlement = Annotated[Principal, Depends(require("settlement"))]
Tso = Annotated[Principal, Depends(require("tso"))]
Anyone = Annotated[Principal, Depends(principal)]
State = Annotated[AppState, Depends(state_of)]


def _calls(state: AppState, who: Principal) -> tuple[relay.Call, relay.Call]:
    def evaluate(function: str, *args: str) -> Any:
        return decode(state.ledger.evaluate(who.user, function, *args))

    def submit(function: str, *args: str) -> Any:
        return decode(state.ledger.submit(who.user, function, *args))

    return evaluate, submit


def _exchange() -> Any:
    link = config.exchange_link()
    if link is None:
        raise ApiError(409, "not_configured", "no exchange is configured (FLEXLEDGER_EXCHANGE_URL or "
                       "FLEXLEDGER_EXCHANGE_DROP)", None)
    return link


def _tso() -> Any:
    link = config.tso_link()
    if link is None:
        raise ApiError(409, "not_configured", "no TSO platform is configured (FLEXLEDGER_TSO_URL or "
                       "FLEXLEDGER_TSO_DROP)", None)
    return link


# ------------------------------------------------------------------------------------------ spot
@router.put("/spot/exchange-keys", tags=["spot"],
            summary="Publish the key an exchange signs its results with", **returns(ExchangeKey))
def publish_exchange_key(body: ExchangeKeyIn, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "PublishExchangeKey", dump(body.model_dump())))


@router.post("/spot/sessions", status_code=201, tags=["spot"],
             summary="Open a day-ahead or intraday session", **returns(SpotSession))
def create_session(body: SpotSessionIn, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "CreateSpotSession", dump(body.model_dump())))


@router.get("/spot/sessions", tags=["spot"],
            summary="Spot sessions (of one day, if given)", **returns(list[SpotSession]))
def list_sessions(who: Anyone, state: State, day: Filter = None) -> Any:
    return decode(state.ledger.evaluate(who.user, "ListSpotSessions", day or ""))


@router.get("/spot/sessions/{session_id}", tags=["spot"],
            summary="A session with its offers and trades", **returns(SpotSession))
def read_session(session_id: PathId, who: Anyone, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "ReadSpotSession", session_id))


@router.post("/spot/offers", status_code=201, tags=["spot"],
             summary="Offer a device's flexibility to the exchange", **returns(SpotOffer))
def submit_offer(body: SpotOfferIn, who: Aggregator, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "SubmitSpotOffer", dump(body.model_dump())))


@router.post("/spot/sessions/{session_id}/check", tags=["spot"],
             summary="The DSO's network check after the gate", **returns(SpotSession))
def check_session(session_id: PathId, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "CheckSpotSession", session_id))


@router.get("/spot/sessions/{session_id}/book", tags=["spot"],
            summary="The checked order book and its hash", **returns(CheckedBook))
def read_book(session_id: PathId, who: Anyone, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "ReadSpotBook", session_id))


@router.post("/spot/sessions/{session_id}/forward", tags=["spot"],
             summary="Send the checked book to the exchange", **returns(CheckedBook))
def forward_book(session_id: PathId, who: Dso, state: State) -> Any:
    evaluate, _ = _calls(state, who)
    return relay.forward_book(evaluate, _exchange(), session_id)


@router.post("/spot/sessions/{session_id}/results", tags=["spot"],
             summary="Enter the exchange's signed results (validated by the chaincode)", **returns(SpotSession))
def record_results(session_id: PathId, body: SignedResultsIn, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "RecordSpotResults", session_id, json.dumps(body.model_dump())))


@router.post("/spot/sessions/{session_id}/fetch-results", tags=["spot"],
             summary="Pull the exchange's signed results through the adapter and enter them", **returns(SpotSession))
def fetch_results(session_id: PathId, who: Dso, state: State) -> Any:
    _, submit = _calls(state, who)
    answer = relay.relay_results(submit, _exchange(), session_id)
    if answer is None:
        raise ApiError(409, "not_ready", f"the exchange has no results for session {session_id} yet", "sessionId")
    return answer


@router.post("/spot/sessions/{session_id}/settle", tags=["spot"],
             summary="Settle the recorded trades", **returns(SpotSettlement))
def settle_session(session_id: PathId, who: Settlement, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "SettleSpotSession", session_id))


@router.get("/spot/flows", tags=["spot"],
            summary="Money that entered or left through the exchange", **returns(WholesaleFlows))
def flows(who: Anyone, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "WholesaleFlows"))


# ------------------------------------------------------------------------------------------ mFRR
@router.post("/mfrr/bids", status_code=201, tags=["mfrr"],
             summary="Submit an mFRR bid (network-checked at once)", **returns(MfrrBid))
def submit_bid(body: MfrrBidIn, who: Aggregator, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "SubmitMfrrBid", dump(body.model_dump())))


@router.put("/mfrr/consents", tags=["mfrr"],
            summary="Allow undispatched local flexibility of a device to go to the TSO", **returns(MfrrConsent))
def set_consent(body: MfrrConsentIn, who: Aggregator, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "SetMfrrConsent", dump(body.model_dump())))


@router.get("/mfrr/days/{day}/bids", tags=["mfrr"],
            summary="mFRR bids of a day (aggregators: their own)", **returns(list[MfrrBid]))
def list_bids(day: PathId, who: Anyone, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "ListMfrrBids", day))


@router.get("/mfrr/days/{day}/activations", tags=["mfrr"],
            summary="Activations of a day, with delivered and non-delivered MW", **returns(list[MfrrActivation]))
def list_activations(day: PathId, who: Anyone, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "ListMfrrActivations", day))


@router.post("/mfrr/days/{day}/forward", tags=["mfrr"],
             summary="Send the open, checked bids to the TSO platform", **returns(MfrrForwarded))
def forward_bids(day: PathId, who: Dso, state: State) -> Any:
    evaluate, _ = _calls(state, who)
    return MfrrForwarded(day=day, bids=relay.forward_mfrr(evaluate, _tso(), day))


@router.post("/mfrr/activations", status_code=201, tags=["mfrr"],
             summary="Activate a forwarded bid (TSO)", **returns(MfrrActivation))
def activate(body: ActivationIn, who: Tso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "ActivateMfrr", dump(body.model_dump())))


@router.post("/mfrr/days/{day}/fetch-activations", tags=["mfrr"],
             summary="Pull the TSO platform's activation requests and enter each (TSO)", **returns(ActivationsEntered))
def fetch_activations(day: PathId, who: Tso, state: State) -> Any:
    _, submit = _calls(state, who)
    out = relay.relay_activations(submit, _tso(), day, refused=GatewayError)
    return ActivationsEntered(accepted=out.accepted, refused=out.refused)


@router.post("/mfrr/activations/{activation_id}/delivery", tags=["mfrr"],
             summary="Record metered delivery (DSO)", **returns(MfrrActivation))
def record_delivery(activation_id: PathId, body: DeliveryIn, who: Dso, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "RecordMfrrDelivery", activation_id, json.dumps(body.delivered_mw)))


@router.post("/mfrr/activations/{activation_id}/settle", tags=["mfrr"],
             summary="Settle a delivered activation", **returns(MfrrActivation))
def settle_activation(activation_id: PathId, who: Settlement, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "SettleMfrrActivation", activation_id))


@router.get("/audit/funds", tags=["auditors"],
            summary="Total funds and what crossed the boundary through the exchange (conservation check)",
            **returns(FundsAudit))
def funds_and_flows(who: Anyone, state: State) -> Any:
    total = decode(state.ledger.evaluate(who.user, "TotalFunds"))
    return {**total, "wholesale": decode(state.ledger.evaluate(who.user, "WholesaleFlows"))}
