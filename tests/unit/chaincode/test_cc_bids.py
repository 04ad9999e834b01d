"""Bids: only for managed devices, only enrolled, only while the gate is open, every field checked."""

from __future__ import annotations

import pytest
from cc_fakes import Chain
from cc_world import (
    AFTER,
    AGG1,
    AGG2,
    AUDITOR,
    DSO,
    GATE_CLOSES,
    PERIODS,
    capacity_bid,
    capacity_market,
    flex_offer,
)


def test_bid_records_the_tx_timestamp_and_its_max_value_to_escrow_at_gate_closure(cap: Chain) -> None:
    total = cap.total_cents()
    bid = cap.invoke(AGG1, "PlaceBid", capacity_bid())
    assert bid["owner"] == "agg1MSP"
    assert bid["timestamp"] == "2026-11-20T10:00:00.000Z"
    assert bid["escrow_cents"] == 40 * 1 * 2 * 100  # 40 EUR/MWh x 1 MW x 2 periods x 1 h
    balance = cap.invoke(AGG1, "GetBalance", "agg1MSP")
    assert (balance["available_cents"], balance["escrow_cents"]) == (100_000, 0), "escrowed at gate closure"
    assert cap.events("BidPlaced") == [{"market_id": "CAP1", "bid_id": "B1", "owner": "agg1MSP", "device": "D1",
                                        "timestamp": "2026-11-20T10:00:00.000Z"}]
    assert [b["id"] for b in cap.invoke(AUDITOR, "ListBids", "CAP1")] == ["B1"]
    assert cap.total_cents() == total
    cap.assert_escrow_consistent()


def test_client_cannot_choose_the_bid_timestamp(cap: Chain) -> None:
    cap.refuse(AGG1, "PlaceBid", {**capacity_bid(), "timestamp": "2026-11-20T09:00:00Z"}, field="bid.timestamp")


def test_bid_for_foreign_device_is_rejected(cap: Chain) -> None:
    message = cap.refuse(AGG1, "PlaceBid", capacity_bid(device="D2"), field="bid.device")
    assert "agg2MSP" in message


def test_bid_for_device_on_another_feeder_is_rejected(cap: Chain) -> None:
    cap.refuse(AGG1, "PlaceBid", capacity_bid(device="D3"), field="bid.device")


def test_bid_for_retired_or_unknown_device_is_rejected(cap: Chain) -> None:
    cap.invoke(AGG1, "RetireDevice", "D1")
    cap.refuse(AGG1, "PlaceBid", capacity_bid(), field="bid.device")
    cap.refuse(AGG1, "PlaceBid", capacity_bid(device="D99"), field="bid.device")


def test_bid_after_management_hand_over_belongs_to_the_new_manager(cap: Chain) -> None:
    cap.invoke(AGG1, "OfferManagement", "D4", "agg2MSP")
    cap.refuse(AGG2, "PlaceBid", capacity_bid(device="D4"), field="bid.device")  # not yet accepted
    cap.invoke(AGG2, "AcceptManagement", "D4")
    cap.refuse(AGG1, "PlaceBid", capacity_bid(device="D4"), field="bid.device")
    assert cap.invoke(AGG2, "PlaceBid", capacity_bid(device="D4"))["owner"] == "agg2MSP"


def test_bid_without_enrolment_is_rejected(world: Chain) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market())
    world.at("2026-11-20T10:00:00Z")
    world.refuse(AGG1, "PlaceBid", capacity_bid(), field="bid.market_id")


def test_bid_after_gate_closure_is_rejected(cap: Chain) -> None:
    cap.at(GATE_CLOSES)
    message = cap.refuse(AGG1, "PlaceBid", capacity_bid(), field="bid.market_id")
    assert "closed" in message


def test_bid_before_gate_opening_is_rejected(world: Chain) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market())
    world.invoke(AGG1, "EnrolInMarket", "CAP1")  # enrolment is allowed before the gate opens
    message = world.refuse(AGG1, "PlaceBid", capacity_bid(), field="bid.market_id")
    assert "opens" in message


def test_bid_by_non_aggregator_is_rejected(cap: Chain) -> None:
    cap.refuse(DSO, "PlaceBid", capacity_bid(), field="caller.role")
    cap.refuse(AUDITOR, "PlaceBid", capacity_bid(), field="caller.role")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": ""}, "bid.id"),
        ({"market_id": "NOPE"}, "bid.market_id"),
        ({"periods": []}, "bid.periods"),
        ({"periods": [PERIODS]}, "bid.periods[0]"),
        ({"periods": [1, 1]}, "bid.periods"),
        ({"periods": "0"}, "bid.periods"),
        ({"quantity_mw": 0}, "bid.quantity_mw"),
        ({"quantity_mw": 2.5, "min_mw": 2.5}, "bid.quantity_mw"),  # above the device's max power 2 MW
        ({"quantity_mw": 0.15, "min_mw": 0.15}, "bid.quantity_mw"),  # not a multiple of 0.1 MW
        ({"quantity_mw": 0.1, "min_mw": 0.1}, "bid.quantity_mw"),  # below the device's min power 0.2 MW
        ({"min_mw": 0.5}, "bid.min_mw"),  # a non-divisible bid is all or nothing
        ({"divisible": True, "min_mw": 0.1}, "bid.min_mw"),  # divisible part below the device min power
        ({"divisible": True, "min_mw": 0.25}, "bid.min_mw"),  # not a multiple of the order granularity
        ({"divisible": True, "min_mw": 1.5}, "bid.min_mw"),  # above the quantity
        ({"divisible": "yes"}, "bid.divisible"),
        ({"price_eur_per_mwh": 40.25}, "bid.price_eur_per_mwh"),  # price resolution 0.5
        ({"price_eur_per_mwh": 600.0}, "bid.price_eur_per_mwh"),
        ({"price_eur_per_mwh": -1.0}, "bid.price_eur_per_mwh"),
        ({"price_eur_per_mwh": None}, "bid.price_eur_per_mwh"),
        ({"products": {}}, "bid.products"),
    ],
)
def test_bad_capacity_bid_is_rejected(cap: Chain, change: dict, field: str) -> None:
    cap.refuse(AGG1, "PlaceBid", capacity_bid(**change), field=field)


def test_market_quantity_bounds_apply(world: Chain) -> None:
    rules = {"price_resolution_eur": 0.5, "quantity_step_mw": 0.1, "min_quantity_mw": 0.5, "max_quantity_mw": 1.0,
             "min_price_eur_per_mwh": 10.0, "max_price_eur_per_mwh": 100.0}
    world.invoke(DSO, "CreateMarket", capacity_market(rules=rules))
    world.at("2026-11-20T10:00:00Z")
    world.invoke(AGG1, "EnrolInMarket", "CAP1")
    world.refuse(AGG1, "PlaceBid", capacity_bid(quantity_mw=0.3, min_mw=0.3), field="bid.quantity_mw")
    world.refuse(AGG1, "PlaceBid", capacity_bid(quantity_mw=1.5, min_mw=1.5), field="bid.quantity_mw")
    world.refuse(AGG1, "PlaceBid", capacity_bid(price_eur_per_mwh=5.0), field="bid.price_eur_per_mwh")
    assert world.invoke(AGG1, "PlaceBid", capacity_bid(quantity_mw=1.0, divisible=True, min_mw=0.5))["divisible"]


def test_bid_ids_are_unique_across_markets(cap: Chain) -> None:
    cap.invoke(AGG1, "PlaceBid", capacity_bid())
    cap.refuse(AGG1, "PlaceBid", capacity_bid(device="D4", periods=[3]), field="bid.id")


def test_one_active_bid_per_device_and_period(cap: Chain) -> None:
    cap.invoke(AGG1, "PlaceBid", capacity_bid(periods=[0, 1]))
    cap.refuse(AGG1, "PlaceBid", capacity_bid(id="B9", periods=[1, 2]), field="bid.device")
    assert cap.invoke(AGG1, "PlaceBid", capacity_bid(id="B9", periods=[2, 3]))["periods"] == [2, 3]


def test_bid_needs_money_for_its_escrow(cap: Chain) -> None:
    from cc_world import SETTLE

    cap.invoke(SETTLE, "Withdraw", "agg1MSP", "95000")
    cap.refuse(AGG1, "PlaceBid", capacity_bid(), field="bid.price_eur_per_mwh")


def test_social_equity_bids_escrow_nothing(world: Chain) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market(rule="social_equity"))
    world.at("2026-11-20T10:00:00Z")
    world.invoke(AGG1, "EnrolInMarket", "CAP1")
    assert world.invoke(AGG1, "PlaceBid", capacity_bid())["escrow_cents"] == 0
    assert world.invoke(AGG1, "GetBalance", "agg1MSP")["escrow_cents"] == 0


def test_cancel_leaves_no_escrow_and_emits_an_event(cap: Chain) -> None:
    total = cap.total_cents()
    cap.invoke(AGG1, "PlaceBid", capacity_bid())
    cap.refuse(AGG2, "CancelBid", "B1", field="bidId")
    cancelled = cap.invoke(AGG1, "CancelBid", "B1")
    assert cancelled["status"] == "cancelled"
    assert cap.invoke(AGG1, "GetBalance", "agg1MSP")["escrow_cents"] == 0
    assert cap.events("BidCancelled") == [{"market_id": "CAP1", "bid_id": "B1", "owner": "agg1MSP"}]
    cap.refuse(AGG1, "CancelBid", "B1", field="bidId")
    cap.refuse(AGG1, "CancelBid", "B404", field="bidId")
    assert cap.total_cents() == total
    # the device is free again for the same periods
    assert cap.invoke(AGG1, "PlaceBid", capacity_bid(id="B2"))["status"] == "active"


def test_cancel_after_gate_closure_is_rejected(cap: Chain) -> None:
    cap.invoke(AGG1, "PlaceBid", capacity_bid())
    cap.at(AFTER)
    cap.refuse(AGG1, "CancelBid", "B1", field="bidId")


def test_flexibility_offer_carries_pq_products(flex: Chain) -> None:
    offer = flex.invoke(AGG2, "PlaceBid", flex_offer(products={
        "p_up": {"price_eur_per_mwh": 50.0, "quantity_mw": [0.2, 0.2, 0.0, 0.0]},
        "q_down": {"price_eur_per_mwh": 10.0, "quantity_mw": [0.1] * PERIODS},
    }))
    assert sorted(offer["products"]) == ["p_up", "q_down"]
    assert offer["node"] == "2" and offer["escrow_cents"] == 0


@pytest.mark.parametrize(
    ("products", "field"),
    [
        ({}, "bid.products"),
        ({"heat": {"price_eur_per_mwh": 1.0, "quantity_mw": [0.1] * PERIODS}}, "bid.products.heat"),
        ({"p_up": {"price_eur_per_mwh": 1.0, "quantity_mw": [0.1]}}, "bid.products.p_up.quantity_mw"),
        ({"p_up": {"price_eur_per_mwh": 1.0, "quantity_mw": [0.0] * PERIODS}}, "bid.products.p_up.quantity_mw"),
        ({"p_up": {"price_eur_per_mwh": 1.0, "quantity_mw": [1.5] * PERIODS}}, "bid.products.p_up.quantity_mw[0]"),
        ({"p_up": {"price_eur_per_mwh": 1.0, "quantity_mw": [-0.1] * PERIODS}}, "bid.products.p_up.quantity_mw[0]"),
        ({"p_up": {"price_eur_per_mwh": 1.0, "quantity_mw": [0.0005] * PERIODS}},
         "bid.products.p_up.quantity_mw[0]"),
        ({"p_up": {"price_eur_per_mwh": 1.001, "quantity_mw": [0.1] * PERIODS}}, "bid.products.p_up.price_eur_per_mwh"),
        ({"p_up": {"quantity_mw": [0.1] * PERIODS}}, "bid.products.p_up.price_eur_per_mwh"),
    ],
)
def test_bad_flexibility_offer_is_rejected(flex: Chain, products: dict, field: str) -> None:
    flex.refuse(AGG2, "PlaceBid", flex_offer(products=products), field=field)


def test_flexibility_offer_fields_are_checked(flex: Chain) -> None:
    flex.refuse(AGG2, "PlaceBid", {**flex_offer(), "periods": [0]}, field="bid.periods")
    flex.refuse(AGG1, "PlaceBid", flex_offer(device="D3"), field="bid.device")  # feeder F2, market F1
    flex.invoke(AGG2, "PlaceBid", flex_offer())
    flex.refuse(AGG2, "PlaceBid", flex_offer(id="O2"), field="bid.device")  # one offer per device


def test_device_with_active_bids_cannot_be_retired(cap: Chain) -> None:
    cap.invoke(AGG1, "PlaceBid", capacity_bid())
    message = cap.refuse(AGG1, "RetireDevice", "D1", field="id")
    assert "B1" in message
    cap.invoke(AGG1, "CancelBid", "B1")
    assert cap.invoke(AGG1, "RetireDevice", "D1")["status"] == "retired"


def test_concurrent_bids_of_one_owner_read_nothing_the_other_writes(cap: Chain) -> None:
    """Endorsed on the same state, both would commit: no MVCC or phantom conflict on a balance or escrow key."""
    cap.invoke(AGG1, "PlaceBid", capacity_bid())
    first = cap.last_stub
    cap.invoke(AGG1, "PlaceBid", capacity_bid(id="B4", device="D4", price_eur_per_mwh=30.0))
    second = cap.last_stub
    assert cap.conflicts(first, second) == set() and cap.conflicts(second, first) == set()
    assert not any("balance" in k or "escrow" in k for k in first.writes | second.writes)


def test_bids_on_one_device_still_conflict_so_its_periods_are_never_double_booked(cap: Chain) -> None:
    cap.invoke(AGG1, "PlaceBid", capacity_bid(periods=[0]))
    first = cap.last_stub
    cap.invoke(AGG1, "PlaceBid", capacity_bid(id="B5", periods=[1]))
    assert cap.conflicts(first, cap.last_stub)


def test_gate_closure_escrows_bids_in_placement_order_and_leaves_out_what_funds_cannot_cover(cap: Chain) -> None:
    from cc_world import SETTLE

    total = cap.total_cents()
    cap.invoke(SETTLE, "Withdraw", "agg1MSP", "90000")  # 10 000 cents left
    total -= 90_000
    cap.invoke(AGG1, "PlaceBid", capacity_bid())  # 8000 cents at most
    cap.at("2026-11-20T10:00:01Z")
    cap.invoke(AGG1, "PlaceBid", capacity_bid(id="B4", device="D4", price_eur_per_mwh=30.0))  # 6000: alone it fits
    cap.at(AFTER)
    record = cap.invoke(DSO, "ClearMarket", "CAP1")
    assert record["unfunded_bids"] == ["B4"]
    assert cap.events("MarketCleared")[-1]["unfunded_bids"] == ["B4"]
    bids = {b["id"]: b for b in cap.invoke(AUDITOR, "ListBids", "CAP1")}
    assert bids["B4"]["status"] == "unfunded" and bids["B1"]["status"] == "active"
    clearing = cap.invoke(AUDITOR, "GetClearing", "CAP1")
    assert [b["id"] for b in clearing["input"]["bids"]] == ["B1"], "an unfunded bid takes no part in clearing"
    assert cap.invoke(AGG1, "GetBalance", "agg1MSP")["escrow_cents"] == 8000
    cap.invoke(SETTLE, "SettleMarket", "CAP1")
    balance = cap.invoke(AGG1, "GetBalance", "agg1MSP")
    assert balance["escrow_cents"] == 0 and balance["available_cents"] <= 10_000
    assert cap.total_cents() == total
