"""The REST service against the real network: every endpoint's main path and main errors, identity
separation between organisations and roles, 422s naming fields, SSE events, audit verify, and a
schemathesis run of the OpenAPI spec. The app runs in-process on the real FabricLedger (TLS gRPC to the
org's real peer, each request signed by the caller's own CA-issued key)."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.profile import load_profile
from gateway.retry import SETTLE_RETRY
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER as FEEDER

GATE_SECONDS = 90


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Api:
    clients: dict[str, TestClient]
    tokens: dict[str, str]
    day: str
    market: str
    gate_closes: dt.datetime
    live: LiveNetwork

    def call(self, org: str, user: str, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[f'{org}/{user}']}", **kwargs.pop("headers", {})}
        return self.clients[org].request(method, path, headers=headers, **kwargs)


def error_of(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body) == {"error"}, body
    return body["error"]


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def api(live_network: LiveNetwork) -> Iterator[Api]:
    users = {"dso": ["admin", "operator", "settlement"], "agg1": ["admin", "trader"], "agg2": ["trader"],
             "auditor": ["inspector"]}
    clients, tokens = live_network.rest_services(users)
    now = dt.datetime.now(dt.UTC)
    day = now.date().isoformat()
    a = Api(clients, tokens, day, uid("mkt"), now + dt.timedelta(seconds=GATE_SECONDS), live_network)
    # the day's data every market needs: network model, baseline, DSO budget, an open flexibility market
    assert a.call("dso", "operator", "PUT", "/network", json=FEEDER).status_code == 200
    baseline = {"day": day, "periods": 1, "period_minutes": 60,
                "baseline": [{"node": "3", "period": 0, "demand_mw": 0.04, "generation_mw": 0.0,
                              "demand_tan_phi": 0.2, "generation_tan_phi": 0.0}],
                "substation": {"p_mw": None, "q_mvar": None},
                "shedding_cost": {"load_eur_per_mwh": 450.0, "generation_eur_per_mwh": 50.0}}
    r = a.call("dso", "operator", "PUT", "/baseline", json=baseline)
    assert r.status_code == 200, r.text
    r = a.call("dso", "settlement", "POST", "/funds/deposit", json={"participant": "dsoMSP", "amount_cents": 500000})
    assert r.status_code == 200, r.text
    r = a.call("dso", "operator", "POST", "/flexibility-requests", json={
        "id": a.market, "day": day, "gate_opens": iso(now - dt.timedelta(minutes=5)),
        "gate_closes": iso(a.gate_closes), "budget_cents": 100000, "feeder": "F1"})
    assert r.status_code == 201, r.text
    yield a
    for client in clients.values():
        client.__exit__(None, None, None)


def new_device(a: Api, org: str = "agg1", **overrides) -> dict:
    doc = {"id": uid("dev"), "type": "storage", "max_power_mw": 0.05, "min_power_mw": 0.0, "capacity_mwh": 0.1,
           "node": "3", "feeder": "F1", **overrides}
    r = a.call(org, "trader", "POST", "/devices", json=doc)
    assert r.status_code == 201, r.text
    return r.json()


def flex_bid(market: str, device: str, price: float = 12.0) -> dict:
    return {"id": uid("bid"), "market_id": market, "device": device,
            "products": {"p_up": {"price_eur_per_mwh": price, "quantity_mw": [0.01]}}}


# --- users and auth ----------------------------------------------------------------------------------------
def test_whoami_is_the_callers_own_ca_identity(api):
    assert api.call("agg1", "trader", "GET", "/me").json() == {"user": "trader", "role": "aggregator",
                                                               "msp_id": "agg1MSP"}
    assert api.call("auditor", "inspector", "GET", "/me").json()["role"] == "auditor"


def test_no_or_foreign_token_is_401(api):
    assert api.clients["agg1"].get("/devices").status_code == 401
    r = api.clients["agg1"].get("/devices", headers={"Authorization": f"Bearer {api.tokens['agg2/trader']}"})
    assert r.status_code == 401 and error_of(r)["field"] == "Authorization"


def test_admin_registers_and_enrols_a_user_at_the_org_ca(api):
    name = f"u{uuid.uuid4().hex[:6]}"
    r = api.call("agg1", "admin", "POST", "/users", json={"name": name, "role": "aggregator"})
    if r.status_code == 502 and error_of(r)["code"] == "ca_error":
        pytest.xfail(f"the profile's admin is not a registrar at the org CA: {error_of(r)['message']}")
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    me = api.clients["agg1"].get("/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"user": name, "role": "aggregator", "msp_id": "agg1MSP"}
    # the new identity transacts with its own CA-issued key
    r = api.clients["agg1"].post("/devices", headers={"Authorization": f"Bearer {token}"}, json={
        "id": uid("dev"), "type": "load", "max_power_mw": 0.02, "node": "3", "feeder": "F1"})
    assert r.status_code == 201, r.text
    again = api.call("agg1", "admin", "POST", "/users", json={"name": name, "role": "aggregator"})
    assert again.status_code == 409 and error_of(again)["field"] == "name"


def test_only_the_admin_registers_users(api):
    r = api.call("agg1", "trader", "POST", "/users", json={"name": "mallory", "role": "dso"})
    assert r.status_code == 403


def test_user_body_errors_are_422_naming_the_field(api):
    r = api.call("agg1", "admin", "POST", "/users", json={"name": "Bad Name", "role": "aggregator"})
    assert r.status_code == 422 and error_of(r)["field"] == "name"
    r = api.call("agg1", "admin", "POST", "/users", json={"name": "ok", "role": "king"})
    assert r.status_code == 422 and error_of(r)["field"] == "role"


# --- devices -----------------------------------------------------------------------------------------------
def test_device_register_read_update_list_retire(api):
    dev = new_device(api)
    assert dev["manager"] == "agg1MSP"
    assert api.call("agg1", "trader", "GET", f"/devices/{dev['id']}").json()["id"] == dev["id"]
    r = api.call("agg1", "trader", "PATCH", f"/devices/{dev['id']}", json={"max_power_mw": 0.04})
    assert r.status_code == 200 and r.json()["max_power_mw"] == 0.04
    for _ in range(2):
        new_device(api)
    page = api.call("agg1", "trader", "GET", "/devices", params={"page_size": 2, "manager": "agg1MSP"}).json()
    assert len(page["items"]) == 2 and page["next_bookmark"]
    nxt = api.call("agg1", "trader", "GET", "/devices",
                   params={"page_size": 2, "manager": "agg1MSP", "bookmark": page["next_bookmark"]}).json()
    assert not {d["id"] for d in nxt["items"]} & {d["id"] for d in page["items"]}
    assert api.call("agg1", "trader", "DELETE", f"/devices/{dev['id']}").json()["status"] == "retired"


def test_device_errors(api):
    dev = new_device(api)
    r = api.call("agg1", "trader", "POST", "/devices", json={**{k: dev[k] for k in (
        "id", "type", "max_power_mw", "min_power_mw", "capacity_mwh", "node", "feeder")}})
    assert r.status_code == 409 and error_of(r)["field"] == "device.id"
    r = api.call("agg1", "trader", "POST", "/devices", json={"id": uid("d"), "type": "load", "max_power_mw": -1,
                                                             "node": "3", "feeder": "F1"})
    assert r.status_code == 400 and error_of(r)["field"].startswith("device.max_power_mw")
    r = api.call("agg1", "trader", "POST", "/devices", json={"id": uid("d"), "type": "load", "max_power_mw": 1,
                                                             "node": "3", "feeder": "F9"})
    assert r.status_code == 400 and error_of(r)["field"] == "device.feeder"
    r = api.call("agg1", "trader", "POST", "/devices", json={"id": uid("d"), "type": "load",
                                                             "max_power_mw": "x", "node": "3", "feeder": "F1"})
    assert r.status_code == 422 and error_of(r)["field"] == "max_power_mw"
    r = api.call("agg1", "trader", "GET", "/devices/nothing-here")
    assert r.status_code == 404


# --- identity separation -----------------------------------------------------------------------------------
def test_an_aggregator_cannot_act_for_another_aggregator(api):
    dev = new_device(api, "agg1")
    api.call("agg1", "trader", "POST", f"/markets/{api.market}/enrolment")
    bid = flex_bid(api.market, dev["id"])
    assert api.call("agg1", "trader", "POST", "/bids", json=bid).status_code == 201
    api.call("agg2", "trader", "POST", f"/markets/{api.market}/enrolment")
    r = api.call("agg2", "trader", "PATCH", f"/devices/{dev['id']}", json={"max_power_mw": 1})
    assert r.status_code == 403, r.text
    r = api.call("agg2", "trader", "DELETE", f"/devices/{dev['id']}")
    assert r.status_code == 403
    r = api.call("agg2", "trader", "POST", "/bids", json=flex_bid(api.market, dev["id"]))
    assert r.status_code == 403 and error_of(r)["field"] == "bid.device"
    r = api.call("agg2", "trader", "DELETE", f"/bids/{bid['id']}")
    assert r.status_code == 403 and error_of(r)["field"] == "bidId"
    # the body cannot smuggle an owner either
    r = api.call("agg2", "trader", "POST", "/devices", json={"id": uid("d"), "type": "load", "max_power_mw": 1,
                                                             "node": "3", "feeder": "F1", "owner": "agg1MSP"})
    assert r.status_code == 422 and error_of(r)["field"] == "owner"


def test_an_auditor_cannot_write_through_the_api_nor_the_chaincode(api):
    for method, path, body in [("POST", "/devices", {"id": uid("d"), "type": "load", "max_power_mw": 1,
                                                     "node": "3", "feeder": "F1"}),
                               ("PUT", "/network", FEEDER), ("POST", f"/markets/{api.market}/clear", None)]:
        r = api.call("auditor", "inspector", method, path, json=body)
        assert r.status_code == 403, path
    from gateway import EndorseError, connect_from_profile

    with connect_from_profile(api.live.profile("auditor"), "inspector", endorse_retry=SETTLE_RETRY) as gw:
        c = gw.get_network("flexchannel").get_contract("flexledger")
        with pytest.raises(EndorseError) as err:
            c.submit("RegisterDevice", json.dumps({"id": uid("d"), "type": "load", "max_power_mw": 1,
                                                   "node": "3", "feeder": "F1"}))
        assert err.value.chaincode_message.startswith("caller.role:")


# --- markets and bids --------------------------------------------------------------------------------------
def test_markets_list_read_and_404(api):
    page = api.call("agg1", "trader", "GET", "/markets", params={"day": api.day, "page_size": 500}).json()
    assert api.market in {m["id"] for m in page["items"]}
    assert api.call("agg1", "trader", "GET", f"/markets/{api.market}").json()["kind"] == "flexibility"
    r = api.call("agg1", "trader", "GET", "/markets/nope")
    assert r.status_code == 404


def test_bid_before_enrolment_is_409_then_place_list_cancel(api):
    r = api.call("dso", "operator", "POST", "/flexibility-requests", json={
        "id": uid("m"), "day": api.day, "gate_opens": iso(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)),
        "gate_closes": iso(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)), "budget_cents": 10})
    market = r.json()["id"]
    dev = new_device(api, "agg2")
    r = api.call("agg2", "trader", "POST", "/bids", json=flex_bid(market, dev["id"]))
    assert r.status_code == 409 and error_of(r)["field"] == "bid.market_id"
    assert api.call("agg2", "trader", "POST", f"/markets/{market}/enrolment").status_code == 201
    bid = flex_bid(market, dev["id"])
    assert api.call("agg2", "trader", "POST", "/bids", json=bid).status_code == 201
    # read through the bidder's own org: its peer has committed the bid (another org's may lag a block)
    bids = api.call("agg2", "trader", "GET", f"/markets/{market}/bids").json()["items"]
    assert [b["id"] for b in bids] == [bid["id"]]
    assert api.call("agg2", "trader", "DELETE", f"/bids/{bid['id']}").status_code == 200
    r = api.call("agg2", "trader", "POST", "/bids", json={**bid, "products": {"p_up": {
        "price_eur_per_mwh": 1, "quantity_mw": [0.01, 0.01]}}})
    assert r.status_code == 400 and error_of(r)["field"].startswith("bid.products.p_up.quantity_mw")


def test_bids_placed_at_once_into_an_open_market_each_commit_once_awaited_on_the_event_loop(api):
    """Once the service knows a market is open, its bids go through the bid lane and are awaited on the
    event loop over a grpc.aio channel (restapi.bid_lane, gateway.aio): each commits once, and a refusal
    on that path still names its field and changes nothing."""
    from concurrent.futures import ThreadPoolExecutor

    r = api.call("dso", "operator", "POST", "/flexibility-requests", json={
        "id": uid("lane"), "day": api.day, "gate_opens": iso(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)),
        "gate_closes": iso(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)), "budget_cents": 10})
    market = r.json()["id"]
    assert api.call("agg1", "trader", "POST", f"/markets/{market}/enrolment").status_code == 201
    devices = [new_device(api)["id"] for _ in range(13)]
    first = flex_bid(market, devices[0])
    assert api.call("agg1", "trader", "POST", "/bids", json=first).status_code == 201  # the market is now known
    bids = [flex_bid(market, d, price=10.0 + i) for i, d in enumerate(devices[1:])]
    with ThreadPoolExecutor(len(bids)) as pool:
        answers = list(pool.map(lambda b: api.call("agg1", "trader", "POST", "/bids", json=b), bids))
    assert [a.status_code for a in answers] == [201] * len(bids), answers[0].text
    assert [a.json()["id"] for a in answers] == [b["id"] for b in bids]
    assert api.clients["agg1"].app.state.flex.ledger._aio is not None, "the bids were awaited on the loop"
    again = api.call("agg1", "trader", "POST", "/bids", json={**bids[0], "device": devices[0]})
    assert again.status_code == 409 and error_of(again)["field"] == "bid.id", again.text
    on_ledger = api.call("agg1", "trader", "GET", f"/markets/{market}/bids?page_size=100").json()["items"]
    ids = [b["id"] for b in on_ledger]
    assert sorted(ids) == sorted([first["id"], *(b["id"] for b in bids)]) and len(ids) == len(set(ids))
    assert {b["device"] for b in on_ledger if b["id"] == bids[0]["id"]} == {devices[1]}, "the refusal changed nothing"


def test_capacity_market_and_limits(api):
    market = uid("cap")
    now = dt.datetime.now(dt.UTC)
    r = api.call("dso", "operator", "POST", "/markets", json={
        "id": market, "kind": "capacity_day_ahead", "feeder": "F1", "day": api.day, "rule": "premium_capacity",
        "gate_opens": iso(now + dt.timedelta(hours=1)), "gate_closes": iso(now + dt.timedelta(hours=2)),
        "periods": 1, "period_minutes": 60,
        "rules": {"price_resolution_eur": 0.01, "quantity_step_mw": 0.001, "min_quantity_mw": 0.0,
                  "max_quantity_mw": 10.0, "min_price_eur_per_mwh": 0.0, "max_price_eur_per_mwh": 1000.0}})
    assert r.status_code == 201, r.text
    r = api.call("dso", "operator", "PUT", "/capacity-limits", json={
        "market_id": market, "limits": [{"feeder": "F1", "period": 0, "capacity_mw": 1.0}]})
    assert r.status_code == 200, r.text
    r = api.call("dso", "operator", "PATCH", f"/markets/{market}", json={"pricing": "uniform"})
    assert r.status_code == 200, r.text
    r = api.call("agg1", "trader", "PUT", "/capacity-limits", json={
        "market_id": market, "limits": [{"feeder": "F1", "period": 0, "capacity_mw": 1.0}]})
    assert r.status_code == 403
    r = api.call("dso", "operator", "PUT", "/capacity-limits", json={"market_id": market, "limits": []})
    assert r.status_code == 422 and error_of(r)["field"] == "limits"


def test_funds_and_balance(api):
    r = api.call("dso", "settlement", "POST", "/funds/deposit", json={"participant": "agg1MSP", "amount_cents": 250})
    assert r.status_code == 200
    assert api.call("agg1", "trader", "GET", "/balance").json()["available_cents"] >= 250
    r = api.call("dso", "settlement", "POST", "/funds/withdraw",
                 json={"participant": "agg1MSP", "amount_cents": 10**12})
    assert r.status_code == 409 and error_of(r)["field"] == "amountCents"
    assert api.call("agg1", "trader", "POST", "/funds/deposit",
                    json={"participant": "agg1MSP", "amount_cents": 1}).status_code == 403


def test_portfolio_and_network_reads(api):
    portfolio = api.call("agg1", "trader", "GET", "/portfolio")
    assert portfolio.status_code == 200, portfolio.text
    assert api.call("agg1", "trader", "GET", "/network").json()["feeders"]["F1"] == ["1", "2", "3"]
    assert api.call("agg1", "trader", "GET", "/network", params={"version": "x"}).status_code == 400


# --- the service as a process ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gateway_up_serves_with_no_configuration_beyond_the_profile(api):
    port = free_port()
    env = dict(api.live.env)
    proc = subprocess.Popen([sys.executable, "-m", "flexledger.cli", "gateway", "up", "--org", "agg1",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("gateway up did not answer")
        assert health.json()["msp_id"] == "agg1MSP"
        admin_token = (load_profile(api.live.profile("agg1")).wallet / "admin.token").read_text().strip()
        me = httpx.get(f"http://127.0.0.1:{port}/me", headers={"Authorization": f"Bearer {admin_token}"})
        assert me.json()["role"] == "admin"
        token = api.live.cli("gateway", "users", "token", "--org", "agg1", "trader", check=True).stdout.strip()
        devices = httpx.get(f"http://127.0.0.1:{port}/devices", headers={"Authorization": f"Bearer {token}"},
                            timeout=30)
        assert devices.status_code == 200 and "items" in devices.json()
        # a bid through the real HTTP server, then its event on the live SSE stream
        auth = {"Authorization": f"Bearer {token}"}
        device = {"id": uid("dev"), "type": "load", "max_power_mw": 0.05, "node": "3", "feeder": "F1"}
        assert httpx.post(f"http://127.0.0.1:{port}/devices", json=device, headers=auth, timeout=60).status_code == 201
        now = dt.datetime.now(dt.UTC)
        market = api.call("dso", "operator", "POST", "/flexibility-requests", json={
            "id": uid("sse"), "day": api.day, "gate_opens": iso(now - dt.timedelta(minutes=1)),
            "gate_closes": iso(now + dt.timedelta(hours=2)), "budget_cents": 10}).json()["id"]
        httpx.post(f"http://127.0.0.1:{port}/markets/{market}/enrolment", headers=auth, timeout=60)
        bid = flex_bid(market, device["id"], price=20.0)
        r = httpx.post(f"http://127.0.0.1:{port}/bids", json=bid, headers=auth, timeout=60)
        assert r.status_code == 201, r.text
        seen = None
        with httpx.stream("GET", f"http://127.0.0.1:{port}/events", params={"start_block": 0, "name": "BidPlaced"},
                          headers=auth, timeout=httpx.Timeout(60, read=60)) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            last_id = None
            for line in stream.iter_lines():
                if line.startswith("id: "):
                    last_id = line[4:]
                if line.startswith("data: ") and json.loads(line[6:])["payload"]["bid_id"] == bid["id"]:
                    seen = last_id
                    break
        assert seen and ":" in seen
    finally:
        proc.terminate()
        proc.wait(20)


# --- clearing, settlement, audit ---------------------------------------------------------------------------
def test_clear_settle_and_auditor_verifies(api):
    r = api.call("dso", "operator", "POST", f"/markets/{api.market}/clear")
    assert r.status_code == 409 and error_of(r)["field"] == "marketId"  # gate still open
    wait = (api.gate_closes - dt.datetime.now(dt.UTC)).total_seconds() + 3
    if wait > 0:
        time.sleep(wait)
    r = api.call("dso", "operator", "POST", f"/markets/{api.market}/clear")
    assert r.status_code == 200, r.text
    result = api.call("agg1", "trader", "GET", f"/markets/{api.market}/result").json()
    assert result["result_hash"] and "payments_eur" in result["result"]
    verdict = api.call("auditor", "inspector", "POST", f"/audit/markets/{api.market}/verify").json()
    assert verdict["outcome_matches"] is True and verdict["input_hash_matches"] is True, verdict
    assert verdict["stored_result_hash"] == result["result_hash"]
    # the full hash also covers the oracle build (code digest, solver versions) of the endorsing peers
    assert verdict["matches"] == (verdict["differences"] == []), verdict
    r = api.call("dso", "settlement", "POST", f"/markets/{api.market}/settle")
    assert r.status_code == 200, r.text
    r = api.call("dso", "settlement", "POST", f"/markets/{api.market}/settle")
    assert r.status_code == 409
    history = api.call("auditor", "inspector", "GET", f"/audit/history/market/{api.market}").json()
    assert len(history) >= 2
    record = api.call("auditor", "inspector", "GET", f"/audit/markets/{api.market}").json()
    assert record["result_hash"] == result["result_hash"]
    assert api.call("auditor", "inspector", "GET", "/audit/participants/agg1MSP").status_code == 200
    assert api.call("agg1", "trader", "POST", f"/audit/markets/{api.market}/verify").status_code == 403


def test_verify_of_an_uncleared_market_is_409(api):
    r = api.call("auditor", "inspector", "POST", "/audit/markets/nope/verify")
    assert r.status_code in (404, 409)


def test_schemathesis_finds_no_server_error_on_the_live_network(api):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_asgi("/openapi.json", api.clients["agg1"].app)
    schema.config.phases.coverage.enabled = False
    headers = {"Authorization": f"Bearer {api.tokens['agg1/trader']}"}
    examples = int(os.environ.get("FLEXLEDGER_SCHEMATHESIS_EXAMPLES", "5"))
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/events":
            continue  # an endless stream: covered by the SSE test on the real server

        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        @given(case=operation.as_strategy())
        def check(case) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error], headers=headers)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collected and reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n".join(failures)
