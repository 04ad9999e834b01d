"""The one way the oracle makes a HiGHS instance: silent, with the fixed options it is given.

Why one place: the oracle's output is canonical JSON on stdout (``flexledger clear``) and the
same bytes on every peer, so no solver may ever write to stdout. highspy 1.16 prints a banner
from the constructor itself, before any option can be set; the exact pin in pyproject.toml
keeps a version that does not, and ``tests/unit/clearing/test_solver.py`` fails on any that does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import highspy


def new_highs(options: Mapping[str, Any] | None = None) -> highspy.Highs:
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    for key, value in (options or {}).items():
        highs.setOptionValue(key, value)
    return highs
