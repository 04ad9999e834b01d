"""``POST /bids`` served ahead of FastAPI's routing: the one route a gate closure floods.

Why: on two cores shared with the peers, CPU per request is throughput. Through FastAPI and a worker thread
a bid cost the service ~0.8 ms of CPU before any Fabric work (middleware, routing over every route,
dependency injection, validating the response model again, the thread hand-off); through the lane, awaited
on the event loop, ~0.3 ms (server CPU per ``POST /bids`` over an in-memory ledger that sleeps like a commit,
512 in flight: docs/gateway.md, "The bid lane").

The lane answers only what it can answer exactly as the route would: an aggregator already known to the
service (token and role, no I/O), a JSON body that validates (:class:`restapi.models.BidIn`, the route's own
rules in :func:`restapi.aggregators.bid_document`), and then the placement itself
(:func:`restapi.sealed_bids.place_async`, which the route calls too). Everything else — a missing or bad
token, another role, a user's first request, a body with anything wrong — goes on to FastAPI unchanged (the
body replayed), so its answers, errors included, come from one place. The route stays: it documents
``POST /bids`` in the OpenAPI document and serves what the lane hands on.
"""

from __future__ import annotations

import json

from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from contract.records import BidDocument
from gateway.errors import GatewayError
from restapi import sealed_bids
from restapi.aggregators import bid_document
from restapi.auth import Principal
from restapi.body import is_json, replay
from restapi.errors import ApiError, render, render_gateway_error
from restapi.models import BidIn
from restapi.state import AppState, token_user

PATH = "/bids"


class BidLane:
    """ASGI middleware: place a well-formed bid of a known aggregator; hand everything else to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_bid_post(scope):
            await self.app(scope, receive, send)
            return
        state: AppState = scope["app"].state.flex
        who = known_aggregator(state, scope)
        if who is None:
            await self.app(scope, receive, send)
            return
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        complete = messages[-1]["type"] == "http.request"
        bid = parsed_bid(b"".join(m.get("body", b"") for m in messages)) if complete else None
        if bid is None:
            await self.app(scope, replay(messages, receive), send)
            return
        try:
            placed = await sealed_bids.place_async(state, who, bid)
            # the route's answer byte for byte: its response model, fields the ledger's record has, by alias
            response: Response = Response(placed.model_dump_json(by_alias=True, exclude_unset=True),
                                          status_code=201, media_type="application/json")
        except ApiError as exc:
            response = render(exc)
        except GatewayError as exc:
            response = render_gateway_error(exc)
        await response(scope, receive, send)


def _is_bid_post(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST" or not is_json(scope):
        return False
    path, root = scope["path"], scope.get("root_path", "")
    return (path[len(root):] if root and path.startswith(root + "/") else path) == PATH


def known_aggregator(state: AppState, scope: Scope) -> Principal | None:
    """The caller if its token is valid and the service already knows it as an aggregator, else None."""
    authorization = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), "")
    try:
        user = token_user(state, authorization)
    except ApiError:
        return None
    role = state.known_role(user)
    return Principal(user=user, role=role, msp_id=state.msp_id) if role == "aggregator" else None


def parsed_bid(raw: bytes) -> BidDocument | None:
    """The bid ``raw`` holds if it passes every check of the route, else None (the route reports why)."""
    try:
        return bid_document(BidIn.model_validate(json.loads(raw)))
    except (ValueError, ValidationError, ApiError):  # json.JSONDecodeError is a ValueError
        return None
