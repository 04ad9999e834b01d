"""Market management parameters (MARKETFLEX): price resolution, order granularity, min/max quantity and price.

Why a module of its own: the chaincode checks a bid against these rules when the bid is
placed (so a bad bid never reaches the ledger) and the oracle checks them again when it
clears; both must refuse with the same words, so both call :func:`check_bid_rules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from clearing.capacity.units import is_multiple, number
from clearing.errors import ValidationError

RULE_FIELDS = (
    "price_resolution_eur",
    "quantity_step_mw",
    "min_quantity_mw",
    "max_quantity_mw",
    "min_price_eur_per_mwh",
    "max_price_eur_per_mwh",
)


@dataclass(frozen=True)
class MarketRules:
    """Optional limits a market puts on every bid; ``None`` means the rule is not set."""

    price_resolution_eur: float | None = None
    quantity_step_mw: float | None = None
    min_quantity_mw: float | None = None
    max_quantity_mw: float | None = None
    min_price_eur_per_mwh: float | None = None
    max_price_eur_per_mwh: float | None = None

    def to_json(self) -> dict[str, float]:
        """Only the rules that are set, so that ``{}`` and an absent object hash alike."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def parse_rules(raw: Any, field: str = "market.rules") -> MarketRules:
    """Validate a ``market.rules`` object (absent or ``null`` means no rules)."""
    if raw is None:
        return MarketRules()
    if not isinstance(raw, Mapping):
        raise ValidationError(field, "must be an object")
    unknown = sorted(set(raw) - set(RULE_FIELDS))
    if unknown:
        raise ValidationError(f"{field}.{unknown[0]}", f"unknown rule; known rules: {', '.join(RULE_FIELDS)}")
    values: dict[str, float | None] = {}
    for key in RULE_FIELDS:
        value = raw.get(key)
        if value is None:
            values[key] = None
            continue
        strict = key in ("price_resolution_eur", "quantity_step_mw")
        values[key] = number(value, f"{field}.{key}", minimum=0.0, strict_minimum=strict)
    rules = MarketRules(**values)
    for low, high in (
        ("min_quantity_mw", "max_quantity_mw"),
        ("min_price_eur_per_mwh", "max_price_eur_per_mwh"),
    ):
        lo, hi = getattr(rules, low), getattr(rules, high)
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError(f"{field}.{low}", f"{lo!r} is greater than {high} {hi!r}")
    return rules


def check_bid_rules(
    bid_id: str, quantity_mw: float, min_mw: float, price: float, rules: MarketRules, field: str
) -> None:
    """Refuse a bid that breaks a market rule, naming the bid, the field and the rule."""

    def refuse(name: str, key: str, message: str) -> None:
        raise ValidationError(f"{field}.{name}", f"bid {bid_id!r} breaks market rule {key}: {message}")

    if rules.quantity_step_mw is not None:
        step = rules.quantity_step_mw
        for name, value in (("quantity_mw", quantity_mw), ("min_mw", min_mw)):
            if not is_multiple(value, step):
                refuse(name, "quantity_step_mw", f"{value!r} MW is not a multiple of {step!r} MW")
    if rules.min_quantity_mw is not None and quantity_mw < rules.min_quantity_mw:
        refuse("quantity_mw", "min_quantity_mw", f"{quantity_mw!r} MW is below {rules.min_quantity_mw!r} MW")
    if rules.max_quantity_mw is not None and quantity_mw > rules.max_quantity_mw:
        refuse("quantity_mw", "max_quantity_mw", f"{quantity_mw!r} MW is above {rules.max_quantity_mw!r} MW")
    if rules.price_resolution_eur is not None and not is_multiple(price, rules.price_resolution_eur):
        refuse(
            "price_eur_per_mwh",
            "price_resolution_eur",
            f"{price!r} EUR/MWh is not a multiple of {rules.price_resolution_eur!r} EUR",
        )
    if rules.min_price_eur_per_mwh is not None and price < rules.min_price_eur_per_mwh:
        refuse(
            "price_eur_per_mwh",
            "min_price_eur_per_mwh",
            f"{price!r} EUR/MWh is below {rules.min_price_eur_per_mwh!r} EUR/MWh",
        )
    if rules.max_price_eur_per_mwh is not None and price > rules.max_price_eur_per_mwh:
        refuse(
            "price_eur_per_mwh",
            "max_price_eur_per_mwh",
            f"{price!r} EUR/MWh is above {rules.max_price_eur_per_mwh!r} EUR/MWh",
        )
