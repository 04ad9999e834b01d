"""The FLEXGRID paper's evaluation (seed 004, section III): VCG with truthful bids against DLMP
with one strategic supplier, across DG penetration levels.

Why this design:

- **Flexibility cost** is the paper's objective ``C_f`` (eq. 1) *evaluated with the suppliers'
  true costs* at the dispatch the market produces: Σ true price × dispatched MWh + 450 EUR/MWh
  × shed load + 50 EUR/MWh × shed DG. It measures the efficiency the paper argues about: under
  VCG with truthful bids it is the optimum, under strategic DLMP it grows only when the
  strategic bid distorts the dispatch. The DSO's actual spending (Σ payments + shedding) and the
  objective the operator sees (declared costs) are reported beside it.
- **The strategic supplier** at each level is the one with the highest market power. Candidates
  are the ``candidates`` suppliers with the largest VCG utility ``C*(without it) − C*`` in the
  truthful market (how much the system needs them; ties: larger dispatched volume, then smaller
  id); each candidate's best bid is searched, and the one whose profit rises most above its
  truthful DLMP profit is the strategic supplier (ties: the higher-ranked candidate).
- **Its strategy** is found by exhaustive search over a grid of price markups (every price of
  its offer × m) and capacity withholding (every quantity × (1 − w)); it keeps the bid that
  maximises its DLMP profit (payment − true cost of its dispatch), others bidding truthfully.
  Ties go to the bid closest to truthful (smaller markup, then smaller withholding); bids that
  leave the market infeasible are skipped. A level whose truthful optimum dispatches and sheds
  nothing is not searched: withholding only removes offers and markups only change prices, so no
  bid can change its outcome.
- The default grid (markups 1.0–3.0, withholding 0–80 %) is the paper-like one; docs/experiment.md
  shows how the outcome changes when markups may reach the DG-shedding cost.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from typing import Any

from clearing.api import clear
from clearing.errors import InfeasibleError
from experiments.paper import paper_instance, supplier_offers

#: DG penetration levels (nominal DG capacity / peak aggregate load), 0 % … 200 %.
DEFAULT_LEVELS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(21))
#: Price markups searched: 1.0 … 3.0 in steps of 0.25 (a bid of up to three times the true cost).
DEFAULT_MARKUPS: tuple[float, ...] = tuple(1.0 + 0.25 * i for i in range(9))
#: Fractions of capacity withheld: 0 … 80 % in steps of 10 %.
DEFAULT_WITHHOLDINGS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(9))
#: Levels where strategic DLMP sheds less DG than this (1 kWh/day) do not enter the average reduction:
#: a bid priced exactly at the 50 EUR/MWh shedding cost leaves solver-tie residues of a few Wh.
SHED_EPS_MWH = 1e-3
#: Profits within this many EUR are a tie (solver round-off is far below it).
PROFIT_TIE_EUR = 1e-6


@dataclass(frozen=True)
class StrategyGrid:
    """The strategic supplier's bid space: price markups × fractions of capacity withheld."""

    markups: tuple[float, ...] = DEFAULT_MARKUPS
    withholdings: tuple[float, ...] = DEFAULT_WITHHOLDINGS

    def bids(self) -> list[tuple[float, float]]:
        """All (markup, withholding) pairs, truthful-first order (the tie-break order)."""
        return [(m, w) for m in sorted(self.markups) for w in sorted(self.withholdings)]


@dataclass(frozen=True)
class Outcome:
    """What one clearing produced, judged with the suppliers' true costs."""

    flex_cost_eur: float  # C_f at the dispatch, true prices (the headline metric)
    declared_cost_eur: float  # C_f as the operator saw it (declared prices)
    payments_eur: float  # Σ payments to suppliers
    dso_spend_eur: float  # payments + shedding costs: what the DSO pays out
    shed_load_mwh: float
    shed_generation_mwh: float


@dataclass(frozen=True)
class LevelResult:
    """One row of the results table: one liquidity and DG penetration level."""

    liquidity: str
    dg_penetration_pct: float
    strategic_supplier: str
    strategic_node: str
    markup: float
    withholding_pct: float
    strategic_profit_truthful_eur: float
    strategic_profit_eur: float
    vcg_flex_cost_eur: float
    dlmp_truthful_flex_cost_eur: float
    dlmp_strategic_flex_cost_eur: float
    cost_increase_pct: float  # (DLMP strategic − VCG) / VCG
    vcg_payments_eur: float
    dlmp_truthful_payments_eur: float
    dlmp_strategic_payments_eur: float
    vcg_dso_spend_eur: float
    dlmp_strategic_dso_spend_eur: float
    vcg_declared_cost_eur: float
    dlmp_strategic_declared_cost_eur: float
    vcg_shed_generation_mwh: float
    dlmp_strategic_shed_generation_mwh: float
    vcg_shed_load_mwh: float
    dlmp_strategic_shed_load_mwh: float


def _hours(doc: Mapping[str, Any]) -> float:
    return doc["period_minutes"] / 60.0


def offer_cost_eur(offer: Mapping[str, Any], dispatch: Mapping[str, Sequence[float]], hours: float) -> float:
    """Cost of one offer's dispatch at the offer's prices."""
    return sum(
        product["price_eur_per_mwh"] * sum(dispatch.get(name, ())) * hours
        for name, product in offer["products"].items()
    )


def evaluate(
    result: Mapping[str, Any], true_offers: Sequence[Mapping[str, Any]], doc: Mapping[str, Any]
) -> Outcome:
    """Judge a clearing result with the true costs of ``true_offers``."""
    hours = _hours(doc)
    dispatch = result["dispatch_mw"]
    flex = sum(offer_cost_eur(o, dispatch.get(o["id"], {}), hours) for o in true_offers)
    shed_cost = (
        doc["shedding_cost"]["load_eur_per_mwh"] * result["shed_load_mwh"]
        + doc["shedding_cost"]["generation_eur_per_mwh"] * result["shed_generation_mwh"]
    )
    payments = sum(result["payments_eur"].values())
    return Outcome(
        flex_cost_eur=flex + shed_cost,
        declared_cost_eur=result["total_cost_eur"],
        payments_eur=payments,
        dso_spend_eur=payments + shed_cost,
        shed_load_mwh=result["shed_load_mwh"],
        shed_generation_mwh=result["shed_generation_mwh"],
    )


def strategic_offer(offer: Mapping[str, Any], markup: float, withholding: float) -> dict[str, Any]:
    """The offer with every price × ``markup`` and every quantity × (1 − ``withholding``)."""
    return {
        **offer,
        "products": {
            name: {
                "price_eur_per_mwh": round(p["price_eur_per_mwh"] * markup, 6),
                "quantity_mw": [round(q * (1.0 - withholding), 6) for q in p["quantity_mw"]],
            }
            for name, p in offer["products"].items()
        },
    }


def rank_by_market_power(vcg_result: Mapping[str, Any], offers: Sequence[Mapping[str, Any]]) -> list[str]:
    """Owners by decreasing VCG utility (payment − cost); ties: larger dispatch, then smaller id."""

    def key(owner: str) -> tuple[float, float, str]:
        utility = vcg_result["payments_eur"].get(owner, 0.0) - vcg_result["costs_eur"].get(owner, 0.0)
        volume = sum(
            sum(sum(series) for series in vcg_result["dispatch_mw"].get(o["id"], {}).values())
            for o in offers
            if o["owner"] == owner
        )
        return (-round(utility, 6), -round(volume, 6), owner)

    return sorted({o["owner"] for o in offers}, key=key)


def _profit(
    result: Mapping[str, Any], owner: str, true_offers: Sequence[Mapping[str, Any]], hours: float
) -> float:
    cost = sum(
        offer_cost_eur(o, result["dispatch_mw"].get(o["id"], {}), hours)
        for o in true_offers
        if o["owner"] == owner
    )
    return result["payments_eur"].get(owner, 0.0) - cost


@dataclass(frozen=True)
class BidTrial:
    """The DLMP outcome of one strategic bid (None when the market was infeasible)."""

    markup: float
    withholding: float
    profit_eur: float | None
    outcome: Outcome | None


def try_bid(
    liquidity: str, dg_penetration: float, owner: str, markup: float, withholding: float, fixed_exchange: bool
) -> BidTrial:
    """Clear the DLMP market with ``owner`` bidding (markup, withholding) and the rest truthful."""
    truthful = supplier_offers(liquidity)
    offers = [strategic_offer(o, markup, withholding) if o["owner"] == owner else o for o in truthful]
    doc = paper_instance(liquidity, dg_penetration, offers_override=offers, fixed_exchange=fixed_exchange)
    try:
        result = clear(doc, "dlmp")
    except InfeasibleError:
        return BidTrial(markup, withholding, None, None)
    mine = [o for o in truthful if o["owner"] == owner]
    return BidTrial(
        markup, withholding, _profit(result, owner, mine, _hours(doc)), evaluate(result, truthful, doc)
    )


def best_bid(trials: Iterable[BidTrial]) -> BidTrial:
    """The most profitable feasible trial; ties go to the earliest (closest to truthful)."""
    best: BidTrial | None = None
    for trial in trials:
        if trial.profit_eur is None:
            continue
        if best is None or trial.profit_eur > best.profit_eur + PROFIT_TIE_EUR:  # type: ignore[operator]
            best = trial
    if best is None:
        raise InfeasibleError("every strategic bid left the DLMP market infeasible")
    return best


def _star_try_bid(args: tuple[str, float, str, float, float, bool]) -> BidTrial:
    return try_bid(*args)


@dataclass(frozen=True)
class Manipulation:
    """One candidate's search: its truthful DLMP trial and its most profitable bid."""

    owner: str
    truthful: BidTrial
    best: BidTrial

    @property
    def gain_eur(self) -> float:
        assert self.best.profit_eur is not None and self.truthful.profit_eur is not None
        return self.best.profit_eur - self.truthful.profit_eur


def search_owner(
    liquidity: str,
    dg_penetration: float,
    owner: str,
    grid: StrategyGrid,
    fixed_exchange: bool,
    pool: ProcessPoolExecutor | None,
) -> Manipulation:
    """Exhaustive search of one owner's bid space under DLMP, everyone else truthful."""
    tasks = [(liquidity, dg_penetration, owner, m, w, fixed_exchange) for m, w in grid.bids()]
    trials = list(pool.map(_star_try_bid, tasks, chunksize=4)) if pool else [_star_try_bid(t) for t in tasks]
    truthful = next((t for t in trials if t.markup == 1.0 and t.withholding == 0.0), None)
    if truthful is None:
        truthful = try_bid(liquidity, dg_penetration, owner, 1.0, 0.0, fixed_exchange)
    if truthful.outcome is None:
        raise InfeasibleError(f"the truthful DLMP market at {dg_penetration:.0%} DG is infeasible")
    return Manipulation(owner, truthful, best_bid(trials))


def run_level(
    liquidity: str,
    dg_penetration: float,
    grid: StrategyGrid = StrategyGrid(),  # noqa: B008 - frozen dataclass, safe as default
    fixed_exchange: bool = True,
    candidates: int = 3,
    pool: ProcessPoolExecutor | None = None,
) -> LevelResult:
    """VCG truthful vs DLMP with the most manipulative supplier's best bid, at one penetration level."""
    truthful_offers = supplier_offers(liquidity)
    doc = paper_instance(liquidity, dg_penetration, fixed_exchange=fixed_exchange)
    vcg_result = clear(doc, "vcg")
    vcg = evaluate(vcg_result, truthful_offers, doc)
    if _nothing_needed(vcg_result):
        # Withholding can only remove offers and a markup only changes prices: when the truthful
        # optimum needs no flexibility and sheds nothing, every bid gives the same empty dispatch.
        result = clear(doc, "dlmp")
        idle = BidTrial(1.0, 0.0, 0.0, evaluate(result, truthful_offers, doc))
        return _level_row(liquidity, dg_penetration, Manipulation("", idle, idle), "", vcg)
    ranked = rank_by_market_power(vcg_result, truthful_offers)[: max(1, candidates)]
    chosen: Manipulation | None = None
    for owner in ranked:
        found = search_owner(liquidity, dg_penetration, owner, grid, fixed_exchange, pool)
        if chosen is None or found.gain_eur > chosen.gain_eur + PROFIT_TIE_EUR:
            chosen = found
    assert chosen is not None
    node = next(o["node"] for o in truthful_offers if o["owner"] == chosen.owner)
    return _level_row(liquidity, dg_penetration, chosen, node, vcg)


def _nothing_needed(result: Mapping[str, Any]) -> bool:
    """True when a clearing dispatched no offer and shed nothing."""
    dispatched = any(
        abs(v) > 0.0
        for products in result["dispatch_mw"].values()
        for series in products.values()
        for v in series
    )
    return not dispatched and result["shed_load_mwh"] == 0.0 and result["shed_generation_mwh"] == 0.0


def _level_row(
    liquidity: str, dg_penetration: float, chosen: Manipulation, node: str, vcg: Outcome
) -> LevelResult:
    best, truthful = chosen.best, chosen.truthful
    strat, honest = best.outcome, truthful.outcome
    assert strat is not None and honest is not None
    assert best.profit_eur is not None and truthful.profit_eur is not None
    base = vcg.flex_cost_eur
    increase = 100.0 * (strat.flex_cost_eur - base) / base if base > 1e-9 else 0.0
    return LevelResult(
        liquidity=liquidity,
        dg_penetration_pct=round(100.0 * dg_penetration, 6),
        strategic_supplier=chosen.owner,
        strategic_node=node,
        markup=best.markup,
        withholding_pct=round(100.0 * best.withholding, 6),
        strategic_profit_truthful_eur=truthful.profit_eur,
        strategic_profit_eur=best.profit_eur,
        vcg_flex_cost_eur=vcg.flex_cost_eur,
        dlmp_truthful_flex_cost_eur=honest.flex_cost_eur,
        dlmp_strategic_flex_cost_eur=strat.flex_cost_eur,
        cost_increase_pct=increase,
        vcg_payments_eur=vcg.payments_eur,
        dlmp_truthful_payments_eur=honest.payments_eur,
        dlmp_strategic_payments_eur=strat.payments_eur,
        vcg_dso_spend_eur=vcg.dso_spend_eur,
        dlmp_strategic_dso_spend_eur=strat.dso_spend_eur,
        vcg_declared_cost_eur=vcg.declared_cost_eur,
        dlmp_strategic_declared_cost_eur=strat.declared_cost_eur,
        vcg_shed_generation_mwh=vcg.shed_generation_mwh,
        dlmp_strategic_shed_generation_mwh=strat.shed_generation_mwh,
        vcg_shed_load_mwh=vcg.shed_load_mwh,
        dlmp_strategic_shed_load_mwh=strat.shed_load_mwh,
    )


def run(
    liquidity: str,
    levels: Sequence[float] = DEFAULT_LEVELS,
    grid: StrategyGrid = StrategyGrid(),  # noqa: B008 - frozen dataclass, safe as default
    fixed_exchange: bool = True,
    candidates: int = 3,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
) -> list[LevelResult]:
    """Every penetration level of one liquidity scenario, in order; ``progress`` gets one line per level."""
    results: list[LevelResult] = []
    pool = ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else None
    try:
        for level in levels:
            started = time.monotonic()
            row = run_level(liquidity, level, grid, fixed_exchange, candidates, pool)
            results.append(row)
            if progress:
                progress(_progress_line(row, time.monotonic() - started))
    finally:
        if pool:
            pool.shutdown()
    return results


def _progress_line(row: LevelResult, seconds: float) -> str:
    who = (
        f"{row.strategic_supplier}@{row.strategic_node} x{row.markup:g} withholds {row.withholding_pct:g} %"
        if row.strategic_supplier
        else "no flexibility needed"
    )
    return (
        f"[{row.liquidity} {row.dg_penetration_pct:5.0f}% DG] VCG {row.vcg_flex_cost_eur:9.2f} EUR, "
        f"DLMP strategic {row.dlmp_strategic_flex_cost_eur:9.2f} EUR ({row.cost_increase_pct:+6.1f} %), "
        f"DG shed {row.vcg_shed_generation_mwh:.3f} vs {row.dlmp_strategic_shed_generation_mwh:.3f} MWh; "
        f"{who} ({seconds:.1f} s)"
    )


@dataclass(frozen=True)
class Summary:
    """The headline numbers of one liquidity scenario, in the paper's terms."""

    liquidity: str
    max_cost_increase_pct: float  # max over levels of (DLMP strategic − VCG) / VCG, true costs
    max_cost_increase_at_pct: float  # the DG penetration where it happens
    max_declared_increase_pct: float  # same with the operator's declared-cost objective
    max_declared_increase_at_pct: float
    mean_shedding_reduction_pct: float | None  # mean over levels where DLMP sheds DG of (DLMP − VCG) / DLMP
    shedding_levels: int
    total_shedding_reduction_pct: float | None  # 1 − Σ VCG shedding / Σ DLMP shedding over all levels


def summarize(liquidity: str, rows: Sequence[LevelResult]) -> Summary:
    """Headline numbers like the paper's: worst-case cost gap and average DG shedding reduction."""

    def worst(values: list[tuple[float, float]]) -> tuple[float, float]:
        return max(values, key=lambda v: (v[0], -v[1]), default=(0.0, 0.0))

    cost = worst([(r.cost_increase_pct, r.dg_penetration_pct) for r in rows])
    declared = worst(
        [
            (
                100.0
                * (r.dlmp_strategic_declared_cost_eur - r.vcg_declared_cost_eur)
                / r.vcg_declared_cost_eur,
                r.dg_penetration_pct,
            )
            for r in rows
            if r.vcg_declared_cost_eur > 1e-9
        ]
    )
    shed = [
        100.0
        * (r.dlmp_strategic_shed_generation_mwh - r.vcg_shed_generation_mwh)
        / r.dlmp_strategic_shed_generation_mwh
        for r in rows
        if r.dlmp_strategic_shed_generation_mwh >= SHED_EPS_MWH
    ]
    dlmp_total = sum(r.dlmp_strategic_shed_generation_mwh for r in rows)
    vcg_total = sum(r.vcg_shed_generation_mwh for r in rows)
    return Summary(
        liquidity=liquidity,
        max_cost_increase_pct=cost[0],
        max_cost_increase_at_pct=cost[1],
        max_declared_increase_pct=declared[0],
        max_declared_increase_at_pct=declared[1],
        mean_shedding_reduction_pct=sum(shed) / len(shed) if shed else None,
        shedding_levels=len(shed),
        total_shedding_reduction_pct=100.0 * (1.0 - vcg_total / dlmp_total)
        if dlmp_total >= SHED_EPS_MWH
        else None,
    )


def _lower(increase_pct: float) -> float:
    """'B is x % above A' as 'A is y % below B'."""
    return 100.0 * increase_pct / (100.0 + increase_pct)


def summary_lines(summary: Summary) -> list[str]:
    """The summary in words, one finding a line."""
    s = summary
    lines = [
        f"{s.liquidity} liquidity: strategic DLMP flexibility cost (true costs) up to "
        f"{s.max_cost_increase_pct:.1f} % above VCG, i.e. VCG {_lower(s.max_cost_increase_pct):.1f} % lower "
        f"(at {s.max_cost_increase_at_pct:g} % DG)",
        f"{s.liquidity} liquidity: declared-cost objective up to {s.max_declared_increase_pct:.1f} % higher "
        f"under strategic DLMP, i.e. VCG {_lower(s.max_declared_increase_pct):.1f} % lower "
        f"(at {s.max_declared_increase_at_pct:g} % DG)",
    ]
    if s.mean_shedding_reduction_pct is None:
        lines.append(f"{s.liquidity} liquidity: strategic DLMP sheds no DG at any level")
    else:
        lines.append(
            f"{s.liquidity} liquidity: VCG sheds {s.mean_shedding_reduction_pct:.1f} % less DG on average "
            f"over the {s.shedding_levels} levels where strategic DLMP sheds DG "
            f"({s.total_shedding_reduction_pct:.1f} % less in total)"
        )
    return lines


CSV_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(LevelResult))


def results_csv(rows: Sequence[LevelResult]) -> str:
    """The results table as CSV text (numbers rounded to 6 decimals, ``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = asdict(row)
        writer.writerow([_cell(values[c]) for c in CSV_COLUMNS])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


def read_results_csv(text: str) -> list[LevelResult]:
    """Parse a table written by :func:`results_csv` (to re-plot or re-summarise a finished run)."""
    kinds = {f.name: f.type for f in fields(LevelResult)}
    rows = []
    for record in csv.DictReader(io.StringIO(text)):
        rows.append(
            LevelResult(**{k: (v if kinds[k] in ("str", str) else float(v)) for k, v in record.items()})
        )
    return rows
