"""Market management: creation and editing by the DSO, enrolment, DSO flexibility requests, gate closure."""

from __future__ import annotations

import pytest
from cc_fakes import Chain
from cc_world import (
    AFTER,
    AGG1,
    AUDITOR,
    DSO,
    DURING,
    GATE_CLOSES,
    RULES,
    SETTLE,
    capacity_market,
    flex_request,
)


def test_dso_creates_a_capacity_market_on_the_latest_network(world: Chain) -> None:
    market = world.invoke(DSO, "CreateMarket", capacity_market())
    assert market["status"] == "open"
    assert market["network_version"] == 1
    assert market["gate_closes"] == "2026-11-20T12:00:00.000Z"
    assert market["buyer"] == "dsoMSP"
    assert world.invoke(AUDITOR, "ReadMarket", "CAP1")["rules"] == RULES
    assert [m["id"] for m in world.invoke(AUDITOR, "ListMarkets", {"kind": "capacity_day_ahead"})] == ["CAP1"]


def test_only_the_dso_creates_markets(world: Chain) -> None:
    world.refuse(AGG1, "CreateMarket", capacity_market(), field="caller.role")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "spot"}, "market.kind"),
        ({"id": "a b"}, "market.id"),
        ({"feeder": "F9"}, "market.feeder"),
        ({"feeder": None}, "market.feeder"),
        ({"day": "tomorrow"}, "market.day"),
        ({"rule": "vcg"}, "market.rule"),
        ({"priority": "random"}, "market.priority"),
        ({"pricing": "second_price"}, "market.pricing"),
        ({"gate_opens": "2026-11-20 09:00"}, "market.gate_opens"),
        ({"gate_closes": "2026-11-20T08:00:00Z"}, "market.gate_closes"),
        ({"gate_opens": "2026-11-19T00:00:00Z", "gate_closes": "2026-11-20T07:00:00Z"}, "market.gate_closes"),
        ({"periods": 0}, "market.periods"),
        ({"periods": 96, "period_minutes": 60}, "market.periods"),
        ({"rules": {**RULES, "price_resolution_eur": 0}}, "market.rules.price_resolution_eur"),
        ({"rules": {**RULES, "min_quantity_mw": 6.0}}, "market.rules.min_quantity_mw"),
        ({"rules": {**RULES, "min_price_eur_per_mwh": 600.0}}, "market.rules.min_price_eur_per_mwh"),
        ({"rules": {**RULES, "max_price_eur_per_mwh": 100.25}}, "market.rules.max_price_eur_per_mwh"),
        ({"rules": {k: v for k, v in RULES.items() if k != "quantity_step_mw"}}, "market.rules.quantity_step_mw"),
        ({"budget_cents": 5}, "market.budget_cents"),
        ({"colour": "red"}, "market.colour"),
    ],
)
def test_bad_market_is_refused(world: Chain, change: dict, field: str) -> None:
    world.refuse(DSO, "CreateMarket", capacity_market(**change), field=field)


def test_market_id_is_unique(world: Chain) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market())
    world.refuse(DSO, "CreateMarket", capacity_market(), field="market.id")


def test_market_is_edited_only_before_its_gate_opens(world: Chain) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market())
    edited = world.invoke(DSO, "UpdateMarket", "CAP1", {"rules": {"max_price_eur_per_mwh": 300.0}, "pricing": "uniform"})
    assert edited["rules"]["max_price_eur_per_mwh"] == 300.0
    assert edited["rules"]["quantity_step_mw"] == RULES["quantity_step_mw"]
    assert edited["pricing"] == "uniform"
    world.refuse(DSO, "UpdateMarket", "CAP1", {"feeder": "F2"}, field="patch.feeder")
    world.refuse(DSO, "UpdateMarket", "CAP1", {"rule": "lottery"}, field="patch.rule")
    world.refuse(AGG1, "UpdateMarket", "CAP1", {"pricing": "uniform"}, field="caller.role")
    world.at(DURING)
    world.refuse(DSO, "UpdateMarket", "CAP1", {"pricing": "pay_as_bid"}, field="id")


def test_enrolment_once_and_only_until_gate_closure(world: Chain) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market())
    assert world.invoke(AGG1, "EnrolInMarket", "CAP1")["participant"] == "agg1MSP"
    world.refuse(AGG1, "EnrolInMarket", "CAP1", field="marketId")
    world.refuse(DSO, "EnrolInMarket", "CAP1", field="caller.role")
    world.refuse(AGG1, "EnrolInMarket", "NOPE", field="marketId")
    assert world.invoke(AUDITOR, "ReadMarket", "CAP1")["enrolled"] == ["agg1MSP"]
    world.at(GATE_CLOSES)
    from cc_world import AGG2

    world.refuse(AGG2, "EnrolInMarket", "CAP1", field="marketId")


def test_flexibility_request_opens_a_market_and_escrows_the_budget(world: Chain) -> None:
    total = world.total_cents()
    market = world.invoke(DSO, "RequestFlexibility", flex_request())
    assert market["kind"] == "flexibility"
    assert market["rule"] == "vcg"
    assert market["periods"] == 4  # from the day's baseline
    balance = world.invoke(DSO, "GetBalance", "dsoMSP")
    assert balance["escrow_cents"] == 50_000
    assert balance["escrow_by_market"] == {"FLEX1": 50_000}
    assert world.total_cents() == total
    world.assert_escrow_consistent()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"budget_cents": 10**9}, "request.budget_cents"),
        ({"budget_cents": -1}, "request.budget_cents"),
        ({"budget_cents": 1.5}, "request.budget_cents"),
        ({"day": "2030-01-01"}, "request.day"),
        ({"feeder": "F9"}, "request.feeder"),
        ({"rule": "premium_capacity"}, "request.rule"),
        ({"kind": "capacity_day_ahead"}, "request.kind"),
    ],
)
def test_bad_flexibility_request_is_refused(world: Chain, change: dict, field: str) -> None:
    world.refuse(DSO, "RequestFlexibility", flex_request(**change), field=field)


def test_flexibility_market_may_cover_the_whole_network(world: Chain) -> None:
    request = flex_request()
    del request["feeder"]
    assert world.invoke(DSO, "RequestFlexibility", request)["feeder"] is None


def test_gate_closes_only_after_its_time_and_emits_an_event(world: Chain) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market())
    world.at(DURING)
    world.refuse(DSO, "CloseGate", "CAP1", field="marketId")
    world.at(AFTER)
    world.refuse(SETTLE, "CloseGate", "CAP1", field="caller.role")
    assert world.invoke(DSO, "CloseGate", "CAP1")["status"] == "closed"
    assert world.events("GateClosed") == [{"market_id": "CAP1", "bids": 0, "closed_at": "2026-11-20T12:30:00.000Z"}]
    world.refuse(DSO, "CloseGate", "CAP1", field="marketId")
