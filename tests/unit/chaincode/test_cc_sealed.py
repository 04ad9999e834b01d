"""Sealed bids: commit while the gate is open, reveal after it closes, the clearing sees exactly the commitments."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from cc_fakes import Chain
from cc_world import (
    AFTER,
    AGG1,
    AGG2,
    AUDITOR,
    DSO,
    DURING,
    PERIODS,
    SETTLE,
    capacity_bid,
    capacity_market,
    flex_offer,
    flex_request,
)
from conftest import add_world, new_chain

from clearing.sealing import commitment

LATE = "2026-11-20T13:30:00Z"  # after the one-hour reveal window that follows the 12:00 gate closure
CONTENT = ("price_eur_per_mwh", "quantity_mw", "min_mw", "periods", "divisible", "products", "escrow_cents")


class Sealer:
    """What the aggregator's gateway keeps: the exact bid JSON and its salt, per bid id."""

    def __init__(self) -> None:
        self.kept: dict[str, tuple[str, str]] = {}

    def commit(self, chain: Chain, who: Any, bid: dict[str, Any]) -> dict[str, Any]:
        bid_json, salt = json.dumps(bid, sort_keys=True), secrets.token_hex(32)
        self.kept[bid["id"]] = (bid_json, salt)
        return chain.invoke(who, "CommitBid", {"id": bid["id"], "market_id": bid["market_id"], "device": bid["device"],
                                               "commitment": commitment(salt, bid_json)})

    def reveal(self, chain: Chain, who: Any, bid_id: str) -> dict[str, Any]:
        bid_json, salt = self.kept[bid_id]
        return chain.invoke(who, "RevealBid", bid_id, bid_json, salt)


def _market(chain: Chain, kind: str, sealed: bool, **changes: Any) -> str:
    extra = {"sealed": True, "reveal_seconds": 3600} if sealed else {}
    if kind == "flexibility":
        chain.invoke(DSO, "RequestFlexibility", flex_request(**extra))
        market_id = "FLEX1"
    else:
        chain.invoke(DSO, "CreateMarket", capacity_market(**extra, **changes))
        chain.invoke(DSO, "PublishCapacityLimits", {"market_id": "CAP1", "limits": [
            {"feeder": "F1", "period": p, "capacity_mw": 1.5} for p in range(PERIODS)]})
        market_id = "CAP1"
    chain.at(DURING)
    for who in (AGG1, AGG2):
        chain.invoke(who, "EnrolInMarket", market_id)
    return market_id


def sealed_chain(kind: str = "capacity", **changes: Any) -> Chain:
    chain = add_world(new_chain())
    _market(chain, kind, True, **changes)
    return chain


@pytest.fixture
def sealer() -> Sealer:
    return Sealer()


def test_a_sealed_bid_shows_nobody_its_price_or_quantity_before_the_gate_closes(sealer: Sealer) -> None:
    chain = sealed_chain()
    committed = sealer.commit(chain, AGG1, capacity_bid())
    assert committed["status"] == "sealed" and committed["timestamp"] == "2026-11-20T10:00:00.000Z"
    for who in (DSO, AGG2, AUDITOR):
        [seen] = chain.invoke(who, "ListBids", "CAP1")
        assert not set(CONTENT) & set(seen), seen
        assert seen["commitment"] == committed["commitment"]
    history = chain.invoke(AUDITOR, "GetHistory", "bid", "B1")
    assert all(not set(CONTENT) & set(h["value"]) for h in history)
    raw = "".join(v.decode() for v in chain.ledger.state.values())
    assert "40.0" not in raw and '"price_eur_per_mwh"' not in raw  # the price is nowhere on the ledger
    assert chain.invoke(DSO, "ReadMarket", "CAP1")["sealed"] is True


def test_an_open_bid_in_a_sealed_market_and_a_commitment_in_an_open_market_are_refused(cap: Chain) -> None:
    chain = sealed_chain()
    message = chain.refuse(AGG1, "PlaceBid", capacity_bid(), field="bid.market_id")
    assert "CommitBid" in message
    cap.refuse(AGG1, "CommitBid", {"id": "B1", "market_id": "CAP1", "device": "D1", "commitment": "0" * 64},
               field="bid.market_id")


def test_a_commitment_must_be_a_sha256_digest_and_one_per_device(sealer: Sealer) -> None:
    chain = sealed_chain()
    chain.refuse(AGG1, "CommitBid", {"id": "B1", "market_id": "CAP1", "device": "D1", "commitment": "40 EUR"},
                 field="bid.commitment")
    chain.refuse(AGG1, "CommitBid", {"id": "B1", "market_id": "CAP1", "device": "D1"}, field="bid.commitment")
    sealer.commit(chain, AGG1, capacity_bid())
    chain.refuse(AGG1, "CommitBid", {"id": "B9", "market_id": "CAP1", "device": "D1", "commitment": "1" * 64},
                 field="bid.device")
    chain.refuse(AGG2, "CommitBid", {"id": "B9", "market_id": "CAP1", "device": "D1", "commitment": "1" * 64},
                 field="bid.device")  # not its device


def test_reveal_before_gate_closure_is_refused(sealer: Sealer) -> None:
    chain = sealed_chain()
    sealer.commit(chain, AGG1, capacity_bid())
    bid_json, salt = sealer.kept["B1"]
    message = chain.refuse(AGG1, "RevealBid", "B1", bid_json, salt, field="bidId")
    assert "after the gate" in message


def test_reveal_mismatch_is_refused_and_changes_nothing(sealer: Sealer) -> None:
    chain = sealed_chain()
    sealer.commit(chain, AGG1, capacity_bid())
    bid_json, salt = sealer.kept["B1"]
    chain.at(AFTER)
    cheaper = json.dumps(capacity_bid(price_eur_per_mwh=10.0), sort_keys=True)
    chain.refuse(AGG1, "RevealBid", "B1", cheaper, salt, field="bidJSON")
    chain.refuse(AGG1, "RevealBid", "B1", bid_json, secrets.token_hex(32), field="bidJSON")
    chain.refuse(AGG1, "RevealBid", "B1", bid_json, salt[:32], field="salt")  # 16 bytes: too short to be safe
    chain.refuse(AGG1, "RevealBid", "B1", bid_json + "\ud800", salt, field="bidJSON")
    chain.refuse(AGG2, "RevealBid", "B1", bid_json, salt, field="bidId")  # only the owner reveals
    assert chain.invoke(AUDITOR, "ListBids", "CAP1")[0]["status"] == "sealed"
    revealed = sealer.reveal(chain, AGG1, "B1")
    assert revealed["price_eur_per_mwh"] == 40.0 and revealed["status"] == "active"
    assert revealed["seal"]["bid_json"] == bid_json and revealed["seal"]["salt"] == salt
    chain.refuse(AGG1, "RevealBid", "B1", bid_json, salt, field="bidId")  # once


def test_a_revealed_bid_passes_every_check_of_an_open_bid(sealer: Sealer) -> None:
    chain = sealed_chain()
    sealer.commit(chain, AGG1, capacity_bid(price_eur_per_mwh=40.25))  # off the 0.5 EUR price resolution
    bid_json, salt = json.dumps(capacity_bid(id="B5", device="D4"), sort_keys=True), secrets.token_hex(32)
    chain.invoke(AGG1, "CommitBid", {"id": "B6", "market_id": "CAP1", "device": "D4",
                                     "commitment": commitment(salt, bid_json)})
    chain.at(AFTER)
    bid_json_b1, salt_b1 = sealer.kept["B1"]
    chain.refuse(AGG1, "RevealBid", "B1", bid_json_b1, salt_b1, field="bid.price_eur_per_mwh")
    chain.refuse(AGG1, "RevealBid", "B6", bid_json, salt, field="bid.id")  # the content names another bid


def test_reveal_after_the_reveal_window_is_refused(sealer: Sealer) -> None:
    chain = sealed_chain()
    sealer.commit(chain, AGG1, capacity_bid())
    chain.at(LATE)
    bid_json, salt = sealer.kept["B1"]
    assert "reveal window" in chain.refuse(AGG1, "RevealBid", "B1", bid_json, salt, field="bidId")


def test_an_unrevealed_bid_is_excluded_and_none_of_its_escrow_is_taken(sealer: Sealer) -> None:
    chain = sealed_chain()
    sealer.commit(chain, AGG1, capacity_bid())
    sealer.commit(chain, AGG2, capacity_bid(id="B2", device="D2", periods=[1, 2], price_eur_per_mwh=60.0))
    chain.at(AFTER)
    sealer.reveal(chain, AGG1, "B1")
    assert "still be revealed" in chain.refuse(DSO, "ClearMarket", "CAP1", field="marketId")
    chain.at(LATE)
    record = chain.invoke(DSO, "ClearMarket", "CAP1")
    assert record["unrevealed_bids"] == ["B2"]
    assert chain.events("MarketCleared")[-1]["unrevealed_bids"] == ["B2"]
    stored = chain.invoke(AUDITOR, "GetClearing", "CAP1")
    assert [b["id"] for b in stored["input"]["bids"]] == ["B1"]
    statuses = {b["id"]: b["status"] for b in chain.invoke(AUDITOR, "ListBids", "CAP1")}
    assert statuses == {"B1": "active", "B2": "unrevealed"}
    assert chain.invoke(AUDITOR, "GetBalance", "agg2MSP")["escrow_cents"] == 0
    assert chain.invoke(AUDITOR, "GetBalance", "agg1MSP")["escrow_by_market"] == {"CAP1": 8000}
    chain.invoke(SETTLE, "SettleMarket", "CAP1")
    assert chain.invoke(AUDITOR, "GetBalance", "agg2MSP")["available_cents"] == 100_000


def test_a_market_whose_bids_are_all_revealed_clears_before_the_window_ends(sealer: Sealer) -> None:
    chain = sealed_chain()
    sealer.commit(chain, AGG1, capacity_bid())
    chain.at(AFTER)
    sealer.reveal(chain, AGG1, "B1")
    assert chain.invoke(DSO, "ClearMarket", "CAP1")["unrevealed_bids"] == []
    bid_json, salt = sealer.kept["B1"]
    chain.refuse(AGG1, "RevealBid", "B1", bid_json, salt, field="bidId")  # cleared: nothing more to reveal


def _same_bids(kind: str) -> list[tuple[Any, str, dict[str, Any]]]:
    if kind == "capacity":
        return [(AGG1, DURING, capacity_bid()),
                (AGG2, "2026-11-20T10:05:00Z", capacity_bid(id="B2", device="D2", periods=[1, 2],
                                                            price_eur_per_mwh=60.0)),
                (AGG1, "2026-11-20T10:10:00Z", capacity_bid(id="B3", device="D4", periods=[3], quantity_mw=0.5,
                                                            min_mw=0.5))]
    return [(AGG2, DURING, flex_offer()),
            (AGG1, "2026-11-20T10:05:00Z", flex_offer(id="O2", device="D4", products={
                "p_up": {"price_eur_per_mwh": 80.0, "quantity_mw": [0.1] * PERIODS}}))]


@pytest.mark.parametrize("kind", ["capacity", "flexibility"])
def test_sealed_clearing_is_identical_to_open_bidding_on_the_same_bids(kind: str, sealer: Sealer) -> None:
    outcomes = []
    for sealed in (False, True):
        chain = add_world(new_chain())
        market_id = _market(chain, kind, sealed)
        for who, when, bid in _same_bids(kind):
            chain.at(when)
            bid = {**bid, "market_id": market_id}
            if sealed:
                sealer.commit(chain, who, bid)
            else:
                chain.invoke(who, "PlaceBid", bid)
        chain.at(AFTER)
        if sealed:
            for who, _, bid in reversed(_same_bids(kind)):
                sealer.reveal(chain, who, bid["id"])
        record = chain.invoke(DSO, "ClearMarket", market_id)
        stored = chain.invoke(AUDITOR, "GetClearing", market_id)
        settled = chain.invoke(SETTLE, "SettleMarket", market_id)
        outcomes.append((stored["input"], stored["result"], record["result_hash"], record["payments_cents"],
                         settled["transfers"], chain.invoke(AUDITOR, "ListTrades", market_id)))
    assert outcomes[0] == outcomes[1]
    assert any(outcomes[0][3].values()), "the case must move money"


def test_first_come_first_served_follows_the_commit_order_not_the_reveal_order(sealer: Sealer) -> None:
    chain = add_world(new_chain())
    chain.invoke(DSO, "CreateMarket", capacity_market(rule="social_equity", priority="fcfs", sealed=True,
                                                      reveal_seconds=3600))
    chain.invoke(DSO, "PublishCapacityLimits", {"market_id": "CAP1", "limits": [
        {"feeder": "F1", "period": p, "capacity_mw": 1.0} for p in range(PERIODS)]})
    chain.at(DURING)
    for who in (AGG1, AGG2):
        chain.invoke(who, "EnrolInMarket", "CAP1")
    sealer.commit(chain, AGG2, capacity_bid(id="B2", device="D2"))  # first, at 10:00
    chain.at("2026-11-20T10:05:00Z")
    sealer.commit(chain, AGG1, capacity_bid())  # second
    chain.at(AFTER)
    sealer.reveal(chain, AGG1, "B1")  # revealed first, still second in line
    chain.at("2026-11-20T12:31:00Z")
    sealer.reveal(chain, AGG2, "B2")
    chain.invoke(DSO, "ClearMarket", "CAP1")
    stored = chain.invoke(AUDITOR, "GetClearing", "CAP1")
    stamps = {b["id"]: b["timestamp"] for b in stored["input"]["bids"]}
    assert stamps == {"B1": "2026-11-20T10:05:00.000Z", "B2": "2026-11-20T10:00:00.000Z"}
    assert stored["result"]["awards_mw"] == {"B1": 0, "B2": 1}


def test_a_sealed_bid_can_be_cancelled_while_the_gate_is_open_and_blocks_retirement(sealer: Sealer) -> None:
    chain = sealed_chain()
    sealer.commit(chain, AGG1, capacity_bid())
    chain.refuse(AGG1, "RetireDevice", "D1", field="id")
    assert chain.invoke(AGG1, "CancelBid", "B1")["status"] == "cancelled"
    chain.at(AFTER)
    bid_json, salt = sealer.kept["B1"]
    chain.refuse(AGG1, "RevealBid", "B1", bid_json, salt, field="bidId")


def test_gate_closure_counts_sealed_bids(sealer: Sealer) -> None:
    chain = sealed_chain("flexibility")
    sealer.commit(chain, AGG2, {**flex_offer(), "market_id": "FLEX1"})
    chain.at(AFTER)
    chain.invoke(DSO, "CloseGate", "FLEX1")
    assert chain.events("GateClosed")[-1]["bids"] == 1
    sealer.reveal(chain, AGG2, "O1")  # a closed (not yet cleared) market still takes reveals
    assert chain.invoke(DSO, "ClearMarket", "FLEX1")["unrevealed_bids"] == []


def test_sealing_options_are_checked(world: Chain) -> None:
    world.refuse(DSO, "CreateMarket", capacity_market(sealed="yes"), field="market.sealed")
    world.refuse(DSO, "CreateMarket", capacity_market(reveal_seconds=60), field="market.reveal_seconds")
    world.refuse(DSO, "CreateMarket", capacity_market(sealed=True, reveal_seconds=0), field="market.reveal_seconds")
    world.refuse(DSO, "RequestFlexibility", flex_request(sealed=True, reveal_seconds=1.5),
                 field="request.reveal_seconds")
    market = world.invoke(DSO, "CreateMarket", capacity_market(sealed=True))
    assert (market["reveal_seconds"], market["reveal_closes"]) == (600, "2026-11-20T12:10:00.000Z")
