"""Owner-endorsed bids: one endorsement (the bidder's peer) per bid, every rule checked again by all at
gate closure, and no organisation able to write another's bids (chaincode/owner_bids.py)."""

from __future__ import annotations

import json

import pytest
from cc_fakes import Chain
from cc_world import (
    ADMIN,
    AFTER,
    AGG1,
    AGG2,
    AUDITOR,
    DSO,
    DURING,
    GOVERNANCE,
    NETWORK,
    PERIODS,
    SETTLE,
    capacity_bid,
    capacity_market,
    flex_offer,
    flex_request,
)
from conftest import add_world, new_chain

from chaincode.key_policy import organisations, peers_of
from chaincode.state import key

SLOT_D1 = key("bidslot", "agg1MSP", "CAP1", "D1")


def _owner_market(world: Chain) -> Chain:
    world.invoke(DSO, "CreateMarket", capacity_market(bid_endorsement="owner"))
    world.invoke(DSO, "PublishCapacityLimits", {"market_id": "CAP1", "limits": [
        {"feeder": "F1", "period": p, "capacity_mw": 1.5} for p in range(PERIODS)]})
    world.invoke(DSO, "RequestFlexibility", flex_request(bid_endorsement="owner"))
    world.at(DURING)
    for who in (AGG1, AGG2):
        for market in ("CAP1", "FLEX1"):
            world.invoke(who, "EnrolInMarket", market)
    return world


@pytest.fixture
def owner() -> Chain:
    return _owner_market(add_world(new_chain()))


def _slots(chain: Chain) -> dict[str, dict]:
    return {k: json.loads(v) for k, v in chain.ledger.state.items() if k.startswith("\x00bidslot\x00")}


def test_enrolment_opens_a_slot_per_managed_device_on_the_feeder_writable_by_its_manager_alone(owner: Chain) -> None:
    slots = _slots(owner)
    assert sorted(slots) == sorted([SLOT_D1, key("bidslot", "agg1MSP", "CAP1", "D4"), key("bidslot", "agg2MSP", "CAP1", "D2"),
                                    key("bidslot", "agg1MSP", "FLEX1", "D1"), key("bidslot", "agg1MSP", "FLEX1", "D4"),
                                    key("bidslot", "agg2MSP", "FLEX1", "D2")])  # D3 is on feeder F2
    assert organisations(owner.ledger.policies[SLOT_D1]) == ["agg1MSP"]
    assert owner.ledger.policies[SLOT_D1] == peers_of("agg1MSP")


def test_owner_endorsed_bid_writes_only_its_slot_so_only_the_bidders_peer_endorses(owner: Chain) -> None:
    bid = owner.invoke(AGG1, "PlaceBid", capacity_bid())
    assert bid["status"] == "posted" and bid["owner"] == "agg1MSP"
    assert owner.last_stub.writes == {SLOT_D1}
    assert owner.last_endorsers == {"agg1MSP"}
    assert owner.block((AGG1, "PlaceBid", (flex_offer(device="D1", id="O9"),), {"agg1MSP"})) == ["VALID"]
    assert [(b["id"], b["status"]) for b in owner.invoke(AUDITOR, "ListBids", "CAP1")] == [("B1", "posted")]


def test_bid_written_into_anothers_slot_without_its_peer_is_invalidated(owner: Chain) -> None:
    """The DSO and agg2 colluding: they endorse agg1's bid text themselves; agg1's slot policy refuses it."""
    before = dict(owner.ledger.state)
    assert owner.block((AGG1, "PlaceBid", (capacity_bid(),), {"dsoMSP", "agg2MSP"})) == ["ENDORSEMENT_POLICY_FAILURE"]
    assert owner.ledger.state == before


def test_first_bid_of_a_device_without_slot_needs_every_organisation(owner: Chain) -> None:
    owner.invoke(AGG1, "RegisterDevice", {"id": "D5", "type": "load", "max_power_mw": 1.0, "node": "2", "feeder": "F1"})
    owner.invoke(AGG1, "PlaceBid", capacity_bid(device="D5"))
    slot = key("bidslot", "agg1MSP", "CAP1", "D5")
    assert owner.last_stub.writes == {slot}
    assert owner.last_endorsers is None, "a new key follows the definition's AND(all)"
    assert organisations(owner.ledger.policies[slot]) == ["agg1MSP"]
    owner.invoke(AGG1, "CancelBid", "B1")
    owner.invoke(AGG1, "PlaceBid", capacity_bid(device="D5", id="B2"))
    assert owner.last_endorsers == {"agg1MSP"}


def test_gate_closure_turns_posted_bids_into_active_bids_and_deletes_the_slots(owner: Chain) -> None:
    total = owner.total_cents()
    owner.invoke(AGG1, "PlaceBid", capacity_bid())
    owner.invoke(AGG2, "PlaceBid", capacity_bid(id="B2", device="D2", quantity_mw=0.5, min_mw=0.5))
    owner.at(AFTER)
    market = owner.invoke(DSO, "CloseGate", "CAP1")
    assert market["refused_bids"] == []
    assert not [k for k in _slots(owner) if "\x00CAP1\x00" in k]
    assert not [k for k in owner.ledger.policies if "\x00CAP1\x00" in k]
    bids = owner.invoke(AUDITOR, "ListBids", "CAP1")
    assert [(b["id"], b["owner"], b["status"], b["timestamp"]) for b in bids] == [
        ("B1", "agg1MSP", "active", "2026-11-20T10:00:00.000Z"), ("B2", "agg2MSP", "active", "2026-11-20T10:00:00.000Z")]
    assert owner.events("GateClosed")[-1]["bids"] == 2
    record = owner.invoke(DSO, "ClearMarket", "CAP1")
    assert record["unfunded_bids"] == []
    owner.invoke(SETTLE, "SettleMarket", "CAP1")
    assert owner.total_cents() == total


def test_clearing_an_open_owner_market_closes_its_book_first(owner: Chain) -> None:
    owner.invoke(AGG2, "PlaceBid", flex_offer())
    owner.at(AFTER)
    record = owner.invoke(DSO, "ClearMarket", "FLEX1")
    assert [b["id"] for b in owner.invoke(AUDITOR, "ListBids", "FLEX1")] == ["O1"]
    assert owner.invoke(AUDITOR, "ReadMarket", "FLEX1")["refused_bids"] == []
    assert record["market_id"] == "FLEX1"


def _forge(chain: Chain, slot_key: str, bid_id: str, doc: dict, timestamp_ms: int | None = None) -> None:
    """What a lying owner's peer could endorse alone: any content in its own slot."""
    slot = json.loads(chain.ledger.state[slot_key])
    slot["bids"][bid_id] = {"doc": doc, "periods": doc.get("periods"), "tx_id": "forged",
                            "timestamp_ms": chain.now_ms if timestamp_ms is None else timestamp_ms}
    chain.ledger.state[slot_key] = json.dumps(slot).encode()


def test_gate_closure_refuses_posted_bids_that_break_the_rules_naming_the_field(owner: Chain) -> None:
    _forge(owner, SLOT_D1, "X1", capacity_bid(id="X1", price_eur_per_mwh=9999.0))  # above the market's maximum
    _forge(owner, SLOT_D1, "X2", capacity_bid(id="X2", device="D2"))  # another's device, in agg1's slot
    _forge(owner, key("bidslot", "agg1MSP", "CAP1", "D4"), "X3", capacity_bid(id="X3", device="D4", quantity_mw=1.0),
           timestamp_ms=owner.now_ms + 10 * 3600_000)
    _forge(owner, SLOT_D1, "X4", capacity_bid(id="X4", periods=[0]))
    _forge(owner, SLOT_D1, "X5", capacity_bid(id="X5", periods=[0, 3]))  # overlaps X4 on period 0
    owner.at(AFTER)
    refused = {r["bid_id"]: r for r in owner.invoke(DSO, "CloseGate", "CAP1")["refused_bids"]}
    assert sorted(refused) == ["X1", "X2", "X3", "X5"]
    assert refused["X1"]["reason"].startswith("bid.price_eur_per_mwh:")
    assert refused["X2"]["reason"].startswith("bid.device:")
    assert refused["X3"]["reason"].startswith("bid.timestamp:")
    assert refused["X5"]["reason"].startswith("bid.device:") and "X4" in refused["X5"]["reason"]
    assert {r["participant"] for r in refused.values()} == {"agg1MSP"}
    assert [b["id"] for b in owner.invoke(AUDITOR, "ListBids", "CAP1")] == ["X4"]


def test_bids_in_the_slot_of_a_device_since_managed_by_another_are_refused(owner: Chain) -> None:
    owner.invoke(AGG1, "PlaceBid", capacity_bid(device="D4", quantity_mw=1.0, min_mw=1.0))
    owner.invoke(AGG1, "OfferManagement", "D4", "agg2MSP")
    owner.invoke(AGG2, "AcceptManagement", "D4")
    owner.at(AFTER)
    refused = owner.invoke(DSO, "CloseGate", "CAP1")["refused_bids"]
    assert [(r["bid_id"], r["reason"].split(":")[0]) for r in refused] == [("B1", "bid.device")]


def test_a_bid_racing_gate_closure_either_precedes_it_or_is_invalidated(owner: Chain) -> None:
    """A bid endorsed by its owner's peer alone, claiming a time inside the gate, meets CloseGate in one block."""
    late = (AGG1, "PlaceBid", (capacity_bid(),), {"agg1MSP"}, "2026-11-20T11:59:59Z")
    close = (DSO, "CloseGate", ("CAP1",), None, AFTER)
    before = dict(owner.ledger.state)
    assert owner.block(close, late) == ["VALID", "MVCC_READ_CONFLICT"]  # the bid read the slot CloseGate deleted
    assert owner.invoke(AUDITOR, "ListBids", "CAP1") == []
    owner.ledger.state = before
    owner.ledger.policies = {k: v for k, v in owner.ledger.policies.items() if k in before}
    owner.ledger.policies[SLOT_D1] = peers_of("agg1MSP")
    assert owner.block(late, close) == ["VALID", "PHANTOM_READ_CONFLICT"]  # CloseGate runs again, with the bid
    owner.at(AFTER)
    owner.invoke(DSO, "CloseGate", "CAP1")
    assert [b["id"] for b in owner.invoke(AUDITOR, "ListBids", "CAP1")] == ["B1"]


def test_posted_bid_is_withdrawn_by_its_owner_alone(owner: Chain) -> None:
    owner.invoke(AGG1, "PlaceBid", capacity_bid())
    owner.refuse(AGG2, "CancelBid", "B1", field="bidId")
    cancelled = owner.invoke(AGG1, "CancelBid", "B1")
    assert cancelled["status"] == "cancelled"
    assert owner.last_stub.writes == {SLOT_D1}
    assert owner.last_endorsers == {"agg1MSP"}
    assert owner.invoke(AUDITOR, "ListBids", "CAP1") == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"bid_endorsement": "some"}, "must be one of all, owner"),
    ({"bid_endorsement": "owner", "rule": "social_equity"}, "social_equity"),
    ({"bid_endorsement": "owner", "sealed": True}, "sealed"),
])
def test_owner_endorsement_is_refused_where_it_would_weaken_the_market(changes: dict, message: str) -> None:
    chain = add_world(new_chain())
    refused = chain.refuse(DSO, "CreateMarket", capacity_market(**changes), field="market.bid_endorsement")
    assert message in refused


def test_markets_default_to_every_organisation_endorsing_each_bid(cap: Chain) -> None:
    assert cap.invoke(AUDITOR, "ReadMarket", "CAP1")["bid_endorsement"] == "all"
    cap.invoke(AGG1, "PlaceBid", capacity_bid())
    assert cap.last_endorsers is None
    assert not _slots(cap)


def test_a_slot_its_owner_left_malformed_breaks_no_query_and_is_refused_at_gate_closure(owner: Chain) -> None:
    owner.ledger.state[SLOT_D1] = json.dumps({"bids": ["not", "a", "mapping"]}).encode()
    slot_d4 = key("bidslot", "agg1MSP", "CAP1", "D4")
    owner.ledger.state[slot_d4] = json.dumps({"bids": {f"Y{i}": {} for i in range(PERIODS + 1)}}).encode()
    assert owner.invoke(AUDITOR, "ListBids", "CAP1") == [
        {"id": f"Y{i}", "market_id": "CAP1", "kind": "capacity", "owner": "agg1MSP", "device": "D4",
         "status": "posted", "tx_id": None, "timestamp_ms": None, "periods": None} for i in range(PERIODS + 1)]
    owner.invoke(AGG2, "PlaceBid", capacity_bid(id="B2", device="D2", quantity_mw=0.5, min_mw=0.5))
    owner.at(AFTER)
    refused = owner.invoke(DSO, "CloseGate", "CAP1")["refused_bids"]
    assert [(r["participant"], r["reason"]) for r in refused] == [
        ("agg1MSP", "slot: device D1: unreadable"), ("agg1MSP", "slot: device D4: more bids than periods")]
    assert [b["id"] for b in owner.invoke(AUDITOR, "ListBids", "CAP1")] == ["B2"]


def test_owner_endorsed_bid_reads_the_same_keys_with_or_without_batched_reads() -> None:
    """A device's first bid is endorsed by all: peers with and without batched reads must record one read set."""
    from chaincode.batching import PeerBatching

    reads = []
    for batching in (None, PeerBatching(max_read_keys=1000, max_write_records=1000)):
        chain = Chain(batching=batching)
        chain.invoke(ADMIN, "InitMarketplace", GOVERNANCE)
        chain.invoke(DSO, "PublishNetwork", NETWORK)
        chain = _owner_market(add_world(chain))
        chain.invoke(AGG1, "PlaceBid", capacity_bid())
        reads.append(chain.last_stub.reads)
    assert reads[0] == reads[1]
    assert key("devicebids", "CAP1", "D1") in reads[0]
