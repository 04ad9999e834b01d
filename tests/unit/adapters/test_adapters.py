"""The adapters: both transports carry the same documents, and the fake platforms answer through them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from adapters import config, relay
from adapters.documents import ExchangeKey, sign_results
from adapters.drop import FileExchange, FileTso, HttpExchange, HttpTso
from adapters.fakes import FakeExchange, FakeTsoPlatform
from clearing import canonical

BOOK = {"book_hash": "ab" * 32, "book": {"schema": "flexledger.spot-book/1", "session_id": "DA1", "exchange": "EPEX",
                                         "orders": [
                                             {"id": "S1", "side": "sell", "price_eur_per_mwh": 40.0, "quantity_mw": [1.0, 2.0]},
                                             {"id": "B1", "side": "buy", "price_eur_per_mwh": 30.0, "quantity_mw": [0.5, 0.5]}]}}


def test_fake_exchange_clears_the_dropped_book_at_its_prices_and_signs_the_canonical_bytes(tmp_path: Path) -> None:
    key = ExchangeKey.generate()
    FileExchange(tmp_path).send_book("DA1", BOOK)
    envelope = FakeExchange(tmp_path, key, [45.0, 25.0]).clear("DA1")
    document = envelope["document"]
    assert document["book_hash"] == BOOK["book_hash"]
    assert document["trades"] == [{"order_id": "B1", "accepted_mw": [0.0, 0.5]},
                                  {"order_id": "S1", "accepted_mw": [1.0, 0.0]}]
    key.private.public_key().verify(base64.b64decode(envelope["signature"]), canonical.dumps(document))
    assert FileExchange(tmp_path).fetch_results("DA1") == envelope


def test_relay_sends_the_ledgers_book_and_enters_the_results_unchanged(tmp_path: Path) -> None:
    link = FileExchange(tmp_path)
    calls: list[tuple] = []
    forwarded = relay.forward_book(lambda fn, *a: BOOK if fn == "ReadSpotBook" else None, link, "DA1")
    assert forwarded.model_dump(by_alias=True, exclude_unset=True) == BOOK
    assert relay.relay_results(lambda *a: calls.append(a), link, "DA1") is None  # no answer yet
    envelope = FakeExchange(tmp_path, ExchangeKey.generate(), [45.0, 45.0]).clear("DA1")
    entered = relay.relay_results(lambda *a: calls.append(a) or {"id": "DA1", "status": "results_recorded"}, link,
                                  "DA1")
    assert entered is not None and entered.status == "results_recorded"
    [(function, session, text)] = calls
    assert (function, session, json.loads(text)) == ("RecordSpotResults", "DA1", envelope)


def test_tso_relay_forwards_only_open_bids_and_keeps_refused_activations(tmp_path: Path) -> None:
    bids = [{"id": "M1", "status": "forwarded", "forwarded_mw": 0.5, "direction": "up", "day": "2026-11-21",
             "period": 1, "price_eur_per_mwh": 80.0},
            {"id": "M2", "status": "rejected", "forwarded_mw": 0.0, "direction": "up", "day": "2026-11-21",
             "period": 1, "price_eur_per_mwh": 80.0}]
    sent = relay.forward_mfrr(lambda fn, day: bids, FileTso(tmp_path), "2026-11-21")
    assert [b.id for b in sent] == ["M1"] and sent[0].quantity_mw == 0.5
    FakeTsoPlatform(tmp_path).activate("2026-11-21", {"M1": 0.4, "M2": 0.1})  # M2 was never offered

    def submit(fn: str, body: str) -> dict:
        if json.loads(body)["quantity_mw"] > 0.3:
            raise ValueError("activation.quantity_mw: would break the network limits")
        return {"ok": True}

    out = relay.relay_activations(submit, FileTso(tmp_path), "2026-11-21", refused=ValueError)
    assert out.accepted == [] and [r.model_dump() for r in out.refused] == [
        {"id": "ACT-M1", "reason": "activation.quantity_mw: would break the network limits"}]


def test_http_transports_speak_the_documented_paths() -> None:
    store: dict[str, object] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            store[request.url.path] = json.loads(request.content)
            return httpx.Response(204)
        found = store.get(request.url.path)
        return httpx.Response(200, json=found) if found is not None else httpx.Response(404)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    exchange, tso = HttpExchange("http://x/ex/", client), HttpTso("http://x/tso", client)
    exchange.send_book("DA1", BOOK)
    assert store["/ex/books/DA1"] == BOOK and exchange.fetch_results("DA1") is None
    store["/ex/results/DA1"] = sign_results({"a": 1}, ExchangeKey.generate())
    assert exchange.fetch_results("DA1") == store["/ex/results/DA1"]
    tso.send_bids("2026-11-21", [])
    assert store["/tso/bids/2026-11-21"] == {"day": "2026-11-21", "bids": []}
    assert tso.fetch_activations("2026-11-21") is None


def test_links_come_from_the_environment_url_first(tmp_path: Path) -> None:
    assert config.exchange_link({}) is None and config.tso_link({}) is None
    assert isinstance(config.exchange_link({"FLEXLEDGER_EXCHANGE_DROP": str(tmp_path)}), FileExchange)
    both = {"FLEXLEDGER_TSO_DROP": str(tmp_path), "FLEXLEDGER_TSO_URL": "http://tso"}
    assert isinstance(config.tso_link(both), HttpTso)


def test_an_exchange_key_of_another_type_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(ValueError, match="must be Ed25519"):
        ExchangeKey.from_pem(pem)
    key = ExchangeKey.generate()
    assert ExchangeKey.from_pem(key.private_pem()).public_pem() == key.public_pem()


def test_the_fakes_answer_over_http_through_the_drop_service(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from adapters.http_drop import create_drop_app

    with TestClient(create_drop_app(tmp_path)) as client:
        exchange, tso = HttpExchange("http://testserver", client), HttpTso("http://testserver", client)
        exchange.send_book("DA1", BOOK)  # the platform's side, over HTTP
        assert exchange.fetch_results("DA1") is None
        envelope = FakeExchange(tmp_path, ExchangeKey.generate(), [45.0, 25.0]).clear("DA1")  # the exchange's side
        assert exchange.fetch_results("DA1") == envelope
        tso.send_bids("2026-11-21", [{"id": "M1", "quantity_mw": 0.5}])
        FakeTsoPlatform(tmp_path).activate("2026-11-21", {"M1": 0.5})
        assert tso.fetch_activations("2026-11-21")["activations"][0]["bid_id"] == "M1"
        assert client.get("/books/..").status_code in (404, 422)
        assert client.put("/secrets/x", json={}).status_code == 404
