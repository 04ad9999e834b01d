"""Every answer of the chaincode is the record contract/records.py declares: each field named, each of its type.

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
    capacity_bid,
    flex_offer,
    market_day,
)
from pydantic import BaseModel, ConfigDict

from contract import records


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
