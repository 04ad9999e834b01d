"""Bodies of the wholesale endpoints (spot and mFRR): shapes and types; the chaincode checks meaning."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from clearing import limits as lim
from restapi.models import DAY, ID, MW, PRICE, TIME, Body, Period, Quantity


class ExchangeKeyIn(Body):
    exchange: str = ID
    public_key_pem: str = Field(min_length=1, max_length=4 * lim.TEXT_MAX_LENGTH)


class SpotSessionIn(Body):
    id: str = ID
    day: str = DAY
    venue: Literal["day_ahead", "intraday"]
    exchange: str = ID
    gate_closes: str = TIME


class SpotOfferIn(Body):
    id: str = ID
    session_id: str = ID
    device: str = ID
    side: Literal["sell", "buy"]
    quantity_mw: list[Quantity] = Field(min_length=1, max_length=lim.MAX_PERIODS)
    price_eur_per_mwh: float = PRICE


class SignedResultsIn(Body):
    """The exchange's result document and its base64 Ed25519 signature over the canonical bytes."""

    document: dict[str, Any]
    signature: str = Field(min_length=1, max_length=lim.TEXT_MAX_LENGTH)


class MfrrBidIn(Body):
    id: str = ID
    device: str = ID
    day: str = DAY
    period: Period
    direction: Literal["up", "down"]
    quantity_mw: float = MW
    price_eur_per_mwh: float = PRICE


class MfrrConsentIn(Body):
    device: str = ID
    allow: bool
    price_eur_per_mwh: float | None = Field(default=None, ge=0, le=lim.MAX_PRICE_EUR_PER_MWH)


class ActivationIn(Body):
    id: str = ID
    bid_id: str = ID
    quantity_mw: float = MW


class DeliveryIn(Body):
    delivered_mw: float = Field(ge=0, le=lim.MAX_MW)
