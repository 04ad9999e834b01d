"""Organisations join and leave the running network (``flexledger org add | remove | sign | submit``).

On the session network: bad input is refused and changes nothing; a channel update signed by a minority
is refused by the orderers; an aggregator organisation added at runtime registers a device, bids and is
paid by a cleared market; removing it loses no money and leaves every remaining peer at one height. The
organisation added here is removed again, so the network serves the other modules as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import EvaluateError, connect_from_profile
from gateway.retry import SETTLE_RETRY
from network import channel_update
from network.manager import Network
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER as FEEDER

NEW = "agg3"
GATE_SECONDS = 25


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def current(live: LiveNetwork) -> Network:
    """The network as a fresh command sees it (membership read from the state folder)."""
    return Network(topo=live.net.founding, layout=live.net.layout, progress=lambda m: None)


def channel_members(live: LiveNetwork) -> set[str]:
    net = current(live)
    with tempfile.TemporaryDirectory() as tmp:
        config = channel_update.fetch_config(net.layout, net.topo, net.topo.org("dso"), Path(tmp))
    return set(config["channel_group"]["groups"]["Application"]["groups"])


def peer_heights(live: LiveNetwork, timeout: float = 60) -> dict[str, int | None]:
    """Every running peer's height, once they agree (a block reaches the peers a moment apart)."""
    deadline = time.monotonic() + timeout
    while True:
        heights = {n["org"]: n["height"] for n in live.status()["nodes"] if n["kind"] == "peer"}
        if len(set(heights.values())) == 1 or time.monotonic() > deadline:
            return heights
        time.sleep(0.5)


def contract(live: LiveNetwork, org: str, user: str):
    gw = connect_from_profile(live.profile(org), user, endorse_retry=dataclasses.replace(SETTLE_RETRY, discovery_settle=120))
    return gw, gw.get_network("flexchannel").get_contract("flexledger")


def call(live: LiveNetwork, org: str, user: str, function: str, *args: str, submit: bool = True):
    gw, c = contract(live, org, user)
    with gw:
        out = c.submit(function, *args) if submit else c.evaluate(function, *args)
    return json.loads(out) if out else None


def total_cents(live: LiveNetwork) -> int:
    return call(live, "auditor", "inspector", "TotalFunds", submit=False)["total_cents"]


def test_bad_input_is_refused_naming_it_and_changes_nothing(live_network: LiveNetwork) -> None:
    before = (live_network.net.state().get("membership"), len(live_network.status()["nodes"]))
    next_peer_port = current(live_network).topo.orgs[0].base_port + 400 + 10
    cases = [
        (("org", "add", "agg1", "--role", "aggregator"), "NAME: an organisation named 'agg1' is a member"),
        (("org", "add", NEW, "--role", "dso"), "--role: must be one of aggregator, bsp, tso, auditor"),
        (("org", "add", "A!", "--role", "aggregator"), "NAME: 'A!' must be 2-16 lowercase letters"),
        (("org", "add", NEW, "--role", "aggregator", "--signers", "dso"), "missing signatures"),
        (("org", "add", NEW, "--role", "aggregator", "--signers", "dso,nobody,agg1"),
         "--signers: unknown organisation 'nobody'"),
        (("org", "remove", "nobody"), "NAME: unknown organisation 'nobody'"),
        (("org", "remove", "dso"), "NAME: dso is the DSO"),
        (("org", "sign", "no-such-update.pb", "--org", "dso"), "no such update file"),
    ]
    for args, expected in cases:
        proc = live_network.cli(*args)
        assert proc.returncode != 0 and expected in proc.stderr, (args, proc.stderr)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", next_peer_port))
        squatter.listen()
        proc = live_network.cli("org", "add", NEW, "--role", "aggregator")
    assert proc.returncode != 0 and f"port {next_peer_port}" in proc.stderr and "taken" in proc.stderr, proc.stderr
    assert (live_network.net.state().get("membership"), len(live_network.status()["nodes"])) == before
    assert not (live_network.net.layout.org_dir(NEW)).exists()


def test_a_config_update_signed_by_a_minority_is_refused_by_the_orderers(live_network: LiveNetwork,
                                                                          tmp_path: Path) -> None:
    net = current(live_network)
    config = channel_update.fetch_config(net.layout, net.topo, net.topo.org("dso"), tmp_path)
    update = channel_update.build_update(net.topo, config,
                                         channel_update.without_org(config, net.topo, net.topo.org("agg2")),
                                         tmp_path / "remove-agg2.pb")  # fmt: skip
    heights = peer_heights(live_network)
    signed = live_network.cli("org", "sign", str(update), "--org", "agg1", check=True)
    assert "signed by: agg1MSP" in signed.stdout
    # dso submits (and so signs): 2 of the 4 application organisations, where MAJORITY needs 3
    refused = live_network.cli("org", "submit", str(update), "--org", "dso")
    assert refused.returncode != 0, refused.stdout
    assert "the orderers refused the channel update" in refused.stderr, refused.stderr
    assert "policy for [Group]  /Channel/Application not satisfied" in refused.stderr, refused.stderr
    assert "requires 3 of the 'Admins' sub-policies" in refused.stderr, refused.stderr
    assert "agg2MSP" in channel_members(live_network)
    assert peer_heights(live_network) == heights


@pytest.fixture(scope="module")
def joined(live_network: LiveNetwork) -> Iterator[LiveNetwork]:
    """``org add agg3 --role aggregator``; removed again at the end if a test did not already."""
    proc = live_network.cli("org", "add", NEW, "--role", "aggregator")
    print(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stderr
    try:
        yield live_network
    finally:
        if NEW in {o.name for o in current(live_network).topo.orgs}:
            live_network.cli("org", "remove", NEW)


def flex_market(live: LiveNetwork, day: str, closes: dt.datetime) -> str:
    """A flexibility market on a congested day (node 3 draws more than branch 1-3 carries)."""
    now = dt.datetime.now(dt.UTC)
    market = f"mem-{uuid.uuid4().hex[:8]}"
    call(live, "dso", "operator", "RequestFlexibility", json.dumps({
        "id": market, "day": day, "gate_opens": iso(now - dt.timedelta(minutes=1)), "gate_closes": iso(closes),
        "budget_cents": 50_000, "feeder": "F1"}))
    return market


def congested_baseline(day: str) -> dict:
    return {"day": day, "periods": 1, "period_minutes": 60,
            "baseline": [{"node": "3", "period": 0, "demand_mw": 2.05, "generation_mw": 0.0,
                          "demand_tan_phi": 0.0, "generation_tan_phi": 0.0}],
            "substation": {"p_mw": None, "q_mvar": None},
            "shedding_cost": {"load_eur_per_mwh": 450.0, "generation_eur_per_mwh": 50.0}}  # fmt: skip


def test_an_added_aggregator_registers_bids_and_is_paid_by_a_cleared_market(joined: LiveNetwork) -> None:
    live = joined
    status = live.status()
    assert {n["kind"] for n in status["nodes"] if n["org"] == NEW and n["healthy"]} == {"ca", "peer", "chaincode"}
    assert status["chaincode"]["approvals"][NEW] is True
    assert "agg3MSP" in channel_members(live)
    record = call(live, NEW, "trader", "GetMarketplace", submit=False)
    assert "agg3MSP" in record["aggregators"] and "agg3MSP" in record["admins"]

    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=400)).date().isoformat()  # a day no other test uses
    call(live, "dso", "operator", "PublishNetwork", json.dumps(FEEDER))
    call(live, "dso", "operator", "PublishBaseline", json.dumps(congested_baseline(day)))
    call(live, "dso", "settlement", "Deposit", "dsoMSP", "100000")
    closes = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=GATE_SECONDS)
    market = flex_market(live, day, closes)
    device = f"m3-{uuid.uuid4().hex[:6]}"
    assert call(live, NEW, "trader", "RegisterDevice", json.dumps({
        "id": device, "type": "load", "max_power_mw": 0.2, "node": "3", "feeder": "F1"}))["owner"] == "agg3MSP"
    call(live, NEW, "trader", "EnrolInMarket", market)
    bid = call(live, NEW, "trader", "PlaceBid", json.dumps({
        "id": f"{market}-b", "market_id": market, "device": device,
        "products": {"p_up": {"price_eur_per_mwh": 12.0, "quantity_mw": [0.2]}}}))
    assert bid["owner"] == "agg3MSP"
    before = call(live, NEW, "trader", "GetBalance", "agg3MSP", submit=False)["available_cents"]
    time.sleep(max(0.0, (closes - dt.datetime.now(dt.UTC)).total_seconds() + 2))
    clearing = call(live, "dso", "operator", "ClearMarket", market)
    assert clearing["payments_cents"].get("agg3MSP", 0) > 0, clearing
    settled = call(live, "dso", "settlement", "SettleMarket", market)
    paid = [t for t in settled["transfers"] if t["to"] == "agg3MSP"]
    assert paid and paid[0]["from"] == "dsoMSP", settled
    after = call(live, NEW, "trader", "GetBalance", "agg3MSP", submit=False)["available_cents"]
    assert after == before + paid[0]["amount_cents"]


def test_removing_an_org_loses_no_money_and_leaves_every_peer_at_one_height(joined: LiveNetwork) -> None:
    live = joined
    # an open bid of the leaver, and money it holds
    market = flex_market(live, (dt.datetime.now(dt.UTC) + dt.timedelta(days=400)).date().isoformat(),
                         dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    call(live, "dso", "settlement", "Deposit", "agg3MSP", "777")
    device = f"m3-{uuid.uuid4().hex[:6]}"
    call(live, NEW, "trader", "RegisterDevice", json.dumps({
        "id": device, "type": "load", "max_power_mw": 0.2, "node": "3", "feeder": "F1"}))
    call(live, NEW, "trader", "EnrolInMarket", market)
    bid_id = f"{market}-open"
    call(live, NEW, "trader", "PlaceBid", json.dumps({
        "id": bid_id, "market_id": market, "device": device,
        "products": {"p_up": {"price_eur_per_mwh": 15.0, "quantity_mw": [0.1]}}}))
    total = total_cents(live)
    balance = call(live, "auditor", "inspector", "GetBalance", "agg3MSP", submit=False)

    proc = live.cli("org", "remove", NEW)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    assert f"{NEW} removed" in proc.stdout

    assert total_cents(live) == total
    assert call(live, "auditor", "inspector", "GetBalance", "agg3MSP", submit=False) == balance
    bids = {b["id"]: b for b in call(live, "auditor", "inspector", "ListBids", market, submit=False)}
    assert bids[bid_id]["status"] == "cancelled"
    record = call(live, "auditor", "inspector", "GetMarketplace", submit=False)
    assert "agg3MSP" not in record["aggregators"] + record["admins"] and "agg3MSP" in record["former"]
    assert "agg3MSP" not in channel_members(live)
    status = live.status()
    assert NEW not in {n["org"] for n in status["nodes"]}
    assert NEW not in status["chaincode"]["approvals"]
    heights = peer_heights(live)
    assert set(heights) == {"dso", "agg1", "agg2", "auditor"} and len(set(heights.values())) == 1, heights
    # the leaver's ledger copy stays in its folder; its money stays claimable by settlement
    assert (live.net.layout.node_dir(NEW, "peer0") / "data" / "ledgersData").is_dir()
    assert call(live, "dso", "settlement", "Withdraw", "agg3MSP", "777")["available_cents"] == \
        balance["available_cents"] - 777
    # the market still works for the remaining organisations
    assert call(live, "agg1", "trader", "RegisterDevice", json.dumps({
        "id": f"m1-{uuid.uuid4().hex[:6]}", "type": "load", "max_power_mw": 0.1, "node": "3",
        "feeder": "F1"}))["owner"] == "agg1MSP"


def test_a_tso_organisation_with_its_own_orderer_joins_raft_and_leaves_it(live_network: LiveNetwork) -> None:
    """The TSO as an organisation of its own (not a user inside dso), running an orderer that becomes a
    Raft consenter; then it leaves and Raft goes on with the founding orderers."""
    from network import channel

    live = live_network
    proc = live.cli("org", "add", "tso", "--role", "tso", "--orderer")
    print(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    try:
        net = current(live)
        info = channel.orderer_channel_info(net.layout, net.topo, "tso")
        assert (info["consensusRelation"], info["status"]) == ("consenter", "active"), info
        record = call(live, "tso", "operator", "GetMarketplace", submit=False)
        assert record["tso"] == ["tsoMSP"], record  # the DSO's in-house tso user no longer holds the role
        with pytest.raises(EvaluateError, match="caller.msp"):
            call(live, "dso", "tso", "GetMarketplace", submit=False)
        assert call(live, "dso", "settlement", "Deposit", "tsoMSP", "100")["available_cents"] == 100
        # Raft orders with four consenters: a transaction commits and every peer reaches one height
        call(live, "dso", "operator", "PublishNetwork", json.dumps(FEEDER))
        heights = peer_heights(live)
        assert "tso" in heights and len(set(heights.values())) == 1, heights
    finally:
        proc = live.cli("org", "remove", "tso")
    assert proc.returncode == 0, proc.stderr
    net = current(live)
    assert "tso" not in [o.name for o in net.topo.orderer_orgs]
    call(live, "dso", "operator", "PublishNetwork", json.dumps(FEEDER))  # three consenters still order
    # the founding organisations give the role back to the DSO's tso user (a vote through 'tx submit')
    grant = json.dumps({"id": f"tso-back-{uuid.uuid4().hex[:6]}", "action": "add", "msp": "dsoMSP", "role": "tso"})
    live.cli("tx", "submit", "--org", "dso", "--user", "admin", "ProposeMembershipChange", grant, check=True)
    proposal = json.loads(grant)["id"]
    for org in ("agg1", "agg2"):
        live.cli("tx", "submit", "--org", org, "--user", "admin", "ApproveMembershipChange", proposal, check=True)
    assert call(live, "dso", "tso", "GetMarketplace", submit=False)["tso"] == ["dsoMSP"]
    heights = peer_heights(live)
    assert set(heights) == {"dso", "agg1", "agg2", "auditor"} and len(set(heights.values())) == 1, heights
