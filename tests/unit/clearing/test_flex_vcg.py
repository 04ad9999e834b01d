"""VCG (Clarke pivot) payments: exactness, individual rationality, truthfulness."""

from __future__ import annotations

import itertools

import pytest
from flex_cases import chain_doc, clone, offer

from clearing import InfeasibleError
from clearing.flex import FlexInstance, clear_flexibility
from clearing.flex.reference import solve_reference
from clearing.flex.synthetic import feeder_document


def test_payments_of_the_voltage_case_follow_the_clarke_pivot() -> None:
    result = clear_flexibility(chain_doc(), "vcg")
    # C* = 4 + 3.25 = 7.25. Without alice: C 0.3 @20 + B 0.2625 @30 = 13.875 -> pays 13.875 - 3.25
    # Without carol: A 0.4 @10 + B 0.1625 @30 = 8.875 -> pays 8.875 - 4. bob is idle: 0.
    assert result["payments_eur"] == {"alice": 10.625, "bob": 0.0, "carol": 4.875}
    assert result["costs_eur"] == {"alice": 4.0, "bob": 0.0, "carol": 3.25}


@pytest.mark.parametrize("seed", [3, 11])
def test_each_payment_equals_the_clarke_pivot_recomputed_from_scratch(seed: int) -> None:
    doc = feeder_document(nodes=15, periods=3, offers=14, owners=6, seed=seed)
    inst = FlexInstance.from_document(doc)
    result = clear_flexibility(doc, "vcg")
    optimum = solve_reference(inst).objective
    assert result["total_cost_eur"] == pytest.approx(optimum, abs=1e-5)
    dispatched = 0
    for owner in inst.owners:
        without = solve_reference(inst, removed_owners=[owner]).objective
        expected = without - (optimum - result["costs_eur"][owner])
        assert result["payments_eur"][owner] == pytest.approx(expected, abs=1e-5), owner
        dispatched += result["costs_eur"][owner] > 0
    assert dispatched >= 2  # the instance really exercises the re-solves


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_vcg_is_individually_rational(seed: int) -> None:
    result = clear_flexibility(feeder_document(nodes=20, periods=4, offers=20, owners=7, seed=seed), "vcg")
    for owner, payment in result["payments_eur"].items():
        assert payment >= result["costs_eur"][owner], owner


def test_owner_without_dispatch_is_paid_nothing() -> None:
    result = clear_flexibility(chain_doc(), "vcg")
    assert result["costs_eur"]["bob"] == 0.0
    assert result["payments_eur"]["bob"] == 0.0


def test_an_owner_is_one_player_for_all_its_offers() -> None:
    doc = chain_doc()
    doc["offers"][2]["owner"] = "alice"  # alice now owns A and C
    result = clear_flexibility(doc, "vcg")
    # without alice: B 0.5625 @30 = 16.875; alice's declared cost 7.25 -> pays 16.875 - 0
    assert result["payments_eur"]["alice"] == 16.875
    assert set(result["payments_eur"]) == {"alice", "bob"}


def test_removing_an_indispensable_owner_is_reported_as_infeasible() -> None:
    doc = chain_doc(offers=[offer("only", "solo", "1", "p_up", 25.0, [2.0])])
    doc["baseline"] = []  # nothing to shed
    doc["substation"] = {"p_mw": [-0.5], "q_mvar": None}  # the feeder must export 0.5 MW: only "only" can
    with pytest.raises(InfeasibleError, match="owner 'solo'"):
        clear_flexibility(doc, "vcg")
    assert clear_flexibility(doc, "dlmp")["dispatch_mw"]["only"]["p_up"] == [0.5]


def _utility(doc: dict, owner: str, true_doc: dict) -> float:
    """Payment minus the owner's true cost of what it is dispatched for."""
    result = clear_flexibility(doc, "vcg")
    true_prices = {
        (o["id"], k): p["price_eur_per_mwh"] for o in true_doc["offers"] for k, p in o["products"].items()
    }
    hours = true_doc["period_minutes"] / 60
    cost = sum(
        true_prices[oid, k] * sum(series) * hours
        for oid, products in result["dispatch_mw"].items()
        for k, series in products.items()
        if next(o for o in true_doc["offers"] if o["id"] == oid)["owner"] == owner
    )
    return result["payments_eur"][owner] - cost


def test_no_owner_gains_by_misreporting_price_or_quantity() -> None:
    """Exhaustive search over a grid of misreports (others truthful), on two periods."""
    offers = [
        offer("A", "alice", "2", "p_up", 10.0, [0.4, 0.2]),
        offer("B", "bob", "1", "p_up", 30.0, [1.0, 1.0]),
        offer("C", "carol", "2", "p_up", 20.0, [0.3, 0.5]),
    ]
    true_doc = chain_doc(offers=offers, periods=2)
    true_doc["baseline"][1]["demand_mw"] = 2.8
    price_factors = (0.0, 0.5, 1.0, 1.5, 2.0, 3.5, 60.0)
    quantity_factors = (0.0, 0.25, 0.5, 0.75, 1.0)
    for index, true_offer in enumerate(true_doc["offers"]):
        owner = true_offer["owner"]
        truthful = _utility(true_doc, owner, true_doc)
        assert truthful >= 0.0
        product = true_offer["products"]["p_up"]
        for pf, qf in itertools.product(price_factors, quantity_factors):
            lie = clone(true_doc)
            lied = lie["offers"][index]["products"]["p_up"]
            lied["price_eur_per_mwh"] = product["price_eur_per_mwh"] * pf
            lied["quantity_mw"] = [q * qf for q in product["quantity_mw"]]
            assert _utility(lie, owner, true_doc) <= truthful + 1e-6, (owner, pf, qf)


def test_sensitivity_shortcut_gives_the_same_payments_as_re_solving_every_withdrawal() -> None:
    from clearing.flex.clear import clear_instance

    inst = FlexInstance.from_document(feeder_document(nodes=40, periods=6, offers=80, owners=25, seed=2))
    fast = clear_instance(inst, "vcg")
    slow = clear_instance(inst, "vcg", sensitivity=False)
    assert fast["payments_eur"] == pytest.approx(slow["payments_eur"], abs=1e-6)
    assert sum(p > 0 for p in fast["payments_eur"].values()) >= 10


def test_subtrees_of_the_slack_cleared_apart_give_the_same_market_as_the_whole_feeder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from clearing.flex import clear as clear_module
    from clearing.flex.clear import clear_instance

    inst = FlexInstance.from_document(feeder_document(nodes=40, periods=4, offers=60, owners=20, seed=5))
    stats: dict[str, int] = {}
    split = clear_instance(inst, "vcg", stats=stats)
    assert stats["parts"] >= 2
    monkeypatch.setattr(clear_module, "split_feeder", lambda whole: [whole])
    whole = clear_instance(inst, "vcg", stats=stats)
    assert stats["parts"] == 1
    assert split["total_cost_eur"] == pytest.approx(whole["total_cost_eur"], abs=1e-5)
    assert split["payments_eur"] == pytest.approx(whole["payments_eur"], abs=1e-5)
    for node, prices in whole["dlmp_eur_per_mwh"]["P"].items():
        assert split["dlmp_eur_per_mwh"]["P"][node] == pytest.approx(prices, abs=1e-6)
    for node, volts in whole["voltages_pu"].items():
        assert split["voltages_pu"][node] == pytest.approx(volts, abs=1e-6)
