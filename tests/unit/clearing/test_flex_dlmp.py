"""DLMPs: duals of the node balances, equal to finite-difference marginal costs."""

from __future__ import annotations

import pytest
from flex_cases import chain_doc, clone

from clearing.flex import clear_flexibility

STEP = 1e-2  # MW (the result is rounded to 6 decimals: a larger step keeps that noise small)


def _nondegenerate_doc() -> dict:
    """Voltage case with a marginal offer (B) partly dispatched in both periods, load at nodes 1 and 2."""
    doc = chain_doc(periods=2)
    doc["period_minutes"] = 30  # prices must be scaled by the period length
    doc["baseline"][1]["demand_mw"] = 2.9
    for row in doc["baseline"]:
        row["demand_tan_phi"] = 0.2
    doc["baseline"] += [
        {"node": "1", "period": t, "demand_mw": 0.5, "demand_tan_phi": 0.3} for t in range(2)
    ]
    return doc


def _cost_with_extra(doc: dict, node: str, period: int, *, active: float, reactive: float) -> float:
    """Total cost with extra active (MW) / reactive (MVAr) demand at ``node`` in ``period``."""
    doc = clone(doc)
    row = next(r for r in doc["baseline"] if r["node"] == node and r["period"] == period)
    q = row["demand_mw"] * row.get("demand_tan_phi", 0.0) + reactive
    row["demand_mw"] += active
    row["demand_tan_phi"] = q / row["demand_mw"]
    return clear_flexibility(doc, "dlmp")["total_cost_eur"]


def test_dlmps_equal_finite_difference_marginal_costs() -> None:
    doc = _nondegenerate_doc()
    result = clear_flexibility(doc, "dlmp")
    hours = 0.5
    base = result["total_cost_eur"]
    for node in ("1", "2"):
        for t in range(2):
            dp = (_cost_with_extra(doc, node, t, active=STEP, reactive=0.0) - base) / STEP / hours
            dq = (_cost_with_extra(doc, node, t, active=0.0, reactive=STEP) - base) / STEP / hours
            assert result["dlmp_eur_per_mwh"]["P"][node][t] == pytest.approx(dp, abs=0.01), (node, t)
            assert result["dlmp_eur_per_mwh"]["Q"][node][t] == pytest.approx(dq, abs=0.01), (node, t)
    # the case is not trivial: the marginal offer B (@30 EUR/MWh, partly dispatched) sets the price at
    # node 2; a MW at node 1 loads only branch 0-1, so it costs half as much voltage relief
    assert result["dlmp_eur_per_mwh"]["P"]["2"] == [30.0, 30.0]
    assert result["dlmp_eur_per_mwh"]["P"]["1"] == [15.0, 15.0]
    assert result["dlmp_eur_per_mwh"]["P"]["0"] == [0.0, 0.0]


def test_dlmp_pays_each_owner_its_dispatch_at_the_nodal_price() -> None:
    doc = _nondegenerate_doc()
    result = clear_flexibility(doc, "dlmp")
    hours = 0.5
    for owner, oid in (("alice", "A"), ("bob", "B"), ("carol", "C")):
        expected = sum(
            result["dlmp_eur_per_mwh"]["P"]["2"][t] * result["dispatch_mw"][oid]["p_up"][t] * hours for t in range(2)
        )
        assert result["payments_eur"][owner] == pytest.approx(expected, abs=1e-6)
    assert result["payments_eur"]["alice"] > result["costs_eur"]["alice"]  # inframarginal rent


def test_down_offers_are_paid_minus_price_times_quantity() -> None:
    doc = chain_doc(demand_at_2=0.0, offers=[
        {"id": "D", "owner": "dora", "node": "2",
         "products": {"p_down": {"price_eur_per_mwh": 15.0, "quantity_mw": [0.3]}}},
        {"id": "E", "owner": "eve", "node": "2",
         "products": {"p_down": {"price_eur_per_mwh": 25.0, "quantity_mw": [1.0]}}},
    ])
    doc["baseline"][0]["generation_mw"] = 3.0
    result = clear_flexibility(doc, "dlmp")
    price = result["dlmp_eur_per_mwh"]["P"]["2"][0]
    assert price == pytest.approx(-25.0)  # more demand at node 2 saves the marginal down offer
    assert result["payments_eur"]["dora"] == pytest.approx(-price * 0.3)
    assert result["payments_eur"]["eve"] == pytest.approx(-price * result["dispatch_mw"]["E"]["p_down"][0])
