"""Sealed bidding through the REST service on the real chaincode in-process: the content stays in the
organisation's store, one call reveals, a restarted service still can, and the auditor checks commitments."""

from __future__ import annotations

import copy
import json
import stat

import pytest
from gw_api_support import build
from gw_chain_ledger import ChainLedger, world

from contract.records import BidDocument
from gateway.sealed import STORE_FILE, SealedBidStore, seal
from gateway.verify import check_commitments

CAP_BID = {"id": "S1", "market_id": "CAP2", "device": "D1", "periods": [0, 1], "quantity_mw": 1.0,
           "price_eur_per_mwh": 40.0}
CONTENT = {"price_eur_per_mwh", "quantity_mw", "periods", "min_mw", "products"}


@pytest.fixture()
def sealed_env(tmp_path, ca):
    chain = world.market_day()
    chain.invoke(world.DSO, "CreateMarket", world.capacity_market(id="CAP2", sealed=True, reveal_seconds=3600))
    chain.invoke(world.DSO, "PublishCapacityLimits", {"market_id": "CAP2", "limits": [
        {"feeder": "F1", "period": p, "capacity_mw": 1.5} for p in range(world.PERIODS)]})
    for who in (world.AGG1, world.AGG2):
        chain.invoke(who, "EnrolInMarket", "CAP2")
    built = build(tmp_path, ca, ChainLedger(chain))
    yield built, chain, tmp_path
    built.close()


def test_the_service_seals_a_bid_and_keeps_its_content_only_in_the_organisations_store(sealed_env) -> None:
    env, chain, tmp = sealed_env
    r = env.agg1.post("/bids", json=CAP_BID, headers=env.auth("trader"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "sealed" and not CONTENT & set(r.json())
    sent = [args for _, fn, args in env.ledger.calls if fn in ("PlaceBid", "CommitBid")]
    assert [sorted(json.loads(args[0])) for args in sent] == [["commitment", "device", "id", "market_id"]]
    for client, user in ((env.dso, "operator"), (env.agg2, "trader2"), (env.auditor, "inspector")):
        [seen] = client.get("/markets/CAP2/bids", headers=env.auth(user)).json()["items"]
        assert not CONTENT & set(seen)
    path = tmp / "agg1" / "wallet" / STORE_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    own = env.agg1.get("/markets/CAP2/sealed-bids", headers=env.auth("trader")).json()
    assert [b["bid"]["price_eur_per_mwh"] for b in own] == [40.0]
    assert env.agg2.get("/markets/CAP2/sealed-bids", headers=env.auth("trader2")).json() == []


def test_reveal_waits_for_the_gate_and_survives_a_restart_of_the_service(sealed_env, ca) -> None:
    env, chain, tmp = sealed_env
    assert env.agg1.post("/bids", json=CAP_BID, headers=env.auth("trader")).status_code == 201
    early = env.agg1.post("/markets/CAP2/reveal", headers=env.auth("trader")).json()
    assert early["revealed"] == [] and early["not_revealed"]["S1"].startswith("bidId:")
    env.close()
    chain.at(world.AFTER)
    restarted = build(tmp, ca, ChainLedger(chain))  # a new service on the same wallet
    try:
        out = restarted.agg1.post("/markets/CAP2/reveal", headers=restarted.auth("trader")).json()
        assert out == {"market_id": "CAP2", "revealed": ["S1"], "already_revealed": [], "not_revealed": {}}
        again = restarted.agg1.post("/markets/CAP2/reveal", headers=restarted.auth("trader")).json()
        assert again["already_revealed"] == ["S1"]
        assert restarted.dso.post("/markets/CAP2/clear", headers=restarted.auth("operator")).status_code == 200
        verified = restarted.auditor.post("/audit/markets/CAP2/verify", headers=restarted.auth("inspector")).json()
        assert verified["matches"] is True
        assert verified["commitments"] == {"sealed": True, "verified": True, "revealed": 1, "unrevealed": [],
                                           "problems": []}
        assert verified["ac_check"] is None  # capacity markets have no dispatch to flow
    finally:
        restarted.close()


def test_the_auditor_reports_a_revealed_bid_that_does_not_match_its_commitment(sealed_env) -> None:
    env, chain, _ = sealed_env
    env.agg1.post("/bids", json=CAP_BID, headers=env.auth("trader"))
    chain.at(world.AFTER)
    env.agg1.post("/markets/CAP2/reveal", headers=env.auth("trader"))
    env.dso.post("/markets/CAP2/clear", headers=env.auth("operator"))
    ev = lambda fn, *a: json.loads(env.ledger.evaluate("inspector", fn, *a))  # noqa: E731
    market, bids, record = ev("ReadMarket", "CAP2"), ev("ListBids", "CAP2"), ev("GetClearing", "CAP2")

    def history(bid_id: str) -> list:
        return ev("GetHistory", "bid", bid_id)

    assert check_commitments(market, bids, record["input"], history)["verified"] is True
    forged = copy.deepcopy(bids)
    forged[0]["seal"]["bid_json"] = forged[0]["seal"]["bid_json"].replace("40.0", "4.0")
    assert "do not hash" in check_commitments(market, forged, record["input"], history)["problems"][0]
    cheaper = copy.deepcopy(record["input"])
    cheaper["bids"][0]["price_eur_per_mwh"] = 4.0
    [problem] = check_commitments(market, bids, cheaper, history)["problems"]
    assert "price_eur_per_mwh in the clearing input" in problem


def test_flexibility_verify_reports_the_ac_power_flow(tmp_path, ca) -> None:
    env = build(tmp_path, ca, ChainLedger())
    try:
        offer = {"id": "O9", "market_id": "FLEX1", "device": "D2",
                 "products": {"p_up": {"price_eur_per_mwh": 50.0, "quantity_mw": [0.2] * world.PERIODS}}}
        assert env.agg2.post("/bids", json=offer, headers=env.auth("trader2")).status_code == 201
        env.ledger.chain.at(world.AFTER)
        assert env.dso.post("/markets/FLEX1/clear", headers=env.auth("operator")).status_code == 200
        verified = env.auditor.post("/audit/markets/FLEX1/verify", headers=env.auth("inspector")).json()
        assert verified["commitments"]["sealed"] is False
        ac = verified["ac_check"]
        assert set(ac["summary"]) >= {"v_ac_min_pu", "v_ac_max_pu", "violations", "worst_branch"}
        assert ac["text"].startswith("AC check:")
    finally:
        env.close()


def test_the_store_refuses_to_overwrite_a_salt_and_is_shared_by_every_instance(tmp_path) -> None:
    first, second = SealedBidStore(tmp_path), SealedBidStore(tmp_path)
    sealed = seal(BidDocument.of(CAP_BID), "trader")
    first.add(sealed)
    assert second.get("S1") == sealed and second.of_market("CAP2") == [sealed]
    with pytest.raises(ValueError, match="already sealed"):
        second.add(seal(BidDocument.of(CAP_BID), "trader"))  # a new salt would orphan the committed one
    assert len(sealed.salt) == 64 and sealed.salt != seal(BidDocument.of(CAP_BID), "trader").salt


def test_the_store_keeps_every_bid_sealed_concurrently_and_its_journal_private(tmp_path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    stores = [SealedBidStore(tmp_path), SealedBidStore(tmp_path)]
    bids = [seal(BidDocument.of({**CAP_BID, "id": f"S{i}"}), "trader") for i in range(200)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: stores[i % 2].add(bids[i]), range(200)))
    assert SealedBidStore(tmp_path).of_market("CAP2") == sorted(bids, key=lambda b: b.bid_id)
    for path in tmp_path.iterdir():  # the database and its write-ahead log hold salts and prices
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_a_new_store_waits_for_another_connection_opening_it_instead_of_failing(tmp_path) -> None:
    import os
    import sqlite3
    import threading

    path = tmp_path / STORE_FILE
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process or thread in the middle of opening the new file
    other.execute("CREATE TABLE IF NOT EXISTS opening (x)")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        store = SealedBidStore(tmp_path)
        store.add(seal(BidDocument.of(CAP_BID), "trader"))
    finally:
        release.join()
        other.close()
    assert [b.bid_id for b in SealedBidStore(tmp_path).of_market("CAP2")] == ["S1"]


def test_a_markets_sealing_is_asked_once_its_gate_has_opened_and_every_time_before() -> None:
    from gateway.sealed import MarketModes

    asked: list[str] = []
    record = {"id": "M", "sealed": True, "gate_opens_ms": 2_000_000}

    def evaluate(function: str, market_id: str) -> bytes:
        asked.append(market_id)
        return json.dumps(record).encode()

    now = [1_000.0]  # seconds: before the gate opens
    modes = MarketModes(clock=lambda: now[0])
    assert modes.is_sealed(evaluate, "M") and modes.is_sealed(evaluate, "M")
    assert len(asked) == 2  # the DSO may still change it
    record["sealed"] = False
    now[0] = 2_001.0  # the gate has opened: the answer is final
    assert not modes.is_sealed(evaluate, "M") and not modes.is_sealed(evaluate, "M")
    assert len(asked) == 3


def test_the_audit_command_prints_the_typed_verification() -> None:
    from contract.verification import AcCheck, CommitmentCheck, Verification
    from flexledger.commands.audit import _text

    out = Verification(market_id="M", mechanism=None, stored_result_hash="h", recomputed_result_hash="h",
                       input_hash_matches=True, matches=True, outcome_matches=True, differences=[],
                       commitments=CommitmentCheck(sealed=True, verified=False, revealed=2, unrevealed=["S3"],
                                                   problems=["S1: the revealed bid names another device"]),
                       ac_check=AcCheck(ok=False, error="no converged power flow"))  # fmt: skip
    assert _text(out).splitlines() == ["market M: result hash matches", "sealed bids: COMMITMENTS DO NOT VERIFY",
                                       "  ! S1: the revealed bid names another device",
                                       "  unrevealed (excluded): S3", "AC check failed: no converged power flow"]
    assert not out.verified
