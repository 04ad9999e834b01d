"""Every answer of the chaincode is the record contract/records.py (or contract/wholesale.py) declares: each
field named, each of its type.

Why: the REST service answers with these records (they are its response models) and clients read them
from the OpenAPI document; a field the chaincode adds or retypes must be added there too.
"""

from __future__ import annotations

from typing import Any

import pytest
from cc_fakes import Chain
from cc_world import (
    AFTER,
    AGG1,
    AGG2,
    AUDITOR,
    DAY,
    DSO,
    PERIODS,
    SETTLE,
    TSO,
    capacity_bid,
    flex_offer,
    market_day,
)
from pydantic import BaseModel, ConfigDict

from adapters.documents import ExchangeKey, result_document, sign_results
from contract import records, wholesale


def _strict(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` with undeclared fields refused."""
    return type(f"Strict{model.__name__}", (model,), {"model_config": ConfigDict(extra="forbid", populate_by_name=True)})


def _check(model: type[BaseModel], answer: Any) -> None:
    strict = _strict(model)
    if isinstance(answer, list):
        for item in answer:
            strict.model_validate(item)
    else:
        strict.model_validate(answer)


@pytest.fixture(scope="module")
def cleared() -> dict[str, Any]:
    """The answers of a market day with both markets cleared and settled."""
    chain: Chain = market_day()
    answers: dict[str, Any] = {
        "marketplace": chain.invoke(AUDITOR, "GetMarketplace"),
        "device": chain.invoke(AGG1, "ReadDevice", "D1"),
        "devices": chain.invoke(AGG1, "ListDevices", {})["devices"],
        "market": chain.invoke(AGG1, "ReadMarket", "CAP1"),
        "markets": chain.invoke(AGG1, "ListMarkets", {}),
        "bid": chain.invoke(AGG1, "PlaceBid", capacity_bid()),
        "offer": chain.invoke(AGG2, "PlaceBid", flex_offer()),
        "offer2": chain.invoke(AGG1, "PlaceBid", flex_offer(id="O2", device="D4", products={
            "p_up": {"price_eur_per_mwh": 80.0, "quantity_mw": [0.1] * PERIODS}})),
        "balance": chain.invoke(AGG1, "GetBalance", "agg1MSP"),
        "network": chain.invoke(AGG1, "ReadNetwork", ""),
        "baseline": chain.invoke(AUDITOR, "ReadBaseline", DAY),
        "limits": chain.invoke(AUDITOR, "ReadCapacityLimits", "CAP1"),
        "deposit": chain.invoke(SETTLE, "Deposit", "agg2MSP", "100"),
    }
    answers["bids"] = chain.invoke(AGG1, "ListBids", "CAP1") + chain.invoke(AGG1, "ListBids", "FLEX1")
    chain.at(AFTER)
    answers["clearings"] = [chain.invoke(DSO, "ClearMarket", m) for m in ("CAP1", "FLEX1")]
    answers["stored"] = [chain.invoke(AGG1, "GetClearing", m) for m in ("CAP1", "FLEX1")]
    answers["trades"] = chain.invoke(AGG1, "ListTrades", "CAP1") + chain.invoke(AGG1, "ListTrades", "FLEX1")
    answers["settlements"] = [chain.invoke(SETTLE, "SettleMarket", m) for m in ("CAP1", "FLEX1")]
    answers["portfolio"] = chain.invoke(AUDITOR, "QueryByParticipant", "agg2MSP")
    answers["history"] = chain.invoke(AUDITOR, "GetHistory", "device", "D1")
    answers["retired"] = chain.invoke(AGG1, "RetireDevice", "D4")
    return answers


@pytest.mark.parametrize(("answer", "model"), [
    ("marketplace", records.Marketplace), ("device", records.Device), ("devices", records.Device),
    ("retired", records.Device), ("market", records.Market), ("markets", records.Market),
    ("bid", records.Bid), ("offer", records.Bid), ("offer2", records.Bid), ("bids", records.Bid),
    ("balance", records.Balance), ("deposit", records.Balance), ("network", records.Network),
    ("baseline", records.Baseline), ("limits", records.CapacityLimits), ("clearings", records.Clearing),
    ("stored", records.Clearing), ("trades", records.Trade), ("settlements", records.Settlement),
    ("portfolio", records.Portfolio), ("history", records.HistoryEntry),
])
def test_each_answer_is_its_declared_record(cleared, answer, model) -> None:
    _check(model, cleared[answer])


@pytest.fixture(scope="module")
def wholesale_day() -> dict[str, Any]:
    """The answers of a day through both wholesale modules: a spot session with a sale and a purchase from
    offer to settlement, an mFRR bid activated, delivered short and settled, and coordination bids made of a
    consenting device's undispatched local offer."""
    chain: Chain = market_day()
    key = ExchangeKey.generate()
    chain.invoke(SETTLE, "Deposit", "tsoMSP", "500000")
    answers: dict[str, Any] = {
        "key": chain.invoke(DSO, "PublishExchangeKey", {"exchange": "EPEX", "public_key_pem": key.public_pem()}),
        "session": chain.invoke(DSO, "CreateSpotSession", {"id": "DA1", "day": DAY, "venue": "day_ahead",
                                                           "exchange": "EPEX", "gate_closes": "2026-11-20T12:10:00Z"}),
        "offers": [chain.invoke(AGG1, "SubmitSpotOffer", {"id": "S1", "session_id": "DA1", "device": "D1",
                                                          "side": "sell", "quantity_mw": [1.0] * PERIODS,
                                                          "price_eur_per_mwh": 40.0}),
                   chain.invoke(AGG1, "SubmitSpotOffer", {"id": "B3", "session_id": "DA1", "device": "D3",
                                                          "side": "buy", "quantity_mw": [0.5] * PERIODS,
                                                          "price_eur_per_mwh": 50.0})],
        "local": chain.invoke(AGG2, "PlaceBid", flex_offer(products={
            "p_up": {"price_eur_per_mwh": 50.0, "quantity_mw": [0.3] * PERIODS}})),
        "consent": chain.invoke(AGG2, "SetMfrrConsent", {"device": "D2", "allow": True, "price_eur_per_mwh": 70.0}),
        "consent_at_local_price": chain.invoke(AGG1, "SetMfrrConsent", {"device": "D4", "allow": False}),
        "bid": chain.invoke(AGG2, "SubmitMfrrBid", {"id": "M1", "device": "D2", "day": DAY, "period": 1,
                                                    "direction": "up", "quantity_mw": 0.2, "price_eur_per_mwh": 80.0}),
    }
    chain.at(AFTER)
    answers["clearing"] = chain.invoke(DSO, "ClearMarket", "FLEX1")
    answers["checked"] = chain.invoke(DSO, "CheckSpotSession", "DA1")
    answers["book"] = book = chain.invoke(AGG2, "ReadSpotBook", "DA1")
    envelope = sign_results(result_document(book["book"], book["book_hash"], [41.0] * PERIODS,
                                            {"S1": [1.0] * PERIODS, "B3": [0.25] * PERIODS}), key)
    answers["traded"] = chain.invoke(DSO, "RecordSpotResults", "DA1", envelope)
    answers["spot_settlement"] = chain.invoke(SETTLE, "SettleSpotSession", "DA1")
    answers["read_session"] = chain.invoke(AUDITOR, "ReadSpotSession", "DA1")
    answers["sessions"] = chain.invoke(AUDITOR, "ListSpotSessions", "")
    answers["flows"] = chain.invoke(AUDITOR, "WholesaleFlows")
    answers["activation"] = chain.invoke(TSO, "ActivateMfrr", {"id": "A1", "bid_id": "M1", "quantity_mw": 0.2})
    answers["delivered"] = chain.invoke(DSO, "RecordMfrrDelivery", "A1", "0.15")
    answers["mfrr_settled"] = chain.invoke(SETTLE, "SettleMfrrActivation", "A1")
    answers["bids"] = chain.invoke(TSO, "ListMfrrBids", DAY)
    answers["activations"] = chain.invoke(AUDITOR, "ListMfrrActivations", DAY)
    answers["funds"] = chain.invoke(AUDITOR, "TotalFunds")
    answers["spot_settlements"] = chain.invoke(AUDITOR, "GetHistory", "spotsettlement", "DA1")[0]["value"]
    return answers


def test_the_wholesale_day_reached_every_state_its_records_describe(wholesale_day) -> None:
    """Why: the record check below only means something if each answer holds the fields of its later states."""
    assert wholesale_day["read_session"]["status"] == "settled" and wholesale_day["read_session"]["offers"]
    assert [t["order_id"] for t in wholesale_day["traded"]["trades"]] == ["B3", "S1"]
    assert wholesale_day["spot_settlement"]["transfers"] and wholesale_day["spot_settlement"]["released"]
    assert {b["source"] for b in wholesale_day["bids"]} == {"aggregator", "local:FLEX1"}
    assert wholesale_day["mfrr_settled"]["non_delivered_mw"] == 0.05


@pytest.mark.parametrize(("answer", "model"), [
    ("key", wholesale.ExchangeKey), ("session", wholesale.SpotSession), ("checked", wholesale.SpotSession),
    ("traded", wholesale.SpotSession), ("read_session", wholesale.SpotSession), ("sessions", wholesale.SpotSession),
    ("offers", wholesale.SpotOffer), ("book", wholesale.CheckedBook), ("spot_settlement", wholesale.SpotSettlement),
    ("spot_settlements", wholesale.SpotSettlement), ("flows", wholesale.WholesaleFlows),
    ("consent", wholesale.MfrrConsent), ("consent_at_local_price", wholesale.MfrrConsent),
    ("bid", wholesale.MfrrBid), ("bids", wholesale.MfrrBid), ("activation", wholesale.MfrrActivation),
    ("delivered", wholesale.MfrrActivation), ("mfrr_settled", wholesale.MfrrActivation),
    ("activations", wholesale.MfrrActivation), ("funds", records.TotalFunds), ("clearing", records.Clearing),
])
def test_each_wholesale_answer_is_its_declared_record(wholesale_day, answer, model) -> None:
    _check(model, wholesale_day[answer])


@pytest.mark.parametrize(("answer", "nested", "model"), [
    ("read_session", "offers", wholesale.SpotOffer), ("traded", "trades", wholesale.SpotTrade),
    ("spot_settlement", "transfers", records.Transfer), ("spot_settlement", "released", records.Release),
    ("book", "book", wholesale.SpotBook),
])
def test_records_inside_wholesale_answers_are_declared_too(wholesale_day, answer, nested, model) -> None:
    _check(model, wholesale_day[answer][nested])
    if model is wholesale.SpotBook:
        _check(wholesale.SpotOrder, wholesale_day[answer][nested]["orders"])


def test_settlement_transfers_and_releases_are_declared(cleared) -> None:
    for settlement in cleared["settlements"]:
        _check(records.Transfer, settlement["transfers"])
        _check(records.Release, settlement["released"])
