"""DSO network data: versioned feeder model, baselines, capacity limits."""

from __future__ import annotations

import copy

import pytest
from cc_fakes import Chain
from cc_world import AGG1, AUDITOR, BASELINE, DSO, NETWORK, PERIODS, capacity_market


def test_each_publication_is_a_new_version(chain: Chain) -> None:
    second = chain.invoke(DSO, "PublishNetwork", NETWORK)
    assert second["version"] == 2
    assert chain.invoke(AUDITOR, "ReadNetwork", "")["version"] == 2
    assert chain.invoke(AUDITOR, "ReadNetwork", "1")["feeders"] == {"F1": ["1", "2"], "F2": ["3"]}
    chain.refuse(AUDITOR, "ReadNetwork", "7", field="version")
    chain.refuse(AUDITOR, "ReadNetwork", "latest", field="version")


def test_only_the_dso_publishes_network_data(chain: Chain) -> None:
    chain.refuse(AGG1, "PublishNetwork", NETWORK, field="caller.role")
    chain.refuse(AGG1, "PublishBaseline", BASELINE, field="caller.role")


def _network(**changes: object) -> dict:
    doc = copy.deepcopy(NETWORK)
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (_network(feeders={"F1": ["1", "9"]}), "feeders.F1[1]"),
        (_network(feeders={"F1": ["1"], "F2": ["1"]}), "feeders.F2[0]"),
        (_network(feeders={}), "feeders"),
        (_network(feeders={"F1": []}), "feeders.F1"),
        ({"feeders": NETWORK["feeders"]}, "network"),
        (_network(extra=1), "extra"),
    ],
)
def test_bad_feeder_model_is_refused(chain: Chain, doc: dict, field: str) -> None:
    chain.refuse(DSO, "PublishNetwork", doc, field=field)


def test_network_is_checked_by_the_oracle_parser(chain: Chain) -> None:
    doc = copy.deepcopy(NETWORK)
    doc["network"]["branches"][1]["to"] = "0"
    chain.refuse(DSO, "PublishNetwork", doc, field="network.branches[1].to")
    doc = copy.deepcopy(NETWORK)
    doc["network"]["nodes"][1]["slack"] = True
    chain.refuse(DSO, "PublishNetwork", doc, field="network.nodes")


def test_baseline_is_versioned_per_day(chain: Chain) -> None:
    first = chain.invoke(DSO, "PublishBaseline", BASELINE)
    assert first["revision"] == 1 and first["network_version"] == 1
    assert chain.invoke(DSO, "PublishBaseline", BASELINE)["revision"] == 2
    assert chain.invoke(AGG1, "ReadBaseline", BASELINE["day"])["periods"] == PERIODS
    chain.refuse(AGG1, "ReadBaseline", "2030-01-01", field="day")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"day": "21.11.2026"}, "day"),
        ({"periods": 0}, "periods"),
        ({"periods": 48, "period_minutes": 60}, "periods"),
        ({"baseline": [{"node": "9", "period": 0, "demand_mw": 1.0}]}, "baseline[0].node"),
        ({"baseline": [{"node": "1", "period": 7, "demand_mw": 1.0}]}, "baseline[0].period"),
        ({"baseline": [{"node": "1", "period": 0, "demand_mw": -1.0}]}, "baseline[0].demand_mw"),
    ],
)
def test_bad_baseline_is_refused(chain: Chain, change: dict, field: str) -> None:
    chain.refuse(DSO, "PublishBaseline", {**BASELINE, **change}, field=field)


def test_capacity_limits_belong_to_a_capacity_market(world: Chain) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market())
    limits = [{"feeder": "F1", "period": p, "capacity_mw": 2.0} for p in range(PERIODS)]
    record = world.invoke(DSO, "PublishCapacityLimits", {"market_id": "CAP1", "limits": limits})
    assert len(record["limits"]) == PERIODS
    assert world.invoke(AGG1, "ReadCapacityLimits", "CAP1")["limits"][0]["capacity_mw"] == 2.0
    world.refuse(DSO, "PublishCapacityLimits", {"market_id": "NOPE", "limits": limits}, field="market_id")


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ([{"feeder": "F7", "period": 0, "capacity_mw": 1.0}], "limits[0].feeder"),
        ([{"feeder": "F1", "period": PERIODS, "capacity_mw": 1.0}], "limits[0].period"),
        ([{"feeder": "F1", "period": 0, "capacity_mw": -1.0}], "limits[0].capacity_mw"),
        ([{"feeder": "F1", "period": 0, "capacity_mw": 1.0}] * 2, "limits[1]"),
        ([], "limits"),
    ],
)
def test_bad_capacity_limits_are_refused(world: Chain, limits: list, field: str) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market())
    world.refuse(DSO, "PublishCapacityLimits", {"market_id": "CAP1", "limits": limits}, field=field)


def test_limits_from_day_ahead_only_for_intraday_markets(world: Chain) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market())
    world.refuse(DSO, "PublishCapacityLimits", {"market_id": "CAP1", "from_day_ahead": "CAP1"},
                 field="from_day_ahead")


def test_capacity_limits_are_frozen_once_the_gate_closes(cap: Chain) -> None:
    from cc_world import GATE_CLOSES

    cap.at(GATE_CLOSES)
    cap.refuse(DSO, "PublishCapacityLimits",
               {"market_id": "CAP1", "limits": [{"feeder": "F1", "period": 0, "capacity_mw": 9.0}]}, field="market_id")
