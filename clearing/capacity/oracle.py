"""What computed a capacity result: code and solver versions, solver options, tie-break rule.

Why: peers compare result bytes; two peers running different code or solver versions must
disagree visibly (different ``oracle`` block, different ``result_hash``) rather than by a
last-digit surprise. ``sources_sha256`` hashes the clearing sources that shape the result.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path
from typing import Any

from clearing.capacity.premium import SOLVER_OPTIONS

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the clearing package
#: Sources whose content determines a capacity result (relative to the clearing package).
_SOURCES = ("canonical.py", "errors.py", "capacity")

TIE_BREAK = (
    "premium_capacity: stage 2 maximises V + eps P, P = sum_b |periods_b| (N - rank_b) / N x_b, "
    "rank_b by (timestamp, id) within the component, eps = 1e-4 V* / sum_b w_b ub_b; if V < V* - tol "
    "(tol = 1e-6 + 1e-9 V*) it maximises P subject to V >= V* - tol; "
    "social_equity: fcfs (timestamp, id) or highest_demand (-quantity, timestamp, id)"
)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def sources_sha256() -> str:
    """sha256 over (relative path, content) of the clearing sources, in sorted path order."""
    digest = hashlib.sha256()
    files: list[Path] = []
    for name in _SOURCES:
        path = _PACKAGE_DIR / name
        files.extend(sorted(path.glob("*.py")) if path.is_dir() else [path])
    for path in sorted(files, key=lambda p: p.relative_to(_PACKAGE_DIR).as_posix()):
        digest.update(path.relative_to(_PACKAGE_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def _highs_version() -> str:
    import highspy

    h = highspy.Highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


def oracle_info() -> dict[str, Any]:
    """The ``oracle`` block of a capacity result."""
    return {
        "code": {
            "package": "flexledger",
            "version": _version("flexledger"),
            "sources_sha256": sources_sha256(),
        },
        "solver": {
            "name": "HiGHS",
            "highs": _highs_version(),
            "highspy": _version("highspy"),
            "pyomo": _version("pyomo"),
            # tolerances such as 1e-9 would print as 0 with 6 canonical decimals: report them as text
            "options": {key: repr(v) if isinstance(v, float) else v for key, v in SOLVER_OPTIONS.items()},
        },
        "tie_break": TIE_BREAK,
    }
