"""Canonical JSON: the same value gives the same bytes in every process, on every peer.

Why not ``json.dumps``: float printing through ``repr`` is exact but exposes solver
noise in the last digits (1e-12 differences between two runs of an LP give different
bytes). Every float of a *result* is therefore rounded to a fixed number of decimals and
printed by a fixed format, keys are sorted, and there is no whitespace.

An *input* is printed with :data:`EXACT` instead: rounding it would change the physics
(an ``r_pu`` of 0.0000123 read as 0.000012 is a 2.4 % impedance error), and an input has no
solver noise to hide. A number that the fixed format reads back unchanged keeps that text
(so documents with at most 6 decimals keep their bytes and hashes); any other prints as the
shortest text that reads back as the same float (``repr``, correctly rounded and the same on
every platform). Either way: same input, same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

#: Decimals kept for every float in canonical output (1e-6 MW = 1 W, 1e-6 EUR).
DECIMALS = 6
#: ``decimals`` for inputs: print every float exactly (see the module docstring).
EXACT = None


def round_float(value: float, decimals: int = DECIMALS) -> float:
    """Round like the canonical printer does, returning a float (``-0.0`` becomes ``0.0``)."""
    text = format_number(value, decimals)
    return float(text)


def format_number(value: float | int, decimals: int | None = DECIMALS) -> str:
    """Print a number with fixed rounding (or exactly, with :data:`EXACT`); integers stay integers,
    ``-0`` becomes ``0``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"non-finite number {value!r} cannot be put in canonical JSON")
    text = f"{value:.{DECIMALS if decimals is None else decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    if decimals is None and float(text) != value:
        text = repr(value)
    return text


def _encode(value: Any, out: list[str], decimals: int | None) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int | float):
        out.append(format_number(value, decimals))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, key in enumerate(sorted(value, key=str)):
            if not isinstance(key, str):
                raise TypeError(f"canonical JSON keys must be strings, got {key!r}")
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(value[key], out, decimals)
        out.append("}")
    elif isinstance(value, Sequence):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, decimals)
        out.append("]")
    else:
        raise TypeError(f"cannot put {type(value).__name__} in canonical JSON")


def dumps(value: Any, decimals: int | None = DECIMALS) -> bytes:
    """Canonical UTF-8 bytes of a JSON-like value (floats rounded to ``decimals``, or exact with :data:`EXACT`)."""
    out: list[str] = []
    _encode(value, out, decimals)
    return "".join(out).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_of(value: Any, decimals: int | None = DECIMALS) -> str:
    """``sha256`` of the canonical bytes of ``value``."""
    return sha256_hex(dumps(value, decimals))
