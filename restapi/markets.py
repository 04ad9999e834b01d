"""Market reads for every role: markets, their bids and results, the network model.

``GET /markets`` and ``GET /markets/{id}`` call the chaincode functions ``ListMarkets`` and ``ReadMarket``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from contract.records import Bid, Market, Marketplace, Network
from restapi.auth import Principal
from restapi.errors import ERROR_RESPONSES
from restapi.models import MarketResult, Page, returns
from restapi.paging import Bookmark, PageSize, page_from_chaincode
from restapi.params import Filter, PathId
from restapi.state import AppState, decode, dump, principal, state_of
from restapi.store.lists import store_page

router = APIRouter(responses=ERROR_RESPONSES, tags=["markets"])
Anyone = Annotated[Principal, Depends(principal)]
State = Annotated[AppState, Depends(state_of)]


@router.get("/markets", summary="List markets", **returns(Page[Market]))
def list_markets(who: Anyone, state: State, page_size: PageSize = 50, bookmark: Bookmark = None,
                 day: Filter = None, kind: Filter = None, status: Filter = None, feeder: Filter = None) -> Page:
    query = {k: v for k, v in {"day": day, "kind": kind, "status": status, "feeder": feeder}.items()
             if v is not None}
    if (page := store_page(state, who, "market", page_size, bookmark, filters=query)) is not None:
        return page
    return page_from_chaincode(decode(state.ledger.evaluate(who.user, "ListMarkets", dump(query))),
                               page_size, bookmark)


@router.get("/markets/{market_id}", summary="One market", **returns(Market))
def read_market(market_id: PathId, who: Anyone, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "ReadMarket", market_id))


@router.get("/markets/{market_id}/bids", summary="Bids of a market", **returns(Page[Bid]))
def list_bids(market_id: PathId, who: Anyone, state: State, page_size: PageSize = 50,
              bookmark: Bookmark = None) -> Page:
    if not _takes_posted_bids(state, market_id) and \
            (page := store_page(state, who, "bid", page_size, bookmark, parent=market_id)) is not None:
        return page
    return page_from_chaincode(decode(state.ledger.evaluate(who.user, "ListBids", market_id)),
                               page_size, bookmark)


def _takes_posted_bids(state: AppState, market_id: str) -> bool:
    """An owner-endorsed market keeps its bids in bid slots until gate closure (docs/chaincode.md,
    "Endorsement"); the store holds records, not slots, so such a market's list comes from the chaincode."""
    market = state.store.get("market", market_id) if state.store is not None else None
    return isinstance(market, dict) and market.get("bid_endorsement") == "owner" and market.get("status") == "open"


@router.get("/markets/{market_id}/result", summary="Clearing result of a market", **returns(MarketResult))
def market_result(market_id: PathId, who: Anyone, state: State) -> Any:
    clearing = decode(state.ledger.evaluate(who.user, "GetClearing", market_id))
    if isinstance(clearing, dict) and "result" in clearing:
        return {"market_id": market_id, "result": clearing["result"], "result_hash": clearing.get("result_hash"),
                "input_hash": clearing.get("input_hash")}
    return clearing


@router.get("/network", summary="Feeder model (latest version, or ?version=)", **returns(Network))
def read_network(who: Anyone, state: State, version: Annotated[str, Query(max_length=32)] = "") -> Any:
    return decode(state.ledger.evaluate(who.user, "ReadNetwork", version))


@router.get("/marketplace", summary="Governance record: which MSP holds which role", **returns(Marketplace))
def marketplace(who: Anyone, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "GetMarketplace"))
