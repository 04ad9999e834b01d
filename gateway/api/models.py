"""Request and response bodies of the REST API (pydantic, so malformed input is a 422 naming the field).

The service checks shapes and types; the chaincode checks meaning (ownership, gates, limits) and is the
only authority. Bodies never carry an owner or MSP: who acts is the authenticated caller.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
DAY = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2026-11-21"])
TIME = Field(min_length=10, max_length=40, examples=["2026-11-21T10:00:00Z"])
MSP_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
MSP = Field(min_length=1, max_length=64, pattern=MSP_PATTERN, examples=["agg1MSP"])
MW = Field(ge=-1e6, le=1e6)
PRICE = Field(ge=-1e6, le=1e6)


class Body(BaseModel):
    """Strict bodies: unknown fields and NaN/inf are refused with 422."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DeviceIn(Body):
    id: str = ID
    type: Literal["storage", "generation", "load"]
    max_power_mw: float = MW
    min_power_mw: float = Field(default=0.0, ge=-1e6, le=1e6)
    capacity_mwh: float | None = Field(default=None, ge=0, le=1e6)
    node: str = Field(min_length=1, max_length=64)
    feeder: str = Field(min_length=1, max_length=64)


class DevicePatch(Body):
    max_power_mw: float | None = Field(default=None, ge=-1e6, le=1e6)
    min_power_mw: float | None = Field(default=None, ge=-1e6, le=1e6)
    capacity_mwh: float | None = Field(default=None, ge=0, le=1e6)


class ProductOffer(Body):
    price_eur_per_mwh: float = PRICE
    quantity_mw: list[float] = Field(min_length=1, max_length=1440)


class BidIn(Body):
    """A capacity bid (periods, quantity_mw, price) or a flexibility bid (products)."""

    id: str = ID
    market_id: str = ID
    device: str = ID
    products: dict[Literal["p_up", "p_down", "q_up", "q_down"], ProductOffer] | None = None
    periods: list[int] | None = Field(default=None, min_length=1, max_length=1440)
    quantity_mw: float | None = Field(default=None, ge=0, le=1e6)
    min_mw: float | None = Field(default=None, ge=0, le=1e6)
    divisible: bool | None = None
    price_eur_per_mwh: float | None = Field(default=None, ge=-1e6, le=1e6)


class MarketIn(Body):
    id: str = ID
    kind: Literal["capacity_day_ahead", "capacity_intraday", "flexibility"]
    feeder: str | None = Field(default=None, max_length=64)
    day: str = DAY
    rule: str | None = Field(default=None, max_length=64)
    priority: str | None = Field(default=None, max_length=64)
    pricing: str | None = Field(default=None, max_length=64)
    gate_opens: str = TIME
    gate_closes: str = TIME
    periods: int | None = Field(default=None, ge=1, le=1440)
    period_minutes: int | None = Field(default=None, ge=1, le=1440)
    rules: dict[str, Any] | None = None
    budget_cents: int | None = Field(default=None, ge=0, le=10**15)


class MarketPatch(Body):
    """Only before the gate opens; the chaincode refuses later edits (409)."""

    rule: str | None = Field(default=None, max_length=64)
    priority: str | None = Field(default=None, max_length=64)
    pricing: str | None = Field(default=None, max_length=64)
    gate_opens: str | None = Field(default=None, min_length=10, max_length=40)
    gate_closes: str | None = Field(default=None, min_length=10, max_length=40)
    periods: int | None = Field(default=None, ge=1, le=1440)
    period_minutes: int | None = Field(default=None, ge=1, le=1440)
    rules: dict[str, Any] | None = None


class NetworkIn(Body):
    network: dict[str, Any]
    feeders: dict[str, list[str]] = Field(default_factory=dict)


class BaselineIn(Body):
    day: str = DAY
    periods: int = Field(ge=1, le=1440)
    period_minutes: int = Field(ge=1, le=1440)
    baseline: list[dict[str, Any]] | None = None
    substation: dict[str, Any] | None = None
    shedding_cost: dict[str, Any] | None = None


class CapacityLimit(Body):
    feeder: str = Field(min_length=1, max_length=64)
    period: int = Field(ge=0, le=1439)
    capacity_mw: float = Field(ge=0, le=1e6)


class CapacityLimitsIn(Body):
    """Either explicit ``limits`` or, for an intraday market, ``from_day_ahead``: the id of the cleared
    day-ahead market whose leftover capacity becomes this market's limits."""

    market_id: str = ID
    limits: list[CapacityLimit] | None = Field(default=None, min_length=1)
    from_day_ahead: str | None = Field(default=None, min_length=1, max_length=64,
                                       pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


class FlexibilityRequestIn(Body):
    id: str = ID
    day: str = DAY
    gate_opens: str = TIME
    gate_closes: str = TIME
    budget_cents: int = Field(ge=0, le=10**15)
    feeder: str | None = Field(default=None, max_length=64)
    rule: str | None = Field(default=None, max_length=64)
    rules: dict[str, Any] | None = None


class FundsIn(Body):
    participant: str = MSP
    amount_cents: int = Field(gt=0, le=10**15)


class UserIn(Body):
    name: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    role: Literal["aggregator", "dso", "tso", "auditor", "settlement"]
    secret: str | None = Field(default=None, min_length=8, max_length=128,
                               description="enrolment secret; random when omitted")


class UserOut(BaseModel):
    name: str
    role: str
    msp_id: str
    token: str = Field(description="bearer token for this user; shown once, stored hashed")


class WhoAmI(BaseModel):
    user: str
    role: str
    msp_id: str


class Page(BaseModel):
    """One page of a list; pass ``next_bookmark`` back as ``bookmark`` for the next page."""

    items: list[Any]
    next_bookmark: str | None = None


class VerifyOut(BaseModel):
    """Outcome of re-running the oracle on the stored input.

    ``matches``: the recomputed result hash equals the stored one (same outcome *and* same oracle build).
    ``outcome_matches``: every field except the ``oracle`` version block is identical, i.e. the economic
    result is reproduced even if the auditor runs another build of the oracle. ``differences`` names the
    top-level result fields that differ.
    """

    market_id: str
    mechanism: str | None
    stored_result_hash: str | None
    recomputed_result_hash: str | None
    input_hash_matches: bool
    matches: bool
    outcome_matches: bool
    differences: list[str]


