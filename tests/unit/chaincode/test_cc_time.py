"""No one gains by lying about time beyond the network's bound (docs/chaincode.md, "Time").

Each endorser holds the claimed transaction time against its own clock; deadlines are judged by both.
``Chain.clock_offset_ms`` sets how far the endorsers' clocks are ahead of the claimed time.
"""

from __future__ import annotations

from cc_fakes import Chain
from cc_world import ADMIN, AGG1, AGG2, AUDITOR, DSO, GOVERNANCE, capacity_bid, capacity_market
from conftest import add_world

from chaincode.clock import parse_iso

CLOSES = "2026-11-20T12:00:00Z"


def _at(chain: Chain, claimed: str, endorsers_clock: str) -> None:
    chain.at(claimed)
    chain.clock_offset_ms = parse_iso(endorsers_clock, "t") - parse_iso(claimed, "t")


def test_the_bound_is_recorded_in_governance_with_a_default_of_10_seconds(chain: Chain) -> None:
    assert chain.invoke(AUDITOR, "GetMarketplace")["clock_skew_seconds"] == 10


def test_a_bound_outside_1_to_300_seconds_is_refused_naming_the_field() -> None:
    fresh = Chain()
    fresh.refuse(ADMIN, "InitMarketplace", {**GOVERNANCE, "clock_skew_seconds": 0}, field="config.clock_skew_seconds")
    fresh.refuse(ADMIN, "InitMarketplace", {**GOVERNANCE, "clock_skew_seconds": 301},
                 field="config.clock_skew_seconds")  # fmt: skip
    assert fresh.invoke(ADMIN, "InitMarketplace", {**GOVERNANCE, "clock_skew_seconds": 2})["clock_skew_seconds"] == 2


def test_a_timestamp_further_than_the_bound_from_the_endorsers_clock_is_refused(cap: Chain) -> None:
    _at(cap, "2026-11-20T10:00:00Z", "2026-11-20T10:00:11Z")  # claims 11 s in the past
    message = cap.refuse(AGG1, "PlaceBid", capacity_bid(), field="tx.timestamp")
    assert "-11.0 s" in message and "at most 10 s" in message
    _at(cap, "2026-11-20T10:00:11Z", "2026-11-20T10:00:00Z")  # claims 11 s in the future
    cap.refuse(AGG1, "PlaceBid", capacity_bid(), field="tx.timestamp")


def test_a_timestamp_within_the_bound_is_accepted_and_recorded_as_claimed(cap: Chain) -> None:
    _at(cap, "2026-11-20T10:00:00Z", "2026-11-20T10:00:09Z")
    assert cap.invoke(AGG1, "PlaceBid", capacity_bid())["timestamp"] == "2026-11-20T10:00:00.000Z"


def test_a_back_dated_bid_after_gate_closure_is_refused(cap: Chain) -> None:
    _at(cap, "2026-11-20T11:59:57Z", "2026-11-20T12:00:00.500Z")  # sent after closure, dated 3 s earlier
    cap.refuse(AGG1, "PlaceBid", capacity_bid(), field="bid.market_id")


def test_the_dso_cannot_close_or_clear_early_by_claiming_a_later_time(cap: Chain) -> None:
    cap.invoke(AGG1, "PlaceBid", capacity_bid())
    _at(cap, "2026-11-20T12:00:01Z", "2026-11-20T11:55:00Z")  # five minutes early, claiming after closure
    cap.refuse(DSO, "ClearMarket", "CAP1", field="tx.timestamp")
    cap.refuse(DSO, "CloseGate", "CAP1", field="tx.timestamp")
    _at(cap, "2026-11-20T12:00:01Z", "2026-11-20T11:59:58Z")  # within the bound, but the gate has not passed
    cap.refuse(DSO, "ClearMarket", "CAP1", field="marketId")  # by this endorser's clock
    cap.refuse(DSO, "CloseGate", "CAP1", field="marketId")
    _at(cap, "2026-11-20T12:00:01Z", "2026-11-20T12:00:01Z")
    assert cap.invoke(DSO, "ClearMarket", "CAP1")["market_id"] == "CAP1"


def test_first_come_first_served_cannot_be_bought_by_back_dating_beyond_the_bound(chain: Chain) -> None:
    world = add_world(chain)
    world.invoke(DSO, "CreateMarket", capacity_market(rule="social_equity"))
    world.at("2026-11-20T10:00:00Z")
    world.invoke(AGG1, "EnrolInMarket", "CAP1")
    world.invoke(AGG2, "EnrolInMarket", "CAP1")
    world.invoke(AGG1, "PlaceBid", capacity_bid())
    # agg2 comes 15 s later and claims to have been 1 s earlier than agg1: refused
    _at(world, "2026-11-20T09:59:59Z", "2026-11-20T10:00:15Z")
    world.refuse(AGG2, "PlaceBid", capacity_bid(id="B2", device="D2"), field="tx.timestamp")
    # the most it can claim is 10 s before its real time: still after agg1
    _at(world, "2026-11-20T10:00:05Z", "2026-11-20T10:00:15Z")
    bid = world.invoke(AGG2, "PlaceBid", capacity_bid(id="B2", device="D2"))
    first = next(b for b in world.invoke(AUDITOR, "ListBids", "CAP1") if b["id"] == "B1")
    assert first["timestamp_ms"] < bid["timestamp_ms"]


def test_reads_are_not_refused_for_a_skewed_clock(cap: Chain) -> None:
    _at(cap, "2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z")
    assert cap.invoke(AUDITOR, "ReadMarket", "CAP1")["id"] == "CAP1"
