"""Voltages of a schedule on the feeder, by the same linearised DistFlow as the OPF (eq. 10).

Why a separate evaluation: "voltages before flexibility" is the baseline schedule as it
would run with no dispatch and no shedding — not an optimisation, just the branch-flow
equations solved down the radial tree — so a report can put it beside the cleared voltages.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from clearing.flex.instance import FlexInstance


def schedule_voltages(
    inst: FlexInstance, injections_mw: Mapping[tuple[str, int], tuple[float, float]] | None = None
) -> dict[str, list[float]]:
    """Voltage magnitude (pu) per node and period for the baseline plus optional net injections.

    ``injections_mw`` maps ``(node, period)`` to ``(p, q)`` injected at the node (flexibility
    ``up`` minus ``down``); absent means none. Losses are neglected, as in the OPF.
    """
    injections_mw = injections_mw or {}
    children: dict[str, list[Any]] = defaultdict(list)
    for branch in inst.branches:
        children[branch.from_node].append(branch)
    demand: dict[tuple[str, int], tuple[float, float]] = {}
    for row in inst.baseline:
        p = row.demand_mw - row.generation_mw
        q = row.demand_tan_phi * row.demand_mw - row.generation_tan_phi * row.generation_mw
        demand[(row.node, row.period)] = (p, q)

    voltages: dict[str, list[float]] = {n.id: [0.0] * inst.periods for n in inst.nodes}
    for t in range(inst.periods):
        net: dict[str, tuple[float, float]] = {}
        for node in (n.id for n in inst.nodes):
            p, q = demand.get((node, t), (0.0, 0.0))
            ip, iq = injections_mw.get((node, t), (0.0, 0.0))
            net[node] = ((p - ip) / inst.base_mva, (q - iq) / inst.base_mva)

        def subtree(node: str, net: dict[str, tuple[float, float]] = net) -> tuple[float, float]:
            p, q = net[node]
            for branch in children[node]:
                cp, cq = subtree(branch.to_node)
                p, q = p + cp, q + cq
            return p, q

        squared = {inst.slack: inst.v_slack_pu**2}
        stack = [inst.slack]
        while stack:
            node = stack.pop()
            for branch in children[node]:
                p, q = subtree(branch.to_node)
                squared[branch.to_node] = squared[node] - 2 * (branch.r_pu * p + branch.x_pu * q)
                stack.append(branch.to_node)
        for node, u in squared.items():
            voltages[node][t] = math.sqrt(max(u, 0.0))
    return voltages
