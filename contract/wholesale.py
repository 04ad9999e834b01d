"""The wholesale modules' records and documents (spot exchange, mFRR, DSO-TSO coordination): one typed definition.

Why apart from :mod:`contract.records`: the same kind of contract (the chaincode writes these records,
the REST service answers with them as response models, docs/chaincode-api.md lists them and
tests/unit/test_contract_docs.py checks the table), for the two modules that talk to outside platforms.
The records follow :class:`contract.records.Record`: open, every field optional, so a client sees exactly
what the ledger holds. ``tests/unit/chaincode/test_cc_records.py`` checks every wholesale answer of
the chaincode against them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from contract.records import Record, Release, Transfer, markdown

#: Schema names of the documents that leave for, or come back from, the outside platforms.
BOOK_SCHEMA = "flexledger.spot-book/1"
RESULT_SCHEMA = "flexledger.spot-result/1"
ACTIVATION_SCHEMA = "flexledger.mfrr-activation/1"


class ExchangeKey(Record):
    """The key an exchange signs its spot results with (``PublishExchangeKey``); rotating it bumps `revision`."""

    exchange: str | None = None
    algorithm: str | None = Field(default=None, description="ed25519")
    public_key_pem: str | None = None
    fingerprint_sha256: str | None = Field(default=None, description="sha256 of the DER public key")
    revision: int | None = None
    published_at: str | None = None
    published_by: str | None = None


class SpotOffer(Record):
    """A device's offer to a spot session (``SubmitSpotOffer``; ``CheckSpotSession`` adds what may be traded)."""

    id: str | None = None
    session_id: str | None = None
    owner: str | None = None
    device: str | None = None
    node: str | None = None
    side: str | None = Field(default=None, description="sell (inject) or buy (withdraw)")
    quantity_mw: list[float] | None = Field(default=None, description="one per period")
    price_eur_per_mwh: float | None = Field(default=None, description="limit price")
    status: str | None = Field(default=None, description="submitted, feasible, curtailed, rejected or unfunded")
    timestamp: str | None = None
    timestamp_ms: int | None = None
    tx_id: str | None = None
    forwarded_mw: list[float] | None = Field(default=None, description="what the network check let go to the "
                                             "exchange, per period")
    escrow_cents: int | None = Field(default=None, description="buy offers: the maximum cost, escrowed")
    checked_at: str | None = None


class SpotTrade(Record):
    """An order the exchange traded, recorded against its offer with its value (``RecordSpotResults``)."""

    order_id: str | None = None
    owner: str | None = None
    device: str | None = None
    node: str | None = None
    side: str | None = None
    accepted_mw: list[float] | None = Field(default=None, description="per period")
    amount_cents: int | None = None


class SpotSession(Record):
    """A day-ahead or intraday session of one exchange (``CreateSpotSession`` … ``SettleSpotSession``)."""

    id: str | None = None
    day: str | None = None
    venue: str | None = Field(default=None, description="day_ahead or intraday")
    exchange: str | None = None
    gate_closes: str | None = None
    gate_closes_ms: int | None = None
    periods: int | None = None
    period_minutes: int | None = None
    status: str | None = Field(default=None, description="open, checked, traded or settled")
    created_at: str | None = None
    updated_at: str | None = None
    book_hash: str | None = Field(default=None, description="sha256 of the checked book's canonical bytes")
    offer_counts: dict[str, int] | None = Field(default=None, description="offers per check outcome")
    checked_at: str | None = None
    prices_eur_per_mwh: list[float] | None = Field(default=None, description="the exchange's, per period")
    trades: list[SpotTrade] | None = None
    results_sha256: str | None = Field(default=None, description="sha256 of the signed envelope as recorded")
    recorded_at: str | None = None
    settled_at: str | None = None
    offers: list[SpotOffer] | None = Field(default=None, description="ReadSpotSession only")


class SpotOrder(Record):
    """An order of the checked book: what the exchange may trade of an offer."""

    id: str | None = None
    participant: str | None = None
    side: str | None = None
    price_eur_per_mwh: float | None = None
    quantity_mw: list[float] | None = Field(default=None, description="forwarded, per period")


class SpotBook(Record):
    """The order book that leaves for the exchange (`flexledger.spot-book/1`), hashed as canonical bytes."""

    schema_: str | None = Field(default=None, alias="schema")
    session_id: str | None = None
    exchange: str | None = None
    venue: str | None = None
    day: str | None = None
    periods: int | None = None
    period_minutes: int | None = None
    orders: list[SpotOrder] | None = None


class CheckedBook(Record):
    """The book exactly as hashed, and its hash (``ReadSpotBook``): what the exchange adapter sends."""

    book_hash: str | None = None
    book: SpotBook | None = None


class SpotSettlement(Record):
    """The money a spot session moved (``SettleSpotSession``): in from the exchange, out to it, escrow released."""

    session_id: str | None = None
    exchange: str | None = None
    received_cents: int | None = Field(default=None, description="paid by the exchange to sellers")
    paid_cents: int | None = Field(default=None, description="paid by buyers to the exchange")
    transfers: list[Transfer] | None = None
    released: list[Release] | None = None
    settled_at: str | None = None
    tx_id: str | None = None


class WholesaleFlows(Record):
    """Money that crossed the marketplace's boundary through the exchange (``WholesaleFlows``)."""

    received_cents: int | None = None
    paid_cents: int | None = None
    net_in_cents: int | None = None
    sessions: int | None = Field(default=None, description="settled sessions")


class MfrrBid(Record):
    """A balancing bid for the TSO (``SubmitMfrrBid``, or coordination in ``ClearMarket``), network-checked."""

    id: str | None = None
    owner: str | None = None
    device: str | None = None
    node: str | None = None
    day: str | None = None
    period: int | None = None
    direction: str | None = Field(default=None, description="up (inject more, consume less) or down")
    quantity_mw: float | None = None
    price_eur_per_mwh: float | None = None
    source: str | None = Field(default=None, description="aggregator, or local:<market> (coordination)")
    forwarded_mw: float | None = Field(default=None, description="what the network check lets the TSO activate")
    status: str | None = Field(default=None, description="forwarded, curtailed, rejected or activated")
    timestamp: str | None = None
    tx_id: str | None = None
    activation_id: str | None = None
    activated_at: str | None = None


class MfrrConsent(Record):
    """A device manager's consent to offer undispatched local flexibility to the TSO (``SetMfrrConsent``)."""

    device: str | None = None
    manager: str | None = None
    allow: bool | None = None
    price_eur_per_mwh: float | None = Field(default=None, description="null: the local offer's price")
    updated_at: str | None = None


class MfrrActivation(Record):
    """The TSO's activation of a bid (``ActivateMfrr``), its metered delivery and settlement."""

    id: str | None = None
    bid_id: str | None = None
    day: str | None = None
    period: int | None = None
    direction: str | None = None
    node: str | None = None
    device: str | None = None
    owner: str | None = None
    tso: str | None = None
    quantity_mw: float | None = None
    price_eur_per_mwh: float | None = None
    period_minutes: int | None = None
    escrow_cents: int | None = None
    status: str | None = Field(default=None, description="activated, delivered or settled")
    delivered_mw: float | None = Field(default=None, description="null until RecordMfrrDelivery")
    non_delivered_mw: float | None = Field(default=None, description="activated − delivered, never negative")
    activated_at: str | None = None
    tx_id: str | None = None
    delivery_recorded_at: str | None = None
    paid_cents: int | None = None
    released_cents: int | None = None
    settled_at: str | None = None


# ------------------------------------------------------------------------------------------ relays
# What the adapters relay between the ledger and the outside platforms (adapters/relay.py).


class TsoBid(BaseModel):
    """What the TSO platform is sent of an open bid (``adapters.relay.tso_bid``; the TSO platform reads this document): at most what the network allows."""

    id: str
    direction: str
    day: str
    period: int
    quantity_mw: float = Field(description="the bid's forwarded MW")
    price_eur_per_mwh: float


class Refusal(BaseModel):
    """An activation request of the TSO platform the ledger refused, and why (the chaincode's message)."""

    id: str
    reason: str


# ------------------------------------------------------------------------------------------ documents
# What a caller sends; the chaincode refuses any other field and names it. All fields are required
# unless a *_REQUIRED tuple says otherwise.

EXCHANGE_KEY_FIELDS = ("exchange", "public_key_pem")
SPOT_SESSION_FIELDS = ("id", "day", "venue", "exchange", "gate_closes")
SPOT_OFFER_FIELDS = ("id", "session_id", "device", "side", "quantity_mw", "price_eur_per_mwh")
#: The exchange's signed envelope, its result document and each of that document's trades.
RESULTS_FIELDS = ("document", "signature")
RESULT_DOCUMENT_FIELDS = ("schema", "exchange", "session_id", "book_hash", "prices_eur_per_mwh", "trades")
RESULT_TRADE_FIELDS = ("order_id", "accepted_mw")
MFRR_BID_FIELDS = ("id", "device", "day", "period", "direction", "quantity_mw", "price_eur_per_mwh")
MFRR_CONSENT_FIELDS = ("device", "allow", "price_eur_per_mwh")
MFRR_CONSENT_REQUIRED = ("device", "allow")
ACTIVATION_FIELDS = ("id", "bid_id", "quantity_mw")

#: The records the wholesale table of docs/chaincode-api.md lists, in its order.
DOCUMENTED = (ExchangeKey, SpotSession, SpotOffer, CheckedBook, SpotBook, SpotOrder, SpotTrade, SpotSettlement,
              WholesaleFlows, MfrrBid, MfrrConsent, MfrrActivation)


if __name__ == "__main__":
    print(markdown(DOCUMENTED), end="")
