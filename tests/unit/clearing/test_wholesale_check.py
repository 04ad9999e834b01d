"""The DSO's network check of wholesale orders: hand-checked curtailment, and that no acceptance of what
was forwarded can break a limit (the property the exchange and the TSO rely on)."""

from __future__ import annotations

import pytest
from flex_cases import chain_doc
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.errors import ValidationError
from clearing.wholesale import Feeder, Order, curtail, violations


def feeder(demand: float = 1.0, injections: dict | None = None, p_max_01: float | None = None) -> Feeder:
    return Feeder(chain_doc(demand_at_2=demand, offers=[], p_max_01=p_max_01), injections)


def test_sell_at_the_end_of_the_feeder_is_curtailed_at_the_voltage_limit() -> None:
    # U2 = 0.96 + 0.04 q <= 1.05^2 = 1.1025  ->  q <= 3.5625, rounded down to the 1 kW step
    assert curtail(feeder(), [Order("S", "2", 1, (5.0,))]) == {"S": [3.562]}


def test_buy_at_the_end_of_the_feeder_is_curtailed_at_the_lower_voltage_limit() -> None:
    # U2 = 0.96 - 0.04 q >= 0.95^2 = 0.9025  ->  q <= 1.4375
    assert curtail(feeder(), [Order("B", "2", -1, (5.0,))]) == {"B": [1.437]}


def test_orders_are_granted_in_the_given_order_and_reserved_orders_come_first() -> None:
    first, second = Order("A", "2", 1, (3.0,)), Order("B", "2", 1, (3.0,))
    assert curtail(feeder(), [first, second]) == {"A": [3.0], "B": [0.562]}
    assert curtail(feeder(), [second], reserved=[first]) == {"B": [0.562]}


def test_a_limit_the_base_already_breaks_admits_only_orders_that_relieve_it() -> None:
    broken = feeder(demand=3.0)  # U2 = 0.88 < 0.9025
    assert curtail(broken, [Order("B", "2", -1, (1.0,)), Order("S", "2", 1, (1.0,))]) == {"B": [0.0], "S": [1.0]}
    assert violations(broken, {("2", 0): 0.5}) == []  # relieving is never a violation
    [worse] = violations(broken, {("2", 0): -0.5})
    assert (worse.kind, worse.where) == ("v_min", "2")


def test_branch_limit_binds_in_both_directions() -> None:
    limited = feeder(demand=1.0, p_max_01=1.5)  # flow 1.0 MW on 0-1
    assert curtail(limited, [Order("B", "1", -1, (2.0,))]) == {"B": [0.499]}
    assert curtail(limited, [Order("S", "1", 1, (4.0,))]) == {"S": [2.499]}
    [v] = violations(limited, {("1", 0): -0.6})
    assert (v.kind, v.where, v.period) == ("p_max", "0-1", 0)


def test_firm_injections_shift_the_base_state() -> None:
    assert curtail(feeder(injections={("2", 0): 3.0}), [Order("S", "2", 1, (5.0,))]) == {"S": [0.562]}


def test_unknown_nodes_and_periods_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="orders.X.node"):
        curtail(feeder(), [Order("X", "9", 1, (1.0,))])
    with pytest.raises(ValidationError, match="injections.period"):
        feeder(injections={("2", 3): 1.0})


ORDERS = st.lists(st.tuples(st.sampled_from(["1", "2"]), st.sampled_from([1, -1]),
                            st.floats(0, 4, allow_nan=False).map(lambda q: round(q, 3))), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(orders=ORDERS, fractions=st.lists(st.floats(0, 1), min_size=6, max_size=6), demand=st.floats(0, 2.5))
def test_no_partial_acceptance_of_forwarded_orders_breaks_a_limit(orders, fractions, demand) -> None:
    grid = feeder(demand=round(demand, 3), p_max_01=2.0)
    forwarded = curtail(grid, [Order(f"O{i}", n, s, (q,)) for i, (n, s, q) in enumerate(orders)])
    again = curtail(grid, [Order(f"O{i}", n, s, (q,)) for i, (n, s, q) in enumerate(orders)])
    assert forwarded == again
    taken: dict[tuple[str, int], float] = {}
    for i, (node, sign, _) in enumerate(orders):
        taken[(node, 0)] = taken.get((node, 0), 0.0) + sign * forwarded[f"O{i}"][0] * fractions[i]
    assert violations(grid, taken) == []
