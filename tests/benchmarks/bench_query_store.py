"""Benchmark: time per page of a market's bids from the query store as the ledger grows.

Fills a fresh SQLite query store through its real path (real Fabric block protobufs, decoded and applied
block by block, 100 bids per block) to each size, then times one page of 50 bids read with a cursor at the
start, the middle and the end of the market's list, against the shape the REST service had before: fetch
the whole list, cut the page out of it (here on the same store, so the difference is the access pattern
alone). Not a test: nothing is asserted.

    .venv/bin/python -m tests.benchmarks.bench_query_store [--sizes 1000 10000 100000] [--page 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "gateway"))

from gw_block_factory import NAMESPACE, Tx, ckey, config_block, make_block  # noqa: E402

from gateway.deliver import decode_block  # noqa: E402
from restapi.store import QueryStore  # noqa: E402


def fill(store: QueryStore, start: int, end: int) -> None:
    """Bids start..end-1 of market M1, 100 per block, through decode_block and QueryStore.apply."""
    if store.next_block == 0:
        store.apply(decode_block(config_block(0), NAMESPACE))
    for first in range(start, end, 100):
        txs = [Tx(f"t{n}", {ckey("bid", "M1", f"b{n:08d}"): {"id": f"b{n:08d}", "market_id": "M1", "owner": "agg1MSP",
                                                            "status": "active", "price_eur_per_mwh": n % 97}})
               for n in range(first, min(first + 100, end))]
        store.apply(decode_block(make_block(store.next_block, txs), NAMESPACE))


def timed(fn, repeat: int = 20) -> float:
    """Median milliseconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--page", type=int, default=50)
    args = parser.parse_args()
    store = QueryStore(Path(tempfile.mkdtemp(prefix="flexledger-bench-store-")) / "q.sqlite")
    print(f"{'bids':>8} {'fill s':>7} {'page@start ms':>14} {'page@middle ms':>15} {'page@end ms':>12} "
          f"{'fetch-all+slice ms':>19}")
    have = 0
    for size in sorted(args.sizes):
        t0 = time.perf_counter()
        fill(store, have, size)
        have = size
        fill_s = time.perf_counter() - t0
        cursors = {"start": None, "middle": f"b{size // 2:08d}", "end": f"b{size - args.page - 1:08d}"}
        per_page = {k: timed(lambda c=c: store.page("bid", args.page, after=c, parent="M1")) for k, c in cursors.items()}
        middle = size // 2
        whole = timed(lambda m=middle: store.all("bid", "M1")[m: m + args.page], repeat=5)
        print(f"{size:>8} {fill_s:>7.1f} {per_page['start']:>14.3f} {per_page['middle']:>15.3f} "
              f"{per_page['end']:>12.3f} {whole:>19.1f}")


if __name__ == "__main__":
    main()
