"""What computed a capacity result: code and solver versions, solver options, tie-break rule.

Why: peers compare result bytes; two peers running different code or solver versions must
disagree visibly (different ``oracle`` block, different ``result_hash``) rather than by a
last-digit surprise. ``sources_sha256`` hashes the clearing sources that shape the result.
"""

from __future__ import annotations

from typing import Any

from clearing import provenance
from clearing.capacity.premium import SOLVER_OPTIONS

#: Sources whose content determines a capacity result (relative to the clearing package).
_SOURCES = ("canonical.py", "errors.py", "capacity")

TIE_BREAK = (
    "premium_capacity: stage 2 maximises V + eps P, P = sum_b |periods_b| (N - rank_b) / N x_b, "
    "rank_b by (timestamp, id) within the component, eps = 1e-4 V* / sum_b w_b ub_b; if V < V* - tol "
    "(tol = 1e-6 + 1e-9 V*) it maximises P subject to V >= V* - tol; "
    "social_equity: fcfs (timestamp, id) or highest_demand (-quantity, timestamp, id)"
)


def sources_sha256() -> str:
    """Digest of the sources that determine this market's results."""
    return provenance.sources_sha256(_SOURCES)


def oracle_info() -> dict[str, Any]:
    """The ``oracle`` block of a capacity result."""
    return {
        "code": {
            "package": "flexledger",
            "version": provenance.package_version("flexledger"),
            "sources_sha256": sources_sha256(),
        },
        "solver": {
            "name": "HiGHS",
            "highs": provenance.highs_version(),
            "highspy": provenance.package_version("highspy"),
            "pyomo": provenance.package_version("pyomo"),
            # tolerances such as 1e-9 would print as 0 with 6 canonical decimals: report them as text
            "options": {key: repr(v) if isinstance(v, float) else v for key, v in SOLVER_OPTIONS.items()},
        },
        "tie_break": TIE_BREAK,
    }
