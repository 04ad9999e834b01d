"""Clearing a flexibility market: dispatch (OPF), tie-break, and VCG or DLMP payments.

Per period ``t`` (no constraint links periods) and, when the substation exchange is free, per
independent subtree of the slack node (:mod:`clearing.flex.split`):

1. solve the cost-minimal dispatch (stage 1), warm-started from the previous period's basis;
   keep its optimal cost ``C*_t``, its basis and its duals (the DLMPs);
2. **tie-break** among equal-cost optima (stage 2): with the extra constraint
   ``cost <= C*_t (1 + 1e-9)``, minimise ``sum_k w_k x_k`` over the offer and shedding columns,
   ``w_k = 1 + k / (2 K)`` where ``k`` is the column's rank in the sorted order (offers by id, then
   products in the order p_up, p_down, q_up, q_down; then load shedding by node id; then generation
   shedding by node id) and ``K`` the number of such columns. So the oracle activates the least
   total volume, and among equal volumes prefers offers whose id sorts first. Duals come from
   stage 1 (they are the prices of the cost-minimisation problem);
3. **VCG**: for each owner with a dispatch > :data:`DISPATCH_EPS` in ``t`` (in both the stage-1 and
   the final optimum), find ``C*_{-o,t}``, the optimum with the owner's offers set to 0: by LP
   sensitivity when the stage-1 basis stays optimal (:meth:`PeriodLP.withdrawal_delta`, exact, no
   solve), otherwise by a warm re-solve; the owners of a period go in sorted order, the first warm
   from the stage-1 basis, each next one from the basis the previous left. An owner not
   dispatched in ``t`` leaves ``C*_t`` unchanged (its zero dispatch stays optimal without it), so
   ``C*_{-o} - C* = sum_t (C*_{-o,t} - C*_t)`` over the periods it is dispatched in, and an owner
   never dispatched is paid 0 without any re-solve. Each difference is clamped at >= 0 (removing
   offers cannot lower an optimum; the clamp only removes solver round-off). Then
   ``payment_o = C*_{-o} - (C* - cost_o) = cost_o + sum_t (C*_{-o,t} - C*_t)``.
   If removing an owner leaves a period infeasible, the Clarke pivot is undefined: clearing fails
   with :class:`InfeasibleError` naming the owner and period;
4. **DLMP**: price = dual of the node balance (eqs. 8/9) / hours, in EUR/MWh (EUR/MVArh for Q): the
   marginal cost of 1 MW more demand at the node in that period; each offer is paid
   ``sum_t price x (up - down) x hours`` for P and Q, summed per owner.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from clearing import canonical
from clearing.errors import InfeasibleError, ValidationError
from clearing.flex.instance import FlexInstance
from clearing.flex.lp import PeriodLP
from clearing.flex.opf import Layout
from clearing.flex.oracle import oracle_info
from clearing.flex.split import split_feeder

RESULT_SCHEMA = "flexledger.clearing-result/1"
MECHANISMS = ("vcg", "dlmp")

#: Dispatch below this (MW) is treated as exactly 0 (solver round-off).
DISPATCH_EPS = 1e-9


def clear_flexibility(doc: Mapping[str, Any], mechanism: str = "vcg") -> dict[str, Any]:
    """Clear a ``flexledger.clearing/1`` document; return the rounded result document."""
    if mechanism not in MECHANISMS:
        raise ValidationError("mechanism", f"unknown mechanism {mechanism!r}; expected one of {', '.join(MECHANISMS)}")
    inst = FlexInstance.from_document(doc)
    return clear_instance(inst, mechanism)


def clear_instance(
    inst: FlexInstance,
    mechanism: str = "vcg",
    *,
    sensitivity: bool = True,
    stats: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Clear a parsed instance (see the module docstring for the algorithm).

    ``sensitivity=False`` re-solves every withdrawal instead of using the sensitivity shortcut
    (same result; for tests and measurements). ``stats``, when given, receives counters:
    ``withdrawals`` ((owner, period) pairs needing ``C*_{-o,t}``), ``by_sensitivity``, ``resolves``.
    """
    if mechanism not in MECHANISMS:
        raise ValidationError("mechanism", f"unknown mechanism {mechanism!r}; expected one of {', '.join(MECHANISMS)}")
    glay = Layout.of(inst)
    T = inst.periods
    n_off, n_dl = len(glay.offer_cols), len(glay.shed_load_nodes)
    n_flex = n_off + n_dl + len(glay.shed_gen_nodes)
    # global flexible columns: offers (by id, product order), load shedding, generation shedding
    flex_index: dict[tuple[str, str], int] = {
        (inst.offers[i].id, k): c for c, (i, k) in enumerate(glay.offer_cols)
    }
    flex_index.update({("d_cut", n): n_off + j for j, n in enumerate(glay.shed_load_nodes)})
    flex_index.update({("p_cut", n): n_off + n_dl + j for j, n in enumerate(glay.shed_gen_nodes)})
    node_index = {n: j for j, n in enumerate(glay.nodes)}
    weights = 1.0 + np.arange(n_flex) / (2.0 * max(n_flex, 1))

    parts = [_Part(part, flex_index, node_index, weights) for part in split_feeder(inst)]
    cost = np.zeros(n_flex)
    for part in parts:
        cost[part.fmap] = part.lp.cost[: part.n_flex]
    x_flex = np.zeros((T, n_flex))
    upper = np.zeros((T, n_flex))
    u_sq = np.zeros((T, len(glay.nodes)))
    dual_p = np.zeros((T, len(glay.nodes)))
    dual_q = np.zeros((T, len(glay.nodes)))
    delta = dict.fromkeys(inst.owners, 0.0)  # sum_t (C*_{-o,t} - C*_t)
    counts = {"withdrawals": 0, "by_sensitivity": 0, "resolves": 0}

    for t in range(T):
        for k, part in enumerate(parts):
            lp = part.lp
            lp.load_period(t)
            upper[t, part.fmap] = lp.col_hi[: part.n_flex]
            first = lp.solve_period(t)
            basis = lp.get_basis()
            # the slack node is in every part; its prices come from the first
            nodes = part.nmap if k == 0 else part.nmap[part.nonslack]
            rows_p = lp.balp_rows if k == 0 else lp.balp_rows[part.nonslack]
            rows_q = lp.balq_rows if k == 0 else lp.balq_rows[part.nonslack]
            dual_p[t, nodes] = first.row_dual[rows_p]
            dual_q[t, nodes] = first.row_dual[rows_q]
            # owners dispatched at the stage-1 optimum, and their withdrawal cost by sensitivity
            shortcut: dict[str, float | None] = {}
            if mechanism == "vcg":
                lp.prepare_withdrawals(first)
                for owner, cols in part.owner_cols.items():
                    if float(np.max(first.x[cols])) > DISPATCH_EPS:
                        shortcut[owner] = lp.withdrawal_delta(cols) if sensitivity else None
            x = lp.tie_break(first.objective, part.weights) if part.n_flex else None
            x = first.x if x is None else x
            x_flex[t, part.fmap] = x[: part.n_flex]
            u_sq[t, part.nmap] = x[lp.u_slice]
            lp.set_basis(basis)
            for owner, known in shortcut.items():
                # an owner at zero in either optimum (stage 1 or 2) leaves C*_t unchanged
                if float(np.max(x[part.owner_cols[owner]])) <= DISPATCH_EPS:
                    continue
                counts["withdrawals"] += 1
                counts["by_sensitivity" if known is not None else "resolves"] += 1
                if known is None:
                    without = lp.resolve_without(part.owner_cols[owner])
                    if without is None:
                        raise InfeasibleError(
                            f"period {t}: without the offers of owner {owner!r} no dispatch meets the network "
                            "limits, so its VCG payment is undefined"
                        )
                    known = max(0.0, without - first.objective)
                delta[owner] += known
            lp.set_basis(basis)

    if stats is not None:
        stats.update(counts, parts=len(parts))
    # clean round-off in the dispatch: exact zeros, never above the offered quantity
    x_flex[x_flex <= DISPATCH_EPS] = 0.0
    x_flex = np.minimum(x_flex, upper)
    return _result(inst, glay, mechanism, x_flex, cost, u_sq, dual_p, dual_q, delta)


class _Part:
    """One independent part of the feeder (see :mod:`clearing.flex.split`) and its maps to global indices."""

    def __init__(
        self,
        part: FlexInstance,
        flex_index: dict[tuple[str, str], int],
        node_index: dict[str, int],
        weights: np.ndarray,
    ) -> None:
        self.lp = lp = PeriodLP(part)
        lay = lp.layout
        self.n_flex = lp.gl_slice.stop  # offer + shedding columns come first
        self.fmap = np.array(
            [flex_index[part.offers[i].id, k] for i, k in lay.offer_cols]
            + [flex_index["d_cut", n] for n in lay.shed_load_nodes]
            + [flex_index["p_cut", n] for n in lay.shed_gen_nodes],
            dtype=np.int64,
        )
        self.nmap = np.array([node_index[n] for n in lay.nodes], dtype=np.int64)
        self.nonslack = np.array([n != part.slack for n in lay.nodes], dtype=bool)
        self.weights = np.zeros(lp.n_cols)
        self.weights[: self.n_flex] = weights[self.fmap]
        cols: dict[str, list[int]] = {}
        for c, (i, _k) in enumerate(lay.offer_cols):
            cols.setdefault(part.offers[i].owner, []).append(c)
        self.owner_cols = {o: np.array(c, dtype=np.int32) for o, c in sorted(cols.items())}


def _round(value: float) -> float:
    """Canonical 6-decimal rounding (equal to :func:`clearing.canonical.round_float`, faster)."""
    return round(float(value), canonical.DECIMALS) + 0.0


def _rounded(values: np.ndarray) -> list[float]:
    return [round(v, canonical.DECIMALS) + 0.0 for v in values.tolist()]


def _result(
    inst: FlexInstance,
    lay: Layout,
    mechanism: str,
    x_flex: np.ndarray,
    cost: np.ndarray,
    u_sq: np.ndarray,
    dual_p: np.ndarray,
    dual_q: np.ndarray,
    delta: dict[str, float],
) -> dict[str, Any]:
    h = inst.hours
    r = _round
    n_off, n_dl = len(lay.offer_cols), len(lay.shed_load_nodes)
    dispatch: dict[str, dict[str, list[float]]] = {}
    costs = dict.fromkeys(inst.owners, 0.0)
    for c, (i, k) in enumerate(lay.offer_cols):
        offer = inst.offers[i]
        dispatch.setdefault(offer.id, {})[k] = _rounded(x_flex[:, c])
        costs[offer.owner] += float(np.sum(x_flex[:, c])) * cost[c]
    flex_cost = float(np.sum(x_flex[:, :n_off] @ cost[:n_off]))
    shed_cost = float(np.sum(x_flex[:, n_off:] @ cost[n_off:]))
    shed_load = float(np.sum(x_flex[:, n_off : n_off + n_dl])) * h
    shed_gen = float(np.sum(x_flex[:, n_off + n_dl :])) * h
    for value in (flex_cost, shed_cost):
        if not math.isfinite(value):
            raise InfeasibleError("the solver returned a non-finite cost")

    price_p = dual_p / h  # (T, nodes)
    price_q = dual_q / h
    node_col = {n: j for j, n in enumerate(lay.nodes)}
    if mechanism == "vcg":
        payments = {o: costs[o] + delta[o] for o in inst.owners}
    else:
        payments = dict.fromkeys(inst.owners, 0.0)
        for c, (i, k) in enumerate(lay.offer_cols):
            offer = inst.offers[i]
            prices = (price_p if k[0] == "p" else price_q)[:, node_col[offer.node]]
            sign = 1.0 if k.endswith("_up") else -1.0
            payments[offer.owner] += sign * float(prices @ x_flex[:, c]) * h

    volts = np.sqrt(np.maximum(u_sq, 0.0))
    result: dict[str, Any] = {
        "schema": RESULT_SCHEMA,
        "mechanism": mechanism,
        "input_hash": inst.input_hash(),
        "periods": inst.periods,
        "total_cost_eur": r(flex_cost + shed_cost),
        "flex_cost_eur": r(flex_cost),
        "shed_load_mwh": r(shed_load),
        "shed_generation_mwh": r(shed_gen),
        "dispatch_mw": dispatch,
        "costs_eur": {o: r(v) for o, v in costs.items()},
        "payments_eur": {o: r(v) for o, v in payments.items()},
        "dlmp_eur_per_mwh": {
            "P": {n: _rounded(price_p[:, j]) for n, j in node_col.items()},
            "Q": {n: _rounded(price_q[:, j]) for n, j in node_col.items()},
        },
        "voltages_pu": {n: _rounded(volts[:, j]) for n, j in node_col.items()},
        "oracle": oracle_info(),
    }
    result["result_hash"] = canonical.hash_of(result)
    return result
