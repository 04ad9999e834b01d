"""REST service on a fake ledger: auth, role separation, error model, pagination, verify, SSE, users."""

from __future__ import annotations

import json

import grpc
import pytest
from gw_api_support import error_of

from gateway.errors import EndorseError, ErrorDetail, EvaluateError

DEVICE = {"id": "bat1", "type": "storage", "max_power_mw": 0.5, "min_power_mw": 0.0, "capacity_mwh": 1.0,
          "node": "1", "feeder": "F1"}
FLEX_BID = {"id": "b1", "market_id": "m1", "device": "bat1",
            "products": {"p_up": {"price_eur_per_mwh": 12.0, "quantity_mw": [0.1]}}}


def test_health_needs_no_token(env):
    assert env.agg1.get("/health").json() == {"status": "ok", "org": "agg1", "msp_id": "agg1MSP"}


def test_missing_token_is_401_in_the_error_model(env):
    r = env.agg1.get("/devices")
    assert r.status_code == 401 and error_of(r)["field"] == "Authorization"
    assert r.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_401(env):
    r = env.agg1.get("/devices", headers={"Authorization": "Bearer flx_nope"})
    assert r.status_code == 401 and error_of(r)["code"] == "unauthorized"


def test_token_of_another_org_is_not_valid_here(env):
    assert env.agg1.get("/me", headers=env.auth("trader2")).status_code == 401


def test_each_request_is_signed_by_the_callers_own_identity(env):
    env.agg1.post("/devices", json=DEVICE, headers=env.auth("trader"))
    env.agg2.get("/devices/bat1", headers=env.auth("trader2"))
    assert [(user, fn) for user, fn, _ in env.ledger.calls] == [("trader", "RegisterDevice"),
                                                                  ("trader2", "ReadDevice")]


def test_whoami_reports_role_from_certificate(env):
    assert env.agg1.get("/me", headers=env.auth("trader")).json() == {
        "user": "trader", "role": "aggregator", "msp_id": "agg1MSP"}


def test_register_read_and_list_devices(env):
    r = env.agg1.post("/devices", json=DEVICE, headers=env.auth("trader"))
    assert r.status_code == 201 and r.json()["manager"] == "agg1MSP"
    assert env.agg1.get("/devices/bat1", headers=env.auth("trader")).json()["id"] == "bat1"
    for i in range(3):
        env.agg1.post("/devices", json={**DEVICE, "id": f"d{i}"}, headers=env.auth("trader"))
    page = env.agg1.get("/devices?page_size=3", headers=env.auth("trader")).json()
    assert [d["id"] for d in page["items"]] == ["bat1", "d0", "d1"] and page["next_bookmark"] == "d1"
    rest = env.agg1.get(f"/devices?page_size=3&bookmark={page['next_bookmark']}", headers=env.auth("trader"))
    assert [d["id"] for d in rest.json()["items"]] == ["d2"] and rest.json()["next_bookmark"] is None


@pytest.mark.parametrize(("body", "field"), [
    ({**DEVICE, "max_power_mw": "lots"}, "max_power_mw"),
    ({k: v for k, v in DEVICE.items() if k != "type"}, "type"),
    ({**DEVICE, "type": "reactor"}, "type"),
    ({**DEVICE, "owner": "agg2MSP"}, "owner"),
    ({**DEVICE, "id": ""}, "id"),
])
def test_malformed_body_is_422_naming_the_field(env, body, field):
    r = env.agg1.post("/devices", json=body, headers=env.auth("trader"))
    assert r.status_code == 422
    err = error_of(r)
    assert err["field"] == field and err["code"] == "validation_error" and field in err["message"]
    assert env.ledger.calls == []


def test_body_that_is_not_json_is_422(env):
    r = env.agg1.post("/devices", content=b"{nope", headers={**env.auth("trader"),
                                                             "Content-Type": "application/json"})
    assert r.status_code == 422 and error_of(r)["code"] == "validation_error"


def test_chaincode_refusal_is_400_naming_the_chaincode_field(env):
    r = env.agg1.post("/devices", json={**DEVICE, "max_power_mw": 0}, headers=env.auth("trader"))
    assert r.status_code == 400
    assert error_of(r) == {"code": "invalid", "message": "must be > 0, got 0.0", "field": "device.max_power_mw"}


def test_duplicate_device_is_409(env):
    env.agg1.post("/devices", json=DEVICE, headers=env.auth("trader"))
    r = env.agg1.post("/devices", json=DEVICE, headers=env.auth("trader"))
    assert r.status_code == 409 and error_of(r)["field"] == "device.id"


def test_unknown_device_and_market_are_404(env):
    assert env.agg1.get("/devices/ghost", headers=env.auth("trader")).status_code == 404
    r = env.agg1.get("/markets/ghost", headers=env.auth("trader"))
    assert r.status_code == 404 and error_of(r)["field"] == "marketId"


def test_aggregator_cannot_act_on_another_aggregators_device_or_bid(env):
    env.agg1.post("/devices", json=DEVICE, headers=env.auth("trader"))
    env.agg1.post("/markets/m1/enrolment", headers=env.auth("trader"))
    env.agg1.post("/bids", json=FLEX_BID, headers=env.auth("trader"))
    env.agg2.post("/markets/m1/enrolment", headers=env.auth("trader2"))
    r = env.agg2.patch("/devices/bat1", json={"max_power_mw": 9}, headers=env.auth("trader2"))
    assert r.status_code == 403 and "managed by agg1MSP" in error_of(r)["message"]
    r = env.agg2.post("/bids", json={**FLEX_BID, "id": "b2"}, headers=env.auth("trader2"))
    assert r.status_code == 403 and error_of(r)["field"] == "bid.device"
    r = env.agg2.delete("/bids/b1", headers=env.auth("trader2"))
    assert r.status_code == 403 and error_of(r)["field"] == "bidId"
    assert env.ledger.bids["b1"]["status"] == "active"


def test_auditor_cannot_write(env):
    for method, path, body in [("post", "/devices", DEVICE), ("post", "/bids", FLEX_BID),
                               ("post", "/markets/m1/clear", None), ("post", "/funds/deposit",
                                                                      {"participant": "agg1MSP", "amount_cents": 5})]:
        r = env.auditor.request(method.upper(), path, json=body, headers=env.auth("inspector"))
        assert r.status_code == 403, path
        assert error_of(r)["code"] == "forbidden"
    assert env.ledger.calls == []


def test_aggregator_cannot_use_dso_or_audit_endpoints(env):
    market = {"id": "m2", "kind": "flexibility", "day": "2026-11-21", "gate_opens": "2026-11-21T00:00:00Z",
              "gate_closes": "2026-11-21T10:00:00Z"}
    assert env.agg1.post("/markets", json=market, headers=env.auth("trader")).status_code == 403
    assert env.agg1.get("/audit/markets/m1", headers=env.auth("trader")).status_code == 403
    assert env.dso.post("/markets", json=market, headers=env.auth("operator")).status_code == 201


def test_bid_flow_enrol_place_list_cancel(env):
    env.agg1.post("/devices", json=DEVICE, headers=env.auth("trader"))
    r = env.agg1.post("/bids", json=FLEX_BID, headers=env.auth("trader"))
    assert r.status_code == 409 and "not enrolled" in error_of(r)["message"]
    assert env.agg1.post("/markets/m1/enrolment", headers=env.auth("trader")).status_code == 201
    assert env.agg1.post("/bids", json=FLEX_BID, headers=env.auth("trader")).status_code == 201
    bids = env.agg1.get("/markets/m1/bids", headers=env.auth("trader")).json()
    assert [b["id"] for b in bids["items"]] == ["b1"]
    assert env.agg1.delete("/bids/b1", headers=env.auth("trader")).json()["status"] == "cancelled"


def test_capacity_bid_without_periods_is_422_naming_periods(env):
    r = env.agg1.post("/bids", json={"id": "b", "market_id": "m1", "device": "bat1", "quantity_mw": 1,
                                     "price_eur_per_mwh": 3}, headers=env.auth("trader"))
    assert r.status_code == 422 and error_of(r)["field"] == "periods"


def test_markets_are_paged_with_bookmarks(env):
    for i in range(4):
        env.dso.post("/markets", json={"id": f"x{i}", "kind": "flexibility", "day": "2026-11-21",
                                       "gate_opens": "2026-11-21T00:00:00Z", "gate_closes": "2026-11-21T10:00:00Z"},
                     headers=env.auth("operator"))
    first = env.agg1.get("/markets?page_size=2", headers=env.auth("trader")).json()
    assert len(first["items"]) == 2 and first["next_bookmark"] == "2"
    last = env.agg1.get("/markets?page_size=2&bookmark=4", headers=env.auth("trader")).json()
    assert len(last["items"]) == 1 and last["next_bookmark"] is None
    r = env.agg1.get("/markets?bookmark=zz", headers=env.auth("trader"))
    assert r.status_code == 400 and error_of(r)["field"] == "bookmark"


def test_clear_then_result_then_auditor_verifies(env):
    assert env.dso.post("/markets/m1/clear", headers=env.auth("operator")).status_code == 200
    result = env.agg1.get("/markets/m1/result", headers=env.auth("trader")).json()
    assert result["result"]["payments_eur"] == {"agg1MSP": 4.5}
    verdict = env.auditor.post("/audit/markets/m1/verify", headers=env.auth("inspector")).json()
    assert verdict["matches"] is True and verdict["input_hash_matches"] is True
    assert verdict["outcome_matches"] is True and verdict["differences"] == []
    assert verdict["recomputed_result_hash"] == verdict["stored_result_hash"]


def test_verify_detects_a_tampered_stored_result(env):
    env.dso.post("/markets/m1/clear", headers=env.auth("operator"))
    stored = env.ledger.clearings["m1"]
    stored["result"] = {**stored["result"], "payments_eur": {"agg1MSP": 9.0}}
    stored["result_hash"] = "0" * 64
    verdict = env.auditor.post("/audit/markets/m1/verify", headers=env.auth("inspector")).json()
    assert verdict["matches"] is False and verdict["outcome_matches"] is False
    assert verdict["differences"] == ["payments_eur"]


def test_tokens_issued_by_another_process_are_accepted_without_restart(env, tmp_path):
    from restapi.auth import TokenStore

    other = TokenStore(tmp_path / "agg1" / "wallet" / "api-tokens.json")  # e.g. `flexledger gateway users token`
    fresh = other.issue("trader")
    assert env.agg1.get("/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_verify_of_uncleared_market_is_409(env):
    r = env.auditor.post("/audit/markets/m1/verify", headers=env.auth("inspector"))
    assert r.status_code == 409 and error_of(r)["field"] == "marketId"


def test_settlement_deposit_and_insufficient_withdraw(env):
    body = {"participant": "agg1MSP", "amount_cents": 500}
    assert env.dso.post("/funds/deposit", json=body, headers=env.auth("settlement")).status_code == 200
    assert env.agg1.get("/balance", headers=env.auth("trader")).json()["available_cents"] == 500
    r = env.dso.post("/funds/withdraw", json={**body, "amount_cents": 900}, headers=env.auth("settlement"))
    assert r.status_code == 409 and error_of(r)["field"] == "amountCents"
    r = env.dso.post("/funds/deposit", json={**body, "amount_cents": 0}, headers=env.auth("settlement"))
    assert r.status_code == 422 and error_of(r)["field"] == "amount_cents"


def test_ledger_outage_is_503(env):
    env.ledger.fail_with = EvaluateError(message="failed to connect", code=grpc.StatusCode.UNAVAILABLE)
    r = env.agg1.get("/markets", headers=env.auth("trader"))
    assert r.status_code == 503 and error_of(r)["code"] == "ledger_unavailable"


def test_endorsement_mismatch_is_502_naming_the_organisations(env):
    error = EndorseError(message="failed to collect enough transaction endorsements", code=grpc.StatusCode.ABORTED,
                         details=[ErrorDetail("peer0.agg2:7051", "agg2MSP", "ProposalResponsePayloads do not match")])
    error.disagreement = {"aa": ["dsoMSP", "agg1MSP"], "bb": ["agg2MSP"]}
    env.ledger.fail_with = error
    r = env.dso.post("/markets/m1/clear", headers=env.auth("operator"))
    assert r.status_code == 502
    err = error_of(r)
    assert err["code"] == "endorsement_mismatch" and "agg2MSP" in err["message"]


def test_history_accepts_multi_part_ids(env):
    r = env.auditor.get("/audit/history/bid/m1/b1", headers=env.auth("inspector"))
    assert r.status_code == 200 and env.ledger.calls[-1][1:] == ("GetHistory", ("bid", "m1/b1"))
    assert env.auditor.get("/audit/history/nothing/x", headers=env.auth("inspector")).status_code == 400


def parse_sse(text: str) -> list[dict]:
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if fields:
            events.append(fields)
    return events


def test_events_stream_as_sse_and_resume_from_last_event_id(env):
    env.agg1.post("/devices", json=DEVICE, headers=env.auth("trader"))
    env.agg1.post("/markets/m1/enrolment", headers=env.auth("trader"))
    for i in range(3):
        env.agg1.post("/bids", json={**FLEX_BID, "id": f"b{i}"}, headers=env.auth("trader"))
    r = env.agg1.get("/events?limit=2&start_block=0", headers=env.auth("trader"))
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    assert [e["event"] for e in events] == ["BidPlaced", "BidPlaced"]
    assert json.loads(events[0]["data"])["payload"]["bid_id"] == "b0"
    resumed = parse_sse(env.agg1.get("/events?limit=5", headers={
        **env.auth("trader"), "Last-Event-ID": events[-1]["id"]}).text)
    assert [json.loads(e["data"])["payload"]["bid_id"] for e in resumed] == ["b2"]


def test_events_filter_by_name_and_reject_bad_position(env):
    env.ledger.emit("BidPlaced", {"bid_id": "x"})
    env.ledger.emit("MarketCleared", {"market_id": "m1"})
    events = parse_sse(env.agg1.get("/events?name=MarketCleared&start_block=0&limit=1",
                                    headers=env.auth("trader")).text)
    assert [e["event"] for e in events] == ["MarketCleared"]
    r = env.agg1.get("/events?after=abc", headers=env.auth("trader"))
    assert r.status_code == 400 and error_of(r)["field"] == "after"


def test_admin_registers_and_enrols_a_user_who_then_acts_as_itself(env, tmp_path):
    r = env.agg1.post("/users", json={"name": "alice", "role": "aggregator"}, headers=env.auth("admin"))
    assert r.status_code == 201
    out = r.json()
    assert out["msp_id"] == "agg1MSP" and out["token"].startswith("flx_")
    wallet = tmp_path / "agg1" / "wallet" / "alice"
    assert (wallet / "cert.pem").is_file() and (wallet / "key.pem").stat().st_mode & 0o777 == 0o600
    assert env.fake_ca.tokens_seen[0].count(".") == 1  # Fabric CA token: b64cert.b64sig
    me = env.agg1.get("/me", headers={"Authorization": f"Bearer {out['token']}"}).json()
    assert me == {"user": "alice", "role": "aggregator", "msp_id": "agg1MSP"}
    again = env.agg1.post("/users", json={"name": "alice", "role": "aggregator"}, headers=env.auth("admin"))
    assert again.status_code == 409 and error_of(again)["field"] == "name"


def test_only_the_admin_registers_users(env):
    r = env.agg1.post("/users", json={"name": "eve", "role": "dso"}, headers=env.auth("trader"))
    assert r.status_code == 403 and "eve" not in env.fake_ca.registered


def test_token_reissue_revokes_old_token(env):
    old = env.tokens["trader"]
    new = env.agg1.post("/users/trader/token", headers=env.auth("admin")).json()["token"]
    assert env.agg1.get("/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert env.agg1.get("/me", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    assert env.agg1.post("/users/nobody/token", headers=env.auth("admin")).status_code == 404


def test_openapi_documents_every_endpoint_and_the_error_model(env):
    spec = env.agg1.get("/openapi.json").json()
    for path in ["/devices", "/bids", "/markets", "/markets/{market_id}/result", "/balance", "/portfolio",
                 "/network", "/capacity-limits", "/flexibility-requests", "/markets/{market_id}/clear",
                 "/audit/markets/{market_id}/verify", "/events", "/users"]:
        assert path in spec["paths"], path
    assert "ErrorBody" in spec["components"]["schemas"]
    assert "422" in spec["paths"]["/devices"]["post"]["responses"]


def test_unknown_route_uses_the_error_model(env):
    r = env.agg1.get("/nope")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"


def test_service_works_on_more_requests_at_once_than_starlettes_forty_threads(env, monkeypatch):
    """Sixty submits that can only finish together: with Starlette's default pool of 40 they would deadlock."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    together = threading.Barrier(60, timeout=30)
    original = env.ledger.submit

    def submit(user: str, function: str, *args: str) -> bytes:
        together.wait()
        return original(user, function, *args)

    monkeypatch.setattr(env.ledger, "submit", submit)
    with ThreadPoolExecutor(60) as pool:
        statuses = list(pool.map(lambda i: env.agg1.post("/devices", json={**DEVICE, "id": f"many{i}"},
                                                         headers=env.auth("trader")).status_code, range(60)))
    assert statuses == [201] * 60


def test_bids_are_placed_more_than_forty_at_once_and_the_event_loop_never_waits_for_one(env, monkeypatch):
    """Sixty bids that can only finish together, placed from worker threads of the service's own pool."""
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor

    for i in range(60):
        assert env.agg1.post("/devices", json={**DEVICE, "id": f"bd{i}"}, headers=env.auth("trader")).status_code == 201
    env.ledger.markets["x1"] = {"id": "x1", "kind": "flexibility", "status": "open"}
    env.ledger.enrolled.add(("x1", "agg1MSP"))
    together = threading.Barrier(60, timeout=30)
    original = env.ledger.submit
    on_loop: list[bool] = []

    def submit(user: str, function: str, *args: str) -> bytes:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        together.wait()
        return original(user, function, *args)

    monkeypatch.setattr(env.ledger, "submit", submit)
    bid = {"market_id": "x1", "products": {"p_up": {"price_eur_per_mwh": 10.0, "quantity_mw": [0.1]}}}
    with ThreadPoolExecutor(60) as pool:
        answers = list(pool.map(lambda i: env.agg1.post("/bids", json={**bid, "id": f"b{i}", "device": f"bd{i}"},
                                                        headers=env.auth("trader")), range(60)))
    assert [a.status_code for a in answers] == [201] * 60, answers[0].text
    assert on_loop == [False] * 60


def test_service_refuses_a_thread_pool_of_none():
    from restapi.app import create_app

    with pytest.raises(ValueError, match="max_in_flight"):
        create_app(None, max_in_flight=0)  # type: ignore[arg-type]


def test_a_callers_role_is_read_from_the_certificate_once_and_never_on_the_event_loop(env, monkeypatch):
    """Authentication runs on the event loop (no worker thread per request); only a user's first role lookup
    reads the certificate, and it does so in a worker thread, as any blocking work must."""
    import asyncio

    on_loop: list[bool] = []
    original = env.ledger.identity

    def identity(user: str):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # a worker thread runs no event loop
            on_loop.append(False)
        return original(user)

    monkeypatch.setattr(env.ledger, "identity", identity)
    for _ in range(3):
        assert env.agg2.get("/balance", headers=env.auth("trader2")).status_code == 200
    assert on_loop == [False]
