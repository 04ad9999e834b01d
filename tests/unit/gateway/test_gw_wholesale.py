"""The wholesale REST endpoints and their adapters, over the real chaincode in-process (gw_chain_ledger):
the exchange and the TSO platform are the local fakes behind a file drop, the ledger side is the contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from gw_api_support import Env, build
from gw_chain_ledger import IDENTITIES, ChainLedger
from gw_pki import TestCA

from adapters.documents import ExchangeKey, result_document, sign_results
from adapters.fakes import FakeExchange, FakeTsoPlatform
from contract import wholesale
from restapi.auth import TokenStore
from restapi.wholesale_models import (
    ActivationIn,
    ExchangeKeyIn,
    MfrrBidIn,
    MfrrConsentIn,
    SignedResultsIn,
    SpotOfferIn,
    SpotSessionIn,
)

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


def open_spot_session(env: Env) -> ExchangeKey:
    """The exchange EPEX's key published, its session DA1 open, agg1's sell offer S1 in it; the key signs."""
    key = ExchangeKey.generate()
    dso, op = env.dso, env.auth("operator")
    ok(dso.put("/spot/exchange-keys", headers=op, json={"exchange": "EPEX", "public_key_pem": key.public_pem()}))
    ok(dso.post("/spot/sessions", headers=op, json={"id": "DA1", "day": DAY, "venue": "day_ahead",
                                                    "exchange": "EPEX", "gate_closes": "2026-11-20T11:00:00Z"}))
    ok(env.agg1.post("/spot/offers", headers=env.auth("trader"), json={
        "id": "S1", "session_id": "DA1", "device": "D1", "side": "sell", "quantity_mw": [1.0, 1.0, 0.0, 0.0],
        "price_eur_per_mwh": 40.0}))
    return key


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
    key = open_spot_session(env)
    dso, op = env.dso, env.auth("operator")
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


@pytest.mark.parametrize(("body", "fields", "required"), [
    (ExchangeKeyIn, wholesale.EXCHANGE_KEY_FIELDS, wholesale.EXCHANGE_KEY_FIELDS),
    (SpotSessionIn, wholesale.SPOT_SESSION_FIELDS, wholesale.SPOT_SESSION_FIELDS),
    (SpotOfferIn, wholesale.SPOT_OFFER_FIELDS, wholesale.SPOT_OFFER_FIELDS),
    (SignedResultsIn, wholesale.RESULTS_FIELDS, wholesale.RESULTS_FIELDS),
    (MfrrBidIn, wholesale.MFRR_BID_FIELDS, wholesale.MFRR_BID_FIELDS),
    (MfrrConsentIn, wholesale.MFRR_CONSENT_FIELDS, wholesale.MFRR_CONSENT_REQUIRED),
    (ActivationIn, wholesale.ACTIVATION_FIELDS, wholesale.ACTIVATION_FIELDS),
])
def test_each_rest_body_has_exactly_the_fields_of_the_chaincodes_document(body, fields, required) -> None:
    assert set(body.model_fields) == set(fields)
    assert {name for name, field in body.model_fields.items() if field.is_required()} == set(required)


def test_wholesale_answers_are_the_ledgers_records_unchanged(env: Env) -> None:
    """The response models drop nothing and add nothing: each REST answer is the chaincode's answer."""
    import cc_world

    chain, key = env.ledger.chain, open_spot_session(env)
    dso, op, agg2, trader2 = env.dso, env.auth("operator"), env.agg2, env.auth("trader2")
    consent = ok(agg2.put("/mfrr/consents", headers=trader2, json={"device": "D2", "allow": True}))
    assert consent["price_eur_per_mwh"] is None  # null is the ledger's value, kept
    ok(agg2.post("/mfrr/bids", headers=trader2, json={"id": "M1", "device": "D2", "day": DAY, "period": 1,
                                                      "direction": "up", "quantity_mw": 0.5, "price_eur_per_mwh": 80.0}))
    chain.at("2026-11-20T11:00:00Z")
    ok(dso.post("/spot/sessions/DA1/check", headers=op))
    book = ok(env.auditor.get("/spot/sessions/DA1/book", headers=env.auth("inspector")))
    assert book["book"]["schema"] == wholesale.BOOK_SCHEMA
    envelope = sign_results(result_document(book["book"], book["book_hash"], [50.0] * 4,
                                            {"S1": [1.0, 0.5, 0.0, 0.0]}), key)
    ok(dso.post("/spot/sessions/DA1/results", headers=op, json=envelope))
    ok(dso.post("/spot/sessions/DA1/settle", headers=env.auth("settlement")))
    ok(dso.post("/mfrr/activations", headers=env.auth("tina"), json={"id": "A1", "bid_id": "M1",
                                                                      "quantity_mw": 0.5}))
    reads = [
        ("/spot/sessions", "ListSpotSessions", ("",)), (f"/spot/sessions?day={DAY}", "ListSpotSessions", (DAY,)),
        ("/spot/sessions/DA1", "ReadSpotSession", ("DA1",)), ("/spot/sessions/DA1/book", "ReadSpotBook", ("DA1",)),
        ("/spot/flows", "WholesaleFlows", ()), (f"/mfrr/days/{DAY}/bids", "ListMfrrBids", (DAY,)),
        (f"/mfrr/days/{DAY}/activations", "ListMfrrActivations", (DAY,)),
    ]
    for path, function, args in reads:
        assert ok(env.auditor.get(path, headers=env.auth("inspector"))) == chain.invoke(cc_world.AUDITOR, function,
                                                                                       *args), path
    funds = ok(env.auditor.get("/audit/funds", headers=env.auth("inspector")))
    assert funds == {**chain.invoke(cc_world.AUDITOR, "TotalFunds"),
                     "wholesale": chain.invoke(cc_world.AUDITOR, "WholesaleFlows")}
