"""The DSO's network check of wholesale orders (MARKETFLEX spot and mFRR modules), by linearised DistFlow.

Why not the OPF: a wholesale order is not cleared here; the exchange or the TSO's platform decides how
much of it is taken, later and elsewhere. What the DSO must know before an order leaves is how much of
it the feeder can carry *whatever the outside platform then accepts*. This module therefore answers two
questions on the same linear model as :mod:`clearing.flex.opf` (eq. 10: ``U[to] = U[from] - 2 (r P + x Q)
/ base``, losses neglected; branch flow = the net demand below it):

* :func:`curtail` — how much of each order may be forwarded so that *every* partial acceptance of every
  forwarded order (and of the orders already out, ``reserved``) keeps voltages and branch flows within
  limits. Each order only moves active power, so its effect on a node's squared voltage and on a
  branch's flow is linear in its quantity; an order is granted, in the given order, the largest
  quantity whose worst-case effect fits into each constraint's remaining margin.
* :func:`violations` — whether actual injections (trades that came back, an activation) keep every
  limit, or at least do not push a limit the base state already breaks any further.

Pure and deterministic: plain float arithmetic in a fixed order, no solver, no clock.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from clearing import canonical
from clearing.errors import ValidationError
from clearing.flex.instance import FlexInstance

#: Slack kept on every limit so that a rounded-down quantity never lands exactly on it.
TOLERANCE = 1e-9

#: Forwarded quantities are rounded down to this step (MW): the granularity exchanges accept.
DEFAULT_STEP_MW = 0.001


@dataclass(frozen=True)
class Order:
    """A wholesale order at one node: ``sign`` +1 injects (sell, up), -1 withdraws (buy, down)."""

    id: str
    node: str
    sign: int
    quantity_mw: tuple[float, ...]  # one per period


@dataclass(frozen=True)
class Violation:
    kind: str  # v_max | v_min | p_max
    where: str  # node or branch id
    period: int
    value: float
    limit: float

    def describe(self) -> str:
        return f"{self.kind} at {self.where} in period {self.period}: {self.value:.6f} against {self.limit:.6f}"


class Feeder:
    """The radial feeder and its base state (baseline plus firm injections), per period."""

    def __init__(self, document: Mapping[str, object], injections: Mapping[tuple[str, int], float] | None = None):
        self.inst = FlexInstance.from_document({**document, "offers": []})
        inst = self.inst
        self.node_ids = {n.id for n in inst.nodes}
        for node, period in sorted(injections or {}):
            self.check_point(node, period, "injections")
        self._parent: dict[str, tuple[str, float]] = {}  # node -> (branch id, r_pu)
        self._up: dict[str, str] = {}
        children: dict[str, list[str]] = defaultdict(list)
        for b in inst.branches:
            self._parent[b.to_node] = (b.id, b.r_pu)
            self._up[b.to_node] = b.from_node
            children[b.from_node].append(b.to_node)
        self._children = children
        self.limits = {b.id: b.p_max_mw for b in inst.branches}
        self._effects: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
        self.base_injections: dict[tuple[str, int], float] = dict(injections or {})
        self.base_u, self.base_flow = self.state(self.base_injections)

    def check_point(self, node: str, period: int, field: str) -> None:
        """Refuse a node the feeder does not have or a period outside the day."""
        if node not in self.node_ids:
            raise ValidationError(f"{field}.node", f"unknown node {node!r}")
        if not 0 <= period < self.inst.periods:
            raise ValidationError(f"{field}.period", f"must be in 0..{self.inst.periods - 1}, got {period}")

    def path(self, node: str) -> list[str]:
        """Branch ids from the slack down to ``node``."""
        out = []
        while node in self._parent:
            out.append(self._parent[node][0])
            node = self._up[node]
        return out[::-1]

    def state(self, injections: Mapping[tuple[str, int], float]) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
        """Squared voltages and branch P flows (MW, towards the load) per period."""
        inst = self.inst
        q_net: dict[tuple[str, int], float] = defaultdict(float)
        p_net: dict[tuple[str, int], float] = defaultdict(float)
        for r in inst.baseline:
            p_net[(r.node, r.period)] += r.demand_mw - r.generation_mw
            q_net[(r.node, r.period)] += r.demand_tan_phi * r.demand_mw - r.generation_tan_phi * r.generation_mw
        for (node, period), mw in sorted(injections.items()):
            p_net[(node, period)] -= mw
        us, flows = [], []
        branch_x = {b.id: b.x_pu for b in inst.branches}
        order = self._top_down()
        for t in range(inst.periods):
            below_p: dict[str, float] = {}
            below_q: dict[str, float] = {}
            for node in reversed(order):
                below_p[node] = p_net.get((node, t), 0.0) + sum(below_p[c] for c in self._children[node])
                below_q[node] = q_net.get((node, t), 0.0) + sum(below_q[c] for c in self._children[node])
            u = {inst.slack: inst.v_slack_pu**2}
            flow: dict[str, float] = {}
            for node in order:
                if node == inst.slack:
                    continue
                branch, r = self._parent[node]
                flow[branch] = below_p[node]
                u[node] = u[self._up[node]] - 2 * (r * below_p[node] + branch_x[branch] * below_q[node]) / inst.base_mva
            us.append(u)
            flows.append(flow)
        return us, flows

    def _top_down(self) -> list[str]:
        order, stack = [], [self.inst.slack]
        while stack:
            node = stack.pop()
            order.append(node)
            stack.extend(sorted(self._children[node], reverse=True))
        return order

    def effects(self, node: str) -> tuple[dict[str, float], dict[str, float]]:
        """Per MW injected at ``node``: the change of each node's U and of each branch's flow (cached)."""
        if node not in self._effects:
            self._effects[node] = self._compute_effects(node)
        return self._effects[node]

    def _compute_effects(self, node: str) -> tuple[dict[str, float], dict[str, float]]:
        path = self.path(node)
        r_of = {b: r for b, r in self._parent.values()}
        shared = set(path)
        du: dict[str, float] = {}
        for other in sorted(self.node_ids):
            du[other] = sum(2 * r_of[b] for b in self.path(other) if b in shared) / self.inst.base_mva
        dflow = {b: -1.0 for b in path}
        return du, dflow

    def margins(self) -> dict[tuple[str, str, int], float]:
        """Room left on every constraint in the base state (0 where the base already breaks it)."""
        inst = self.inst
        vmax2, vmin2 = inst.v_max_pu**2, inst.v_min_pu**2
        out: dict[tuple[str, str, int], float] = {}
        for t in range(inst.periods):
            for node in sorted(self.node_ids - {inst.slack}):
                u = self.base_u[t][node]
                out[("v_max", node, t)] = max(0.0, vmax2 - u - TOLERANCE)
                out[("v_min", node, t)] = max(0.0, u - vmin2 - TOLERANCE)
            for branch, limit in sorted(self.limits.items()):
                if limit is not None:
                    f = self.base_flow[t][branch]
                    out[("p_max+", branch, t)] = max(0.0, limit - f - TOLERANCE)
                    out[("p_max-", branch, t)] = max(0.0, limit + f - TOLERANCE)
        return out

    def worst_case(self, order: Order, t: int) -> dict[tuple[str, str, int], float]:
        """How much of each constraint's margin one MW of ``order`` uses up in period ``t`` (only > 0)."""
        du, dflow = self.effects(order.node)
        use: dict[tuple[str, str, int], float] = {}
        for node, d in du.items():
            if node == self.inst.slack:
                continue
            change = order.sign * d
            if change > 0:
                use[("v_max", node, t)] = change
            elif change < 0:
                use[("v_min", node, t)] = -change
        for branch, d in dflow.items():
            if self.limits[branch] is None:
                continue
            change = order.sign * d
            use[("p_max+" if change > 0 else "p_max-", branch, t)] = abs(change)
        return use


def _floor(value: float, step: float) -> float:
    units = math.floor(value / step + 1e-9)
    return canonical.round_float(max(0, units) * step)


def curtail(feeder: Feeder, orders: Sequence[Order], reserved: Iterable[Order] = (),
            step_mw: float = DEFAULT_STEP_MW) -> dict[str, list[float]]:
    """Forwardable MW per order and period: what every partial acceptance keeps within the limits.

    ``reserved`` orders are already out (their worst case is taken first and never curtailed); the
    ``orders`` are then granted in the order given (the caller's priority, e.g. submission time).
    """
    margin = feeder.margins()
    for order in reserved:
        feeder.check_point(order.node, 0, f"reserved.{order.id}")
        for t, q in enumerate(order.quantity_mw):
            for c, use in feeder.worst_case(order, t).items():
                margin[c] = max(0.0, margin[c] - use * q)
    out: dict[str, list[float]] = {}
    for order in orders:
        feeder.check_point(order.node, 0, f"orders.{order.id}")
        if len(order.quantity_mw) != feeder.inst.periods:
            raise ValidationError(f"orders.{order.id}.quantity_mw", f"must list {feeder.inst.periods} periods")
        granted = []
        for t, q in enumerate(order.quantity_mw):
            use = feeder.worst_case(order, t)
            room = min([q, *(margin[c] / u for c, u in sorted(use.items()) if u > 0)])
            g = min(q, _floor(room, step_mw))
            for c, u in use.items():
                margin[c] = max(0.0, margin[c] - u * g)
            granted.append(g)
        out[order.id] = granted
    return out


def violations(feeder: Feeder, injections: Mapping[tuple[str, int], float]) -> list[Violation]:
    """Limits that ``injections`` (on top of the base state) break, or break further than the base does."""
    for node, period in sorted(injections):
        feeder.check_point(node, period, "injections")
    inst = feeder.inst
    merged: dict[tuple[str, int], float] = defaultdict(float)
    for k, v in feeder.base_injections.items():
        merged[k] += v
    for k, v in injections.items():
        merged[k] += v
    us, flows = feeder.state(merged)
    vmax2, vmin2 = inst.v_max_pu**2, inst.v_min_pu**2
    found: list[Violation] = []
    for t in range(inst.periods):
        for node in sorted(feeder.node_ids - {inst.slack}):
            u, base = us[t][node], feeder.base_u[t][node]
            if u > max(vmax2, base) + TOLERANCE:
                found.append(Violation("v_max", node, t, math.sqrt(u), inst.v_max_pu))
            if u < min(vmin2, base) - TOLERANCE:
                found.append(Violation("v_min", node, t, math.sqrt(max(u, 0.0)), inst.v_min_pu))
        for branch, limit in sorted(feeder.limits.items()):
            if limit is None:
                continue
            f, base = abs(flows[t][branch]), abs(feeder.base_flow[t][branch])
            if f > max(limit, base) + TOLERANCE:
                found.append(Violation("p_max", branch, t, f, limit))
    return found
