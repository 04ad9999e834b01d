"""The flexibility OPF of seed 004, eqs. 1-15, as a pyomo model: the one formulation of the problem.

Linearised DistFlow on a radial feeder, per period ``t`` (hours ``h``):

* (1)  min  sum_offers price x MW x h + c_load x d_cut x h + c_gen x p_cut x h
* (2-5) ``0 <= x[o,k,t] <= quantity[o,k,t]`` for the products ``k`` an offer has;
* (6-7) ``0 <= p_cut[n,t] <= generation[n,t]``, ``0 <= d_cut[n,t] <= demand[n,t]``
  (shedding columns exist at nodes whose baseline has demand / generation in some period);
* (8)  P balance: inflow - outflow + p_up - p_down + d_cut - p_cut (+ p_sub at the slack) = d - p;
* (9)  Q balance: the same with q_up/q_down and tan(phi) x (d - d_cut), tan(phi) x (p - p_cut);
* (10) U[to] = U[from] - 2 (r fp + x fq) / base_mva for every branch (U = v^2, per unit);
* (11) v_min^2 <= U <= v_max^2, U at the slack fixed at v_slack^2;
* (12-13) |fp| <= p_max, |fq| <= q_max (no limit when null);
* (14-15) the exchange with the transmission grid, p_sub / q_sub, fixed when ``substation`` gives it,
  free otherwise (the slack node's own balance carries it, so eq. 14 holds whenever the slack node has
  no load or offer of its own).

No constraint links two periods, so every period is an independent LP. :func:`build_model` builds
any set of periods (the reference used by tests and the naive benchmark); :mod:`clearing.flex.lp`
compiles the one-period model once and re-solves it in HiGHS per period.
The numbers (bounds, right-hand sides, tan(phi)) come from :class:`PeriodData`, shared by both
paths so that they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyomo.environ as pyo

from clearing.flex.instance import PRODUCTS, FlexInstance


@dataclass(frozen=True)
class Layout:
    """The deterministic order of columns and rows (everything sorted by id)."""

    offer_cols: tuple[tuple[int, str], ...]  # (index into instance.offers, product)
    shed_load_nodes: tuple[str, ...]
    shed_gen_nodes: tuple[str, ...]
    nodes: tuple[str, ...]
    branches: tuple[str, ...]

    @classmethod
    def of(cls, inst: FlexInstance) -> Layout:
        load_nodes = sorted({r.node for r in inst.baseline if r.demand_mw > 0})
        gen_nodes = sorted({r.node for r in inst.baseline if r.generation_mw > 0})
        return cls(
            offer_cols=tuple((i, k) for i, o in enumerate(inst.offers) for k in PRODUCTS if k in o.products),
            shed_load_nodes=tuple(load_nodes),
            shed_gen_nodes=tuple(gen_nodes),
            nodes=tuple(n.id for n in inst.nodes),
            branches=tuple(b.id for b in inst.branches),
        )


class PeriodData:
    """Demand, generation and tan(phi) per node for one period (zero where the baseline is silent)."""

    def __init__(self, inst: FlexInstance, t: int) -> None:
        self.t = t
        self.demand: dict[str, float] = {}
        self.generation: dict[str, float] = {}
        self.demand_tan: dict[str, float] = {}
        self.generation_tan: dict[str, float] = {}
        self.sub_p = None if inst.substation_p_mw is None else inst.substation_p_mw[t]
        self.sub_q = None if inst.substation_q_mvar is None else inst.substation_q_mvar[t]

    @classmethod
    def all_periods(cls, inst: FlexInstance, periods: Iterable[int] | None = None) -> dict[int, PeriodData]:
        """One pass over the baseline for every period asked for."""
        ts = range(inst.periods) if periods is None else periods
        data = {t: cls(inst, t) for t in ts}
        for r in inst.baseline:
            d = data.get(r.period)
            if d is not None:
                d.demand[r.node] = r.demand_mw
                d.generation[r.node] = r.generation_mw
                d.demand_tan[r.node] = r.demand_tan_phi
                d.generation_tan[r.node] = r.generation_tan_phi
        return data

    def net_p(self, node: str) -> float:
        """Right-hand side of eq. 8: d - p."""
        return self.demand.get(node, 0.0) - self.generation.get(node, 0.0)

    def net_q(self, node: str) -> float:
        """Right-hand side of eq. 9: tan(phi_d) d - tan(phi_p) p."""
        return self.demand_tan.get(node, 0.0) * self.demand.get(node, 0.0) - self.generation_tan.get(
            node, 0.0
        ) * self.generation.get(node, 0.0)


def _limit(value: float | None) -> tuple[float | None, float | None]:
    return (None, None) if value is None else (-value, value)


def build_model(
    inst: FlexInstance, periods: Iterable[int] | None = None, removed_owners: Iterable[str] = ()
) -> pyo.ConcreteModel:
    """The pyomo model of eqs. 1-15 for ``periods`` (all by default).

    ``removed_owners`` withdraws every offer of those owners (their quantities become 0): the
    "without o" problem of the VCG Clarke pivot.
    """
    layout = Layout.of(inst)
    ts: Sequence[int] = list(range(inst.periods)) if periods is None else list(periods)
    data = PeriodData.all_periods(inst, ts)
    removed = set(removed_owners)
    h = inst.hours
    slack = inst.slack
    vmin2, vmax2, vs2 = inst.v_min_pu**2, inst.v_max_pu**2, inst.v_slack_pu**2
    branch = {b.id: b for b in inst.branches}

    m = pyo.ConcreteModel(name="flexledger_flex_opf")
    m.T = pyo.Set(initialize=ts, ordered=True)
    m.OC = pyo.Set(initialize=list(range(len(layout.offer_cols))), ordered=True)
    m.DL = pyo.Set(initialize=layout.shed_load_nodes, ordered=True)
    m.GL = pyo.Set(initialize=layout.shed_gen_nodes, ordered=True)
    m.N = pyo.Set(initialize=layout.nodes, ordered=True)
    m.B = pyo.Set(initialize=layout.branches, ordered=True)

    def offer_bounds(_m: pyo.ConcreteModel, c: int, t: int) -> tuple[float, float]:
        i, k = layout.offer_cols[c]
        offer = inst.offers[i]
        return (0.0, 0.0 if offer.owner in removed else offer.products[k].quantity_mw[t])

    m.x = pyo.Var(m.OC, m.T, bounds=offer_bounds)
    m.dcut = pyo.Var(m.DL, m.T, bounds=lambda _m, n, t: (0.0, data[t].demand.get(n, 0.0)))
    m.pcut = pyo.Var(m.GL, m.T, bounds=lambda _m, n, t: (0.0, data[t].generation.get(n, 0.0)))
    m.fp = pyo.Var(m.B, m.T, bounds=lambda _m, b, t: _limit(branch[b].p_max_mw))
    m.fq = pyo.Var(m.B, m.T, bounds=lambda _m, b, t: _limit(branch[b].q_max_mvar))
    m.U = pyo.Var(m.N, m.T, bounds=lambda _m, n, t: (vs2, vs2) if n == slack else (vmin2, vmax2))
    m.psub = pyo.Var(m.T, bounds=lambda _m, t: (data[t].sub_p, data[t].sub_p))
    m.qsub = pyo.Var(m.T, bounds=lambda _m, t: (data[t].sub_q, data[t].sub_q))

    cols_at: dict[tuple[str, str], list[int]] = {}
    for c, (i, k) in enumerate(layout.offer_cols):
        cols_at.setdefault((inst.offers[i].node, k), []).append(c)
    into: dict[str, list[str]] = {}
    out_of: dict[str, list[str]] = {}
    for b in inst.branches:
        into.setdefault(b.to_node, []).append(b.id)
        out_of.setdefault(b.from_node, []).append(b.id)
    load_nodes, gen_nodes = set(layout.shed_load_nodes), set(layout.shed_gen_nodes)

    def balance(kind: str):  # eqs. 8 (kind "p") and 9 (kind "q")
        flow = m.fp if kind == "p" else m.fq
        sub = m.psub if kind == "p" else m.qsub

        def rule(_m: pyo.ConcreteModel, n: str, t: int):
            d = data[t]
            expr = sum(flow[b, t] for b in into.get(n, [])) - sum(flow[b, t] for b in out_of.get(n, []))
            expr += sum(m.x[c, t] for c in cols_at.get((n, f"{kind}_up"), []))
            expr -= sum(m.x[c, t] for c in cols_at.get((n, f"{kind}_down"), []))
            if n in load_nodes:
                expr += (1.0 if kind == "p" else d.demand_tan.get(n, 0.0)) * m.dcut[n, t]
            if n in gen_nodes:
                expr -= (1.0 if kind == "p" else d.generation_tan.get(n, 0.0)) * m.pcut[n, t]
            if n == slack:
                expr += sub[t]
            return expr == (d.net_p(n) if kind == "p" else d.net_q(n))

        return rule

    m.balance_p = pyo.Constraint(m.N, m.T, rule=balance("p"))
    m.balance_q = pyo.Constraint(m.N, m.T, rule=balance("q"))

    def voltage(_m: pyo.ConcreteModel, b: str, t: int):  # eq. 10
        br = branch[b]
        drop = 2.0 * (br.r_pu * m.fp[b, t] + br.x_pu * m.fq[b, t]) / inst.base_mva
        return m.U[br.to_node, t] - m.U[br.from_node, t] + drop == 0.0

    m.voltage = pyo.Constraint(m.B, m.T, rule=voltage)

    def cost(_m: pyo.ConcreteModel):  # eq. 1
        flex = sum(
            inst.offers[i].products[k].price_eur_per_mwh * h * m.x[c, t]
            for c, (i, k) in enumerate(layout.offer_cols)
            for t in ts
        )
        shed = sum(inst.load_shedding_eur_per_mwh * h * m.dcut[n, t] for n in layout.shed_load_nodes for t in ts)
        shed += sum(inst.generation_shedding_eur_per_mwh * h * m.pcut[n, t] for n in layout.shed_gen_nodes for t in ts)
        return flex + shed

    m.cost = pyo.Objective(rule=cost, sense=pyo.minimize)
    m.layout = layout  # for callers that read the solution back
    return m
