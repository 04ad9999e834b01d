"""Sealed bidding through the REST service: ``POST /bids`` seals by itself, one call reveals a market.

In a sealed market (the DSO's choice at creation) the service never sends a bid's price or quantity to any
peer before the gate closes: it draws the salt, keeps the exact bid JSON and the salt in the organisation's
store (:class:`gateway.sealed.SealedBidStore`, in the wallet) and submits only the commitment. After the
gate closes ``POST /markets/{id}/reveal`` reveals every bid the organisation sealed in that market; the
store survives a restart of the service, so a bid committed before a crash can still be revealed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from contract.records import Bid, BidDocument
from gateway.errors import EndorseError
from gateway.sealed import AlreadySealed, MarketModes, SealedBidStore, place_bid, reveal_market
from restapi.auth import Principal
from restapi.errors import ERROR_RESPONSES, ApiError
from restapi.models import RevealOut, SealedBidOut
from restapi.params import PathId
from restapi.state import AppState, in_worker, on_loop, require, state_of

router = APIRouter(responses=ERROR_RESPONSES, tags=["aggregators"])
Aggregator = Annotated[Principal, Depends(require("aggregator"))]
State = Annotated[AppState, Depends(state_of)]


def store_of(state: AppState) -> SealedBidStore:
    return state.extension("sealed_bid_store", lambda: SealedBidStore(state.wallet))


def modes_of(state: AppState) -> MarketModes:
    return state.extension("market_modes", MarketModes)


def place(state: AppState, who: Principal, bid: BidDocument) -> Bid:
    """Commit a sealed bid (the content stays here) or, in an open market, place it as it is."""
    try:
        return place_bid(lambda fn, *args: state.ledger.submit(who.user, fn, *args),
                         lambda fn, *args: state.ledger.evaluate(who.user, fn, *args), store_of(state), bid,
                         who.user, modes_of(state))
    except AlreadySealed as exc:
        raise ApiError(409, "conflict", f"bid.id: {exc}", "bid.id") from None


async def place_async(state: AppState, who: Principal, bid: BidDocument) -> Bid:
    """:func:`place` from the event loop: a bid for an open market whose gate has opened is submitted there.

    Only such a bid needs neither a file nor a question to the ledger first (:class:`MarketModes` knows the
    market is not sealed), so it goes straight to ``PlaceBid`` awaited on the loop, no thread held while it
    commits; the first bid of a market, and every sealed one, take :func:`place` in a worker thread."""
    if bid.market_id is not None and modes_of(state).known(str(bid.market_id)) is False:
        placed = await on_loop(state, lambda: state.ledger.asubmit(who.user, "PlaceBid", bid.text))
        return Bid.model_validate_json(placed)
    return await in_worker(state, place, state, who, bid)


@router.post("/markets/{market_id}/reveal", summary="Reveal all of your organisation's sealed bids of a market "
             "(after gate closure)")
def reveal(market_id: PathId, who: Aggregator, state: State) -> RevealOut:
    """Each bid is revealed in its own transaction; a refused one is listed with the chaincode's reason."""
    report = reveal_market(lambda fn, *args: state.ledger.submit(who.user, fn, *args),
                           lambda fn, *args: state.ledger.evaluate(who.user, fn, *args), store_of(state),
                           market_id, refused=EndorseError)
    return RevealOut(market_id=report.market_id, revealed=report.revealed, already_revealed=report.already_revealed,
                     not_revealed=report.not_revealed)


@router.get("/markets/{market_id}/sealed-bids", summary="Your organisation's sealed bids of a market, as kept "
            "by this service (content and salt)")
def sealed_bids(market_id: PathId, who: Aggregator, state: State) -> list[SealedBidOut]:
    return [SealedBidOut(id=s.bid_id, market_id=s.market_id, device=s.device, bid=s.document().fields(), commitment=s.commitment,
                         salt=s.salt, user=s.user, created=s.created)
            for s in store_of(state).of_market(market_id)]
