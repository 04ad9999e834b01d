"""Clearing after gate closure with the real oracle, settlement, conservation of money, the oracle fault."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from cc_fakes import Chain
from cc_world import (
    AFTER,
    AGG1,
    AGG2,
    AUDITOR,
    DSO,
    DURING,
    PERIODS,
    SETTLE,
    capacity_bid,
    capacity_market,
    flex_offer,
)

from chaincode.oracle import Oracle, result_hash_of
from clearing import canonical
from clearing.api import ClearingResult, clear


def _two_capacity_bids(cap: Chain) -> None:
    cap.invoke(AGG1, "PlaceBid", capacity_bid())  # 1 MW periods 0,1 at 40
    cap.invoke(AGG2, "PlaceBid", capacity_bid(id="B2", device="D2", periods=[1, 2], price_eur_per_mwh=60.0))


def test_clearing_before_gate_closure_is_refused(cap: Chain) -> None:
    _two_capacity_bids(cap)
    cap.refuse(DSO, "ClearMarket", "CAP1", field="marketId")


def test_only_the_dso_clears(cap: Chain) -> None:
    cap.at(AFTER)
    cap.refuse(AGG1, "ClearMarket", "CAP1", field="caller.role")
    cap.refuse(AUDITOR, "ClearMarket", "CAP1", field="caller.role")


def test_capacity_clearing_stores_input_result_hashes_and_trades(cap: Chain) -> None:
    _two_capacity_bids(cap)
    cap.invoke(AGG1, "PlaceBid", capacity_bid(id="B3", device="D4", periods=[3], quantity_mw=0.5, min_mw=0.5))
    cap.invoke(AGG1, "CancelBid", "B3")
    cap.at(AFTER)
    record = cap.invoke(DSO, "ClearMarket", "CAP1")
    stored = cap.invoke(AUDITOR, "GetClearing", "CAP1")
    assert [b["id"] for b in stored["input"]["bids"]] == ["B1", "B2"]  # the cancelled bid is not cleared
    assert stored["input"]["bids"][0]["timestamp"] == "2026-11-20T10:00:00.000Z"
    assert stored["input"]["market"]["stage"] == "day_ahead"
    # premium capacity: both want period 1 but only 1.5 MW are left, B2 is worth more
    assert stored["result"]["awards_mw"] == {"B1": 0, "B2": 1}
    assert record["payments_cents"] == {"agg1MSP": 0, "agg2MSP": 12000}
    assert record["result_hash"] == stored["result"]["result_hash"]
    assert record["oracle"]["oracle"] == stored["result"]["oracle"]
    assert cap.invoke(AUDITOR, "ReadMarket", "CAP1")["status"] == "cleared"
    assert cap.events("MarketCleared")[0]["result_hash"] == record["result_hash"]
    trades = cap.invoke(AUDITOR, "ListTrades", "CAP1")
    assert [(t["type"], t.get("bid_id"), t.get("amount_cents")) for t in trades] == [
        ("award", "B2", None), ("payment", None, 12000)]
    cap.refuse(DSO, "ClearMarket", "CAP1", field="marketId")


def test_stored_result_hash_equals_a_rerun_of_the_oracle_outside_fabric(cap: Chain) -> None:
    _two_capacity_bids(cap)
    cap.at(AFTER)
    cap.invoke(DSO, "ClearMarket", "CAP1")
    stored = cap.invoke(AUDITOR, "GetClearing", "CAP1")
    rerun = clear(stored["input"])
    assert rerun["result_hash"] == stored["result_hash"]
    assert canonical.sha256_hex(canonical.dumps(stored["input"], canonical.EXACT)) == stored["input_sha256"]
    assert result_hash_of(stored["result"]) == stored["result_hash"]


def test_settlement_pays_the_dso_releases_the_rest_and_conserves_money(cap: Chain) -> None:
    _two_capacity_bids(cap)
    total = cap.total_cents()
    cap.at(AFTER)
    cap.invoke(DSO, "CloseGate", "CAP1")
    cap.invoke(DSO, "ClearMarket", "CAP1")
    cap.refuse(DSO, "SettleMarket", "CAP1", field="caller.role")
    settlement = cap.invoke(SETTLE, "SettleMarket", "CAP1")
    assert settlement["transfers"] == [{"from": "agg2MSP", "to": "dsoMSP", "amount_cents": 12000}]
    assert settlement["released"] == [{"participant": "agg1MSP", "amount_cents": 8000}]
    assert cap.total_cents() == total
    cap.assert_escrow_consistent()
    balances = {m: cap.invoke(AUDITOR, "GetBalance", m) for m in ("agg1MSP", "agg2MSP", "dsoMSP")}
    assert balances["agg1MSP"]["available_cents"] == 100_000
    assert balances["agg2MSP"]["available_cents"] == 100_000 - 12000
    assert balances["dsoMSP"]["available_cents"] == 1_000_000 + 12000
    assert all(b["escrow_cents"] == 0 for b in balances.values())
    assert cap.events("MarketSettled")[0]["transfers"] == settlement["transfers"]
    cap.refuse(SETTLE, "SettleMarket", "CAP1", field="marketId")


def test_settlement_needs_a_cleared_market(cap: Chain) -> None:
    cap.refuse(SETTLE, "SettleMarket", "CAP1", field="marketId")


def test_capacity_clearing_needs_published_limits(world: Chain) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market(id="CAP2"))
    world.at(AFTER)
    world.refuse(DSO, "ClearMarket", "CAP2", field="marketId")


def test_intraday_limits_are_what_the_day_ahead_market_left(cap: Chain) -> None:
    _two_capacity_bids(cap)
    cap.invoke(DSO, "CreateMarket", capacity_market(id="ID1", kind="capacity_intraday",
                                                    gate_opens="2026-11-20T13:00:00Z",
                                                    gate_closes="2026-11-20T14:00:00Z"))
    cap.refuse(DSO, "PublishCapacityLimits", {"market_id": "ID1", "from_day_ahead": "CAP1"}, field="from_day_ahead")
    cap.at(AFTER)
    cap.invoke(DSO, "ClearMarket", "CAP1")
    limits = cap.invoke(DSO, "PublishCapacityLimits", {"market_id": "ID1", "from_day_ahead": "CAP1"})["limits"]
    assert [row["capacity_mw"] for row in limits] == [1.5, 0.5, 0.5, 1.5]  # B2 got 1 MW in periods 1 and 2


def test_social_equity_clearing_moves_no_money(world: Chain) -> None:
    world.invoke(DSO, "CreateMarket", capacity_market(rule="social_equity"))
    world.invoke(DSO, "PublishCapacityLimits",
                 {"market_id": "CAP1", "limits": [{"feeder": "F1", "period": p, "capacity_mw": 1.5}
                                                  for p in range(PERIODS)]})
    world.at(DURING)
    world.invoke(AGG1, "EnrolInMarket", "CAP1")
    world.invoke(AGG1, "PlaceBid", capacity_bid())
    total = world.total_cents()
    world.at(AFTER)
    record = world.invoke(DSO, "ClearMarket", "CAP1")
    assert sum(record["payments_cents"].values()) == 0
    assert world.invoke(SETTLE, "SettleMarket", "CAP1")["transfers"] == []
    assert world.total_cents() == total


def test_flexibility_clearing_and_settlement_pay_owners_from_the_dso_budget(flex: Chain) -> None:
    flex.invoke(AGG2, "PlaceBid", flex_offer())
    flex.invoke(AGG1, "PlaceBid", flex_offer(id="O2", device="D4", products={
        "p_up": {"price_eur_per_mwh": 80.0, "quantity_mw": [0.1] * PERIODS}}))
    total = flex.total_cents()
    flex.at(AFTER)
    record = flex.invoke(DSO, "ClearMarket", "FLEX1")
    stored = flex.invoke(AUDITOR, "GetClearing", "FLEX1")
    assert stored["input"]["schema"] == "flexledger.clearing/1"
    assert [o["id"] for o in stored["input"]["offers"]] == ["O1", "O2"]
    assert stored["input"]["offers"][0] == {"id": "O1", "owner": "agg2MSP", "node": "2",
                                            "products": flex_offer()["products"]}
    assert stored["result"]["dispatch_mw"]["O1"]["p_up"] == [0.1] * PERIODS  # the cheaper offer relieves 1-2
    assert clear(stored["input"])["result_hash"] == record["result_hash"]
    paid = record["payments_cents"]["agg2MSP"]
    assert paid > 0
    settlement = flex.invoke(SETTLE, "SettleMarket", "FLEX1")
    assert settlement["transfers"] == [{"from": "dsoMSP", "to": "agg2MSP", "amount_cents": paid}]
    assert settlement["released"] == [{"participant": "dsoMSP", "amount_cents": 50_000 - paid}]
    assert flex.total_cents() == total
    flex.assert_escrow_consistent()


class _FixedOracle:
    """Stands in for the clearing library: returns a prepared result (hash filled in)."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = {**result, "oracle": {"code": "test"}}
        self.result["result_hash"] = result_hash_of(self.result)
        self.documents: list[dict[str, Any]] = []

    def __call__(self, document: dict[str, Any], mechanism: str | None) -> ClearingResult:
        self.documents.append(document)
        return ClearingResult(dict(self.result))


def test_flexibility_settlement_refuses_payments_above_the_escrowed_budget(flex: Chain) -> None:
    flex.invoke(AGG2, "PlaceBid", flex_offer())
    flex.use_oracle(Oracle(clear_fn=_FixedOracle({"payments_eur": {"agg2MSP": 500.01}, "dispatch_mw": {}})))
    flex.at(AFTER)
    assert flex.invoke(DSO, "ClearMarket", "FLEX1")["payments_cents"] == {"agg2MSP": 50_001}
    flex.refuse(SETTLE, "SettleMarket", "FLEX1", field="marketId")


@pytest.mark.parametrize(("eur", "cents"), [(12.345, 1234), (12.355, 1236), (0.005, 0), (0.015, 2), (7, 700)])
def test_eur_payments_round_half_even_to_cents(cap: Chain, eur: float, cents: int) -> None:
    _two_capacity_bids(cap)
    cap.use_oracle(Oracle(clear_fn=_FixedOracle({"payments_eur": {"agg2MSP": eur}, "awards_mw": {"B2": 1}})))
    cap.at(AFTER)
    assert cap.invoke(DSO, "ClearMarket", "CAP1")["payments_cents"] == {"agg2MSP": cents}


def test_negative_or_foreign_payments_are_refused(cap: Chain) -> None:
    _two_capacity_bids(cap)
    cap.at(AFTER)
    cap.use_oracle(Oracle(clear_fn=_FixedOracle({"payments_eur": {"agg2MSP": -1.0}})))
    cap.refuse(DSO, "ClearMarket", "CAP1", field="clearing.payments_eur.agg2MSP")
    cap.use_oracle(Oracle(clear_fn=_FixedOracle({"payments_eur": {"tsoMSP": 1.0}})))
    cap.refuse(DSO, "ClearMarket", "CAP1", field="clearing.payments_eur.tsoMSP")


def test_oracle_refusal_names_the_field_and_stores_nothing(cap: Chain) -> None:
    from clearing.errors import ValidationError

    def refusing(document: dict[str, Any], mechanism: str | None) -> ClearingResult:
        raise ValidationError("bids[0].quantity_mw", "too big")

    _two_capacity_bids(cap)
    cap.at(AFTER)
    cap.use_oracle(Oracle(clear_fn=refusing))
    cap.refuse(DSO, "ClearMarket", "CAP1", field="clearing.bids[0].quantity_mw")


def test_faulty_oracle_produces_a_different_result_hash(cap: Chain) -> None:
    _two_capacity_bids(cap)
    cap.at(AFTER)
    honest = Chain()
    honest.ledger.state = dict(cap.ledger.state)
    honest.now_ms = cap.now_ms
    honest_record = honest.invoke(DSO, "ClearMarket", "CAP1")
    cap.use_oracle(Oracle(fault=True))
    faulty_record = cap.invoke(DSO, "ClearMarket", "CAP1")
    assert faulty_record["input_hash"] == honest_record["input_hash"]
    assert faulty_record["result_hash"] != honest_record["result_hash"]
    assert faulty_record["payments_cents"]["agg1MSP"] == honest_record["payments_cents"]["agg1MSP"] + 1
    assert cap.ledger.state != honest.ledger.state  # different write sets: endorsements cannot match


def test_clearing_runs_off_the_event_loop_so_other_transactions_proceed(cap: Chain) -> None:
    release = threading.Event()
    entered = threading.Event()
    fixed = _FixedOracle({"payments_eur": {}, "awards_mw": {}})

    def slow(document: dict[str, Any], mechanism: str | None) -> ClearingResult:
        entered.set()
        assert release.wait(10), "the test never released the oracle"
        return fixed(document, mechanism)

    _two_capacity_bids(cap)
    cap.at(AFTER)
    cap.use_oracle(Oracle(clear_fn=slow))

    async def scenario() -> tuple[Any, Any]:
        clearing = asyncio.create_task(cap.ainvoke(DSO, "ClearMarket", "CAP1"))
        while not entered.is_set():
            await asyncio.sleep(0.005)
        read = await cap.ainvoke(AUDITOR, "ReadMarket", "CAP1")  # served while the oracle is busy
        assert not clearing.done()
        release.set()
        return read, await clearing

    read, record = asyncio.run(scenario())
    assert read["status"] == "open"
    assert record["market_id"] == "CAP1"


def test_market_without_bids_clears_and_settles_to_nothing(cap: Chain, flex: Chain) -> None:
    cap.at(AFTER)
    total = cap.total_cents()
    for market in ("CAP1", "FLEX1"):
        record = cap.invoke(DSO, "ClearMarket", market)
        assert sum(record["payments_cents"].values()) == 0
        cap.invoke(SETTLE, "SettleMarket", market)
    assert cap.total_cents() == total
    assert cap.invoke(DSO, "GetBalance", "dsoMSP")["escrow_cents"] == 0  # the flexibility budget came back
