"""The wholesale REST endpoints and their adapters, over the real chaincode in-process (gw_chain_ledger):
the exchange and the TSO platform are the local fakes behind a file drop, the ledger side is the contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from gw_api_support import Env, build
from gw_chain_ledger import IDENTITIES, ChainLedger
from gw_pki import TestCA

from adapters.documents import ExchangeKey
from adapters.fakes import FakeExchange, FakeTsoPlatform
from restapi.auth import TokenStore

DAY = "2026-11-21"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import cc_world

    monkeypatch.setitem(IDENTITIES, "tina", cc_world.TSO)
    built = build(tmp_path, TestCA(), ChainLedger())
    built.tokens["tina"] = TokenStore(tmp_path / "dso" / "wallet" / "api-tokens.json").issue("tina")
    built.ledger.chain.invoke(cc_world.SETTLE, "Deposit", "tsoMSP", "100000")
    yield built
    built.close()


def ok(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_adapter_endpoints_say_which_configuration_is_missing(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FLEXLEDGER_EXCHANGE_URL", "FLEXLEDGER_EXCHANGE_DROP", "FLEXLEDGER_TSO_URL", "FLEXLEDGER_TSO_DROP"):
        monkeypatch.delenv(name, raising=False)
    r = env.dso.post("/spot/sessions/DA1/forward", headers=env.auth("operator"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_configured"
    assert "FLEXLEDGER_EXCHANGE_DROP" in r.json()["error"]["message"]
    r = env.dso.post(f"/mfrr/days/{DAY}/fetch-activations", headers=env.auth("tina"))
    assert r.status_code == 409 and "FLEXLEDGER_TSO_DROP" in r.json()["error"]["message"]


def test_spot_and_mfrr_round_trip_through_the_drop(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drop = tmp_path / "drop"
    monkeypatch.setenv("FLEXLEDGER_EXCHANGE_DROP", str(drop))
    monkeypatch.setenv("FLEXLEDGER_TSO_DROP", str(drop))
    key = ExchangeKey.generate()
    dso, op = env.dso, env.auth("operator")
    ok(dso.put("/spot/exchange-keys", headers=op, json={"exchange": "EPEX", "public_key_pem": key.public_pem()}))
    ok(dso.post("/spot/sessions", headers=op, json={"id": "DA1", "day": DAY, "venue": "day_ahead",
                                                    "exchange": "EPEX", "gate_closes": "2026-11-20T11:00:00Z"}))
    ok(env.agg1.post("/spot/offers", headers=env.auth("trader"), json={
        "id": "S1", "session_id": "DA1", "device": "D1", "side": "sell", "quantity_mw": [1.0, 1.0, 0.0, 0.0],
        "price_eur_per_mwh": 40.0}))
    r = env.agg1.post("/spot/offers", headers=env.auth("trader"), json={
        "id": "S2", "session_id": "DA1", "device": "D1", "side": "hold", "quantity_mw": [1.0], "price_eur_per_mwh": 1})
    assert r.status_code == 422 and r.json()["error"]["field"] == "side"
    env.ledger.chain.at("2026-11-20T11:00:00Z")
    assert ok(dso.post("/spot/sessions/DA1/check", headers=op))["offer_counts"]["feasible"] == 1
    sent = ok(dso.post("/spot/sessions/DA1/forward", headers=op))
    r = dso.post("/spot/sessions/DA1/fetch-results", headers=op)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_ready"
    FakeExchange(drop, key, [50.0, 30.0, 50.0, 50.0]).clear("DA1")
    session = ok(dso.post("/spot/sessions/DA1/fetch-results", headers=op))
    assert session["trades"] == [{"order_id": "S1", "owner": "agg1MSP", "device": "D1", "node": "1", "side": "sell",
                                  "accepted_mw": [1.0, 0.0, 0.0, 0.0], "amount_cents": 5_000}]
    assert sent["book_hash"] == session["book_hash"]
    ok(dso.post("/spot/sessions/DA1/settle", headers=env.auth("settlement")))
    assert ok(env.auditor.get("/audit/funds", headers=env.auth("inspector")))["wholesale"]["net_in_cents"] == 5_000

    bid = ok(env.agg2.post("/mfrr/bids", headers=env.auth("trader2"), json={
        "id": "M1", "device": "D2", "day": DAY, "period": 1, "direction": "up", "quantity_mw": 0.5,
        "price_eur_per_mwh": 80.0}))
    assert bid["status"] == "forwarded"
    assert [b["id"] for b in ok(dso.post(f"/mfrr/days/{DAY}/forward", headers=op))["bids"]] == ["M1"]
    FakeTsoPlatform(drop).activate(DAY, {"M1": 0.5})
    out = ok(dso.post(f"/mfrr/days/{DAY}/fetch-activations", headers=env.auth("tina")))
    assert [a["id"] for a in out["accepted"]] == ["ACT-M1"] and out["refused"] == []
    again = ok(dso.post(f"/mfrr/days/{DAY}/fetch-activations", headers=env.auth("tina")))
    assert again["accepted"] == [] and "already exists" in again["refused"][0]["reason"]
    ok(dso.post("/mfrr/activations/ACT-M1/delivery", headers=op, json={"delivered_mw": 0.4}))
    settled = ok(dso.post("/mfrr/activations/ACT-M1/settle", headers=env.auth("settlement")))
    assert settled["paid_cents"] == 3_200 and settled["non_delivered_mw"] == 0.1
    [seen] = ok(env.auditor.get(f"/mfrr/days/{DAY}/activations", headers=env.auth("inspector")))
    assert seen["non_delivered_mw"] == 0.1
    r = dso.post("/mfrr/activations", headers=op, json={"id": "A9", "bid_id": "M1", "quantity_mw": 0.1})
    assert r.status_code == 403
