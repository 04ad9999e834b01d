"""Premium capacity: the awards that maximise the declared value of the capacity sold.

Value of an award = price × award × period hours × number of periods of the bid. The
problem is a multi-dimensional knapsack with semi-continuous items, solved exactly as a
MILP built with pyomo and solved by HiGHS (:mod:`clearing.capacity.milp`) — a greedy pass by price is wrong as soon as a bid is
all-or-nothing or has a minimum (tests show such a case).

Formulation, per connected component (see :mod:`clearing.capacity.components`):
    x_b ∈ [0, ub_b] MW, ub_b = min(quantity, smallest capacity in its periods)
    divisible, min_mw > 0:  min_b·y_b ≤ x_b ≤ ub_b·y_b, y_b binary
    non-divisible:          x_b = quantity_b·y_b, y_b binary
    divisible, min_mw = 0:  x_b continuous (no binary)
    Σ_{b on feeder f, t ∈ periods_b} x_b ≤ capacity_{f,t} for every cell that can bind
Stage 1 maximises V = Σ c_b·x_b, c_b = price_b × hours × |periods_b|, giving V*.
Stage 2 breaks ties between equal-value optima with the priority score
    P = Σ w_b·x_b,  w_b = |periods_b|·(N − rank_b)/N,
rank_b = position of the bid by (timestamp, id) in its component of N bids, so that
capacity goes to earlier bids. It maximises V + ε·P with ε = 1e-4·V*/Σ w_b·ub_b (the
priority term is worth at most 1e-4 of the value, keeping it well above solver
precision). If that solution's value is below V* − tol, tol = 1e-6 + 1e-9·V* EUR (the
priority term bought priority with value), it re-solves instead with V ≥ V* − tol and
maximises P alone. Either way the awards are value-optimal within tol and, among
exactly tied optima, maximise P. (A pure "V ≥ V* − tol, max P" stage is slower — the
pinned value makes a hard knapsack row — and spends the tolerance on priority.)

Awards are rounded to the nearest 1 W, checked in integers against every limit, and any
overshoot left by rounding or solver tolerances (a few W at most) is taken back from the
latest divisible bids in the cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from clearing.capacity.components import Component, split_components
from clearing.capacity.grid import check_awards
from clearing.capacity.milp import CompiledMILP
from clearing.capacity.model import Bid, CapacityMarket
from clearing.capacity.units import MICRO, from_micro
from clearing.errors import SolverError

#: Fixed HiGHS options: one thread, fixed seed, proven optimality, tight tolerances.
SOLVER_OPTIONS: dict[str, Any] = {
    "threads": 1,
    "random_seed": 0,
    "mip_rel_gap": 0.0,
    "mip_abs_gap": 1e-6,
    "primal_feasibility_tolerance": 1e-9,
    "mip_feasibility_tolerance": 1e-9,
    "presolve": "on",
    "parallel": "off",
    "output_flag": False,
}
#: Weight of the priority term in stage 2, as a share of the optimal value (see the module docstring).
PERTURBATION = 1e-4


@dataclass(frozen=True)
class _Column:
    """One bid as the MILP sees it (bounds in MW, floats derived from exact micro-MW)."""

    bid: Bid
    ub_micro: int
    lb_micro: int
    value_coef: float
    tie_coef: float

    @property
    def needs_binary(self) -> bool:
        return self.lb_micro > 0


def _columns(component: Component, hours: float) -> list[_Column]:
    ordered = sorted(component.bids, key=lambda bid: bid.arrival_key)
    n = len(ordered)
    columns = []
    for rank, bid in enumerate(ordered):
        columns.append(
            _Column(
                bid=bid,
                ub_micro=component.upper_bounds[bid.id],
                lb_micro=bid.min_micro,
                value_coef=bid.price_eur_per_mwh * hours * len(bid.periods),
                tie_coef=len(bid.periods) * (n - rank) / n,
            )
        )
    return sorted(columns, key=lambda column: column.bid.id)


def _build(columns: list[_Column], component: Component) -> pyo.ConcreteModel:
    model = pyo.ConcreteModel()
    index = range(len(columns))
    binaries = [i for i in index if columns[i].needs_binary]
    model.x = pyo.Var(index, bounds=lambda _m, i: (0.0, from_micro(columns[i].ub_micro)))
    model.y = pyo.Var(binaries, domain=pyo.Binary)
    model.link = pyo.ConstraintList()
    for i in binaries:
        column = columns[i]
        ub, lb = from_micro(column.ub_micro), from_micro(column.lb_micro)
        if column.bid.divisible:
            model.link.add(model.x[i] - ub * model.y[i] <= 0)
            model.link.add(model.x[i] - lb * model.y[i] >= 0)
        else:
            model.link.add(model.x[i] - ub * model.y[i] == 0)
    position = {column.bid.id: i for i, column in enumerate(columns)}
    model.capacity = pyo.ConstraintList()
    for cell in component.cells:
        members = [position[bid_id] for bid_id in component.cell_bids[cell]]
        model.capacity.add(pyo.quicksum(model.x[i] for i in members) <= from_micro(component.capacity[cell]))
    model.value = pyo.Expression(expr=pyo.quicksum(columns[i].value_coef * model.x[i] for i in index))
    model.objective = pyo.Objective(expr=model.value, sense=pyo.maximize)
    return model


def _nearest_micro(value: float) -> int:
    """Nearest 1 W step (half-way rounds up; :func:`_repair` takes back any overshoot)."""
    return max(0, math.floor(value * MICRO + 0.5))


def _extract(columns: list[_Column], model: pyo.ConcreteModel, milp: CompiledMILP) -> dict[str, int]:
    awards: dict[str, int] = {}
    for i, column in enumerate(columns):
        if column.needs_binary and milp.value(model.y[i]) < 0.5:
            awards[column.bid.id] = 0
        elif not column.bid.divisible:
            awards[column.bid.id] = column.ub_micro
        else:
            nearest = _nearest_micro(milp.value(model.x[i]))
            awards[column.bid.id] = min(column.ub_micro, max(column.lb_micro, nearest))
    return awards


def _repair(component: Component, awards: dict[str, int]) -> None:
    """Take back solver-tolerance overshoot (a few micro-MW) from the latest divisible bids of a cell."""
    bids = {bid.id: bid for bid in component.bids}
    for cell in component.cells:
        members = component.cell_bids[cell]
        excess = sum(awards[bid_id] for bid_id in members) - component.capacity[cell]
        if excess <= 0:
            continue
        for bid_id in sorted(members, key=lambda b: bids[b].arrival_key, reverse=True):
            bid = bids[bid_id]
            room = awards[bid_id] - bid.min_micro if awards[bid_id] else 0
            if bid.divisible and room > 0:
                cut = min(room, excess)
                awards[bid_id] -= cut
                excess -= cut
            if excess <= 0:
                break
        if excess > 0:
            raise SolverError(
                f"feeder {cell[0]!r} period {cell[1]}: solver awards exceed capacity by {excess} W"
            )


def _tolerance(best: float) -> float:
    """Value a tie-break may give up: solver precision, far below a cent."""
    return 1e-6 + 1e-9 * abs(best)


def solve_component(component: Component, hours: float) -> dict[str, int]:
    """Value-optimal awards of one component, ties going to earlier bids, in micro-MW."""
    columns = _columns(component, hours)
    model = _build(columns, component)
    milp = CompiledMILP(model, SOLVER_OPTIONS)
    best = milp.maximise(model.value, "value maximisation")
    priority = pyo.quicksum(column.tie_coef * model.x[i] for i, column in enumerate(columns))
    settled = False
    if best > 0:
        reach = sum(column.tie_coef * from_micro(column.ub_micro) for column in columns)
        epsilon = PERTURBATION * best / reach
        milp.maximise(model.value + epsilon * priority, "tie-break")
        settled = milp.value(model.value) >= best - _tolerance(best)
    if not settled:
        # the priority term bought priority with value (or every bid is free): pin the value instead
        model.value_floor = pyo.Constraint(expr=model.value >= best - _tolerance(best))
        milp.add_constraint(model.value_floor)
        milp.maximise(priority, "tie-break")
    awards = _extract(columns, model, milp)
    _repair(component, awards)
    return awards


def allocate_premium(instance: CapacityMarket) -> dict[str, int]:
    """Awards in micro-MW per bid id maximising the declared value, component by component."""
    capacity = instance.capacity_micro()
    split = split_components(instance.bids, capacity)
    awards = dict(split.fixed)
    for component in split.components:
        awards.update(solve_component(component, instance.market.hours))
    check_awards(instance.bids, awards, capacity)
    return awards
