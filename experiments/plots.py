"""Figures of the strategic-bidding experiment, drawn like the FLEXGRID paper's Figs. 3–5.

Why its own module: matplotlib is heavy, so it is imported only when figures are drawn
(with the non-interactive Agg backend: the experiment runs on machines with no display).
Figures carry no timestamp or software metadata, so a re-run gives the same files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from experiments.strategic import LevelResult

#: file name, liquidity, quantity ("cost" or "shedding"), title — the paper's figures.
FIGURES: tuple[tuple[str, str, str, str], ...] = (
    ("fig3_cost_high.png", "high", "cost", "Flexibility cost, high liquidity (cf. paper Fig. 3)"),
    ("fig4_cost_low.png", "low", "cost", "Flexibility cost, low liquidity (cf. paper Fig. 4)"),
    ("fig5_dg_shedding_low.png", "low", "shedding", "DG shedding, low liquidity (cf. paper Fig. 5)"),
)


def _bars(rows: Sequence[LevelResult], quantity: str, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = [f"{r.dg_penetration_pct:g}" for r in rows]
    if quantity == "cost":
        series = [
            ("VCG, truthful bids", [r.vcg_flex_cost_eur for r in rows], "#1f77b4"),
            (
                "DLMP, strategic supplier: true cost",
                [r.dlmp_strategic_flex_cost_eur for r in rows],
                "#d62728",
            ),
            (
                "DLMP, strategic supplier: declared cost",
                [r.dlmp_strategic_declared_cost_eur for r in rows],
                "#ff9896",
            ),
        ]
        ylabel = "flexibility cost C_f (EUR/day)"
    else:
        series = [
            ("VCG, truthful bids", [r.vcg_shed_generation_mwh for r in rows], "#1f77b4"),
            ("DLMP, strategic supplier", [r.dlmp_strategic_shed_generation_mwh for r in rows], "#d62728"),
        ]
        ylabel = "DG shedding (MWh/day)"
    x = list(range(len(rows)))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=100)
    for k, (label, values, color) in enumerate(series):
        offset = (k - (len(series) - 1) / 2) * width
        ax.bar([i + offset for i in x], values, width, label=label, color=color)
    ax.set_xticks(list(x), levels)
    ax.set_xlabel("DG penetration (% of peak aggregate load)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def write_figures(results: Mapping[str, Sequence[LevelResult]], out_dir: Path) -> list[Path]:
    """Draw every figure whose liquidity scenario is in ``results``; return the files written."""
    written: list[Path] = []
    for name, liquidity, quantity, title in FIGURES:
        rows = results.get(liquidity)
        if not rows:
            continue
        path = out_dir / name
        _bars(rows, quantity, title, path)
        written.append(path)
    return written
