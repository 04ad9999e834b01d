"""Check a cleared flexibility dispatch with a full AC power flow (pandapower).

Why: the oracle clears with linearised DistFlow, which neglects losses. A DSO wants to know whether
the cleared dispatch is also feasible on the real (AC) feeder. This module rebuilds the feeder of a
``flexledger.clearing/1`` document in pandapower, applies the dispatch of its
``flexledger.clearing-result/1``, runs ``pandapower.runpp`` per period and compares.

It is a report, not a consensus value: it lives outside ``clearing.flex`` (which the chaincode
imports) and outside the oracle's hashed sources, and imports pandapower lazily, so the chaincode
never needs pandapower.

Per-unit conversion: buses get an arbitrary base voltage ``base_kv`` and the network ``base_mva``,
so ``Z_base = base_kv**2 / base_mva`` ohm and each line gets ``r_ohm = r_pu * Z_base``,
``x_ohm = x_pu * Z_base`` (length 1 km, no shunt capacitance): per-unit impedances, hence the AC
voltages in pu, do not depend on the base voltage chosen.

Branch loading: the sending-end (``from``) active and reactive flows of the AC solution divided by
the branch's ``p_max_mw`` / ``q_max_mvar`` (the limits the linear model enforces, eqs. 12-13); the
loading is the larger of the two ratios (None when the branch has no limit). The apparent flow
``s_mva`` is reported too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from clearing.errors import ValidationError
from clearing.flex.instance import FlexInstance

RESULT_SCHEMA = "flexledger.clearing-result/1"
#: Tolerance on limits (pu, and loading ratio): the result is rounded to 6 decimals.
TOLERANCE = 1e-6
#: Impedance floor (pu) for r = x = 0 branches, which make the AC admittance matrix singular.
MIN_IMPEDANCE_PU = 1e-6
DIGITS = 6


@dataclass(frozen=True)
class NodeCheck:
    node: str
    period: int
    v_ac_pu: float
    v_linear_pu: float
    deviation_pu: float  # v_ac - v_linear
    violation: str | None  # "below v_min", "above v_max" or None


@dataclass(frozen=True)
class BranchCheck:
    branch: str
    period: int
    p_mw: float  # sending-end active flow
    q_mvar: float
    s_mva: float
    loss_mw: float
    p_max_mw: float | None
    q_max_mvar: float | None
    loading: float | None  # max(|p|/p_max, |q|/q_max); None without limits
    violation: bool


@dataclass(frozen=True)
class AcReport:
    v_min_pu: float
    v_max_pu: float
    nodes: tuple[NodeCheck, ...]
    branches: tuple[BranchCheck, ...]
    slack_p_mw: tuple[float, ...]  # AC exchange at the slack bus, per period (includes losses)
    warnings: tuple[str, ...] = field(default=())

    @property
    def violations(self) -> int:
        return sum(n.violation is not None for n in self.nodes) + sum(b.violation for b in self.branches)

    @property
    def ok(self) -> bool:
        return self.violations == 0

    def summary(self) -> dict[str, Any]:
        """Headline numbers: AC voltage range, AC vs linear deviation, violations, worst branch."""
        worst = max(
            (b for b in self.branches if b.loading is not None), key=lambda b: b.loading, default=None
        )
        dev = max(self.nodes, key=lambda n: abs(n.deviation_pu))
        return {
            "v_ac_min_pu": min(n.v_ac_pu for n in self.nodes),
            "v_ac_max_pu": max(n.v_ac_pu for n in self.nodes),
            "max_abs_deviation_pu": abs(dev.deviation_pu),
            "max_deviation_at": {"node": dev.node, "period": dev.period},
            "voltage_violations": sum(n.violation is not None for n in self.nodes),
            "branch_violations": sum(b.violation for b in self.branches),
            "violations": self.violations,
            "worst_branch": None if worst is None else {"branch": worst.branch, "period": worst.period,
                                                        "loading": worst.loading},
            "losses_mwh_per_hour_max": max(
                (round(sum(b.loss_mw for b in self.branches if b.period == t), DIGITS)
                 for t in range(len(self.slack_p_mw))), default=0.0),
        }  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "flexledger.ac-check/1",
            "ok": self.ok,
            "limits": {"v_min_pu": self.v_min_pu, "v_max_pu": self.v_max_pu},
            "summary": self.summary(),
            "nodes": [asdict(n) for n in self.nodes],
            "branches": [asdict(b) for b in self.branches],
            "slack_p_mw": list(self.slack_p_mw),
            "warnings": list(self.warnings),
        }

    def nodes_frame(self) -> Any:
        """The node checks as a pandas DataFrame (one row per node and period)."""
        import pandas as pd

        return pd.DataFrame([asdict(n) for n in self.nodes])

    def branches_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([asdict(b) for b in self.branches])

    def to_text(self) -> str:
        s = self.summary()
        lines = [
            f"AC check: {'OK, no AC limit violated' if self.ok else f'{self.violations} violation(s)'}",
            f"  AC voltage        min {s['v_ac_min_pu']:.4f} pu, max {s['v_ac_max_pu']:.4f} pu "
            f"(limits {self.v_min_pu:.4f}..{self.v_max_pu:.4f})",
            f"  AC vs linear      max |deviation| {s['max_abs_deviation_pu']:.4f} pu "
            f"(node {s['max_deviation_at']['node']}, period {s['max_deviation_at']['period']})",
            f"  violations        {s['voltage_violations']} voltage, {s['branch_violations']} branch",
        ]
        w = s["worst_branch"]
        lines.append(
            "  worst branch      "
            + (
                "no branch limits"
                if w is None
                else f"{w['branch']} period {w['period']}: loading {w['loading']:.1%}"
            )
        )
        lines.append(f"  max losses        {s['losses_mwh_per_hour_max']:.4f} MW (per period)")
        for n in self.nodes:
            if n.violation:
                lines.append(
                    f"  ! node {n.node} period {n.period}: v_ac {n.v_ac_pu:.4f} pu {n.violation} "
                    f"(linear {n.v_linear_pu:.4f})"
                )
        for b in self.branches:
            if b.violation:
                lines.append(
                    f"  ! branch {b.branch} period {b.period}: loading {b.loading:.1%} "
                    f"(p {b.p_mw:.4f} MW, q {b.q_mvar:.4f} MVAr)"
                )
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def _series(value: Any, field_name: str, periods: int) -> list[float]:
    if not isinstance(value, list) or len(value) != periods:
        raise ValidationError(field_name, f"must be a list of {periods} numbers")
    out = []
    for i, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise ValidationError(f"{field_name}[{i}]", f"must be a finite number, got {x!r}")
        out.append(float(x))
    return out


def _check_result(
    inst: FlexInstance, result: Any
) -> tuple[dict[str, dict[str, list[float]]], dict[str, list[float]]]:
    """Validate the result against its input; return (dispatch, linear voltages)."""
    if not isinstance(result, Mapping):
        raise ValidationError("result", "must be a JSON object")
    if result.get("schema") != RESULT_SCHEMA:
        raise ValidationError("result.schema", f"must be {RESULT_SCHEMA!r}, got {result.get('schema')!r}")
    if "input_hash" in result and result["input_hash"] != inst.input_hash():
        raise ValidationError(
            "result.input_hash", "does not match the input document (a result of another input?)"
        )
    if result.get("periods", inst.periods) != inst.periods:
        raise ValidationError("result.periods", f"is {result.get('periods')!r}, the input has {inst.periods}")
    volts = result.get("voltages_pu")
    if not isinstance(volts, Mapping):
        raise ValidationError("result.voltages_pu", "missing or not an object")
    voltages = {}
    for node in inst.nodes:
        if node.id not in volts:
            raise ValidationError(f"result.voltages_pu.{node.id}", "missing: the input has this node")
        voltages[node.id] = _series(volts[node.id], f"result.voltages_pu.{node.id}", inst.periods)
    disp = result.get("dispatch_mw")
    if not isinstance(disp, Mapping):
        raise ValidationError("result.dispatch_mw", "missing or not an object")
    offers = {o.id: o for o in inst.offers}
    dispatch: dict[str, dict[str, list[float]]] = {}
    for oid in sorted(disp):
        if oid not in offers:
            raise ValidationError(f"result.dispatch_mw.{oid}", "unknown offer (not in the input)")
        products = disp[oid]
        if not isinstance(products, Mapping):
            raise ValidationError(f"result.dispatch_mw.{oid}", "must be an object")
        dispatch[oid] = {}
        for k in sorted(products):
            if k not in offers[oid].products:
                raise ValidationError(f"result.dispatch_mw.{oid}.{k}", "the offer has no such product")
            dispatch[oid][k] = _series(products[k], f"result.dispatch_mw.{oid}.{k}", inst.periods)
    return dispatch, voltages


def net_injections(
    inst: FlexInstance, dispatch: Mapping[str, Mapping[str, list[float]]]
) -> list[dict[str, tuple[float, float]]]:
    """Per period, per node: (P, Q) withdrawn (load convention: baseline demand - generation - up + down)."""
    net = [{n.id: [0.0, 0.0] for n in inst.nodes} for _ in range(inst.periods)]
    for r in inst.baseline:
        pq = net[r.period][r.node]
        pq[0] += r.demand_mw - r.generation_mw
        pq[1] += r.demand_tan_phi * r.demand_mw - r.generation_tan_phi * r.generation_mw
    node_of = {o.id: o.node for o in inst.offers}
    sign = {"p_up": (0, -1.0), "p_down": (0, 1.0), "q_up": (1, -1.0), "q_down": (1, 1.0)}
    for oid, products in dispatch.items():
        for k, values in products.items():
            i, s = sign[k]
            for t, x in enumerate(values):
                net[t][node_of[oid]][i] += s * x
    return [{n: (pq[0], pq[1]) for n, pq in period.items()} for period in net]


def _ratio(flow: float, limit: float | None) -> float | None:
    """|flow| / limit; None without a limit. A zero limit counts any flow beyond the tolerance as huge."""
    if limit is None:
        return None
    if abs(flow) <= TOLERANCE:
        return 0.0
    return abs(flow) / max(limit, 1e-9)


def check_ac(document: Mapping[str, Any], result: Mapping[str, Any], base_kv: float = 20.0) -> AcReport:
    """Run an AC power flow per period of the cleared dispatch and compare with limits and the linear model.

    Raises :class:`ValidationError` naming the field for a bad input or result, and ``RuntimeError`` if
    the AC power flow does not converge (the dispatch is then certainly not AC feasible).
    """
    import pandapower as pp  # lazy: the chaincode never imports this module or pandapower

    inst = FlexInstance.from_document(document)
    dispatch, v_lin = _check_result(inst, result)
    warnings: list[str] = []
    shed = (result.get("shed_load_mwh") or 0.0, result.get("shed_generation_mwh") or 0.0)
    if any(isinstance(x, int | float) and x > 0 for x in shed):
        warnings.append(
            f"the result sheds {shed[0]} MWh load and {shed[1]} MWh generation, but does not say where: "
            "the AC check uses the baseline without shedding"
        )
    z_base = base_kv**2 / inst.base_mva
    net = pp.create_empty_network(sn_mva=inst.base_mva)
    bus = {n.id: pp.create_bus(net, vn_kv=base_kv, name=n.id) for n in inst.nodes}
    pp.create_ext_grid(net, bus[inst.slack], vm_pu=inst.v_slack_pu)
    line = {}
    for b in inst.branches:
        r, x = b.r_pu, b.x_pu
        if r == 0 and x == 0:
            x = MIN_IMPEDANCE_PU
            warnings.append(f"branch {b.id} has r = x = 0: modelled with x = {MIN_IMPEDANCE_PU} pu")
        line[b.id] = pp.create_line_from_parameters(
            net, bus[b.from_node], bus[b.to_node], length_km=1.0, r_ohm_per_km=r * z_base,
            x_ohm_per_km=x * z_base, c_nf_per_km=0.0, max_i_ka=1e6, name=b.id)  # fmt: skip
    load = {n.id: pp.create_load(net, bus[n.id], p_mw=0.0, q_mvar=0.0, name=n.id) for n in inst.nodes}
    nodes: list[NodeCheck] = []
    branches: list[BranchCheck] = []
    slack_p: list[float] = []
    for t, injections in enumerate(net_injections(inst, dispatch)):
        for nid, (p, q) in injections.items():
            net.load.at[load[nid], "p_mw"] = p
            net.load.at[load[nid], "q_mvar"] = q
        try:
            pp.runpp(net, algorithm="nr", init="flat", calculate_voltage_angles=True, numba=False)
        except pp.LoadflowNotConverged as exc:
            raise RuntimeError(
                f"AC power flow did not converge in period {t}: the dispatch is not AC feasible"
            ) from exc
        slack_p.append(round(float(net.res_ext_grid.p_mw.iloc[0]), DIGITS))
        for n in inst.nodes:
            v = round(float(net.res_bus.vm_pu.at[bus[n.id]]), DIGITS)
            lin = v_lin[n.id][t]
            viol = ("below v_min" if v < inst.v_min_pu - TOLERANCE else
                    "above v_max" if v > inst.v_max_pu + TOLERANCE else None)  # fmt: skip
            nodes.append(NodeCheck(n.id, t, v, lin, round(v - lin, DIGITS), viol))
        for b in inst.branches:
            res = net.res_line.loc[line[b.id]]
            p, q = float(res.p_from_mw), float(res.q_from_mvar)
            ratios = [_ratio(p, b.p_max_mw), _ratio(q, b.q_max_mvar)]
            known = [x for x in ratios if x is not None]
            loading = round(max(known), DIGITS) if known else None
            branches.append(BranchCheck(
                b.id, t, round(p, DIGITS), round(q, DIGITS), round(math.hypot(p, q), DIGITS),
                round(float(res.pl_mw), DIGITS), b.p_max_mw, b.q_max_mvar, loading,
                loading is not None and loading > 1 + TOLERANCE))  # fmt: skip
    return AcReport(inst.v_min_pu, inst.v_max_pu,
                    tuple(sorted(nodes, key=lambda n: (n.node, n.period))),
                    tuple(sorted(branches, key=lambda b: (b.branch, b.period))),
                    tuple(slack_p), tuple(warnings))  # fmt: skip
