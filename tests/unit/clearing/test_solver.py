"""The oracle's solver never writes to stdout, and the environment is the locked one."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

from clearing.solver import new_highs

ROOT = Path(__file__).resolve().parents[3]


def test_a_new_solver_writes_nothing_to_stdout_even_when_it_solves(capfd: pytest.CaptureFixture[str]) -> None:
    highs = new_highs({"threads": 1})
    x = highs.addVariable(0.0, 1.0)
    highs.minimize(x)
    out, err = capfd.readouterr()
    assert out == "", f"HiGHS wrote to stdout: {out[:200]!r}"


def test_installed_packages_are_exactly_the_locked_versions() -> None:
    """A drifted environment would give peers different oracles: endorsement fails, but tell us first."""
    locked = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if match:
            locked[match.group(1).lower().replace("_", "-")] = match.group(2)
    assert {"highspy", "pyomo", "numpy", "pandas"} <= set(locked)
    drifted = {}
    for name, version in locked.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            drifted[name] = (version, installed)
    assert not drifted, f"installed versions differ from constraints.txt (locked, installed): {drifted}"
