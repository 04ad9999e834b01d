"""``POST /bids`` ahead of FastAPI (:mod:`restapi.bid_lane`): what it serves itself, what it hands on, and
that the service answers every request the same with the lane as without it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from gw_api_support import USERS, build, error_of
from gw_fake_ledger import FakeLedger
from gw_pki import TestCA

from restapi.auth import TokenStore
from restapi.bid_lane import BidLane
from restapi.state import AppState

DEVICE = {"id": "bat1", "type": "storage", "max_power_mw": 0.5, "min_power_mw": 0.0, "capacity_mwh": 1.0,
          "node": "1", "feeder": "F1"}
BID = {"id": "b1", "market_id": "m1", "device": "bat1",
       "products": {"p_up": {"price_eur_per_mwh": 12.0, "quantity_mw": [0.1]}}}
HANDED_ON = 599  # what the stand-in for the rest of the app answers


class Lane:
    """A :class:`BidLane` in front of a stand-in app that records what reaches it."""

    def __init__(self, tmp: Path, ca: TestCA) -> None:
        self.ledger = FakeLedger(ca, USERS)
        self.ledger.devices["bat1"] = {**DEVICE, "manager": "agg1MSP"}
        self.ledger.enrolled.add(("m1", "agg1MSP"))
        self.tokens = TokenStore(tmp / "api-tokens.json")
        self.state = AppState(org="agg1", msp_id="agg1MSP", wallet=tmp, ledger=self.ledger, tokens=self.tokens,
                              workers=ThreadPoolExecutor(4))
        self.reached: list[tuple[str, bytes]] = []
        self.lane = BidLane(self._rest_of_the_app)

    async def _rest_of_the_app(self, scope: dict, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.reached.append((scope["path"], body))
        await send({"type": "http.response.start", "status": HANDED_ON, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def _app(self, scope: dict, receive: Any, send: Any) -> None:
        scope["app"] = SimpleNamespace(state=SimpleNamespace(flex=self.state))  # as Starlette sets it
        await self.lane(scope, receive, send)

    def post(self, content: bytes | str, user: str | None = "trader", path: str = "/bids",
             content_type: str = "application/json") -> httpx.Response:
        headers = {"content-type": content_type}
        if user is not None:
            headers["authorization"] = f"Bearer {self.tokens.issue(user)}"

        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self._app), base_url="http://t") as c:
                return await c.post(path, content=content, headers=headers)

        return asyncio.run(send())

    def post_at_once(self, contents: list[str], slots: int) -> list[httpx.Response]:
        """Every body sent at once on one loop, the service allowing ``slots`` submits in flight on it."""
        headers = {"content-type": "application/json", "authorization": f"Bearer {self.tokens.issue('trader')}"}

        async def send() -> list[httpx.Response]:
            self.state.loop_slots = asyncio.Semaphore(slots)  # as the app's lifespan makes it, in the loop
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self._app), base_url="http://t") as c:
                return list(await asyncio.gather(*(c.post("/bids", content=b, headers=headers) for b in contents)))

        return asyncio.run(send())


@pytest.fixture()
def lane(tmp_path: Path, ca: TestCA) -> Iterator[Lane]:
    made = Lane(tmp_path, ca)
    made.state.role_of("trader")  # the service has seen this aggregator before
    made.state.role_of("operator")
    yield made
    assert made.state.workers is not None
    made.state.workers.shutdown()


def test_a_known_aggregators_bid_is_placed_by_the_lane_without_reaching_the_routes(lane):
    r = lane.post(json.dumps(BID))
    assert r.status_code == 201 and r.json() == {**BID, "owner": "agg1MSP", "status": "active"}
    assert r.headers["content-type"] == "application/json"
    assert lane.reached == [] and lane.ledger.bids["b1"]["owner"] == "agg1MSP"


def test_a_chaincode_refusal_is_answered_by_the_lane_in_the_error_model(lane):
    r = lane.post(json.dumps({**BID, "market_id": "nope"}))
    assert r.status_code == 404 and error_of(r)["field"] == "bid.market_id"
    assert lane.reached == []


@pytest.mark.parametrize("body", [
    b'{"id": "b1", "market_id": "m1"',                       # not JSON
    b"",                                                      # no body
    json.dumps({**BID, "colour": "red"}).encode(),            # a field the model does not have
    json.dumps({**BID, "products": None, "quantity_mw": 1, "price_eur_per_mwh": 3}).encode(),  # no periods
    json.dumps({**BID, "quantity_mw": 1}).encode(),           # capacity fields in a flexibility bid
    json.dumps([BID]).encode(),
], ids=["truncated", "empty", "unknown-field", "capacity-without-periods", "mixed-kinds", "array"])
def test_a_body_the_route_would_refuse_is_handed_on_unchanged(lane, body):
    assert lane.post(body).status_code == HANDED_ON
    assert lane.reached == [("/bids", body)] and lane.ledger.bids == {}


@pytest.mark.parametrize("user", [None, "operator", "trader2"], ids=["no-token", "other-role", "first-request"])
def test_a_caller_the_lane_cannot_vouch_for_is_handed_on(lane, user):
    assert lane.post(json.dumps(BID), user=user).status_code == HANDED_ON
    assert lane.reached == [("/bids", json.dumps(BID).encode())] and lane.ledger.bids == {}


def test_other_routes_and_bodies_that_are_not_json_are_handed_on(lane):
    assert lane.post(json.dumps(BID), path="/bids/b1").status_code == HANDED_ON
    assert lane.post(json.dumps(BID), content_type="text/plain").status_code == HANDED_ON
    assert [path for path, _ in lane.reached] == ["/bids/b1", "/bids"] and lane.ledger.bids == {}


def test_a_bid_for_an_open_market_whose_gate_has_opened_is_awaited_on_the_event_loop(lane, monkeypatch):
    """Once the market is known to be open (not sealed, gate opened), no thread is held while a bid commits."""
    lane.ledger.markets["m1"].update(sealed=False, gate_opens_ms=0)
    places: list[tuple[str, bool]] = []
    submit = lane.ledger.submit

    def in_thread(user: str, function: str, *args: str) -> bytes:
        places.append((function, threading.current_thread() is threading.main_thread()))
        return submit(user, function, *args)

    async def on_loop(user: str, function: str, *args: str) -> bytes:
        places.append((function, True))
        return submit(user, function, *args)

    monkeypatch.setattr(lane.ledger, "submit", in_thread)
    monkeypatch.setattr(lane.ledger, "asubmit", on_loop)
    assert lane.post(json.dumps(BID)).status_code == 201  # the first asks the ledger about the market
    assert lane.post(json.dumps({**BID, "id": "b2"})).status_code == 201
    assert places == [("PlaceBid", False), ("PlaceBid", True)]
    assert [f for _, f, _ in lane.ledger.calls] == ["ReadMarket", "PlaceBid", "PlaceBid"]


def test_bids_awaited_on_the_loop_are_no_more_in_flight_than_the_service_allows(lane, monkeypatch):
    lane.ledger.markets["m1"].update(sealed=False, gate_opens_ms=0)
    for i in range(12):
        lane.ledger.devices[f"d{i}"] = {**DEVICE, "id": f"d{i}", "manager": "agg1MSP"}
    submit = lane.ledger.submit
    in_flight: list[int] = [0]
    peak: list[int] = [0]

    async def slow(user: str, function: str, *args: str) -> bytes:
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        await asyncio.sleep(0.02)
        in_flight[0] -= 1
        return submit(user, function, *args)

    monkeypatch.setattr(lane.ledger, "asubmit", slow)
    assert lane.post(json.dumps(BID)).status_code == 201  # the service learns that the market is open
    answers = lane.post_at_once([json.dumps({**BID, "id": f"c{i}", "device": f"d{i}"}) for i in range(12)], slots=3)
    assert [a.status_code for a in answers] == [201] * 12
    assert peak[0] == 3, "as many in flight as allowed, and no more"
    assert {f"c{i}" for i in range(12)} <= set(lane.ledger.bids)


REQUESTS: list[tuple[str, Any, str | None]] = [
    ("trader", BID, None),                                  # the user's first request: the route serves it
    ("trader", BID, None),                                  # the same again: refused as a duplicate
    ("trader", {**BID, "id": "b2"}, None),
    ("trader", {**BID, "id": "b3", "device": "ghost"}, None),
    ("trader", {**BID, "id": "b4", "market_id": "nope"}, None),
    ("trader", {**BID, "id": "b5", "price_eur_per_mwh": 3}, None),
    ("trader", {"id": "b6", "market_id": "m1", "device": "bat1", "quantity_mw": 1, "price_eur_per_mwh": 3}, None),
    ("trader", {**BID, "id": "b7", "colour": "red"}, None),
    ("trader", '{"id": "b8", "id": "b9"}', None),
    ("trader", '{"id": "b8", "market_id": "m1", "device": "bat1", "products": NaN}', None),
    ("trader", "not json", None),
    ("trader", json.dumps({**BID, "id": "b10"}), "text/plain"),
    ("trader2", {**BID, "id": "b11"}, None),
    ("admin", {**BID, "id": "b12"}, None),
    (None, {**BID, "id": "b13"}, None),
]


def answers(tmp: Path, ca: TestCA, bid_lane: bool) -> list[tuple[int, str | None, bytes]]:
    env = build(tmp, ca, bid_lane=bid_lane)
    try:
        assert env.agg1.post("/devices", json=DEVICE, headers=env.auth("trader")).status_code == 201
        assert env.agg1.post("/markets/m1/enrolment", headers=env.auth("trader")).status_code == 201
        out = []
        for user, body, content_type in REQUESTS:
            headers = {"content-type": content_type or "application/json", **(env.auth(user) if user else {})}
            content = body if isinstance(body, str) else json.dumps(body)
            r = env.agg1.post("/bids", content=content, headers=headers)
            out.append((r.status_code, r.headers.get("content-type"), r.content))
        return out
    finally:
        env.close()


def test_the_service_answers_every_bid_request_the_same_with_the_lane_as_without_it(tmp_path, ca):
    with_lane = answers(tmp_path / "lane", ca, bid_lane=True)
    without = answers(tmp_path / "route", ca, bid_lane=False)
    assert with_lane == without
    assert [status for status, _, _ in with_lane] == [201, 409, 201, 404, 404, 422, 422, 422, 422, 422, 422, 422,
                                                       401, 403, 401]
