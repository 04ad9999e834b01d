"""Benchmark (not a test): capacity-market clearing time at 10 000 bids x 96 periods x 50 feeders.

Run: ``.venv/bin/python -m tests.benchmarks.bench_capacity`` (``--help`` for sizes).

Reports, side by side on seeded random instances (see ``capacity_instances``):
1. the oracle (premium capacity, decomposed exact MILP) on the full instance, against
   greedy-by-price pay-as-bid on the same instance (time ratio and the value greedy loses);
2. the oracle against one monolithic MILP without decomposition on a slice of the
   instance (``--slice-feeders`` feeders) — same optimal value (awards may differ among
   equal-value optima: the priority weights are per component);
3. social equity (a priority pass) on the full instance.
Wall-clock numbers depend on the machine and its load; ratios travel better.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any, TypeVar

from clearing.capacity import clear_capacity, parse_document
from clearing.capacity.components import Component, split_components
from clearing.capacity.grid import cells
from clearing.capacity.model import CapacityMarket
from clearing.capacity.premium import solve_component
from clearing.capacity.social import allocate_in_order
from tests.benchmarks.capacity_instances import capacity_document

T = TypeVar("T")


class Clock:
    """Wall and CPU seconds of one call (CPU time is the figure to trust on a shared machine)."""

    def __init__(self, wall: float, cpu: float) -> None:
        self.wall, self.cpu = wall, cpu

    def __str__(self) -> str:
        return f"{self.wall:8.2f} s wall {self.cpu:8.2f} s CPU"


def timed(function: Callable[[], T]) -> tuple[T, Clock]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return value, Clock(time.perf_counter() - wall, time.process_time() - cpu)


def value_of(instance: CapacityMarket, awards: dict[str, int]) -> float:
    hours = instance.market.hours
    return sum(
        b.price_eur_per_mwh * awards.get(b.id, 0) / 1e6 * hours * len(b.periods) for b in instance.bids
    )


def greedy_pay_as_bid(document: dict[str, Any]) -> tuple[CapacityMarket, dict[str, int]]:
    """Baseline heuristic: highest price first, each bid its largest feasible award."""
    instance = parse_document(document)
    ordered = sorted(instance.bids, key=lambda b: (-b.price_eur_per_mwh, b.arrival_key))
    return instance, allocate_in_order(ordered, instance.capacity_micro())


def monolithic(document: dict[str, Any]) -> dict[str, int]:
    """Baseline exact model: every biddable bid and every demanded cell in one MILP, no decomposition."""
    instance = parse_document(document)
    capacity = instance.capacity_micro()
    split = split_components(instance.bids, capacity)
    upper: dict[str, int] = {}
    for component in split.components:
        upper.update(component.upper_bounds)
    fixed = {bid_id: award for bid_id, award in split.fixed.items() if award > 0}
    upper.update(fixed)  # non-competing bids enter the model too
    bids = tuple(b for b in instance.bids if b.id in upper)
    cell_bids: dict[tuple[str, int], list[str]] = {}
    for b in bids:
        for cell in cells(b):
            cell_bids.setdefault(cell, []).append(b.id)
    everything = Component(
        bids=bids,
        upper_bounds=upper,
        cells=tuple(sorted(cell_bids)),
        cell_bids={cell: tuple(ids) for cell, ids in cell_bids.items()},
        capacity={cell: capacity.get(cell, 0) for cell in cell_bids},
    )
    awards = {b.id: 0 for b in instance.bids}
    awards.update(solve_component(everything, instance.market.hours))
    return awards


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bids", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=96)
    parser.add_argument("--feeders", type=int, default=50)
    parser.add_argument("--slice-feeders", type=int, default=10, help="feeders in the monolithic comparison")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    size = f"{args.bids} bids x {args.periods} periods x {args.feeders} feeders"
    document = capacity_document(bids=args.bids, periods=args.periods, feeders=args.feeders, seed=args.seed)
    instance = parse_document(document)
    split = split_components(instance.bids, instance.capacity_micro())
    sizes = sorted(len(c.bids) for c in split.components)
    print(f"instance: {size}, {len(instance.limits)} limits, seed {args.seed}")
    print(
        f"  {len(split.components)} components to solve (bids per component: min {sizes[0] if sizes else 0}, "
        f"max {sizes[-1] if sizes else 0}), {len(split.fixed)} bids settled without a solver"
    )

    result, t_oracle = timed(lambda: clear_capacity(document))
    (g_instance, g_awards), t_greedy = timed(lambda: greedy_pay_as_bid(document))
    g_value = value_of(g_instance, g_awards)
    print("\n1) premium capacity, full instance")
    print(f"  oracle (decomposed MILP, 2 stages): {t_oracle}   value {result['value_eur']:.2f} EUR")
    print(f"  baseline greedy by price:           {t_greedy}   value {g_value:.2f} EUR")
    print(
        f"  CPU ratio oracle/greedy: {t_oracle.cpu / t_greedy.cpu:.0f}x; "
        f"greedy loses {100 * (1 - g_value / result['value_eur']):.2f} % of the value"
    )

    per_feeder = args.bids // args.feeders
    slice_bids = per_feeder * args.slice_feeders
    part = capacity_document(
        bids=slice_bids, periods=args.periods, feeders=args.slice_feeders, seed=args.seed
    )
    sliced, t_sliced = timed(lambda: clear_capacity(part))
    mono, t_mono = timed(lambda: monolithic(part))
    mono_value = value_of(parse_document(part), mono)
    print(
        f"\n2) decomposition vs one monolithic MILP, slice of {slice_bids} bids x {args.slice_feeders} feeders"
    )
    print(f"  oracle (decomposed):   {t_sliced}   value {sliced['value_eur']:.6f} EUR")
    print(f"  baseline monolithic:   {t_mono}   value {mono_value:.6f} EUR")
    print(f"  CPU speed-up of decomposition: {t_mono.cpu / t_sliced.cpu:.1f}x")

    social_doc = dict(document, market=dict(document["market"], rule="social_equity"))
    social, t_social = timed(lambda: clear_capacity(social_doc))
    print("\n3) social equity (fcfs), full instance")
    print(f"  oracle: {t_social}   value {social['value_eur']:.2f} EUR (no charges)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
