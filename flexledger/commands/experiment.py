"""``flexledger experiment strategic``: the FLEXGRID paper's evaluation (seed 004, section III).

Why a sub-command: the evaluation is long work (hundreds of market clearings) that a person
starts by hand and whose outputs (CSV tables, PNG figures) are read beside the paper; the
logic lives in :mod:`experiments.strategic`, this module only parses flags, prints
progress and writes files.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from flexledger.commands import UserError

DEFAULT_OUT = Path("out") / "experiment-strategic"


def _levels(text: str) -> tuple[float, ...]:
    """Penetration levels in percent, comma separated (``0,50,100``), or ``START:STOP:STEP``."""
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            if step <= 0:
                raise ValueError("step must be > 0")
            count = int(round((stop - start) / step)) + 1
            values = [start + i * step for i in range(count)]
        else:
            values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--levels: expected percentages like 0,50,100 or 0:200:20 ({exc})"
        ) from exc
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("--levels: give at least one percentage, none negative")
    return tuple(round(v / 100.0, 6) for v in values)


def _floats(name: str) -> Callable[[str], tuple[float, ...]]:
    """A parser of comma-separated numbers whose errors name the flag ``--name``."""

    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(float(v) for v in text.split(",") if v.strip())
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"--{name}: expected comma-separated numbers ({exc})") from exc
        if not values:
            raise argparse.ArgumentTypeError(f"--{name}: give at least one value")
        return values

    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("experiment", help="reproducible evaluations of the clearing mechanisms")
    sub = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT")
    sub.required = True
    strategic = sub.add_parser(
        "strategic",
        help="FLEXGRID paper: VCG (truthful) vs DLMP with a strategic supplier across DG penetration",
        description="Reproduce the FLEXGRID paper's Figs. 3-5 (seed 004): results_<liquidity>.csv and PNGs.",
    )
    strategic.add_argument(
        "--liquidity", choices=("high", "low", "both"), default="both", help="supplier set (default both)"
    )
    strategic.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})"
    )
    strategic.add_argument(
        "--levels",
        type=_levels,
        default=None,
        help="DG penetration in %%: 0,50,100 or 0:200:20 (default 0:200:10)",
    )
    strategic.add_argument(
        "--markups",
        type=_floats("markups"),
        default=None,
        help="price markups to search, comma separated (default 1,1.25,...,3)",
    )
    strategic.add_argument(
        "--withholdings",
        type=_floats("withholdings"),
        default=None,
        help="fractions of capacity withheld, in [0, 1) (default 0,0.1,...,0.8)",
    )
    strategic.add_argument(
        "--candidates", type=int, default=3, help="suppliers with the most market power to search (default 3)"
    )
    strategic.add_argument(
        "--free-exchange",
        action="store_true",
        help="let the substation exchange float instead of fixing it to the day-ahead schedule",
    )
    strategic.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes (default: up to 2)"
    )
    strategic.set_defaults(func=run_strategic)


def run_strategic(args: argparse.Namespace) -> int:
    from clearing.errors import ClearingError
    from experiments import strategic
    from experiments.plots import write_figures

    grid = strategic.StrategyGrid(
        markups=args.markups or strategic.DEFAULT_MARKUPS,
        withholdings=args.withholdings or strategic.DEFAULT_WITHHOLDINGS,
    )
    if any(m <= 0 for m in grid.markups):
        raise UserError("--markups: every markup must be > 0")
    if any(not 0 <= w < 1 for w in grid.withholdings):
        raise UserError("--withholdings: every fraction must be in [0, 1)")
    if args.candidates < 1:
        raise UserError("--candidates: must be at least 1")
    if args.jobs < 1:
        raise UserError("--jobs: must be at least 1")
    levels = args.levels or strategic.DEFAULT_LEVELS
    liquidities = ("high", "low") if args.liquidity == "both" else (args.liquidity,)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out: cannot create {args.out}: {exc}") from exc

    def progress(line: str) -> None:
        print(line, flush=True)

    results = {}
    started = time.monotonic()
    for liquidity in liquidities:
        print(
            f"{liquidity} liquidity: {len(levels)} DG levels x up to {args.candidates} candidate(s) x "
            f"{len(grid.bids())} bids ({args.jobs} worker(s))",
            flush=True,
        )
        try:
            rows = strategic.run(
                liquidity,
                levels,
                grid,
                fixed_exchange=not args.free_exchange,
                candidates=args.candidates,
                jobs=args.jobs,
                progress=progress,
            )
        except ClearingError as exc:
            raise UserError(f"{liquidity} liquidity: {exc}") from exc
        results[liquidity] = rows
        target = args.out / f"results_{liquidity}.csv"
        target.write_text(strategic.results_csv(rows), encoding="utf-8", newline="")
        print(f"wrote {target}", flush=True)
        for line in strategic.summary_lines(strategic.summarize(liquidity, rows)):
            print(line, flush=True)
    for path in write_figures(results, args.out):
        print(f"wrote {path}", flush=True)
    print(f"done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0
