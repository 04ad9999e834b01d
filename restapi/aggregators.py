"""Aggregator endpoints: devices, portfolio, market enrolment, bids, balance.

The caller's own identity signs every transaction, so an aggregator can only ever act as itself; ids of
other aggregators' devices or bids are refused by the chaincode (ownership), mapped to 403/404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from contract.records import (
    CAPACITY_BID_FIELDS,
    CAPACITY_BID_REQUIRED,
    FLEX_BID_FIELDS,
    Balance,
    Bid,
    BidDocument,
    Device,
    Enrolment,
    Portfolio,
)
from restapi import sealed_bids
from restapi.auth import Principal
from restapi.errors import ERROR_RESPONSES, ApiError
from restapi.models import BidIn, DeviceIn, DevicePatch, Page, returns
from restapi.paging import Bookmark, PageSize, page_from_chaincode
from restapi.params import Filter, PathId
from restapi.state import AppState, decode, dump, principal, require, state_of
from restapi.store.lists import store_page

router = APIRouter(responses=ERROR_RESPONSES)
Aggregator = Annotated[Principal, Depends(require("aggregator"))]
Anyone = Annotated[Principal, Depends(principal)]
State = Annotated[AppState, Depends(state_of)]


@router.post("/devices", status_code=201, tags=["aggregators"], summary="Register a device you manage",
             **returns(Device))
def register_device(body: DeviceIn, who: Aggregator, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "RegisterDevice", dump(body.model_dump(exclude_none=True))))


@router.get("/devices", tags=["aggregators"], summary="List devices (filters: manager, owner, feeder, node, status)",
            **returns(Page[Device]))
def list_devices(who: Anyone, state: State, page_size: PageSize = 50, bookmark: Bookmark = None,
                 manager: Filter = None, owner: Filter = None, feeder: Filter = None,
                 node: Filter = None, status: Filter = None) -> Page:
    filters = {"manager": manager, "owner": owner, "feeder": feeder, "node": node, "status": status}
    if (page := store_page(state, who, "device", page_size, bookmark, filters=filters)) is not None:
        return page
    query = {**filters, "page_size": page_size, "bookmark": bookmark}
    query = {k: v for k, v in query.items() if v is not None}
    return page_from_chaincode(decode(state.ledger.evaluate(who.user, "ListDevices", dump(query))),
                               page_size, bookmark)


@router.get("/devices/{device_id}", tags=["aggregators"], summary="One device", **returns(Device))
def read_device(device_id: PathId, who: Anyone, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "ReadDevice", device_id))


@router.patch("/devices/{device_id}", tags=["aggregators"], summary="Change power/capacity of your device",
              **returns(Device))
def update_device(device_id: PathId, body: DevicePatch, who: Aggregator, state: State) -> Any:
    patch = body.model_dump(exclude_none=True)
    if not patch:
        raise ApiError(422, "validation_error", "body: give at least one field to change", "body")
    return decode(state.ledger.submit(who.user, "UpdateDevice", device_id, dump(patch)))


@router.delete("/devices/{device_id}", tags=["aggregators"], summary="Retire your device", **returns(Device))
def retire_device(device_id: PathId, who: Aggregator, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "RetireDevice", device_id))


@router.get("/portfolio", tags=["aggregators"], summary="Your organisation's devices, bids, trades, balance",
            **returns(Portfolio))
def portfolio(who: Aggregator, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "QueryByParticipant", who.msp_id))


@router.get("/balance", tags=["aggregators"], summary="Your organisation's funds", **returns(Balance))
def balance(who: Anyone, state: State) -> Any:
    return decode(state.ledger.evaluate(who.user, "GetBalance", who.msp_id))


@router.post("/markets/{market_id}/enrolment", status_code=201, tags=["aggregators"],
             summary="Enrol your organisation in a market", **returns(Enrolment))
def enrol(market_id: PathId, who: Aggregator, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "EnrolInMarket", market_id))


@router.post("/bids", status_code=201, tags=["aggregators"],
             summary="Place a bid (capacity or flexibility); in a sealed market only its commitment leaves here",
             **returns(Bid))
async def place_bid(body: BidIn, who: Aggregator, state: State) -> Any:
    """Served by :class:`restapi.bid_lane.BidLane` ahead of FastAPI's routing whenever it can; this route
    documents ``POST /bids`` and answers what the lane hands on (an error to report, a first login)."""
    return await sealed_bids.place_async(state, who, bid_document(body))


def bid_document(body: BidIn) -> BidDocument:
    """The bid to place: ``body`` as the chaincode takes it, refused if it mixes or lacks a kind's fields."""
    if body.products is None:
        for name in (n for n in CAPACITY_BID_REQUIRED if n not in FLEX_BID_FIELDS):
            if getattr(body, name) is None:
                raise ApiError(422, "validation_error",
                               f"{name}: required for a capacity bid (or give products for a flexibility bid)",
                               name)
    elif any(getattr(body, n) is not None for n in CAPACITY_BID_FIELDS if n not in FLEX_BID_FIELDS):
        raise ApiError(422, "validation_error", "products: a flexibility bid takes no capacity fields", "products")
    return BidDocument.of(body.model_dump(exclude_none=True))


@router.delete("/bids/{bid_id}", tags=["aggregators"], summary="Cancel your bid while the gate is open",
               **returns(Bid))
def cancel_bid(bid_id: PathId, who: Aggregator, state: State) -> Any:
    return decode(state.ledger.submit(who.user, "CancelBid", bid_id))
