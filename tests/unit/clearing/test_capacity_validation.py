"""Every bad capacity document or bid is refused with an error naming the field (and the bid and rule)."""

from __future__ import annotations

from typing import Any

import pytest
from capacity_cases import bid, clone, doc, limit

from clearing import ValidationError
from clearing.api import clear
from clearing.capacity import MarketRules, clear_capacity, validate_bid

GOOD = doc([bid("b1", 0.3, 40.0)], [limit(1.0)])


def refused(document: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        clear_capacity(document)
    return info.value


def with_bid(**changes: Any) -> dict:
    document = clone(GOOD)
    document["bids"][0].update(changes)
    return document


def with_market(**changes: Any) -> dict:
    document = clone(GOOD)
    document["market"].update(changes)
    return document


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (with_bid(quantity_mw=0.0), "bids[0].quantity_mw"),
        (with_bid(quantity_mw=-1.0), "bids[0].quantity_mw"),
        (with_bid(quantity_mw="1"), "bids[0].quantity_mw"),
        (with_bid(quantity_mw=True), "bids[0].quantity_mw"),
        (with_bid(quantity_mw=0.1234567), "bids[0].quantity_mw"),
        (with_bid(min_mw=0.5), "bids[0].min_mw"),
        (with_bid(price_eur_per_mwh=-1.0), "bids[0].price_eur_per_mwh"),
        (with_bid(periods=[]), "bids[0].periods"),
        (with_bid(periods=[0, 0]), "bids[0].periods"),
        (with_bid(periods=[4]), "bids[0].periods[0]"),
        (with_bid(periods=[1.0]), "bids[0].periods[0]"),
        (with_bid(divisible="yes"), "bids[0].divisible"),
        (with_bid(timestamp="yesterday"), "bids[0].timestamp"),
        (with_bid(timestamp="2026-11-20T09:00:00"), "bids[0].timestamp"),
        (with_bid(timestamp="2026-02-30T09:00:00Z"), "bids[0].timestamp"),
        (with_bid(owner=""), "bids[0].owner"),
        (with_bid(feeder=None), "bids[0].feeder"),
        (with_bid(colour="red"), "bids[0].colour"),
        (with_market(rule="auction"), "market.rule"),
        (with_market(stage="real_time"), "market.stage"),
        (with_market(priority="random"), "market.priority"),
        (with_market(pricing="vickrey"), "market.pricing"),
        (with_market(periods=0), "market.periods"),
        (with_market(period_minutes=7.5), "market.period_minutes"),
        (with_market(rules={"quantity_step_mw": 0}), "market.rules.quantity_step_mw"),
        (with_market(rules={"min_price_eur_per_mwh": 10.0, "max_price_eur_per_mwh": 5.0}),
         "market.rules.min_price_eur_per_mwh"),
        (with_market(rules={"tick": 1}), "market.rules.tick"),
        ({**GOOD, "schema": "flexledger.capacity/2"}, "schema"),
        ({**GOOD, "limits": {"F1": 1.0}}, "limits"),
        ({**GOOD, "limits": [limit(1.0), limit(2.0)]}, "limits[1]"),
        ({**GOOD, "limits": [limit(-1.0)]}, "limits[0].capacity_mw"),
        ({**GOOD, "limits": [limit(1.0, period=9)]}, "limits[0].period"),
        ({**GOOD, "bids": [bid("b1", 0.1), bid("b1", 0.2)]}, "bids[1].id"),
        ({**GOOD, "extra": 1}, "extra"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_naming_the_field(document: dict, field: str) -> None:
    assert refused(document).field == field


def test_missing_fields_are_named() -> None:
    document = clone(GOOD)
    del document["bids"][0]["timestamp"]
    error = refused(document)
    assert error.field == "bids[0].timestamp"
    assert "required" in error.message


def test_optional_fields_take_documented_defaults() -> None:
    document = clone(GOOD)
    for key in ("stage", "priority", "pricing", "period_minutes"):
        del document["market"][key]
    del document["bids"][0]["min_mw"]
    result = clear_capacity(document)
    assert result["market"] == {"id": "cap-test", "stage": "day_ahead"}
    assert result["mechanism"] == "premium_capacity/pay_as_bid"
    assert result["input_hash"] == clear_capacity(GOOD)["input_hash"]


RULES = {
    "price_resolution_eur": 0.5,
    "quantity_step_mw": 0.05,
    "min_quantity_mw": 0.1,
    "max_quantity_mw": 2.0,
    "min_price_eur_per_mwh": 5.0,
    "max_price_eur_per_mwh": 500.0,
}


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"price_eur_per_mwh": 40.25}, "price_eur_per_mwh", "price_resolution_eur"),
        ({"quantity_mw": 0.33}, "quantity_mw", "quantity_step_mw"),
        ({"min_mw": 0.12}, "min_mw", "quantity_step_mw"),
        ({"quantity_mw": 0.05}, "quantity_mw", "min_quantity_mw"),
        ({"quantity_mw": 2.05}, "quantity_mw", "max_quantity_mw"),
        ({"price_eur_per_mwh": 4.5}, "price_eur_per_mwh", "min_price_eur_per_mwh"),
        ({"price_eur_per_mwh": 500.5}, "price_eur_per_mwh", "max_price_eur_per_mwh"),
    ],
)
def test_a_bid_breaking_a_market_rule_is_refused_naming_the_bid_and_the_rule(
    changes: dict, field: str, rule: str
) -> None:
    document = with_market(rules=RULES)
    document["bids"] = [bid("ok", 0.3, 40.0), bid("bad-bid", 0.3, 40.0)]
    document["bids"][1].update(changes)
    error = refused(document)
    assert error.field == f"bids[1].{field}"
    assert "'bad-bid'" in error.message
    assert rule in error.message


def test_bids_on_the_rule_grids_are_accepted() -> None:
    document = with_market(rules=RULES)
    document["bids"] = [bid("b1", 0.35, 40.5, min_mw=0.15), bid("b2", 2.0, 500.0), bid("b3", 0.1, 5.0)]
    # accepted (no error); b2 outbids the others for the whole 1 MW
    assert clear_capacity(document)["awards_mw"] == {"b1": 0.0, "b2": 1.0, "b3": 0.0}


def test_decimal_grids_are_checked_exactly_not_with_float_remainders() -> None:
    # 0.3 % 0.1 == 0.09999999999999998 in floats; as decimals 0.3 is a multiple of 0.1
    rules = {"quantity_step_mw": 0.1, "price_resolution_eur": 0.01}
    assert validate_bid(bid("b", 0.3, 19.99), rules, periods=4).quantity_mw == 0.3


def test_validate_bid_refuses_at_placement_time_with_the_same_words_as_the_oracle() -> None:
    raw = bid("late-bid", 0.0005, 40.0)
    rules = MarketRules(quantity_step_mw=0.001)
    with pytest.raises(ValidationError) as placed:
        validate_bid(raw, rules, periods=4)
    assert placed.value.field == "bid.quantity_mw"
    document = with_market(rules={"quantity_step_mw": 0.001})
    document["bids"] = [raw]
    assert refused(document).message == placed.value.message


def test_validate_bid_returns_the_normalised_bid() -> None:
    parsed = validate_bid(bid("b", 0.3, 40.0, periods=(3, 1)), None, periods=4)
    assert parsed.periods == (1, 3)
    assert parsed.min_mw == 0.0
    assert parsed.timestamp_ns == 1_795_165_200_000_000_000


def test_the_capacity_schema_goes_through_the_common_entry_point_and_refuses_a_mechanism() -> None:
    assert clear(GOOD)["schema"] == "flexledger.capacity-result/1"
    with pytest.raises(ValidationError) as info:
        clear(GOOD, mechanism="vcg")
    assert info.value.field == "mechanism"
