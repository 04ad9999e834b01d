"""The fast path: the one-period pyomo model compiled once, re-solved per period in HiGHS.

Why: building a pyomo model of 96 periods x 1000 offers takes far longer than solving it,
and VCG needs one re-solve per (dispatched owner, period). Every period has the same
structure (same columns, rows and costs); only bounds, right-hand sides and the tan(phi)
coefficients of reactive shedding change. So the model of period 0 is built with
:func:`clearing.flex.opf.build_model` (the single formulation of eqs. 1-15), compiled to a
sparse matrix through pyomo's standard representation, and loaded into ``highspy`` once;
each period is then a patch of bounds from :class:`clearing.flex.opf.PeriodData`, and each
VCG re-solve a change of the owner's upper bounds to 0, warm-started (dual simplex, a handful
of iterations) from the period's optimal basis, then from the previous re-solve's basis.

Solver options are fixed (:data:`SOLVER_OPTIONS`, reported in the result's ``oracle``):
single thread, fixed random seed, presolve off (a warm basis must be used as is), dual
simplex, so the same LP gives the same bits in every process.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from pyomo.repn.standard_repn import generate_standard_repn

from clearing.errors import InfeasibleError, SolverError
from clearing.flex.instance import FlexInstance
from clearing.flex.opf import Layout, PeriodData, build_model
from clearing.solver import new_highs

#: HiGHS options, fixed for determinism (never change them without changing the code version).
SOLVER_OPTIONS: dict[str, object] = {
    "threads": 1,
    "random_seed": 0,
    "presolve": "off",
    "solver": "simplex",
    "simplex_strategy": 1,
    "simplex_dual_edge_weight_strategy": 0,
    "parallel": "off",
    "primal_feasibility_tolerance": 1e-9,
    "dual_feasibility_tolerance": 1e-9,
}

INF = highspy.kHighsInf


@dataclass
class PeriodSolution:
    objective: float
    x: np.ndarray  # column values
    row_dual: np.ndarray
    col_dual: np.ndarray  # reduced costs


class PeriodLP:
    """One period's LP in HiGHS, with the column/row index maps of the compiled pyomo model."""

    def __init__(self, inst: FlexInstance) -> None:
        self.inst = inst
        self.layout = layout = Layout.of(inst)
        model = build_model(inst, periods=[0])
        columns = (
            [model.x[c, 0] for c in range(len(layout.offer_cols))]
            + [model.dcut[n, 0] for n in layout.shed_load_nodes]
            + [model.pcut[n, 0] for n in layout.shed_gen_nodes]
            + [model.fp[b, 0] for b in layout.branches]
            + [model.fq[b, 0] for b in layout.branches]
            + [model.U[n, 0] for n in layout.nodes]
            + [model.psub[0], model.qsub[0]]
        )
        rows = (
            [model.balance_p[n, 0] for n in layout.nodes]
            + [model.balance_q[n, 0] for n in layout.nodes]
            + [model.voltage[b, 0] for b in layout.branches]
        )
        col_of = {id(v): j for j, v in enumerate(columns)}
        self.n_cols, self.n_rows = len(columns), len(rows)
        n_off, n_dl, n_gl = len(layout.offer_cols), len(layout.shed_load_nodes), len(layout.shed_gen_nodes)
        n_b, n_n = len(layout.branches), len(layout.nodes)
        self.off_slice = slice(0, n_off)
        self.dl_slice = slice(n_off, n_off + n_dl)
        self.gl_slice = slice(n_off + n_dl, n_off + n_dl + n_gl)
        self.u_slice = slice(n_off + n_dl + n_gl + 2 * n_b, n_off + n_dl + n_gl + 2 * n_b + n_n)
        self.psub_col, self.qsub_col = self.n_cols - 2, self.n_cols - 1
        self.balp_rows = np.arange(0, n_n)
        self.balq_rows = np.arange(n_n, 2 * n_n)

        # costs (eq. 1) from the pyomo objective
        cost = np.zeros(self.n_cols)
        repn = generate_standard_repn(model.cost.expr, compute_values=True)
        for var, coef in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            cost[col_of[id(var)]] += coef
        self.cost = cost

        # constraint matrix, row by row, from the pyomo constraints
        starts, index, value = [], [], []
        row_lo, row_hi = np.zeros(self.n_rows), np.zeros(self.n_rows)
        for r, con in enumerate(rows):
            repn = generate_standard_repn(con.body, compute_values=True)
            starts.append(len(index))
            entries: dict[int, float] = {}
            for var, coef in zip(repn.linear_vars, repn.linear_coefs, strict=True):
                j = col_of[id(var)]
                entries[j] = entries.get(j, 0.0) + coef
            for j in sorted(entries):
                index.append(j)
                value.append(entries[j])
            const = float(repn.constant or 0.0)
            row_lo[r] = -INF if con.lower is None else float(con.lower()) - const
            row_hi[r] = INF if con.upper is None else float(con.upper()) - const
        # every offer column sits in exactly one balance row: keep (row, coefficient) for the
        # sensitivity shortcut of VCG withdrawals
        self.offer_row = np.zeros(n_off, dtype=np.int64)
        self.offer_coef = np.zeros(n_off)
        for r in range(self.n_rows):
            for pos in range(starts[r], starts[r + 1] if r + 1 < self.n_rows else len(index)):
                if index[pos] < n_off:
                    self.offer_row[index[pos]] = r
                    self.offer_coef[index[pos]] = value[pos]
        col_lo = np.array([-INF if v.lb is None else float(v.lb) for v in columns])
        col_hi = np.array([INF if v.ub is None else float(v.ub) for v in columns])

        self.highs = h = new_highs(SOLVER_OPTIONS)
        h.addVars(self.n_cols, col_lo, col_hi)
        h.changeColsCost(self.n_cols, np.arange(self.n_cols, dtype=np.int32), cost)
        h.addRows(
            self.n_rows,
            row_lo,
            row_hi,
            len(index),
            np.array(starts, dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.array(value, dtype=np.float64),
        )
        self.all_cols = np.arange(self.n_cols, dtype=np.int32)
        self.all_rows = np.arange(self.n_rows, dtype=np.int32)
        self._base_col_lo, self._base_col_hi = col_lo, col_hi
        self._row_lo, self._row_hi = row_lo, row_hi
        self._qty = np.array(
            [inst.offers[i].products[k].quantity_mw for i, k in layout.offer_cols], dtype=np.float64
        ).reshape(n_off, inst.periods)
        self._data = PeriodData.all_periods(inst)
        self.col_lo, self.col_hi = col_lo.copy(), col_hi.copy()
        self._sens: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ per period data

    def load_period(self, t: int) -> None:
        """Patch bounds, right-hand sides and tan(phi) coefficients to period ``t``."""
        d = self._data[t]
        lay = self.layout
        lo, hi = self._base_col_lo.copy(), self._base_col_hi.copy()
        hi[self.off_slice] = self._qty[:, t]
        hi[self.dl_slice] = [d.demand.get(n, 0.0) for n in lay.shed_load_nodes]
        hi[self.gl_slice] = [d.generation.get(n, 0.0) for n in lay.shed_gen_nodes]
        for col, val in ((self.psub_col, d.sub_p), (self.qsub_col, d.sub_q)):
            lo[col], hi[col] = (-INF, INF) if val is None else (val, val)
        self.col_lo, self.col_hi = lo, hi
        self.highs.changeColsBounds(self.n_cols, self.all_cols, lo, hi)
        rlo, rhi = self._row_lo.copy(), self._row_hi.copy()
        net_p = np.array([d.net_p(n) for n in lay.nodes])
        net_q = np.array([d.net_q(n) for n in lay.nodes])
        rlo[self.balp_rows] = rhi[self.balp_rows] = net_p
        rlo[self.balq_rows] = rhi[self.balq_rows] = net_q
        self.highs.changeRowsBounds(self.n_rows, self.all_rows, rlo, rhi)
        node_row = {n: int(r) for n, r in zip(lay.nodes, self.balq_rows, strict=True)}
        for j, n in enumerate(lay.shed_load_nodes, start=self.dl_slice.start):
            self.highs.changeCoeff(node_row[n], j, d.demand_tan.get(n, 0.0))
        for j, n in enumerate(lay.shed_gen_nodes, start=self.gl_slice.start):
            self.highs.changeCoeff(node_row[n], j, -d.generation_tan.get(n, 0.0))

    # ------------------------------------------------------------------ solving

    def run(self) -> bool:
        """Solve; True if optimal, False if infeasible; :class:`SolverError` otherwise."""
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return True
        if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return False
        raise SolverError(f"HiGHS stopped with status {self.highs.modelStatusToString(status)}")

    def objective(self) -> float:
        return float(self.highs.getInfo().objective_function_value)

    def solution(self) -> PeriodSolution:
        sol = self.highs.getSolution()
        return PeriodSolution(
            objective=self.objective(),
            x=np.array(sol.col_value, dtype=np.float64),
            row_dual=np.array(sol.row_dual, dtype=np.float64),
            col_dual=np.array(sol.col_dual, dtype=np.float64),
        )

    def solve_period(self, t: int) -> PeriodSolution:
        if not self.run():
            raise InfeasibleError(
                f"period {t}: no dispatch meets the network limits, even with all offers and shedding"
            )
        return self.solution()

    def get_basis(self) -> highspy.HighsBasis:
        return self.highs.getBasis()

    def set_basis(self, basis: highspy.HighsBasis) -> None:
        self.highs.setBasis(basis)

    def tie_break(self, optimum: float, weights: np.ndarray) -> np.ndarray | None:
        """Among dispatches costing at most ``optimum`` (+1e-9 relative), minimise ``weights . x``.

        Returns the column values, or None if HiGHS did not reach an optimum (the caller keeps
        the first-stage dispatch). The extra row and the changed costs are removed afterwards.
        """
        h = self.highs
        nz = np.flatnonzero(self.cost).astype(np.int32)
        bound = optimum + 1e-9 * max(1.0, abs(optimum))
        h.addRow(-INF, bound, len(nz), nz, self.cost[nz])
        h.changeColsCost(self.n_cols, self.all_cols, weights)
        try:
            ok = self.run()
            x = np.array(h.getSolution().col_value, dtype=np.float64) if ok else None
        finally:
            h.deleteRows(1, np.array([self.n_rows], dtype=np.int32))
            h.changeColsCost(self.n_cols, self.all_cols, self.cost)
        return x

    def prepare_withdrawals(self, first: PeriodSolution) -> None:
        """Remember the optimal basis of ``first`` (just solved: its factorisation is current)."""
        status, basic = self.highs.getBasicVariables()
        basic = np.asarray(basic, dtype=np.int64)
        is_basic = np.zeros(self.n_cols, dtype=bool)
        is_basic[basic[basic >= 0]] = True
        self._sens = (basic, is_basic, first.x, first.col_dual)
        self._structural = basic >= 0

    def withdrawal_delta(self, cols: np.ndarray, tol: float = 1e-9) -> float | None:
        """``C*_{-o,t} - C*_t`` by LP sensitivity, or None when a re-solve is needed.

        Withdrawing an owner sets its columns' upper bounds to 0. Bound changes keep the optimal
        basis dual feasible; if it also stays primal feasible - the owner's dispatched columns are
        nonbasic (at their upper bound) and the basic variables, shifted by ``B^-1 a_j x_j``, stay
        within their bounds (equality rows' logicals must not move) - it is still optimal, and the
        cost rises by ``-sum_j d_j x_j`` (``d_j`` the reduced costs). Exact, with no solve: one
        FTRAN with the current factorisation. Call right after :meth:`prepare_withdrawals`.
        """
        assert self._sens is not None
        basic, is_basic, x, d = self._sens
        xs, basic_cols = x[cols], is_basic[cols]
        if (basic_cols & (xs > tol)).any():  # a dispatched basic column: the basis must change
            return None
        cols_m = cols[~basic_cols & (xs > 0.0)]  # nonbasic at their upper bound
        if not len(cols_m):
            return 0.0
        rhs = np.zeros(self.n_rows)
        np.add.at(rhs, self.offer_row[cols_m], self.offer_coef[cols_m] * x[cols_m])
        status, shift = self.highs.getBasisSolve(rhs)
        if status != highspy.HighsStatus.kOk:
            return None
        shift = np.asarray(shift)
        structural = self._structural
        if (np.abs(shift[~structural]) > tol).any():
            return None
        bcols = basic[structural]
        new = x[bcols] + shift[structural]
        withdrawn = np.zeros(self.n_cols, dtype=bool)
        withdrawn[cols] = True
        hi = np.where(withdrawn[bcols], 0.0, self.col_hi[bcols])
        if (new < self.col_lo[bcols] - tol).any() or (new > hi + tol).any():
            return None
        return max(0.0, -float(np.dot(d[cols_m], x[cols_m])))

    def resolve_without(self, cols: np.ndarray) -> float | None:
        """Optimal cost of this period with ``cols`` forced to 0; None if infeasible.

        Warm-started from whatever basis HiGHS holds (the caller starts each period's series of
        re-solves from the period's optimal basis); bounds are restored afterwards, which keeps
        that basis dual feasible for the next re-solve.
        """
        h = self.highs
        n = len(cols)
        zeros = np.zeros(n)
        h.changeColsBounds(n, cols, zeros, zeros)
        try:
            return self.objective() if self.run() else None
        finally:
            h.changeColsBounds(n, cols, zeros, self.col_hi[cols])
