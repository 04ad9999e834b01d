"""Faults under load on the real network: a stream of bids from two aggregators while agg2's peer and the
Raft leader are killed (SIGKILL) and restarted. Nothing the client was told is committed may be missing,
nothing may commit twice, every failure is reported as failed or outcome-unknown, money is conserved and
every peer ends at one height."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from gateway import CommitError, Timeouts, connect_from_profile
from gateway.blocks import committed_transaction
from gateway.errors import CommitStatusError, GatewayError, SubmitError
from gateway.retry import SETTLE_RETRY
from network.manager import Network
from network.processes import read_pid
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER as FEEDER
from tests.small_feeder import small_baseline

DEVICES_PER_AGGREGATOR = 24
GATE_SECONDS = 150
CLIENT_TIMEOUTS = Timeouts(commit_status=25)
CLIENT_RETRY = dataclasses.replace(SETTLE_RETRY, discovery_settle=8)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _contract(gw):
    return gw.get_network("flexchannel").get_contract("flexledger")


def raft_leader(net: Network) -> str:
    """The org whose orderer last logged itself as the Raft leader of the channel."""
    leader = None
    for org in net.topo.orderer_orgs:
        lines = re.findall(r"Raft leader changed: \d+ -> (\d+).*?node=(\d+)",
                           net.layout.log(f"{org.name}-orderer").read_text(errors="replace"))  # fmt: skip
        if lines and lines[-1][0] == lines[-1][1]:
            leader = org.name
    assert leader, "no orderer says it leads the channel"
    return leader


def _kill(net: Network, name: str) -> None:
    pid = read_pid(net.layout, name)
    assert pid, f"{name} is not running"
    os.killpg(pid, signal.SIGKILL)


def _market(live: LiveNetwork) -> tuple[str, dict[str, list[str]]]:
    """An open flexibility market and, per aggregator, devices enrolled to offer in it."""
    profiles = live.net.layout.profiles
    now = dt.datetime.now(dt.UTC)
    day = now.date().isoformat()
    market = f"fault-{uuid.uuid4().hex[:6]}"
    with connect_from_profile(profiles / "dso.json", "operator", endorse_retry=SETTLE_RETRY) as gw:
        dso = _contract(gw)
        dso.submit("PublishNetwork", json.dumps(FEEDER))
        dso.submit("PublishBaseline", json.dumps(small_baseline(day)))
        with connect_from_profile(profiles / "dso.json", "settlement", endorse_retry=SETTLE_RETRY) as sgw:
            _contract(sgw).submit("Deposit", "dsoMSP", "100000")
        dso.submit("RequestFlexibility", json.dumps({
            "id": market, "day": day, "gate_opens": _iso(now - dt.timedelta(minutes=1)),
            "gate_closes": _iso(now + dt.timedelta(seconds=GATE_SECONDS)), "budget_cents": 50000, "feeder": "F1"}))
    devices: dict[str, list[str]] = {}
    for org in ("agg1", "agg2"):
        with connect_from_profile(profiles / f"{org}.json", "trader", endorse_retry=SETTLE_RETRY) as gw:
            agg = _contract(gw)
            agg.submit("EnrolInMarket", market)
            ids = [f"{org}-fd-{uuid.uuid4().hex[:6]}" for _ in range(DEVICES_PER_AGGREGATOR)]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda d, agg=agg: agg.submit("RegisterDevice", json.dumps(
                    {"id": d, "type": "load", "max_power_mw": 0.05, "node": "3", "feeder": "F1"})), ids))
            devices[org] = ids
    return market, devices


def test_a_bid_stream_survives_a_peer_and_the_raft_leader_being_killed(live_network: LiveNetwork) -> None:
    net = live_network.net
    market, devices = _market(live_network)
    with connect_from_profile(net.layout.profiles / "auditor.json", "inspector", endorse_retry=SETTLE_RETRY) as gw:
        funds_before = json.loads(_contract(gw).evaluate("TotalFunds"))["total_cents"]
    leader = raft_leader(net)
    outcomes: dict[str, tuple[str, str]] = {}  # bid id -> (committed | failed | unknown, tx id or error)
    lock = threading.Lock()

    def bid(org: str, gw, device: str, n: int) -> None:
        bid_id = f"{market}-{org}-{n}"
        doc = {"id": bid_id, "market_id": market, "device": device,
               "products": {"p_up": {"price_eur_per_mwh": 10.0 + n, "quantity_mw": [0.01]}}}
        try:
            submitted = _contract(gw).submit_async("PlaceBid", json.dumps(doc))
            submitted.wait()
            result = ("committed", submitted.transaction_id)
        except (SubmitError, CommitStatusError) as exc:
            result = ("unknown" if exc.outcome_unknown else "failed", str(exc))
        except (CommitError, GatewayError) as exc:
            result = ("failed", str(exc))
        with lock:
            outcomes[bid_id] = result

    gateways = {org: connect_from_profile(net.layout.profiles / f"{org}.json", "trader", CLIENT_TIMEOUTS,
                                          endorse_retry=CLIENT_RETRY)
                for org in devices}  # fmt: skip
    try:
        with ThreadPoolExecutor(8) as pool:
            jobs = [(org, ids[n], n) for n in range(DEVICES_PER_AGGREGATOR) for org, ids in devices.items()]
            futures = []
            for i, (org, device, n) in enumerate(jobs):
                futures.append(pool.submit(bid, org, gateways[org], device, n))
                time.sleep(0.15)
                if i == len(jobs) // 4:
                    _kill(net, "agg2-peer")
                if i == len(jobs) // 2:
                    _kill(net, f"{leader}-orderer")
                if i == 3 * len(jobs) // 4:
                    live_network.cli("network", "up", check=True)  # restarts what died
            for future in futures:
                future.result()
    finally:
        for gw in gateways.values():
            gw.close()
    live_network.cli("network", "up", check=True)

    counts = {kind: sum(1 for k, _ in outcomes.values() if k == kind) for kind in ("committed", "failed", "unknown")}
    assert sum(counts.values()) == len(jobs) and counts["committed"] > 0, counts
    committed = {bid_id: tx for bid_id, (kind, tx) in outcomes.items() if kind == "committed"}
    # every peer reaches one height, holds every transaction the client was told committed, VALID
    deadline = time.monotonic() + 60
    while len(set(net.status().peer_heights().values())) != 1:
        assert time.monotonic() < deadline, "peers did not converge to one height"
        time.sleep(1)
    users = {"dso": "operator", "agg1": "trader", "agg2": "trader", "auditor": "inspector"}
    for org, user in users.items():
        with connect_from_profile(net.layout.profiles / f"{org}.json", user, endorse_retry=SETTLE_RETRY) as gw:
            network = gw.get_network("flexchannel")
            for bid_id, tx_id in committed.items():
                assert committed_transaction(network, "flexchannel", tx_id).validation_code == "VALID", (org, bid_id)
            if org == "auditor":
                listed = [b["id"] for b in json.loads(_contract(gw).evaluate("ListBids", market))]
                funds_after = json.loads(_contract(gw).evaluate("TotalFunds"))["total_cents"]
    assert len(listed) == len(set(listed)), "a bid is on the ledger twice"
    assert set(committed) <= set(listed), "a bid the client saw committed is missing"
    failed = {bid_id for bid_id, (kind, _) in outcomes.items() if kind == "failed"}
    assert not failed & set(listed), "a bid reported as failed is on the ledger"
    assert funds_after == funds_before, "money was created or lost"
    unknown = {bid_id for bid_id, (kind, _) in outcomes.items() if kind == "unknown"}
    print(f"fault test: {len(jobs)} bids, {counts}, {len(unknown & set(listed))} of the unknown ones committed, "
          f"0 lost; killed agg2-peer and {leader}-orderer (Raft leader)")
