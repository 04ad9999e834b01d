"""Bodies and answers of the wholesale endpoints (spot and mFRR).

Bodies: shapes and types, with exactly the fields of the chaincode's documents (contract/wholesale.py);
the chaincode checks meaning. Answers: the ledger's records are contract/wholesale.py's; the models here
are the answers the REST service composes itself (the adapter relays, the funds audit).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from clearing import limits as lim
from contract.records import TotalFunds
from contract.wholesale import MfrrActivation, Refusal, TsoBid, WholesaleFlows
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


# ------------------------------------------------------------------------------------------ answers
class MfrrForwarded(BaseModel):
    """The open bids of a day sent to the TSO platform (``POST /mfrr/days/{day}/forward``)."""

    day: str
    bids: list[TsoBid]


class ActivationsEntered(BaseModel):
    """The TSO platform's activation requests entered on the ledger (``POST /mfrr/days/{day}/fetch-activations``)."""

    accepted: list[MfrrActivation]
    refused: list[Refusal]


class FundsAudit(TotalFunds):
    """Total funds with what crossed the boundary through the exchange (``GET /audit/funds``): conservation holds
    when ``total_cents`` = deposits − withdrawals + ``wholesale.net_in_cents``."""

    wholesale: WholesaleFlows | None = None
