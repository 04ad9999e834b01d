"""What computed a result: code and solver versions, solver options, tie-break rule.

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

from clearing.flex.lp import SOLVER_OPTIONS

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the clearing package
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


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def sources_sha256() -> str:
    """sha256 over (relative path, content) of :data:`_SOURCES`, in sorted path order."""
    digest = hashlib.sha256()
    for name in sorted(_SOURCES):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update((_PACKAGE_DIR / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def _highs_version() -> str:
    import highspy

    h = highspy.Highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


def oracle_info() -> dict[str, Any]:
    return {
        "code": {"package": "flexledger", "version": _version("flexledger"), "sources_sha256": sources_sha256()},
        "solver": {
            "name": "HiGHS",
            "highs": _highs_version(),
            "highspy": _version("highspy"),
            "pyomo": _version("pyomo"),
            # as text: canonical JSON rounds numbers to 6 decimals, which would print 1e-9 as 0
            "options": {key: str(value) for key, value in SOLVER_OPTIONS.items()},
        },
        "tie_break": TIE_BREAK,
    }
