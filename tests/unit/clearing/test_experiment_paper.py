"""The paper instance builder: the feeder data and the documents it builds are what seed 004 describes."""

from __future__ import annotations

import json
import math

import pytest

from clearing.errors import ValidationError
from clearing.flex import FlexInstance
from experiments import paper


def test_feeder_is_the_15_node_radial_feeder_rooted_at_the_substation() -> None:
    feeder = paper.load_feeder()
    assert feeder.nodes == tuple(str(i) for i in range(15)) and feeder.slack == "0"
    assert len(feeder.branches) == 14
    parents = {b.to_node: b.from_node for b in feeder.branches}
    assert set(parents) == set(feeder.nodes) - {"0"}  # every node but the slack has exactly one parent
    for node in parents:  # and every path leads back to the substation
        seen = set()
        while node != "0":
            assert node not in seen
            seen.add(node)
            node = parents[node]
    assert feeder.peak_aggregate_load_mw == pytest.approx(1.2264)


def test_branch_impedances_are_the_ohm_values_in_per_unit_of_11_kv_1_mva() -> None:
    raw = json.loads(paper.FEEDER_FILE.read_text(encoding="utf-8"))
    z_base = raw["base_kv"] ** 2 / raw["base_mva"]
    assert z_base == 121.0
    for b in raw["branches"]:
        assert b["r_pu"] == pytest.approx(b["r_ohm"] / z_base, abs=1e-8)
        assert b["x_pu"] == pytest.approx(b["x_ohm"] / z_base, abs=1e-8)
    first = next(b for b in raw["branches"] if b["id"] == "0-1")
    assert (first["r_ohm"], first["x_ohm"]) == (1.35309, 1.32349)  # Das et al. 1995, branch 1-2


def test_branch_limits_follow_the_documented_rule_of_125_percent_of_peak_load_flow() -> None:
    raw = json.loads(paper.FEEDER_FILE.read_text(encoding="utf-8"))
    children: dict[str, list[str]] = {}
    for b in raw["branches"]:
        children.setdefault(b["from"], []).append(b["to"])
    loads = {ld["node"]: (ld["p_kw"], ld["q_kvar"]) for ld in raw["loads"]}

    def subtree(node: str, k: int) -> float:
        return loads.get(node, (0.0, 0.0))[k] + sum(subtree(c, k) for c in children.get(node, []))

    def rule(kw: float) -> float:
        return round(max(0.1, math.ceil(1.25 * kw / 1000 / 0.05 - 1e-9) * 0.05), 2)

    for b in raw["branches"]:
        assert b["p_max_mw"] == rule(subtree(b["to"], 0)), b["id"]
        assert b["q_max_mvar"] == rule(subtree(b["to"], 1)), b["id"]


@pytest.mark.parametrize("liquidity, suppliers", [("high", 30), ("low", 9)])
@pytest.mark.parametrize("penetration", [0.0, 1.5])
def test_instances_pass_the_oracles_validation(liquidity: str, suppliers: int, penetration: float) -> None:
    doc = paper.paper_instance(liquidity, penetration)
    inst = FlexInstance.from_document(doc)
    assert inst.periods == 24
    assert len(doc["offers"]) == suppliers
    assert all(o["owner"] == o["id"] for o in doc["offers"])
    assert all(o["products"] for o in doc["offers"])


def test_dg_capacity_is_penetration_times_peak_load_split_over_six_units() -> None:
    feeder = paper.load_feeder()
    doc = paper.paper_instance("low", 1.2)
    gen = {}
    for row in doc["baseline"]:
        gen.setdefault(row["node"], []).append(row["generation_mw"])
    unit = 1.2 * 1.2264 / 6
    assert max(gen["2"]) == pytest.approx(unit * max(feeder.profiles["pv"]), abs=1e-6)
    assert max(gen["5"]) == pytest.approx(unit * max(feeder.profiles["wind"]), abs=1e-6)
    assert max(gen["1"]) == 0.0  # no DG at node 1
    tan = math.tan(math.acos(0.95))
    assert {row["generation_tan_phi"] for row in doc["baseline"]} == {round(tan, 6)}


def test_fixed_exchange_is_the_baselines_net_demand_and_free_exchange_is_null() -> None:
    doc = paper.paper_instance("high", 1.0)
    p_sub = doc["substation"]["p_mw"]
    net = sum(r["demand_mw"] - r["generation_mw"] for r in doc["baseline"] if r["period"] == 12)
    assert p_sub[12] == pytest.approx(net, abs=1e-6)
    free = paper.paper_instance("high", 1.0, fixed_exchange=False)
    assert free["substation"] == {"p_mw": None, "q_mvar": None}


def test_offers_override_replaces_the_suppliers_offers() -> None:
    only = [
        {
            "id": "x",
            "owner": "x",
            "node": "13",
            "products": {"p_down": {"price_eur_per_mwh": 1.0, "quantity_mw": [0.1] * 24}},
        }
    ]
    doc = paper.paper_instance("low", 0.5, offers_override=only)
    assert doc["offers"] == only


def test_bad_arguments_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as exc:
        paper.paper_instance("low", -0.1)
    assert exc.value.field == "dg_penetration"
    with pytest.raises(ValidationError) as exc:
        paper.paper_instance("medium", 1.0)
    assert exc.value.field == "liquidity"
