"""EUR amounts from the oracle → integer cents, with one documented rounding.

The oracle prints money as canonical decimals (6 places). Each owner's total payment is converted on
its own, ``round half to even`` to the cent (``12.345`` → 1234, ``12.355`` → 1236), so rounding never
depends on the order of owners and funds stay integers on every peer.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from chaincode.errors import ChaincodeError
from clearing import canonical
from clearing.limits import echo


def eur_to_cents(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ChaincodeError(field, f"must be a number of EUR, got {echo(value)}")
    exact = Decimal(canonical.format_number(value))
    return int((exact * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def payments_in_cents(payments_eur: Any, field: str = "clearing.payments_eur") -> dict[str, int]:
    """``{owner: cents}`` in owner order; a negative payment is refused (no rule moves money that way)."""
    if payments_eur is None:
        return {}
    if not isinstance(payments_eur, dict):
        raise ChaincodeError(field, "must be an object of owner → EUR")
    out: dict[str, int] = {}
    for owner in sorted(payments_eur):
        cents = eur_to_cents(payments_eur[owner], f"{field}.{owner}")
        if cents < 0:
            raise ChaincodeError(f"{field}.{owner}", f"negative payment {cents} cents cannot be settled")
        out[owner] = cents
    return out
