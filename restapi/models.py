"""Request and response bodies of the REST API (pydantic, so malformed input is a 422 naming the field).

The service checks shapes and types; the chaincode checks meaning (ownership, gates, limits) and is the
only authority. Bodies never carry an owner or MSP: who acts is the authenticated caller.

Why strict: the chaincode (also reached through ``flexledger tx``) refuses ``"1"`` for MW, ``true`` for
cents and ``2.0`` for a period; coercing them here would make the REST service accept what the contract
defines as wrong. Bodies therefore take JSON types as they are (a JSON integer is still a valid float).
Sizes and ranges come from :mod:`clearing.limits`, the limits the chaincode enforces.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

from clearing import limits as lim  # "limits" is also a field name below
from contract.records import CAPACITY_BID_FIELDS, FLEX_BID_FIELDS, FLEX_PRODUCTS

#: An identifier, as the chaincode's (whole string: pydantic's ``$`` does not match before a newline).
ID_PATTERN = f"^{lim.ID_PATTERN}$"
ID_RULES: dict[str, Any] = {"min_length": 1, "max_length": lim.ID_MAX_LENGTH, "pattern": ID_PATTERN}
ID = Field(**ID_RULES)
DAY = Field(pattern=f"^{lim.DAY_PATTERN}$", examples=["2026-11-21"])
TIME = Field(min_length=10, max_length=lim.TIME_MAX_LENGTH, examples=["2026-11-21T10:00:00Z"])
MSP_PATTERN = ID_PATTERN
MSP = Field(min_length=1, max_length=lim.ID_MAX_LENGTH, pattern=MSP_PATTERN, examples=["agg1MSP"])
NAME = Field(default=None, max_length=lim.NAME_MAX_LENGTH)
MW = Field(ge=-lim.MAX_MW, le=lim.MAX_MW)
PRICE = Field(ge=-lim.MAX_PRICE_EUR_PER_MWH, le=lim.MAX_PRICE_EUR_PER_MWH)
CENTS = Field(ge=0, le=lim.MAX_CENTS)
BID_ENDORSEMENT = Field(default=None, pattern="^(all|owner)$", description="who endorses a bid: every market "
                        "organisation (all, the default) or the bidder's own peer, every bid checked again by all at "
                        "gate closure (owner; not for social_equity or sealed markets)")
SEALED = Field(default=None, description="bids sealed until gate closure (commit and reveal); default false")
REVEAL_SECONDS = Field(default=None, ge=1, le=86400, description="sealed markets: seconds after gate closure "
                       "for revealing bids (default 600)")
Item = TypeVar("Item")


class Body(BaseModel):
    """Strict bodies: unknown fields, NaN/inf and values of another JSON type are refused with 422."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class DeviceIn(Body):
    id: str = ID
    type: Literal["storage", "generation", "load"]
    max_power_mw: float = MW
    min_power_mw: float = Field(default=0.0, ge=-lim.MAX_MW, le=lim.MAX_MW)
    capacity_mwh: float | None = Field(default=None, ge=0, le=lim.MAX_MWH)
    node: str = ID
    feeder: str = ID


class DevicePatch(Body):
    max_power_mw: float | None = Field(default=None, ge=-lim.MAX_MW, le=lim.MAX_MW)
    min_power_mw: float | None = Field(default=None, ge=-lim.MAX_MW, le=lim.MAX_MW)
    capacity_mwh: float | None = Field(default=None, ge=0, le=lim.MAX_MWH)


Quantity = Annotated[float, Field(ge=-lim.MAX_MW, le=lim.MAX_MW)]
Period = Annotated[int, Field(ge=0, le=lim.MAX_PERIODS - 1)]


class ProductOffer(Body):
    price_eur_per_mwh: float = PRICE
    quantity_mw: list[Quantity] = Field(min_length=1, max_length=lim.MAX_PERIODS)


#: How the REST body checks each bid field (type, limits). Which fields a bid has is the contract's
#: (:data:`contract.records.CAPACITY_BID_FIELDS`, :data:`~contract.records.FLEX_BID_FIELDS`): a field named
#: there and missing here stops the service at import, so a new bid field is one edit there plus its check here.
BID_FIELD_CHECKS: dict[str, tuple[Any, dict[str, Any]]] = {
    "id": (str, ID_RULES),
    "market_id": (str, ID_RULES),
    "device": (str, ID_RULES),
    "products": (dict[Literal[FLEX_PRODUCTS], ProductOffer], {}),
    "periods": (list[Period], {"min_length": 1, "max_length": lim.MAX_PERIODS}),
    "quantity_mw": (float, {"ge": 0, "le": lim.MAX_MW}),
    "min_mw": (float, {"ge": 0, "le": lim.MAX_MW}),
    "divisible": (bool, {}),
    "price_eur_per_mwh": (float, {"ge": -lim.MAX_PRICE_EUR_PER_MWH, "le": lim.MAX_PRICE_EUR_PER_MWH}),
}


def _bid_model() -> type[Body]:
    """One body for both kinds of bid: the fields every bid has are required, the others optional (the route
    then asks for a whole capacity bid or a flexibility bid)."""
    names = list(dict.fromkeys([*FLEX_BID_FIELDS, *CAPACITY_BID_FIELDS]))
    unchecked = [n for n in names if n not in BID_FIELD_CHECKS]
    if unchecked:
        raise TypeError(f"BID_FIELD_CHECKS: no check for bid field(s) {', '.join(unchecked)} of contract.records")
    fields: dict[str, Any] = {}
    for name in names:
        annotation, rules = BID_FIELD_CHECKS[name]
        if name in FLEX_BID_FIELDS and name in CAPACITY_BID_FIELDS:
            fields[name] = (annotation, Field(**rules))
        else:
            fields[name] = (annotation | None, Field(default=None, **rules))
    model = create_model("BidIn", __base__=Body, **fields)
    model.__doc__ = "A capacity bid (periods, quantity_mw, price) or a flexibility bid (products)."
    return model


BidIn = _bid_model()


class MarketIn(Body):
    id: str = ID
    kind: Literal["capacity_day_ahead", "capacity_intraday", "flexibility"]
    feeder: str | None = Field(default=None, max_length=lim.ID_MAX_LENGTH, pattern=ID_PATTERN)
    day: str = DAY
    rule: str | None = NAME
    priority: str | None = NAME
    pricing: str | None = NAME
    gate_opens: str = TIME
    gate_closes: str = TIME
    periods: int | None = Field(default=None, ge=1, le=lim.MAX_PERIODS)
    period_minutes: int | None = Field(default=None, ge=1, le=lim.MAX_PERIOD_MINUTES)
    rules: dict[str, Any] | None = None
    budget_cents: int | None = Field(default=None, ge=0, le=lim.MAX_CENTS)
    sealed: bool | None = SEALED
    bid_endorsement: str | None = BID_ENDORSEMENT
    reveal_seconds: int | None = REVEAL_SECONDS


class MarketPatch(Body):
    """Only before the gate opens; the chaincode refuses later edits (409)."""

    rule: str | None = NAME
    priority: str | None = NAME
    pricing: str | None = NAME
    gate_opens: str | None = Field(default=None, min_length=10, max_length=lim.TIME_MAX_LENGTH)
    gate_closes: str | None = Field(default=None, min_length=10, max_length=lim.TIME_MAX_LENGTH)
    periods: int | None = Field(default=None, ge=1, le=lim.MAX_PERIODS)
    period_minutes: int | None = Field(default=None, ge=1, le=lim.MAX_PERIOD_MINUTES)
    rules: dict[str, Any] | None = None
    sealed: bool | None = SEALED
    bid_endorsement: str | None = BID_ENDORSEMENT
    reveal_seconds: int | None = REVEAL_SECONDS


class NetworkIn(Body):
    network: dict[str, Any]
    feeders: dict[str, list[str]] = Field(default_factory=dict)


class BaselineIn(Body):
    day: str = DAY
    periods: int = Field(ge=1, le=lim.MAX_PERIODS)
    period_minutes: int = Field(ge=1, le=lim.MAX_PERIOD_MINUTES)
    baseline: list[dict[str, Any]] | None = None
    substation: dict[str, Any] | None = None
    shedding_cost: dict[str, Any] | None = None


class CapacityLimit(Body):
    feeder: str = ID
    period: int = Field(ge=0, le=lim.MAX_PERIODS - 1)
    capacity_mw: float = Field(ge=0, le=lim.MAX_MW)


class CapacityLimitsIn(Body):
    """Either explicit ``limits`` or, for an intraday market, ``from_day_ahead``: the id of the cleared
    day-ahead market whose leftover capacity becomes this market's lim."""

    market_id: str = ID
    limits: list[CapacityLimit] | None = Field(default=None, min_length=1)
    from_day_ahead: str | None = Field(default=None, min_length=1, max_length=lim.ID_MAX_LENGTH,
                                       pattern=ID_PATTERN)


class FlexibilityRequestIn(Body):
    id: str = ID
    day: str = DAY
    gate_opens: str = TIME
    gate_closes: str = TIME
    budget_cents: int = CENTS
    feeder: str | None = Field(default=None, max_length=lim.ID_MAX_LENGTH, pattern=ID_PATTERN)
    rule: str | None = NAME
    rules: dict[str, Any] | None = None
    sealed: bool | None = SEALED
    bid_endorsement: str | None = BID_ENDORSEMENT
    reveal_seconds: int | None = REVEAL_SECONDS


class FundsIn(Body):
    participant: str = MSP
    amount_cents: int = Field(gt=0, le=lim.MAX_CENTS)


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


class Page(BaseModel, Generic[Item]):
    """One page of a list; pass ``next_bookmark`` back as ``bookmark`` for the next page."""

    items: list[Item]
    next_bookmark: str | None = None


class RevealOut(BaseModel):
    """What revealing the organisation's sealed bids of a market did, bid by bid (``gateway.sealed.RevealReport``)."""

    market_id: str
    revealed: list[str]
    already_revealed: list[str]
    not_revealed: dict[str, str] = Field(description="bid id → why not (the chaincode's refusal, or its state)")


class SealedBidOut(BaseModel):
    """A sealed bid as this service keeps it until (and after) it is revealed."""

    id: str
    market_id: str
    device: str
    bid: dict[str, Any] = Field(description="the bid document exactly as committed to")
    commitment: str
    salt: str = Field(description="hex; revealed with the bid")
    user: str
    created: int = Field(description="Unix seconds")


class MarketResult(BaseModel):
    """The clearing result of a market and the hashes that pin it (``GET /markets/{id}/result``)."""

    model_config = ConfigDict(extra="allow")

    market_id: str | None = None
    result: dict[str, Any] | None = None
    result_hash: str | None = None
    input_hash: str | None = None


def returns(model: Any) -> dict[str, Any]:
    """Route arguments declaring ``model`` as the response: the OpenAPI document shows its schema, and the
    answer holds exactly the fields the ledger's record has (none added as null)."""
    return {"response_model": model, "response_model_exclude_unset": True}
