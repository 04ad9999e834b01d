"""The main job end to end: a full market day through the gateways, checked outside Fabric."""

from __future__ import annotations

import json
import re

import pytest

from clearing import canonical
from flexledger.commands.demo import run_day
from tests.integration.conftest import LiveNetwork


@pytest.fixture(scope="module")
def market_day(live_network: LiveNetwork, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo")
    urls = live_network.net.start_gateways()
    outcome, summary = run_day(live_network.net, urls, out)
    return outcome, summary, out


def test_every_cleared_market_matches_flexledger_clear_run_outside_fabric(
    market_day, live_network: LiveNetwork, tmp_path
) -> None:
    outcome, _, _ = market_day
    assert [m.kind for m in outcome.markets] == ["capacity_day_ahead", "capacity_intraday", "flexibility"]
    for market in outcome.markets:
        path = tmp_path / f"{market.market_id}.json"
        path.write_bytes(canonical.dumps(market.clearing_input, canonical.EXACT))  # the input as stored, every digit
        args = ["clear", str(path)]
        if market.kind == "flexibility":
            args += ["--mechanism", market.result["mechanism"]]
        outside = json.loads(live_network.cli(*args, check=True).stdout)
        assert outside["result_hash"] == market.clearing["result_hash"], market.market_id
        assert outside["input_hash"] == market.clearing["input_hash"], market.market_id
        assert market.verification["matches"] is True
        assert market.committed["validation_code"] == "VALID"
        assert sorted(market.committed["endorsed_by"]) == ["agg1MSP", "agg2MSP", "dsoMSP"], market.market_id


def test_the_flexibility_market_pays_every_owner_at_least_its_declared_cost(market_day) -> None:
    outcome, _, _ = market_day
    flex = next(m for m in outcome.markets if m.kind == "flexibility")
    assert flex.result["flex_cost_eur"] > 0, "the demo day must need flexibility"
    for owner, cost in flex.result["costs_eur"].items():
        assert flex.result["payments_eur"][owner] >= cost - 1e-6


def test_capacity_awards_respect_the_published_limits(market_day) -> None:
    outcome, _, _ = market_day
    for market in outcome.markets:
        if market.kind == "flexibility":
            continue
        limits = {(row["feeder"], row["period"]): row["capacity_mw"] for row in market.clearing_input["limits"]}
        used: dict[tuple[str, int], float] = {}
        for bid in market.clearing_input["bids"]:
            for period in bid["periods"]:
                slot = (bid["feeder"], period)
                used[slot] = used.get(slot, 0.0) + market.result["awards_mw"][bid["id"]]
        assert all(mw <= limits.get(slot, 0.0) + 1e-9 for slot, mw in used.items()), market.market_id
    intraday = next(m for m in outcome.markets if m.kind == "capacity_intraday")
    assert sum(intraday.result["awards_mw"].values()) > 0, "intraday must trade what the day-ahead market left"
    assert not any(intraday.result["payments_eur"].values()), "social equity charges nothing"


def test_settlement_conserves_money_and_the_summary_and_plots_are_written(market_day) -> None:
    outcome, summary, out = market_day
    total = {k: sum(b["available_cents"] + b["escrow_cents"] for b in v.values())
             for k, v in (("before", outcome.balances_before), ("after", outcome.balances_after))}  # fmt: skip
    assert total["before"] == total["after"]
    assert "Ledger height" in summary and "Endorsed by" in summary
    assert re.search(r"Transactions on the ledger: \d+ committed, all VALID", summary), summary
    for name in ("dispatch.png", "voltages.png", "payments.png", "awards.csv", "payments.csv", "balances.csv"):
        assert (out / name).stat().st_size > 0


def test_every_market_was_sealed_and_the_summary_prints_the_ac_validation(market_day) -> None:
    outcome, summary, _ = market_day
    for market in outcome.markets:
        commitments = market.verification["commitments"]
        assert commitments["sealed"] is True and commitments["verified"] is True, commitments
        assert commitments["revealed"] == len(market.bids) > 0 and commitments["unrevealed"] == []
        assert all(b["seal"]["commitment"] for b in market.bids)
    flex = next(m for m in outcome.markets if m.kind == "flexibility")
    assert flex.verification["ac_check"]["text"].splitlines()[0] in summary  # "AC check: ..." headline
    assert "AC validation of the flexibility dispatch" in summary


def test_the_wholesale_steps_check_trade_and_conserve_money(market_day) -> None:
    outcome, summary, _ = market_day
    wholesale = outcome.wholesale
    assert wholesale.session["status"] == "traded" and wholesale.settlement["session_id"] == wholesale.session["id"]
    assert sum(wholesale.session["offer_counts"].values()) == 2
    settled = wholesale.settlement["received_cents"] - wholesale.settlement["paid_cents"]
    assert wholesale.net_in_cents == settled
    assert wholesale.total_after_cents == wholesale.total_before_cents + wholesale.net_in_cents
    for activation in wholesale.activations:
        assert activation["status"] == "settled" and activation["non_delivered_mw"] > 0
    assert re.search(r"Money across local \+ wholesale: .*: conserved", summary), summary
