"""The records the chaincode keeps and answers with, and the documents it takes: one typed definition.

Why here: the chaincode writes these records, the REST service answers with them (each route declares
its record as the response model, so the OpenAPI document shows every field), and docs/chaincode-api.md
describes them (tests/unit/test_contract_docs.py checks it against this module).

Records are open (``extra="allow"``): the chaincode is the authority on what a record holds, and a field
it adds reaches clients before this module names it. Every field is optional so that a client sees
exactly what the ledger holds (routes drop the fields the record did not set).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model


class Record(BaseModel):
    """A record as the ledger holds it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Marketplace(Record):
    """The governance record: which MSP may hold which role (``InitMarketplace``, ``GetMarketplace``)."""

    dso: str | None = None
    aggregators: list[str] | None = None
    auditors: list[str] | None = None
    tso: list[str] | None = None
    settlement: list[str] | None = None
    admins: list[str] | None = None
    roles: list[str] | None = None
    clock_skew_seconds: int | None = None
    initialised_at: str | None = None
    initialised_by: str | None = None


class Device(Record):
    """A flexible device on the feeder (``RegisterDevice``, ``ReadDevice``, ``ListDevices``)."""

    id: str | None = None
    type: str | None = Field(default=None, description="storage, generation or load")
    max_power_mw: float | None = None
    min_power_mw: float | None = None
    capacity_mwh: float | None = None
    node: str | None = None
    feeder: str | None = None
    owner: str | None = None
    manager: str | None = None
    pending_manager: str | None = None
    status: str | None = Field(default=None, description="active or retired")
    network_version: int | None = None
    registered_at: str | None = None
    updated_at: str | None = None


#: The bidding rules a market may set (the oracle's ``clearing.capacity.rules.RULE_FIELDS``; a unit test keeps
#: the two equal): price resolution, order granularity, quantity and price bounds.
MARKET_RULE_FIELDS = ("price_resolution_eur", "quantity_step_mw", "min_quantity_mw", "max_quantity_mw",
                      "min_price_eur_per_mwh", "max_price_eur_per_mwh")
MarketRules = create_model("MarketRules", __base__=Record,
                           **{name: (float | None, None) for name in MARKET_RULE_FIELDS})  # type: ignore[call-overload]
MarketRules.__doc__ = "A market's bidding rules: price and quantity granularity and bounds."


class RefusedBid(Record):
    """A posted bid of an owner-endorsed market that the checks at gate closure refused, and why."""

    bid_id: str | None = None
    participant: str | None = None
    reason: str | None = Field(default=None, description="the refusal, naming the field")


class Market(Record):
    """A capacity or flexibility market (``CreateMarket``, ``RequestFlexibility``, ``ReadMarket``)."""

    id: str | None = None
    kind: str | None = Field(default=None, description="capacity_day_ahead, capacity_intraday or flexibility")
    feeder: str | None = None
    day: str | None = None
    rule: str | None = None
    priority: str | None = None
    pricing: str | None = None
    gate_opens: str | None = None
    gate_closes: str | None = None
    gate_opens_ms: int | None = None
    gate_closes_ms: int | None = None
    periods: int | None = None
    period_minutes: int | None = None
    rules: MarketRules | None = None
    budget_cents: int | None = None
    buyer: str | None = None
    status: str | None = None
    network_version: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    enrolled: list[str] | None = Field(default=None, description="ReadMarket only: the enrolled MSPs")
    sealed: bool | None = Field(default=None, description="bids sealed until gate closure (commit and reveal)")
    reveal_seconds: int | None = Field(default=None, description="sealed markets: the reveal window")
    reveal_closes: str | None = None
    reveal_closes_ms: int | None = None
    bid_endorsement: str | None = Field(default=None, description="all (every market organisation endorses each "
                                        "bid) or owner (the bidder's peer; checked by all at gate closure)")
    refused_bids: list[RefusedBid] | None = Field(default=None, description="owner-endorsed markets, after gate "
                                                  "closure: posted bids the checks refused")


class Enrolment(Record):
    """An organisation's enrolment in a market (``EnrolInMarket``)."""

    market_id: str | None = None
    participant: str | None = None
    enrolled_at: str | None = None
    bid_slots: int | None = Field(default=None, description="owner-endorsed markets: bid slots opened, one per "
                                  "device the organisation manages on the feeder")


class ProductOffer(Record):
    """One product of a flexibility bid: a price and one quantity per period."""

    price_eur_per_mwh: float | None = None
    quantity_mw: list[float] | None = None


class Bid(Record):
    """A capacity bid or a flexibility offer (``PlaceBid``, ``CancelBid``, ``ListBids``)."""

    id: str | None = None
    kind: str | None = Field(default=None, description="capacity or flexibility")
    market_id: str | None = None
    device: str | None = None
    owner: str | None = None
    feeder: str | None = None
    node: str | None = None
    periods: list[int] | None = None
    quantity_mw: float | None = None
    min_mw: float | None = None
    divisible: bool | None = None
    price_eur_per_mwh: float | None = None
    products: dict[str, ProductOffer] | None = None
    escrow_cents: int | None = None
    status: str | None = Field(default=None, description="active, cancelled, unfunded; sealed markets: sealed, "
                               "unrevealed; owner-endorsed markets before gate closure: posted")
    timestamp: str | None = None
    timestamp_ms: int | None = None
    tx_id: str | None = None


class Balance(Record):
    """A participant's money in integer cents (``GetBalance``, ``Deposit``, ``Withdraw``)."""

    participant: str | None = None
    available_cents: int | None = None
    escrow_cents: int | None = None
    escrow_by_market: dict[str, int] | None = None


class Trade(Record):
    """An award (capacity), a dispatch (flexibility) or a payment of a cleared market (``ListTrades``)."""

    type: str | None = Field(default=None, description="award, dispatch or payment")
    seq: int | None = None
    market_id: str | None = None
    bid_id: str | None = None
    device: str | None = None
    owner: str | None = None
    periods: list[int] | None = None
    awarded_mw: float | None = None
    dispatch_mw: dict[str, list[float]] | None = Field(default=None, description="per product, per period")
    clearing_price_eur_per_mwh: float | None = None
    amount_cents: int | None = None
    payer: str | None = Field(default=None, alias="from")
    payee: str | None = Field(default=None, alias="to")


class OracleCode(Record):
    """The oracle's code: package, version and a hash of its sources."""

    package: str | None = None
    version: str | None = None
    sources_sha256: str | None = None


class Solver(Record):
    """The solver and modelling versions and the fixed options every peer solves with."""

    name: str | None = None
    highs: str | None = None
    highspy: str | None = None
    pyomo: str | None = None
    options: dict[str, str | int | float | bool] | None = None


class OracleProvenance(Record):
    """What the oracle reports of itself with every result."""

    code: OracleCode | None = None
    solver: Solver | None = None
    tie_break: str | None = Field(default=None, description="the documented tie-break rule of the market kind")


class OracleVersions(Record):
    """Which code cleared a market: the chaincode's version and the oracle's provenance."""

    chaincode: str | None = None
    oracle: OracleProvenance | None = None


class Clearing(Record):
    """What a clearing stored (``ClearMarket`` answers it without ``input``/``result``; ``GetClearing`` with)."""

    market_id: str | None = None
    kind: str | None = None
    mechanism: str | None = None
    input_hash: str | None = None
    input_sha256: str | None = None
    result_hash: str | None = None
    oracle: OracleVersions | None = None
    payments_cents: dict[str, int] | None = None
    unfunded_bids: list[str] | None = None
    unrevealed_bids: list[str] | None = Field(default=None, description="sealed bids not revealed in time: excluded")
    offered_to_tso: list[str] | None = Field(default=None, description="flexibility markets: ids of the mFRR bids "
                                             "made of undispatched offers of consenting devices")
    cleared_at: str | None = None
    tx_id: str | None = None
    input: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


class Transfer(Record):
    """Money moved from one participant (or outside platform) to another by a settlement."""

    payer: str | None = Field(default=None, alias="from")
    payee: str | None = Field(default=None, alias="to")
    amount_cents: int | None = None


class Release(Record):
    """Escrow a settlement gave back to its participant."""

    participant: str | None = None
    amount_cents: int | None = None


class Settlement(Record):
    """The funds a settlement moved (``SettleMarket``)."""

    market_id: str | None = None
    transfers: list[Transfer] | None = None
    released: list[Release] | None = None
    result_hash: str | None = None
    settled_at: str | None = None
    tx_id: str | None = None


class Bus(Record):
    """A node of the feeder; the one ``slack`` node is the substation."""

    id: str | None = None
    slack: bool | None = None


class Line(Record):
    """A branch of the feeder, pointing away from the slack node, with its per-unit impedance and limits."""

    id: str | None = None
    from_node: str | None = Field(default=None, alias="from")
    to: str | None = None
    r_pu: float | None = None
    x_pu: float | None = None
    p_max_mw: float | None = None
    q_max_mvar: float | None = None


class FeederModel(Record):
    """The feeder's electrical model: per-unit base, voltage band, nodes and branches (the oracle's ``network``)."""

    base_mva: float | None = None
    v_min_pu: float | None = None
    v_max_pu: float | None = None
    v_slack_pu: float | None = None
    nodes: list[Bus] | None = None
    branches: list[Line] | None = None


class Network(Record):
    """One version of the DSO's feeder model (``PublishNetwork``, ``ReadNetwork``)."""

    version: int | None = None
    network: FeederModel | None = None
    feeders: dict[str, list[str]] | None = None
    published_at: str | None = None
    published_by: str | None = None


class BaselineRow(Record):
    """Expected demand and generation at one node in one period, with their reactive shares (tan φ)."""

    node: str | None = None
    period: int | None = None
    demand_mw: float | None = None
    generation_mw: float | None = None
    demand_tan_phi: float | None = None
    generation_tan_phi: float | None = None


class Substation(Record):
    """The exchange with the transmission grid per period, when fixed (null: free)."""

    p_mw: list[float] | None = None
    q_mvar: list[float] | None = None


class SheddingCost(Record):
    """What shedding load or generation costs the DSO, per MWh."""

    load_eur_per_mwh: float | None = None
    generation_eur_per_mwh: float | None = None


class Baseline(Record):
    """The baseline schedule of a day (``PublishBaseline``, ``ReadBaseline``)."""

    day: str | None = None
    periods: int | None = None
    period_minutes: int | None = None
    baseline: list[BaselineRow] | None = None
    substation: Substation | None = None
    shedding_cost: SheddingCost | None = None
    network_version: int | None = None
    revision: int | None = None
    published_at: str | None = None


class CapacityLimit(Record):
    """The capacity the DSO sells on one feeder in one period."""

    feeder: str | None = None
    period: int | None = None
    capacity_mw: float | None = None


class CapacityLimits(Record):
    """A capacity market's limits (``PublishCapacityLimits``, ``ReadCapacityLimits``)."""

    market_id: str | None = None
    limits: list[CapacityLimit] | None = None
    from_day_ahead: str | None = None
    published_at: str | None = None


class Portfolio(Record):
    """A participant's devices, bids, trades and balance (``QueryByParticipant``)."""

    participant: str | None = None
    devices: list[Device] | None = None
    bids: list[Bid] | None = None
    trades: list[Trade] | None = None
    balance: Balance | None = None


class HistoryEntry(Record):
    """One committed value of a key (``GetHistory``), newest first."""

    tx_id: str | None = None
    timestamp: str | None = None
    is_delete: bool | None = None
    value: Any = None


class TotalFunds(Record):
    """The sum of all balances, available and escrowed (``TotalFunds``): what conservation is checked against."""

    total_cents: int | None = None
    participants: int | None = None


# ------------------------------------------------------------------------------------------ documents
# What a caller sends; the chaincode refuses any other field and names it.

#: Fields of a capacity bid document (``PlaceBid``), and those it must have.
CAPACITY_BID_FIELDS = ("id", "market_id", "device", "periods", "quantity_mw", "min_mw", "divisible",
                       "price_eur_per_mwh")
CAPACITY_BID_REQUIRED = ("id", "market_id", "device", "periods", "quantity_mw", "price_eur_per_mwh")
#: Fields of a flexibility bid document (``PlaceBid``): all required.
FLEX_BID_FIELDS = ("id", "market_id", "device", "products")
#: The products a flexibility bid may offer, and the fields of each (all required).
FLEX_PRODUCTS = ("p_up", "p_down", "q_up", "q_down")
PRODUCT_FIELDS = ("price_eur_per_mwh", "quantity_mw")
#: Fields of a device document (``RegisterDevice``).
DEVICE_FIELDS = ("id", "type", "max_power_mw", "min_power_mw", "capacity_mwh", "node", "feeder")


@dataclass(frozen=True)
class BidDocument:
    """A bid as its author sends it: the exact canonical text, and the three fields that route it.

    Why text and not fields: the chaincode is the one judge of a bid's fields (it names the field it
    refuses), and a sealed bid's commitment is a hash of these exact bytes, so every client (REST, CLI,
    client library) sends the same canonical text and the gateway reads only what it routes by.
    ``market_id`` decides sealed or open, ``id`` and ``device`` key the organisation's sealed-bid store;
    a missing one is ``None`` here and refused by the chaincode naming it.
    """

    text: str
    id: str | None
    market_id: str | None
    device: str | None

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> BidDocument:
        """The document (a JSON object's fields) in canonical form: sorted keys, no spaces."""
        text = json.dumps(dict(document), sort_keys=True, separators=(",", ":"))

        def routed(name: str) -> str | None:
            value = document.get(name)
            return None if value is None else str(value)

        return cls(text=text, id=routed("id"), market_id=routed("market_id"), device=routed("device"))

    def fields(self) -> dict[str, Any]:
        """The document's fields, as sent."""
        return dict(json.loads(self.text))


#: The records docs/chaincode-api.md lists, in its order.
DOCUMENTED = (Marketplace, Device, Market, MarketRules, RefusedBid, Enrolment, Bid, ProductOffer, Balance, Trade, Clearing,
              OracleVersions, OracleProvenance, OracleCode, Solver, Settlement, Transfer, Release, Network,
              FeederModel, Bus, Line, Baseline, BaselineRow, Substation, SheddingCost, CapacityLimits, CapacityLimit,
              Portfolio, HistoryEntry, TotalFunds)


def _type_name(annotation: Any) -> str:
    text = str(annotation).replace(" | None", "")
    return re.sub(r"\b(?:typing|contract\.\w+|__main__)\.", "", text)  # run as a module, or imported


def markdown(models: tuple[type[Record], ...] = DOCUMENTED) -> str:
    """A records table of docs/chaincode-api.md (``python -m contract.records`` prints this module's,
    ``python -m contract.wholesale`` the wholesale one)."""
    lines = ["| record | fields |", "| --- | --- |"]
    for model in models:
        fields = ", ".join(f"`{info.alias or name}`: {_type_name(info.annotation)}"
                           for name, info in model.model_fields.items())
        doc = (model.__doc__ or "").strip().replace("``", "`")
        lines.append(f"| `{model.__name__}` — {doc} | {fields} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
