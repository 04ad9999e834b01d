"""Errors raised by the clearing library.

Every refusal names the field that caused it (a JSON-pointer-like path such as
``offers[3].products.p_up.quantity_mw``), so that callers at every boundary — CLI,
chaincode, REST — can report it to the person who typed the input.
"""

from __future__ import annotations


class ClearingError(Exception):
    """Base class of everything the clearing library raises on purpose."""


class ValidationError(ClearingError, ValueError):
    """An input document breaks the schema or a market rule."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InfeasibleError(ClearingError):
    """The optimisation problem has no feasible solution (the input is consistent but impossible)."""


class SolverError(ClearingError):
    """The solver failed for a reason other than infeasibility."""
