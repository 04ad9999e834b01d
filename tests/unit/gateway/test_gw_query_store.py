"""The off-chain query store: decoding committed blocks, applying each exactly once, catching up after
downtime, and paging 10 000 bids exactly as the ledger's own scan lists them; on SQLite and on a real
PostgreSQL server (``gw_postgres``)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
from fabric_protos.peer import transaction_pb2
from gw_block_factory import NAMESPACE, LiveChain, Tx, ckey, config_block, make_block
from gw_postgres import TempPostgres

from gateway.deliver import decode_block
from gateway.errors import ConfigError
from restapi.store import QueryStore, StoreFollower, apply_blocks, open_store
from restapi.store.backends import PostgresBackend

MVCC = transaction_pb2.TxValidationCode.Value("MVCC_READ_CONFLICT")


def bid(market: str, bid_id: str, owner: str = "agg1MSP", status: str = "active") -> dict:
    return {"id": bid_id, "market_id": market, "owner": owner, "status": status, "device": f"d-{bid_id}"}


def wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def postgres():
    server = TempPostgres()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def open_db(request, tmp_path: Path):
    """Opens a new store on this test's own database (each call: another connection to the same one)."""
    if request.param == "sqlite":
        return lambda: QueryStore(tmp_path / "q.sqlite")
    url = request.getfixturevalue("postgres").new_database()
    return lambda: QueryStore(PostgresBackend(url))


@pytest.fixture
def store(open_db) -> QueryStore:
    return open_db()


def test_a_block_is_decoded_into_valid_writes_creator_endorsers_function_and_event() -> None:
    block = make_block(3, [
        Tx("t1", {ckey("bid", "M1", "b1"): bid("M1", "b1")}, function="PlaceBid", event="BidPlaced"),
        Tx("t2", {ckey("bid", "M1", "b2"): bid("M1", "b2")}, code=MVCC),
    ])
    decoded = decode_block(block, NAMESPACE)
    assert decoded.number == 3
    first, second = decoded.transactions
    assert (first.tx_id, first.validation_code, first.function, first.event_name) == ("t1", "VALID", "PlaceBid", "BidPlaced")
    assert first.creator_msp == "agg1MSP" and first.endorsers == ("dsoMSP", "agg1MSP", "agg2MSP")
    assert [w.key for w in first.writes] == [ckey("bid", "M1", "b1")]
    assert json.loads(first.writes[0].value) == bid("M1", "b1")
    assert second.validation_code == "MVCC_READ_CONFLICT" and second.writes == ()


def test_an_invalid_transaction_and_other_namespaces_change_nothing(store: QueryStore) -> None:
    store.apply(decode_block(config_block(0), NAMESPACE))
    store.apply(decode_block(make_block(1, [
        Tx("bad", {ckey("market", "M9"): {"id": "M9"}}, code=MVCC),
        Tx("lc", {}, other_namespace_writes={"namespaces/fields/x": b"1"}),
    ]), NAMESPACE))
    assert store.status().records == 0
    assert [t["validation_code"] for t in store.transactions()] == ["VALID", "MVCC_READ_CONFLICT", "VALID"]


def test_a_replayed_block_is_not_counted_twice(store: QueryStore) -> None:
    blocks = [config_block(0), make_block(1, [Tx("t1", {ckey("bid", "M1", "b1"): bid("M1", "b1")})]),
              make_block(2, [Tx("t2", {ckey("bid", "M1", "b2"): bid("M1", "b2")})])]
    assert apply_blocks(store, blocks, NAMESPACE) == 3
    before = store.status()
    assert apply_blocks(store, blocks[1:], NAMESPACE) == 0  # a reconnect replays blocks 1 and 2
    assert store.status() == before
    assert [t["tx_id"] for t in store.transactions()] == ["", "t1", "t2"]


def test_a_block_after_a_gap_is_refused_and_changes_nothing(store: QueryStore) -> None:
    store.apply(decode_block(config_block(0), NAMESPACE))
    with pytest.raises(ValueError, match="block 2 arrived before block 1"):
        store.apply(decode_block(make_block(2, [Tx("t2", {ckey("market", "M1"): {"id": "M1"}})]), NAMESPACE))
    assert store.next_block == 1 and store.status().records == 0


def test_an_update_replaces_and_a_delete_removes_the_record(store: QueryStore) -> None:
    k = ckey("bid", "M1", "b1")
    apply_blocks(store, [config_block(0), make_block(1, [Tx("t1", {k: bid("M1", "b1")})]),
                         make_block(2, [Tx("t2", {k: bid("M1", "b1", status="cancelled")})])], NAMESPACE)
    assert store.all("bid", "M1") == [bid("M1", "b1", status="cancelled")]
    store.apply(decode_block(make_block(3, [Tx("t3", {k: None})]), NAMESPACE))
    assert store.all("bid", "M1") == []


def test_the_store_catches_up_after_the_gateway_was_down_for_some_blocks(open_db) -> None:
    chain = LiveChain()
    for i in range(3):
        chain.append([Tx(f"a{i}", {ckey("market", f"M{i}"): {"id": f"M{i}"}})])
    store = open_db()
    follower = StoreFollower(store, chain.open, NAMESPACE).start()
    wait_until(lambda: store.next_block == chain.height)
    follower.stop()
    store.close()
    for i in range(3, 8):  # committed while the gateway is down
        chain.append([Tx(f"a{i}", {ckey("market", f"M{i}"): {"id": f"M{i}"}})])
    restarted = open_db()
    assert restarted.next_block == 4
    follower = StoreFollower(restarted, chain.open, NAMESPACE).start()
    try:
        wait_until(lambda: restarted.next_block == chain.height)
    finally:
        follower.stop()
    assert chain.opened_from == [0, 4]  # resumed at the first block it had not applied
    assert [m["id"] for m in restarted.all("market")] == [f"M{i}" for i in range(8)]
    assert len(restarted.transactions()) == chain.height  # every block's transactions once


def test_a_broken_stream_resumes_from_the_checkpoint_without_loss_or_repeat(store: QueryStore) -> None:
    chain = LiveChain()
    for i in range(6):
        chain.append([Tx(f"a{i}", {ckey("bid", "M1", f"b{i}"): bid("M1", f"b{i}")})])
    chain.fail_after = 2
    follower = StoreFollower(store, chain.open, NAMESPACE).start()
    try:
        wait_until(lambda: store.next_block == chain.height)
        assert follower.last_error is None
    finally:
        follower.stop()
    assert chain.opened_from == [0, 2]
    assert [t["tx_id"] for t in store.transactions()] == ["", *(f"a{i}" for i in range(6))]


def test_two_services_sharing_one_store_apply_each_block_once(open_db) -> None:
    chain = LiveChain()
    one, two = open_db(), open_db()
    followers = [StoreFollower(s, chain.open, NAMESPACE).start() for s in (one, two)]
    try:
        for i in range(20):
            chain.append([Tx(f"a{i}", {ckey("bid", "M1", f"b{i:02d}"): bid("M1", f"b{i:02d}")})])
        wait_until(lambda: one.next_block == chain.height and two.next_block == chain.height)
    finally:
        for f in followers:
            f.stop()
    assert len(one.transactions()) == chain.height and one.status().records == 20


def _ten_thousand_bids(store: QueryStore) -> dict[str, dict]:
    """10 000 bids in two markets over 100 blocks, then cancellations and deletions; the world state."""
    rng = random.Random(15)
    ids = [f"b{rng.randrange(10**9):09d}-{n}" for n in range(10_000)]
    state: dict[str, dict] = {}
    blocks = [config_block(0)]
    for start in range(0, len(ids), 100):
        txs = []
        for bid_id in ids[start:start + 100]:
            market = "M1" if rng.random() < 0.7 else "M2"
            owner = rng.choice(["agg1MSP", "agg2MSP"])
            k = ckey("bid", market, bid_id)
            state[k] = bid(market, bid_id, owner)
            txs.append(Tx(f"t-{bid_id}", {k: state[k], ckey("bidref", bid_id): {"market_id": market}}))
        blocks.append(make_block(len(blocks), txs))
    later = []
    for n, k in enumerate(rng.sample(sorted(state), 300)):
        state[k] = {**state[k], "status": "cancelled"}
        later.append(Tx(f"cancel-{n}", {k: state[k]}))
    blocks.append(make_block(len(blocks), later))
    apply_blocks(store, blocks, NAMESPACE)
    return state


def test_ten_thousand_bids_page_exactly_as_the_ledger_scans_them(store: QueryStore) -> None:
    state = _ten_thousand_bids(store)
    for market in ("M1", "M2"):
        ledger = [state[k] for k in sorted(state) if k.startswith(ckey("bid", market))]  # the chaincode's scan
        paged, bookmark = [], None
        while True:
            page = store.page("bid", 137, after=bookmark, parent=market)
            paged.extend(page.items)
            if page.next_bookmark is None:
                break
            bookmark = page.next_bookmark
        assert paged == ledger
        cancelled = [b for b in ledger if b["status"] == "cancelled" and b["owner"] == "agg2MSP"]
        page = store.page("bid", 10_000, parent=market, filters={"status": "cancelled", "owner": "agg2MSP"})
        assert page.items == cancelled and page.next_bookmark is None
    assert store.status().records == 20_000  # bids and bid references


def test_a_page_is_one_index_range_read_whatever_the_ledger_holds(tmp_path: Path) -> None:
    """Why a page's time stays flat: SQLite seeks the index to the cursor and reads page_size rows."""
    store = QueryStore(tmp_path / "q.sqlite")
    _ten_thousand_bids(store)
    db = store._db()
    plan = " ".join(row[-1] for row in db.execute(
        "EXPLAIN QUERY PLAN SELECT value, k2 FROM records WHERE kind = ? AND k1 = ? AND k2 > ? ORDER BY k2 LIMIT ?",
        ("bid", "M1", "b5", 51)))
    assert "SEARCH records USING" in plan and "k2>?" in plan and "TEMP B-TREE" not in plan, plan


def test_the_environment_chooses_the_store_or_switches_it_off(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FLEXLEDGER_QUERY_DB", "off")
    assert open_store(tmp_path) is None
    monkeypatch.setenv("FLEXLEDGER_QUERY_DB", str(tmp_path / "elsewhere.sqlite"))
    assert open_store(tmp_path).path == tmp_path / "elsewhere.sqlite"
    monkeypatch.delenv("FLEXLEDGER_QUERY_DB")
    assert open_store(tmp_path).path == tmp_path / "query-store.sqlite"
    with pytest.raises(ConfigError, match="'mysql' databases are not supported"):
        open_store(tmp_path, "mysql://db/flex")


def test_a_postgresql_url_opens_a_postgresql_store(postgres, tmp_path: Path) -> None:
    store = open_store(tmp_path, postgres.new_database())
    assert store is not None and store.backend.name == "postgresql" and store.next_block == 0


def test_a_managers_devices_are_read_through_an_index(tmp_path: Path) -> None:
    """The filter the UI asks for on every aggregator page does not scan every device."""
    store = QueryStore(tmp_path / "q.sqlite")
    db = store._db()
    sql = ("EXPLAIN QUERY PLAN SELECT value, k1 FROM records WHERE kind = ? AND k1 > ? "
           "AND json_extract(value, '$.manager') = ? ORDER BY k1 LIMIT ?")
    plan = " ".join(row[-1] for row in db.execute(sql, ("device", "", "agg1MSP", 51)))
    assert "USING INDEX records_by_manager" in plan and "TEMP B-TREE" not in plan, plan
