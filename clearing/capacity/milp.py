"""A pyomo MILP solved by highspy directly: compiled once, re-solved with new objectives or rows.

Why not pyomo's solver interfaces: they redirect the process's stdout/stderr file
descriptors around every solve. The chaincode server clears markets in worker threads;
two concurrent redirections can restore the descriptors in the wrong order and leave
the process writing into a closed pipe. pyomo still owns the formulation (the model is
built with pyomo and compiled through its standard representation); HiGHS, silenced by
its own ``output_flag`` option, runs it with the fixed options it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.standard_repn import generate_standard_repn

from clearing.errors import SolverError
from clearing.solver import new_highs

INF = highspy.kHighsInf


class CompiledMILP:
    """The variables and active constraints of a pyomo model, loaded into one HiGHS instance."""

    def __init__(self, model: pyo.ConcreteModel, options: Mapping[str, Any]) -> None:
        self.columns = list(model.component_data_objects(pyo.Var, descend_into=True))
        self._col = {id(var): j for j, var in enumerate(self.columns)}
        n = len(self.columns)
        self.highs = new_highs(options)
        lower = np.array([-INF if v.lb is None else float(v.lb) for v in self.columns], dtype=np.float64)
        upper = np.array([INF if v.ub is None else float(v.ub) for v in self.columns], dtype=np.float64)
        self.highs.addVars(n, lower, upper)
        integer = [j for j, v in enumerate(self.columns) if v.is_integer()]
        if integer:
            self.highs.changeColsIntegrality(
                len(integer),
                np.array(integer, dtype=np.int32),
                np.array([highspy.HighsVarType.kInteger] * len(integer)),
            )
        self.highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
        for constraint in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
            self.add_constraint(constraint)
        self._values: np.ndarray | None = None

    def _linear(self, expr: Any) -> tuple[dict[int, float], float]:
        repn = generate_standard_repn(expr, compute_values=True, quadratic=False)
        if not repn.is_linear():
            raise SolverError("the capacity model must be linear")
        entries: dict[int, float] = {}
        for var, coef in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            j = self._col[id(var)]
            entries[j] = entries.get(j, 0.0) + float(coef)
        return entries, float(repn.constant or 0.0)

    def add_constraint(self, constraint: Any) -> None:
        """Add one pyomo constraint as a row."""
        entries, constant = self._linear(constraint.body)
        lower = -INF if constraint.lower is None else float(pyo.value(constraint.lower)) - constant
        upper = INF if constraint.upper is None else float(pyo.value(constraint.upper)) - constant
        index = sorted(entries)
        self.highs.addRow(
            lower,
            upper,
            len(index),
            np.array(index, dtype=np.int32),
            np.array([entries[j] for j in index], dtype=np.float64),
        )

    def maximise(self, expr: Any, what: str) -> float:
        """Maximise a linear expression over the model; returns its optimal value."""
        entries, constant = self._linear(expr)
        n = len(self.columns)
        cost = np.zeros(n, dtype=np.float64)
        for j, coef in entries.items():
            cost[j] = coef
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(
                f"HiGHS stopped on the {what} with status {self.highs.modelStatusToString(status)}"
            )
        self._values = np.array(self.highs.getSolution().col_value, dtype=np.float64)
        return float(self.highs.getInfo().objective_function_value) + constant

    def value(self, expr: Any) -> float:
        """Value of a linear expression (or a variable) at the last solution."""
        if self._values is None:
            raise SolverError("no solution yet")
        entries, constant = self._linear(expr)
        return constant + sum(coef * float(self._values[j]) for j, coef in sorted(entries.items()))
