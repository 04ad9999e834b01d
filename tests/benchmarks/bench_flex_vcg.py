"""Benchmark (not a test): full VCG clearing against one cold solve and against naive VCG.

Run: ``.venv/bin/python -m tests.benchmarks.bench_flex_vcg [--scale paper|large|all] [--naive-sample N]``

Side by side, in one run, per case:

* ``cold solve``  - the full multi-period problem built as one pyomo model and solved once by HiGHS
  from scratch (:func:`clearing.flex.reference.solve_reference`): what one clearing costs without
  any of the oracle's structure;
* ``single clear`` - the oracle's own path for one dispatch without VCG (``mechanism=dlmp``:
  compile once, per-period warm solves, tie-break, DLMPs, result document);
* ``full VCG``    - ``clear_flexibility(doc, "vcg")``, everything included (parse, hash, result);
* ``naive VCG``   - the cold solve, plus one rebuild-and-cold-solve of the full problem per owner
  with a dispatch. At scale that takes hours, so it is timed on ``--naive-sample`` owners and
  extrapolated (the line says so).

Wall-clock and CPU (process) seconds are both printed: on a shared 2-core machine wall time
moves with other load, CPU time less so. Ratios use wall time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from clearing.flex import FlexInstance, clear_flexibility, clear_instance
from clearing.flex.reference import solve_reference
from clearing.flex.synthetic import feeder_document


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def paper_case() -> tuple[str, dict[str, Any]]:
    try:
        from experiments.paper import paper_instance
    except ImportError:  # the experiment package is optional for this benchmark
        return "paper (synthetic 15 nodes x 24 periods x 30 offers)", feeder_document(15, 24, 30, seed=4)
    return "paper (15-node feeder, 30 suppliers, DG 160 %, 24 h)", paper_instance("high", 1.6)


def large_case() -> tuple[str, dict[str, Any]]:
    doc = feeder_document(nodes=200, periods=96, offers=1000, owners=250, seed=1)
    return "large (synthetic 200 nodes x 96 periods x 1000 offers, 250 owners)", doc


def run_case(name: str, doc: dict[str, Any], naive_sample: int | None) -> None:
    print(f"\n== {name}")
    inst = FlexInstance.from_document(doc)
    vcg, vcg_wall, vcg_cpu = _timed(lambda: clear_flexibility(doc, "vcg"))
    _, single_wall, single_cpu = _timed(lambda: clear_flexibility(doc, "dlmp"))
    cold, cold_wall, cold_cpu = _timed(lambda: solve_reference(inst))

    dispatched = [o for o in inst.owners if vcg["costs_eur"][o] > 0]
    sample = dispatched if naive_sample is None else dispatched[:naive_sample]
    naive_wall, naive_cpu = cold_wall, cold_cpu
    for owner in sample:
        _, wall, cpu = _timed(lambda owner=owner: solve_reference(inst, removed_owners=[owner]))
        naive_wall += wall
        naive_cpu += cpu
    estimated = len(sample) < len(dispatched)
    if estimated and sample:
        scale = len(dispatched) / len(sample)
        naive_wall = cold_wall + (naive_wall - cold_wall) * scale
        naive_cpu = cold_cpu + (naive_cpu - cold_cpu) * scale

    stats: dict[str, int] = {}
    clear_instance(inst, "vcg", stats=stats)
    print(
        f"   owners {len(inst.owners)}, dispatched {len(dispatched)}; (owner, period) withdrawals "
        f"{stats['withdrawals']}: {stats['by_sensitivity']} by sensitivity, {stats['resolves']} warm re-solves"
    )
    print(f"   total cost {vcg['total_cost_eur']:.2f} EUR; cold-solve objective {cold.objective:.2f} EUR")
    naive_label = f"naive VCG (estimated from {len(sample)} owners)" if estimated else "naive VCG"
    rows = [
        ("cold solve (full pyomo model, HiGHS)", cold_wall, cold_cpu),
        ("single clear (oracle, no VCG)", single_wall, single_cpu),
        ("full VCG (oracle)", vcg_wall, vcg_cpu),
        (naive_label, naive_wall, naive_cpu),
    ]
    for label, wall, cpu in rows:
        print(f"   {label:<44} {wall:9.2f} s wall {cpu:9.2f} s cpu")
    print(f"   full VCG / cold solve    = {vcg_wall / cold_wall:6.2f}x   (goal <= 3x)")
    print(f"   full VCG / single clear  = {vcg_wall / single_wall:6.2f}x")
    print(f"   naive VCG / full VCG     = {naive_wall / vcg_wall:6.1f}x   (goal >= 20x at scale)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("paper", "large", "all"), default="all")
    parser.add_argument(
        "--naive-sample", type=int, default=3, help="owners timed for naive VCG on the large case (default 3)"
    )
    args = parser.parse_args(argv)
    if args.scale in ("paper", "all"):
        run_case(*paper_case(), naive_sample=None)
    if args.scale in ("large", "all"):
        run_case(*large_case(), naive_sample=args.naive_sample)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
