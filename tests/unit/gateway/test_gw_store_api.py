"""The REST list endpoints served from the query store answer exactly what the chaincode answers.

The ledger is the real chaincode in-process (``gw_chain_ledger``); every transaction it commits becomes a
real Fabric block (``gw_block_factory``) with that transaction's writes, which the service's follower
applies to its store. One app reads lists from the store, a second on the same ledger from the chaincode.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from gw_api_support import profile
from gw_block_factory import LiveChain, Tx, config_block, make_block
from gw_chain_ledger import ChainLedger, world

from restapi import create_app
from restapi.auth import TokenStore


class BlockChainLedger(ChainLedger):
    """The in-process chaincode, whose every successful submit is committed as one block."""

    def __init__(self) -> None:
        super().__init__()
        genesis = {k: v for k, v in self.chain.ledger.state.items()}
        self.live = LiveChain([config_block(0), make_block(1, [Tx("genesis", self._json(genesis))])])

    @staticmethod
    def _json(writes: dict[str, bytes | None]) -> dict[str, Any]:
        import json

        return {k: None if v is None else json.loads(v) for k, v in writes.items()}

    def submit(self, user: str, function: str, *args: str) -> bytes:
        before = dict(self.chain.ledger.state)
        answer = super().submit(user, function, *args)
        after = self.chain.ledger.state
        writes = {k: v for k, v in after.items() if before.get(k) != v}
        writes.update({k: None for k in before if k not in after})
        self.live.append([Tx(f"tx-{self.live.height}", self._json(writes), function=function)])
        return answer

    def height(self, user: str) -> int:
        return self.live.height

    def blocks(self, user: str, start: int):
        return self.live.open(start)


@pytest.fixture(scope="module")
def apps():
    ledger = BlockChainLedger()
    tmp = Path(tempfile.mkdtemp(prefix="flexledger-store-api-"))
    wallet = tmp / "agg1" / "wallet"
    tokens = TokenStore(wallet / "api-tokens.json")
    token = tokens.issue("trader")
    auditor = TokenStore(tmp / "auditor" / "wallet" / "api-tokens.json")
    audit_token = auditor.issue("inspector")
    prof = profile("agg1", "agg1MSP", wallet)
    with_store = TestClient(create_app(prof, ledger=ledger, tokens=tokens, query_db=str(tmp / "q.sqlite")))
    without = TestClient(create_app(prof, ledger=ledger, tokens=tokens, query_db="off"))
    audit = TestClient(create_app(profile("auditor", "auditorMSP", tmp / "auditor" / "wallet"), ledger=ledger,
                                  tokens=auditor, query_db=str(tmp / "qa.sqlite")))
    for client in (with_store, without, audit):
        client.__enter__()
    # bids of two aggregators on many devices in the open flexibility market
    for n in range(60):
        who = "trader" if n % 2 == 0 else "trader2"
        device = {"id": f"dev{n:03d}", "type": "storage", "max_power_mw": 0.5, "min_power_mw": 0.0,
                  "capacity_mwh": 1.0, "node": "2", "feeder": "F1"}
        ledger.submit(who, "RegisterDevice", _dump(device))
        bid = {"id": f"bid{n:03d}", "market_id": "FLEX1", "device": device["id"],
               "products": {"p_up": {"price_eur_per_mwh": 10 + n, "quantity_mw": [0.01] * world.PERIODS}}}
        ledger.submit(who, "PlaceBid", _dump(bid))
    ledger.submit("trader", "CancelBid", "bid010")
    yield with_store, without, audit, {"Authorization": f"Bearer {token}"}, {"Authorization": f"Bearer {audit_token}"}
    for client in (with_store, without, audit):
        client.__exit__(None, None, None)


def _dump(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def walk(client: TestClient, headers: dict, path: str, size: int, **params: Any) -> list[dict]:
    items, bookmark = [], None
    while True:
        query = {"page_size": size, **params, **({"bookmark": bookmark} if bookmark else {})}
        response = client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        bookmark = page["next_bookmark"]
        if not bookmark:
            return items


@pytest.mark.parametrize(("path", "params"), [
    ("/markets/FLEX1/bids", {}), ("/markets", {}), ("/markets", {"kind": "flexibility"}), ("/devices", {}),
    ("/devices", {"manager": "agg2MSP"}), ("/devices", {"feeder": "F1", "status": "active"}),
])
def test_lists_from_the_store_equal_lists_from_the_chaincode(apps, path: str, params: dict) -> None:
    with_store, without, _, headers, _ = apps
    calls = with_store.app.state.flex.ledger.calls
    for size in (1, 7, 500):
        before = len(calls)
        from_store = walk(with_store, headers, path, size, **params)
        assert not [c for c in calls[before:] if c[1].startswith("List")]  # the store answered, not the chaincode
        assert from_store == walk(without, headers, path, 500, **params)
        assert from_store


def test_store_bookmarks_are_the_last_id_and_a_bad_one_names_the_field(apps) -> None:
    with_store, _, _, headers, _ = apps
    page = with_store.get("/markets/FLEX1/bids", params={"page_size": 5}, headers=headers).json()
    assert page["next_bookmark"] == page["items"][-1]["id"]
    response = with_store.get("/markets/FLEX1/bids", params={"bookmark": "\u00b2x"}, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["field"] == "bookmark"
    response = with_store.get("/markets/NOPE/bids", headers=headers)
    assert response.status_code == 404


def test_a_new_bid_is_listed_at_once_and_the_store_reports_its_height(apps) -> None:
    with_store, _, _, headers, _ = apps
    bid = {"id": "fresh-bid", "market_id": "FLEX1", "device": "dev010",
           "products": {"p_down": {"price_eur_per_mwh": 5, "quantity_mw": [0.01] * world.PERIODS}}}
    assert with_store.post("/bids", json=bid, headers=headers).status_code == 201
    ids = [b["id"] for b in walk(with_store, headers, "/markets/FLEX1/bids", 500)]
    assert "fresh-bid" in ids
    status = with_store.get("/store/status", headers=headers).json()
    assert status["next_block"] == status["ledger_height"]


def test_the_auditor_checks_the_store_against_the_ledger_and_sees_endorsers(apps) -> None:
    _, _, audit, _, audit_headers = apps
    report = audit.post("/audit/store-consistency", headers=audit_headers).json()
    assert report["consistent"] is True, report
    assert report["checked"]["bids"] >= 60 and report["checked"]["devices"] >= 60
    txs = audit.get("/audit/transactions", params={"tx_id": "genesis"}, headers=audit_headers).json()
    assert txs and txs[0]["endorsers"] == ["dsoMSP", "agg1MSP", "agg2MSP"]


def test_a_store_that_differs_from_the_ledger_is_reported(apps) -> None:
    with_store, _, audit, _, audit_headers = apps
    store = audit.app.state.flex.store
    db = store._db()
    db.execute("UPDATE records SET value = json_set(value, '$.status', 'forged') WHERE kind = 'bid' AND k2 = 'bid001'")
    try:
        report = audit.post("/audit/store-consistency", headers=audit_headers).json()
        assert report["consistent"] is False
        assert report["differences"] == ["bids of FLEX1: bid001 differs"]
    finally:
        db.execute("UPDATE records SET value = json_set(value, '$.status', 'active') WHERE kind = 'bid' AND k2 = 'bid001'")


def test_a_lagging_store_leaves_first_pages_to_the_chaincode_and_continues_its_own_walks(apps, monkeypatch) -> None:
    from restapi.store import lists

    with_store, _, _, headers, _ = apps
    ledger = with_store.app.state.flex.ledger
    monkeypatch.setattr(lists, "CATCH_UP_SECONDS", 0.05)
    monkeypatch.setattr(ledger, "height", lambda user: ledger.live.height + 5)  # the peer is 5 blocks ahead
    before = len(ledger.calls)
    first = with_store.get("/markets/FLEX1/bids", params={"page_size": 5}, headers=headers).json()
    assert [c[1] for c in ledger.calls[before:]] == ["ListBids"]
    assert first["next_bookmark"] == "5"  # the chaincode path's offset
    before = len(ledger.calls)
    walk = with_store.get("/markets/FLEX1/bids", params={"page_size": 5, "bookmark": "bid004"}, headers=headers)
    assert walk.status_code == 200 and not [c for c in ledger.calls[before:] if c[1].startswith("List")]
    assert walk.json()["items"][0]["id"] == "bid005"


def test_an_owner_endorsed_market_lists_its_posted_bids_from_the_chaincode_until_gate_closure(apps) -> None:
    with_store, without, audit, headers, audit_headers = apps
    ledger = with_store.app.state.flex.ledger
    ledger.submit("operator", "RequestFlexibility", _dump({
        "id": "OWN1", "day": world.DAY, "gate_opens": world.GATE_OPENS, "gate_closes": world.GATE_CLOSES,
        "budget_cents": 1000, "feeder": "F1", "bid_endorsement": "owner"}))
    ledger.submit("trader", "EnrolInMarket", "OWN1")
    bid = {"id": "own-bid", "market_id": "OWN1", "device": "dev002",
           "products": {"p_up": {"price_eur_per_mwh": 7, "quantity_mw": [0.01] * world.PERIODS}}}
    placed = with_store.post("/bids", json=bid, headers=headers)
    assert placed.status_code == 201 and placed.json()["status"] == "posted"
    before = len(ledger.calls)
    listed = walk(with_store, headers, "/markets/OWN1/bids", 500)
    assert [(b["id"], b["status"]) for b in listed] == [("own-bid", "posted")]
    assert listed == walk(without, headers, "/markets/OWN1/bids", 500)
    assert [c for c in ledger.calls[before:] if c[1] == "ListBids"], "slots are not in the store: the chaincode lists"
    report = audit.post("/audit/store-consistency", headers=audit_headers).json()
    assert report["consistent"] is True, report  # a posted bid is in a slot, not a record the store should hold
