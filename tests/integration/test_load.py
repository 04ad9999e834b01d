"""A bounded load on the real network: 500 bids from three aggregator identities into a capacity market with
escrow whose bids the bidder's peer alone endorses (docs/chaincode.md, "Endorsement") and a flexibility market
whose bids every market organisation endorses, 48 in flight. Nothing about time is asserted (the throughput benchmark
measures that); what is asserted is that load loses nothing: every bid the client was told committed is on
the ledger exactly once, in a VALID transaction, nothing failed, and clearing and settlement of the capacity
market under that load (its gate closed by the clearing itself, every posted bid checked again) conserve money."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from gateway import connect_from_profile
from gateway.blocks import committed_transaction
from gateway.retry import SETTLE_RETRY
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER, small_baseline

BIDS = 500
IN_FLIGHT = 48
#: Long enough for 500 bids on a slow, busy machine (under 7 bids/s); the test then waits for it to pass.
GATE_SECONDS = 90
AGGREGATORS = (("agg1", "trader"), ("agg2", "trader"), ("agg1", "trader2"))
RULES = {"price_resolution_eur": 0.01, "quantity_step_mw": 0.001, "min_quantity_mw": 0.0, "max_quantity_mw": 10.0,
         "min_price_eur_per_mwh": 0.0, "max_price_eur_per_mwh": 1000.0}


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _contract(gw):
    return gw.get_network("flexchannel").get_contract("flexledger")


def _publish_network(live: LiveNetwork) -> None:
    with connect_from_profile(live.profile("dso"), "operator", endorse_retry=SETTLE_RETRY) as gw:
        _contract(gw).submit("PublishNetwork", json.dumps(SMALL_FEEDER))


def _devices(live: LiveNetwork, count: int) -> dict[tuple[str, str], list[str]]:
    """``count`` devices per aggregator identity (each bids once per market with each device)."""
    devices = {}
    for org, user in AGGREGATORS:
        with connect_from_profile(live.profile(org), user, endorse_retry=SETTLE_RETRY) as gw:
            agg = _contract(gw)
            ids = [f"ld-{uuid.uuid4().hex[:10]}" for _ in range(count)]
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda d, agg=agg: agg.submit("RegisterDevice", json.dumps(
                    {"id": d, "type": "load", "max_power_mw": 0.05, "node": "3", "feeder": "F1"})), ids))
            devices[(org, user)] = ids
    return devices


def _markets(live: LiveNetwork) -> tuple[str, str, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    day = now.date().isoformat()
    closes = now + dt.timedelta(seconds=GATE_SECONDS)
    gate = {"gate_opens": _iso(now - dt.timedelta(minutes=1)), "gate_closes": _iso(closes)}
    tag = uuid.uuid4().hex[:6]
    capacity, flex = f"load-cap-{tag}", f"load-flex-{tag}"
    with connect_from_profile(live.profile("dso"), "settlement", endorse_retry=SETTLE_RETRY) as gw:
        for msp in ("dsoMSP", "agg1MSP", "agg2MSP"):
            _contract(gw).submit("Deposit", msp, "1000000")
    with connect_from_profile(live.profile("dso"), "operator", endorse_retry=SETTLE_RETRY) as gw:
        dso = _contract(gw)
        dso.submit("PublishBaseline", json.dumps(small_baseline(day)))
        dso.submit("CreateMarket", json.dumps({"id": capacity, "kind": "capacity_day_ahead", "feeder": "F1",
                                               "day": day, "rule": "premium_capacity", "periods": 1,
                                               "period_minutes": 60, "rules": RULES, "bid_endorsement": "owner",
                                               **gate}))
        dso.submit("PublishCapacityLimits", json.dumps({"market_id": capacity,
                                                        "limits": [{"feeder": "F1", "period": 0, "capacity_mw": 1.0}]}))
        dso.submit("RequestFlexibility", json.dumps({"id": flex, "day": day, "budget_cents": 10000, **gate}))
    for org in ("agg1", "agg2"):
        with connect_from_profile(live.profile(org), "trader", endorse_retry=SETTLE_RETRY) as gw:
            for market in (capacity, flex):
                _contract(gw).submit("EnrolInMarket", market)
    return capacity, flex, closes


def test_500_bids_under_load_are_each_committed_once_and_money_is_conserved(live_network: LiveNetwork) -> None:
    live_network.cli("gateway", "users", "add", "--org", "agg1", "trader2", "--role", "aggregator", check=True)
    per_identity = -(-BIDS // (2 * len(AGGREGATORS)))
    _publish_network(live_network)
    devices = _devices(live_network, per_identity)
    capacity, flex, closes = _markets(live_network)
    with connect_from_profile(live_network.profile("auditor"), "inspector", endorse_retry=SETTLE_RETRY) as gw:
        funds_before = json.loads(_contract(gw).evaluate("TotalFunds"))["total_cents"]

    jobs = []
    for n in range(BIDS):
        identity = AGGREGATORS[n % len(AGGREGATORS)]
        market = (capacity, flex)[(n // len(AGGREGATORS)) % 2]
        device = devices[identity][(n // (2 * len(AGGREGATORS)))]
        doc = {"id": f"lb-{n}-{uuid.uuid4().hex[:6]}", "market_id": market, "device": device}
        if market == capacity:
            doc.update(periods=[0], quantity_mw=0.01, price_eur_per_mwh=float(1 + n % 50))
        else:
            doc["products"] = {"p_up": {"price_eur_per_mwh": float(1 + n % 50), "quantity_mw": [0.01]}}
        jobs.append((identity, doc))
    committed: dict[str, str] = {}
    failures: list[str] = []
    lock = threading.Lock()
    gateways = {identity: connect_from_profile(live_network.profile(identity[0]), identity[1], endorse_retry=SETTLE_RETRY)
                for identity in AGGREGATORS}  # fmt: skip

    def place(identity: tuple[str, str], doc: dict) -> None:
        try:
            submitted = _contract(gateways[identity]).submit_async("PlaceBid", json.dumps(doc))
            submitted.wait()
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            with lock:
                failures.append(f"{doc['id']}: {exc}")
            return
        with lock:
            committed[doc["id"]] = submitted.transaction_id

    try:
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            list(pool.map(lambda job: place(*job), jobs))
    finally:
        for gw in gateways.values():
            gw.close()
    assert not failures, f"{len(failures)} of {BIDS} bids failed under load, e.g. {failures[:3]}"
    assert len(committed) == BIDS

    with connect_from_profile(live_network.profile("auditor"), "inspector", endorse_retry=SETTLE_RETRY) as gw:
        auditor = _contract(gw)
        listed = [b["id"] for market in (capacity, flex) for b in json.loads(auditor.evaluate("ListBids", market))]
        assert len(listed) == len(set(listed)), "a bid is on the ledger twice"
        assert set(listed) == set(committed), "the ledger's bids differ from the ones the client saw committed"
        network = gw.get_network("flexchannel")
        for bid_id, tx_id in committed.items():
            assert committed_transaction(network, "flexchannel", tx_id).validation_code == "VALID", bid_id

    time.sleep(max(0.0, (closes - dt.datetime.now(dt.UTC)).total_seconds() + 2))
    with connect_from_profile(live_network.profile("dso"), "operator", endorse_retry=SETTLE_RETRY) as gw:
        cleared = json.loads(_contract(gw).submit("ClearMarket", capacity))
    assert cleared["unfunded_bids"] == []
    with connect_from_profile(live_network.profile("dso"), "settlement", endorse_retry=SETTLE_RETRY) as gw:
        _contract(gw).submit("SettleMarket", capacity)
    with connect_from_profile(live_network.profile("auditor"), "inspector", endorse_retry=SETTLE_RETRY) as gw:
        funds_after = json.loads(_contract(gw).evaluate("TotalFunds"))["total_cents"]
        market = json.loads(_contract(gw).evaluate("ReadMarket", capacity))
    assert (market["status"], market["refused_bids"]) == ("settled", [])
    assert funds_after == funds_before, "clearing and settlement under load created or lost money"
