"""The strategic-bidding experiment: bid manipulation, the search, and a one-level run."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearing.errors import InfeasibleError
from experiments import strategic
from flexledger.cli import main

OFFER = {
    "id": "a",
    "owner": "a",
    "node": "13",
    "products": {"p_down": {"price_eur_per_mwh": 5.0, "quantity_mw": [0.5, 0.25]}},
}


def test_a_strategic_offer_marks_up_every_price_and_withholds_every_quantity() -> None:
    bid = strategic.strategic_offer(OFFER, 2.5, 0.4)
    assert bid["products"]["p_down"] == {"price_eur_per_mwh": 12.5, "quantity_mw": [0.3, 0.15]}
    assert OFFER["products"]["p_down"]["price_eur_per_mwh"] == 5.0  # the truthful offer is untouched


def test_the_best_bid_is_the_most_profitable_feasible_one_and_ties_go_to_the_most_truthful() -> None:
    trials = [
        strategic.BidTrial(1.0, 0.0, 1.0, None),
        strategic.BidTrial(1.0, 0.5, None, None),  # infeasible: skipped
        strategic.BidTrial(2.0, 0.0, 3.0, None),
        strategic.BidTrial(2.0, 0.5, 3.0, None),  # tie: the earlier bid stays
    ]
    assert strategic.best_bid(trials) == trials[2]
    with pytest.raises(InfeasibleError):
        strategic.best_bid([strategic.BidTrial(1.0, 0.0, None, None)])


def test_market_power_ranks_by_vcg_utility_then_dispatched_volume_then_id() -> None:
    offers = [{"id": o, "owner": o, "node": "1", "products": {}} for o in ("c", "b", "a", "d")]
    result = {
        "payments_eur": {"a": 5.0, "b": 9.0, "c": 9.0, "d": 2.0},
        "costs_eur": {"a": 1.0, "b": 5.0, "c": 5.0, "d": 2.0},
        "dispatch_mw": {"b": {"p_up": [0.1]}, "c": {"p_up": [0.2]}},
    }
    assert strategic.rank_by_market_power(result, offers) == ["c", "b", "a", "d"]


@pytest.fixture(scope="module")
def high_dg_low_liquidity() -> strategic.LevelResult:
    grid = strategic.StrategyGrid(markups=(1.0, 10.0), withholdings=(0.0, 0.8))
    return strategic.run_level("low", 2.0, grid, candidates=1)


def test_vcg_with_truthful_bids_reaches_the_minimum_flexibility_cost(high_dg_low_liquidity) -> None:
    row = high_dg_low_liquidity
    assert row.vcg_flex_cost_eur == pytest.approx(row.dlmp_truthful_flex_cost_eur, abs=1e-4)
    assert row.dlmp_strategic_flex_cost_eur >= row.vcg_flex_cost_eur - 1e-4
    assert row.vcg_shed_generation_mwh > 0  # 200 % DG overloads laterals with no flexibility


def test_the_strategic_supplier_profits_from_deviating_under_dlmp(high_dg_low_liquidity) -> None:
    row = high_dg_low_liquidity
    assert row.strategic_profit_eur > row.strategic_profit_truthful_eur + 1.0
    assert (row.markup, row.withholding_pct) != (1.0, 0.0)
    assert row.dlmp_strategic_declared_cost_eur > row.vcg_declared_cost_eur


def test_results_csv_has_one_row_per_level_with_the_documented_columns(high_dg_low_liquidity) -> None:
    lines = strategic.results_csv([high_dg_low_liquidity]).splitlines()
    assert lines[0].split(",") == list(strategic.CSV_COLUMNS)
    assert len(lines) == 2 and lines[1].startswith("low,200,")


def test_cli_writes_the_table_and_the_low_liquidity_figures(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "experiment",
            "strategic",
            "--liquidity",
            "low",
            "--levels",
            "200",
            "--markups",
            "1,10",
            "--withholdings",
            "0",
            "--candidates",
            "1",
            "--jobs",
            "1",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert (tmp_path / "results_low.csv").read_text(encoding="utf-8").count("\n") == 2
    assert (tmp_path / "fig4_cost_low.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "fig5_dg_shedding_low.png").exists()
    assert "[low   200% DG]" in capsys.readouterr().out


def test_cli_refuses_a_withholding_of_everything(tmp_path: Path, capsys) -> None:
    code = main(["experiment", "strategic", "--withholdings", "0,1", "--out", str(tmp_path)])
    assert code == 2
    assert "--withholdings" in capsys.readouterr().err


def test_cli_refuses_levels_that_are_not_percentages(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["experiment", "strategic", "--levels", "lots"])
    assert "--levels" in capsys.readouterr().err


def test_a_level_that_needs_no_flexibility_has_no_strategic_supplier_and_costs_nothing() -> None:
    row = strategic.run_level("low", 0.5, strategic.StrategyGrid(markups=(1.0, 2.0), withholdings=(0.0,)))
    assert row.strategic_supplier == "" and (row.markup, row.withholding_pct) == (1.0, 0.0)
    assert row.vcg_flex_cost_eur == row.dlmp_strategic_flex_cost_eur == 0.0
    assert row.cost_increase_pct == 0.0


def test_summary_reports_the_worst_cost_gap_and_the_mean_shedding_reduction(high_dg_low_liquidity) -> None:
    row = high_dg_low_liquidity
    summary = strategic.summarize("low", [row])
    assert summary.max_cost_increase_pct == pytest.approx(row.cost_increase_pct)
    assert summary.max_cost_increase_at_pct == 200.0
    expected = 100.0 * (1.0 - row.vcg_shed_generation_mwh / row.dlmp_strategic_shed_generation_mwh)
    assert summary.mean_shedding_reduction_pct == pytest.approx(expected)
    assert summary.shedding_levels == 1
    assert any("less DG" in line for line in strategic.summary_lines(summary))


def test_a_results_table_reads_back_into_the_same_rows(high_dg_low_liquidity) -> None:
    text = strategic.results_csv([high_dg_low_liquidity])
    (row,) = strategic.read_results_csv(text)
    assert row.strategic_supplier == high_dg_low_liquidity.strategic_supplier
    assert row.vcg_flex_cost_eur == pytest.approx(high_dg_low_liquidity.vcg_flex_cost_eur, abs=1e-6)
    assert strategic.results_csv([row]) == text
