"""What computed a result: code and solver versions, solver options, tie-break rule.

Why: peers compare result bytes; two peers running different code or solver versions must
disagree visibly (different ``oracle`` block, different ``result_hash``) rather than by a
last-digit surprise. ``sources_sha256`` hashes the clearing sources that shape the result.
"""

from __future__ import annotations

from typing import Any

from clearing import provenance
from clearing.flex.lp import SOLVER_OPTIONS

#: Sources whose content determines a flexibility result (relative to the clearing package). Helpers
#: that never run during a clearing (synthetic instances, the reference solver, reports) stay out.
_SOURCES = (
    "api.py",
    "canonical.py",
    "errors.py",
    "flex/__init__.py",
    "flex/clear.py",
    "flex/instance.py",
    "flex/lp.py",
    "flex/opf.py",
    "flex/oracle.py",
    "flex/split.py",
)

TIE_BREAK = (
    "stage 2 per period and independent part: cost <= C*_t (1 + 1e-9); minimise sum_k (1 + k/2K) x_k over offer columns "
    "(offers by id, products p_up,p_down,q_up,q_down) then load then generation shedding (by node id)"
)


def sources_sha256() -> str:
    """Digest of the sources that determine this market's results."""
    return provenance.sources_sha256(_SOURCES)


def oracle_info() -> dict[str, Any]:
    return {
        "code": {"package": "flexledger", "version": provenance.package_version("flexledger"), "sources_sha256": sources_sha256()},
        "solver": {
            "name": "HiGHS",
            "highs": provenance.highs_version(),
            "highspy": provenance.package_version("highspy"),
            "pyomo": provenance.package_version("pyomo"),
            # as text: canonical JSON rounds numbers to 6 decimals, which would print 1e-9 as 0
            "options": {key: str(value) for key, value in SOLVER_OPTIONS.items()},
        },
        "tie_break": TIE_BREAK,
    }
