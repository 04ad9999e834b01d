"""The naive, from-scratch path: build the full pyomo model and solve it cold in HiGHS.

Why keep it: it is the independent check of the fast path (tests recompute every Clarke pivot
with it: one LP over all periods, no per-period patches, no feeder split, no warm start, no
sensitivity shortcut) and the "naive VCG" baseline of the benchmark (rebuild and cold-solve per
owner). The model is compiled with pyomo's standard representation and handed to ``highspy``
directly: pyomo's own HiGHS interfaces switch on highspy's interrupt callbacks, which can
deadlock once HiGHS has run in another thread (as it does inside the chaincode's executor).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.standard_repn import generate_standard_repn

from clearing.errors import InfeasibleError, SolverError
from clearing.flex.instance import FlexInstance
from clearing.flex.lp import SOLVER_OPTIONS
from clearing.flex.opf import build_model
from clearing.solver import new_highs

INF = highspy.kHighsInf


@dataclass(frozen=True)
class ReferenceSolution:
    objective: float
    dispatch: dict[str, dict[str, list[float]]]  # offer id -> product -> per period


def solve_reference(inst: FlexInstance, removed_owners: Iterable[str] = ()) -> ReferenceSolution:
    """Optimal cost (and one optimal dispatch) of eqs. 1-15 over all periods, without ``removed_owners``."""
    model = build_model(inst, removed_owners=removed_owners)
    columns = list(model.component_data_objects(pyo.Var, descend_into=True, sort=True))
    col_of = {id(v): j for j, v in enumerate(columns)}
    cost = np.zeros(len(columns))
    repn = generate_standard_repn(model.cost.expr, compute_values=True)
    for var, coef in zip(repn.linear_vars, repn.linear_coefs, strict=True):
        cost[col_of[id(var)]] += coef
    starts, index, value, row_lo, row_hi = [], [], [], [], []
    for con in model.component_data_objects(pyo.Constraint, active=True, descend_into=True, sort=True):
        repn = generate_standard_repn(con.body, compute_values=True)
        starts.append(len(index))
        for var, coef in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            index.append(col_of[id(var)])
            value.append(coef)
        const = float(repn.constant or 0.0)
        row_lo.append(-INF if con.lower is None else float(con.lower()) - const)
        row_hi.append(INF if con.upper is None else float(con.upper()) - const)

    h = new_highs(SOLVER_OPTIONS)
    h.addVars(
        len(columns),
        np.array([-INF if v.lb is None else float(v.lb) for v in columns]),
        np.array([INF if v.ub is None else float(v.ub) for v in columns]),
    )
    h.changeColsCost(len(columns), np.arange(len(columns), dtype=np.int32), cost)
    h.addRows(
        len(starts),
        np.array(row_lo),
        np.array(row_hi),
        len(index),
        np.array(starts, dtype=np.int32),
        np.array(index, dtype=np.int32),
        np.array(value, dtype=np.float64),
    )
    h.run()
    status = h.getModelStatus()
    if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        raise InfeasibleError("the reference problem is infeasible")
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverError(f"reference solve ended with {h.modelStatusToString(status)}")
    x = np.array(h.getSolution().col_value)
    layout = model.layout
    dispatch: dict[str, dict[str, list[float]]] = {}
    for c, (i, k) in enumerate(layout.offer_cols):
        dispatch.setdefault(inst.offers[i].id, {})[k] = [float(x[col_of[id(model.x[c, t])]]) for t in model.T]
    return ReferenceSolution(objective=float(h.getInfo().objective_function_value), dispatch=dispatch)
