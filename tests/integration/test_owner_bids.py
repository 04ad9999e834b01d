"""Owner-endorsed bids on the real network: the peers' gateway asks only the bidder's peer for a bid, a write
of an aggregator's bid slot endorsed without that aggregator's peer is invalidated by every peer's validator,
and the all-endorsed gate closure turns the posted bids into the market's book (docs/chaincode.md,
"Endorsement"). The tests run in file order: those before ``test_gate_closure_*`` run while the gate is open."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gateway import connect_from_profile
from gateway.client import Contract
from gateway.retry import SETTLE_RETRY
from tests.integration.conftest import LiveNetwork, ProvokedInvalid
from tests.small_feeder import SMALL_FEEDER, small_baseline

GATE_SECONDS = 40
TIME = "%Y-%m-%dT%H:%M:%SZ"
FEEDER = copy.deepcopy(SMALL_FEEDER)
FEEDER["network"]["branches"][2]["p_max_mw"] = 0.05  # the DSO needs 0.02 MW at node 3


@dataclass
class World:
    contracts: dict[str, Contract]  # org -> its user's contract
    market: str
    gate_closes: dt.datetime
    devices: dict[str, list[str]]  # org -> its devices

    def offer(self, org: str, index: int, price: float) -> str:
        device = self.devices[org][index]
        return json.dumps({"id": f"{self.market}-{device}", "market_id": self.market, "device": device,
                           "products": {"p_up": {"price_eur_per_mwh": price, "quantity_mw": [0.02]}}})

    def bids(self) -> dict[str, str]:
        return {b["id"]: b["status"] for b in json.loads(self.contracts["dso"].evaluate("ListBids", self.market))}


@pytest.fixture(scope="module")
def world(live_network: LiveNetwork) -> Iterator[World]:
    users = {"dso": "operator", "agg1": "trader", "agg2": "trader"}
    gateways = [connect_from_profile(live_network.profile(org), user, endorse_retry=SETTLE_RETRY)
                for org, user in users.items()]
    contracts = {org: gw.get_network("flexchannel").get_contract("flexledger") for org, gw in zip(users, gateways, strict=True)}
    now = dt.datetime.now(dt.UTC)
    day = (now + dt.timedelta(days=5)).date().isoformat()  # a day of its own
    run = uuid.uuid4().hex[:6]
    w = World(contracts, f"owner-{run}", now + dt.timedelta(seconds=GATE_SECONDS), {})
    baseline = small_baseline(day)
    baseline["baseline"][0]["demand_mw"] = 0.07
    dso = contracts["dso"]
    dso.submit("PublishNetwork", json.dumps(FEEDER))
    dso.submit("PublishBaseline", json.dumps(baseline))
    with connect_from_profile(live_network.profile("dso"), "settlement", endorse_retry=SETTLE_RETRY) as gw:
        gw.get_network("flexchannel").get_contract("flexledger").submit("Deposit", "dsoMSP", "100000")
    request = {"id": w.market, "day": day, "gate_opens": (now - dt.timedelta(minutes=1)).strftime(TIME),
               "gate_closes": w.gate_closes.strftime(TIME), "budget_cents": 100000, "feeder": "F1",
               "bid_endorsement": "owner"}
    assert json.loads(dso.submit("RequestFlexibility", json.dumps(request)))["bid_endorsement"] == "owner"
    for org in ("agg1", "agg2"):
        w.devices[org] = [f"{org}-ob{i}-{run}" for i in range(2)]
        for device in w.devices[org]:
            contracts[org].submit("RegisterDevice", json.dumps({
                "id": device, "type": "storage", "max_power_mw": 0.05, "min_power_mw": 0.0, "capacity_mwh": 0.1,
                "node": "3", "feeder": "F1"}))
        enrolment = json.loads(contracts[org].submit("EnrolInMarket", w.market))
        assert enrolment["bid_slots"] == 2
    yield w
    for gw in gateways:
        gw.close()


def test_owner_endorsed_bid_is_endorsed_by_the_bidders_peer_alone_and_commits(world: World) -> None:
    transaction = world.contracts["agg1"].new_proposal("PlaceBid", world.offer("agg1", 0, 12.0)).endorse()
    assert transaction.endorsing_msps == ["agg1MSP"]
    assert transaction.submit().status().successful
    assert world.bids() == {f"{world.market}-{world.devices['agg1'][0]}": "posted"}


def test_bid_endorsed_without_the_owners_peer_is_invalidated_and_changes_nothing(
        world: World, provoked_invalid: ProvokedInvalid) -> None:
    """The DSO's and agg2's peers endorse agg1's bid (their chaincode finds it valid): agg1's slot policy refuses."""
    before = world.bids()
    proposal = world.contracts["agg1"].new_proposal("PlaceBid", world.offer("agg1", 1, 13.0),
                                                    endorsing_orgs=["dsoMSP", "agg2MSP"])
    transaction = proposal.endorse()
    assert sorted(transaction.endorsing_msps) == ["agg2MSP", "dsoMSP"]
    provoked_invalid.expect(tx_id=transaction.transaction_id)
    status = transaction.submit().status()
    assert status.code_name == "ENDORSEMENT_POLICY_FAILURE"
    assert world.bids() == before


def test_gate_closure_is_endorsed_by_all_and_turns_posted_bids_into_the_book(world: World) -> None:
    agg2 = world.contracts["agg2"].new_proposal("PlaceBid", world.offer("agg2", 0, 15.0)).endorse()
    assert agg2.endorsing_msps == ["agg2MSP"]
    assert agg2.submit().status().successful
    time.sleep(max(0.0, (world.gate_closes - dt.datetime.now(dt.UTC)).total_seconds() + 2))
    close = world.contracts["dso"].new_proposal("CloseGate", world.market).endorse()
    assert sorted(close.endorsing_msps) == ["agg1MSP", "agg2MSP", "dsoMSP"]
    assert close.submit().status().successful
    market = json.loads(world.contracts["dso"].evaluate("ReadMarket", world.market))
    assert (market["status"], market["refused_bids"]) == ("closed", [])
    assert world.bids() == {f"{world.market}-{world.devices['agg1'][0]}": "active",
                            f"{world.market}-{world.devices['agg2'][0]}": "active"}
    record = json.loads(world.contracts["dso"].submit("ClearMarket", world.market))
    assert record["payments_cents"].get("agg1MSP", 0) > 0, record
