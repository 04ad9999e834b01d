"""The validated capacity-market instance: the dataclasses every caller shares.

Why: the chaincode builds ``flexledger.capacity/1`` documents from ledger state and checks
single bids when they are placed; the oracle parses whole documents before clearing.
Both go through this module, so a bid is refused with the same field name and words
wherever it is refused, and the normalised form (defaults filled in, bids sorted by
id, limits sorted) is what ``input_hash`` covers — the order of bids or keys in the
document never changes the hash or the result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clearing.api import CAPACITY_INPUT_BID_FIELDS
from clearing.api import CAPACITY_SCHEMA as SCHEMA
from clearing.capacity.rules import MarketRules, check_bid_rules, parse_rules
from clearing.capacity.units import from_micro, integer, number, text, timestamp_ns, to_micro
from clearing.errors import ValidationError

RESULT_SCHEMA = "flexledger.capacity-result/1"

STAGES = ("day_ahead", "intraday")
RULES = ("premium_capacity", "social_equity")
PRIORITIES = ("fcfs", "highest_demand")
PRICINGS = ("pay_as_bid", "uniform")

_DOCUMENT_FIELDS = ("schema", "market", "limits", "bids")
_MARKET_FIELDS = ("id", "stage", "rule", "priority", "pricing", "periods", "period_minutes", "rules")
_LIMIT_FIELDS = ("feeder", "period", "capacity_mw")


@dataclass(frozen=True)
class Market:
    """What is traded and how it is cleared; ``priority`` serves social equity, ``pricing`` premium capacity."""

    id: str
    stage: str
    rule: str
    priority: str
    pricing: str
    periods: int
    period_minutes: int
    rules: MarketRules = dataclasses.field(default_factory=MarketRules)

    @property
    def hours(self) -> float:
        """Length of one period in hours (the MW → MWh factor)."""
        return self.period_minutes / 60.0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "stage": self.stage, "rule": self.rule, "priority": self.priority,
            "pricing": self.pricing, "periods": self.periods, "period_minutes": self.period_minutes,
            "rules": self.rules.to_json(),
        }  # fmt: skip


@dataclass(frozen=True)
class Limit:
    """Capacity the DSO leaves for the market on one feeder in one period."""

    feeder: str
    period: int
    capacity_mw: float

    @property
    def capacity_micro(self) -> int:
        return to_micro(self.capacity_mw)

    def to_json(self) -> dict[str, Any]:
        return {"feeder": self.feeder, "period": self.period, "capacity_mw": self.capacity_mw}


@dataclass(frozen=True)
class Bid:
    """A request for the same MW on one feeder in every listed period (periods sorted, unique)."""

    id: str
    owner: str
    device: str
    feeder: str
    periods: tuple[int, ...]
    quantity_mw: float
    min_mw: float
    divisible: bool
    price_eur_per_mwh: float
    timestamp: str
    timestamp_ns: int

    @property
    def quantity_micro(self) -> int:
        return to_micro(self.quantity_mw)

    @property
    def min_micro(self) -> int:
        """Smallest non-zero award: ``min_mw`` if divisible, the whole quantity otherwise."""
        return to_micro(self.min_mw) if self.divisible else self.quantity_micro

    @property
    def arrival_key(self) -> tuple[int, str]:
        """First come, first served: earlier timestamp, then smaller id."""
        return (self.timestamp_ns, self.id)

    @property
    def demand_key(self) -> tuple[int, int, str]:
        """Highest demand first: larger quantity, then earlier timestamp, then smaller id."""
        return (-self.quantity_micro, self.timestamp_ns, self.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "owner": self.owner, "device": self.device, "feeder": self.feeder,
            "periods": list(self.periods), "quantity_mw": self.quantity_mw, "min_mw": self.min_mw,
            "divisible": self.divisible, "price_eur_per_mwh": self.price_eur_per_mwh,
            "timestamp": self.timestamp,
        }  # fmt: skip


@dataclass(frozen=True)
class CapacityMarket:
    """A whole validated document: market, limits keyed by (feeder, period), bids sorted by id."""

    market: Market
    limits: tuple[Limit, ...]
    bids: tuple[Bid, ...]

    def capacity_micro(self) -> dict[tuple[str, int], int]:
        """Capacity per (feeder, period) in micro-MW; absent keys have no capacity."""
        return {(limit.feeder, limit.period): limit.capacity_micro for limit in self.limits}

    def to_json(self) -> dict[str, Any]:
        """The normalised document that ``input_hash`` covers."""
        return {
            "schema": SCHEMA,
            "market": self.market.to_json(),
            "limits": [limit.to_json() for limit in self.limits],
            "bids": [bid.to_json() for bid in self.bids],
        }


def _check_fields(raw: Mapping[str, Any], known: tuple[str, ...], field_name: str) -> None:
    unknown = sorted(str(key) for key in raw if key not in known)
    if unknown:
        prefix = f"{field_name}." if field_name else ""
        raise ValidationError(f"{prefix}{unknown[0]}", f"unknown field; expected only {', '.join(known)}")


def _require(raw: Mapping[str, Any], key: str, field_name: str) -> Any:
    if key not in raw or raw[key] is None:
        raise ValidationError(f"{field_name}.{key}", "is required")
    return raw[key]


def _choice(raw: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str | None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise ValidationError(f"market.{key}", f"is required; one of {', '.join(choices)}")
    if value not in choices:
        raise ValidationError(f"market.{key}", f"{value!r} is not one of {', '.join(choices)}")
    return value


def parse_market(raw: Any) -> Market:
    """Validate the ``market`` object; ``stage``, ``priority``, ``pricing`` and ``period_minutes`` have defaults."""
    if not isinstance(raw, Mapping):
        raise ValidationError("market", "must be an object")
    _check_fields(raw, _MARKET_FIELDS, "market")
    periods = integer(_require(raw, "periods", "market"), "market.periods", minimum=1)
    minutes = integer(raw.get("period_minutes", 60), "market.period_minutes", minimum=1)
    return Market(
        id=text(_require(raw, "id", "market"), "market.id"),
        stage=_choice(raw, "stage", STAGES, "day_ahead"),
        rule=_choice(raw, "rule", RULES, None),
        priority=_choice(raw, "priority", PRIORITIES, "fcfs"),
        pricing=_choice(raw, "pricing", PRICINGS, "pay_as_bid"),
        periods=periods,
        period_minutes=minutes,
        rules=parse_rules(raw.get("rules")),
    )


def _period(value: Any, periods: int, field_name: str) -> int:
    period = integer(value, field_name, minimum=0)
    if period >= periods:
        raise ValidationError(field_name, f"period {period} is outside the market's periods 0..{periods - 1}")
    return period


def parse_limit(raw: Any, periods: int, field_name: str) -> Limit:
    """Validate one ``limits`` entry."""
    if not isinstance(raw, Mapping):
        raise ValidationError(field_name, "must be an object")
    _check_fields(raw, _LIMIT_FIELDS, field_name)
    return Limit(
        feeder=text(_require(raw, "feeder", field_name), f"{field_name}.feeder"),
        period=_period(_require(raw, "period", field_name), periods, f"{field_name}.period"),
        capacity_mw=number(
            _require(raw, "capacity_mw", field_name), f"{field_name}.capacity_mw", minimum=0.0
        ),
    )


def validate_bid(
    raw: Any, rules: MarketRules | Mapping[str, Any] | None, periods: int, field: str = "bid"
) -> Bid:
    """Validate one bid against the schema and the market's rules, as at placement time.

    ``field`` prefixes every error (``bids[3]`` when called on a document). ``min_mw``
    defaults to 0; it must not exceed ``quantity_mw`` and only matters when the bid is
    divisible (a non-divisible bid is awarded its whole quantity or nothing).
    """
    if not isinstance(rules, MarketRules):
        rules = parse_rules(rules)
    if not isinstance(raw, Mapping):
        raise ValidationError(field, "must be an object")
    _check_fields(raw, CAPACITY_INPUT_BID_FIELDS, field)
    bid_id = text(_require(raw, "id", field), f"{field}.id")
    raw_periods = _require(raw, "periods", field)
    if not isinstance(raw_periods, list) or not raw_periods:
        raise ValidationError(
            f"{field}.periods", f"bid {bid_id!r}: must be a non-empty list of period indices"
        )
    bid_periods = [_period(p, periods, f"{field}.periods[{i}]") for i, p in enumerate(raw_periods)]
    if len(set(bid_periods)) != len(bid_periods):
        raise ValidationError(f"{field}.periods", f"bid {bid_id!r}: lists a period twice")
    quantity = number(
        _require(raw, "quantity_mw", field), f"{field}.quantity_mw", minimum=0.0, strict_minimum=True
    )
    min_mw = number(raw.get("min_mw", 0.0), f"{field}.min_mw", minimum=0.0)
    if min_mw > quantity:
        raise ValidationError(
            f"{field}.min_mw", f"bid {bid_id!r}: {min_mw!r} MW is above quantity_mw {quantity!r} MW"
        )
    divisible = _require(raw, "divisible", field)
    if not isinstance(divisible, bool):
        raise ValidationError(f"{field}.divisible", f"must be true or false, got {type(divisible).__name__}")
    price = number(_require(raw, "price_eur_per_mwh", field), f"{field}.price_eur_per_mwh", minimum=0.0)
    timestamp = _require(raw, "timestamp", field)
    stamp_ns = timestamp_ns(timestamp, f"{field}.timestamp")
    check_bid_rules(bid_id, quantity, min_mw, price, rules, field)
    return Bid(
        id=bid_id,
        owner=text(_require(raw, "owner", field), f"{field}.owner"),
        device=text(_require(raw, "device", field), f"{field}.device"),
        feeder=text(_require(raw, "feeder", field), f"{field}.feeder"),
        periods=tuple(sorted(bid_periods)),
        quantity_mw=quantity,
        min_mw=min_mw,
        divisible=divisible,
        price_eur_per_mwh=price,
        timestamp=timestamp,
        timestamp_ns=stamp_ns,
    )


def parse_document(doc: Any) -> CapacityMarket:
    """Validate a whole ``flexledger.capacity/1`` document into a :class:`CapacityMarket`."""
    if not isinstance(doc, Mapping):
        raise ValidationError("$", "the document must be a JSON object")
    _check_fields(doc, _DOCUMENT_FIELDS, "")
    if doc.get("schema") != SCHEMA:
        raise ValidationError("schema", f"must be {SCHEMA!r}, got {doc.get('schema')!r}")
    market = parse_market(doc.get("market"))
    raw_limits = doc.get("limits", [])
    if not isinstance(raw_limits, list):
        raise ValidationError("limits", "must be a list")
    limits: dict[tuple[str, int], Limit] = {}
    for i, raw in enumerate(raw_limits):
        limit = parse_limit(raw, market.periods, f"limits[{i}]")
        key = (limit.feeder, limit.period)
        if key in limits:
            raise ValidationError(
                f"limits[{i}]", f"feeder {limit.feeder!r} period {limit.period} is listed twice"
            )
        limits[key] = limit
    raw_bids = doc.get("bids", [])
    if not isinstance(raw_bids, list):
        raise ValidationError("bids", "must be a list")
    bids: dict[str, Bid] = {}
    for i, raw in enumerate(raw_bids):
        bid = validate_bid(raw, market.rules, market.periods, f"bids[{i}]")
        if bid.id in bids:
            raise ValidationError(f"bids[{i}].id", f"bid id {bid.id!r} is used twice")
        bids[bid.id] = bid
    return CapacityMarket(
        market=market,
        limits=tuple(limits[key] for key in sorted(limits)),
        bids=tuple(bids[key] for key in sorted(bids)),
    )


def awards_json(awards_micro: Mapping[str, int]) -> dict[str, float]:
    """Awards as the result prints them: MW per bid id."""
    return {bid_id: from_micro(value) for bid_id, value in awards_micro.items()}
