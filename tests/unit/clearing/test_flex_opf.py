"""The dispatch of the flexibility OPF (seed 004 eqs. 1-15)."""

from __future__ import annotations

import pytest
from flex_cases import chain_doc, offer

from clearing import InfeasibleError
from clearing.flex import FlexInstance, clear_flexibility
from clearing.flex.reference import solve_reference
from clearing.flex.synthetic import feeder_document


def test_low_voltage_is_relieved_by_the_cheapest_offers() -> None:
    result = clear_flexibility(chain_doc(), "vcg")
    # 0.5625 MW of relief at node 2: all of A (@10), then C (@20) for the rest; B (@30) idle
    assert result["dispatch_mw"] == {"A": {"p_up": [0.4]}, "B": {"p_up": [0.0]}, "C": {"p_up": [0.1625]}}
    assert result["voltages_pu"]["2"] == [0.95]
    assert result["total_cost_eur"] == pytest.approx(0.4 * 10 + 0.1625 * 20)
    assert result["shed_load_mwh"] == 0.0


def test_without_flexibility_the_voltage_is_held_by_load_shedding() -> None:
    result = clear_flexibility(chain_doc(offers=[]), "vcg")
    assert result["shed_load_mwh"] == pytest.approx(0.5625)
    assert result["total_cost_eur"] == pytest.approx(0.5625 * 450)


def test_branch_overload_is_relieved_by_the_cheapest_offers_downstream() -> None:
    offers = [
        offer("cheap", "a", "1", "p_up", 10.0, [0.3]),
        offer("dear", "b", "1", "p_up", 30.0, [1.0]),
        offer("mid", "c", "2", "p_up", 20.0, [0.3]),
        offer("upstream", "d", "0", "p_up", 1.0, [5.0]),  # at the slack: cannot relieve branch 0-1
    ]
    doc = chain_doc(demand_at_2=2.2, offers=offers, p_max_01=2.0)
    doc["network"]["v_min_pu"] = 0.9  # only the branch limit binds
    result = clear_flexibility(doc, "vcg")
    dispatch = {k: v["p_up"][0] for k, v in result["dispatch_mw"].items()}
    assert dispatch == {"cheap": 0.2, "dear": 0.0, "mid": 0.0, "upstream": 0.0}


def test_high_voltage_from_generation_is_relieved_by_down_offers() -> None:
    offers = [
        offer("absorb", "a", "2", "p_down", 15.0, [1.0]),
        offer("absorb_dear", "b", "2", "p_down", 40.0, [1.0]),
    ]
    doc = chain_doc(demand_at_2=0.0, offers=offers)
    doc["baseline"][0]["generation_mw"] = 3.0  # U2 = 1.12 > 1.1025
    result = clear_flexibility(doc, "dlmp")
    assert result["dispatch_mw"]["absorb"]["p_down"] == [pytest.approx(0.4375)]
    assert result["dispatch_mw"]["absorb_dear"]["p_down"] == [0.0]
    assert result["voltages_pu"]["2"] == [1.05]
    assert result["shed_generation_mwh"] == 0.0


def test_fixed_substation_exchange_forces_flexibility() -> None:
    offers = [offer("gen", "a", "1", "p_up", 25.0, [2.0]), offer("gen2", "b", "2", "p_up", 35.0, [2.0])]
    doc = chain_doc(demand_at_2=1.0, offers=offers)
    doc["substation"] = {"p_mw": [0.4], "q_mvar": None}  # only 0.4 MW may be imported
    result = clear_flexibility(doc, "vcg")
    assert result["dispatch_mw"]["gen"]["p_up"] == [0.6]
    assert result["total_cost_eur"] == pytest.approx(15.0)


def test_impossible_substation_exchange_is_infeasible() -> None:
    doc = chain_doc(demand_at_2=1.0, offers=[])
    doc["substation"] = {"p_mw": [-5.0], "q_mvar": None}  # export 5 MW with nothing to produce it
    with pytest.raises(InfeasibleError, match="period 0"):
        clear_flexibility(doc, "vcg")


def test_equal_cost_tie_goes_to_the_offer_whose_id_sorts_first() -> None:
    offers = [offer("z-offer", "z", "2", "p_up", 10.0, [1.0]), offer("a-offer", "a", "2", "p_up", 10.0, [1.0])]
    result = clear_flexibility(chain_doc(offers=offers), "vcg")
    assert result["dispatch_mw"]["a-offer"]["p_up"] == [0.5625]
    assert result["dispatch_mw"]["z-offer"]["p_up"] == [0.0]


def test_fast_path_cost_equals_the_full_pyomo_model_solved_from_scratch() -> None:
    doc = feeder_document(nodes=20, periods=6, offers=25, owners=8, seed=7)
    result = clear_flexibility(doc, "dlmp")
    reference = solve_reference(FlexInstance.from_document(doc))
    assert result["total_cost_eur"] == pytest.approx(reference.objective, abs=1e-5)
    assert result["total_cost_eur"] > 0


def test_reactive_offers_support_voltage() -> None:
    offers = [offer("q", "a", "2", "q_up", 5.0, [2.0]), offer("p", "b", "2", "p_up", 50.0, [2.0])]
    result = clear_flexibility(chain_doc(offers=offers), "vcg")
    # with r = x, 1 MVAr injected relieves as much as 1 MW; Q is cheaper
    assert result["dispatch_mw"]["q"]["q_up"] == [0.5625]
    assert result["dispatch_mw"]["p"]["p_up"] == [0.0]
