"""Owner-endorsed bids against bids every market organisation endorses: same network, same client, side by side.

Against a running network (``flexledger network up``, same ``FLEXLEDGER_HOME`` and ``FLEXLEDGER_BASE_PORT``),
it opens two market days — markets with ``"bid_endorsement": "all"`` (the baseline: three Python executions
and three endorsements per bid) and with ``"owner"`` (the bidder's peer alone, docs/chaincode.md,
"Endorsement") — and places the same number of bids in each through the client library, alternating the
order of the two modes between rounds. It prints committed bids/s, p50/p99 and the CPU milliseconds per
committed bid of peers, orderers, chaincode servers and clients, with the all-endorsed ``Ping`` floor, and the
ratios owner/all. Not a test: nothing is asserted.

    .venv/bin/python -m tests.benchmarks.owner_endorsement [--bids 600] [--concurrency 128] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import sys

from flexledger.home import flexledger_home
from network.layout import Layout
from network.manager import Network
from network.topology import default_topology
from tests.benchmarks.throughput import bench, cpu, workload

MODES = ("all", "owner")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1, help="rounds of both modes, order alternating (default 1)")
    args = bench.side_by_side_arguments(parser, "bids per mode and round (default 600)",
                                        "out/bench_owner_endorsement.json", argv)
    home = args.home or flexledger_home()
    net = Network(topo=default_topology(), layout=Layout(home))
    orgs = args.orgs.split(",")
    devices = -(-args.bids * args.rounds // len(orgs) // 2) + 1
    days = {mode: workload.prepare(home, orgs, args.user, devices, bench.say, mode) for mode in MODES}
    pids = cpu.network_pids(net.layout)
    rows = []
    for round_ in range(args.rounds):
        bench.say(f"round {round_ + 1}: the all-endorsed floor (Ping), {args.bids} transactions ...")
        rows.append({**bench.phase("floor", args.concurrency, args.bids, home, days["all"], None, [], pids),
                     "mode": "floor (Ping, all endorse)"})
        for mode in (MODES if round_ % 2 == 0 else tuple(reversed(MODES))):
            bench.say(f"round {round_ + 1}: bids endorsed by {mode}, {args.bids} bids, {args.concurrency} in flight ...")
            rows.append({**bench.phase("client", args.concurrency, args.bids, home, days[mode], None, [], pids),
                         "mode": f"bids, {mode} endorse"})
    print(f"Fabric: {net.fabric.summary}; {args.concurrency} in flight")
    bench.print_rows(rows, {"transactions": "mode"}, ("peer", "orderer", "chaincode", "client"))
    by = {mode: [r for r in rows if r["mode"] == f"bids, {mode} endorse"] for mode in MODES}
    floor = [r for r in rows if r["mode"].startswith("floor")]

    def mean(items: list[dict], *path: str) -> float | None:
        values = [r[path[0]] if len(path) == 1 else r[path[0]][path[1]] for r in items]
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    print(f"\nowner / all: bids/s {bench.ratio(mean(by['owner'], 'per_second'), mean(by['all'], 'per_second'))}, "
          f"chaincode CPU per bid {bench.ratio(mean(by['owner'], 'cpu_ms_per_tx', 'chaincode'), mean(by['all'], 'cpu_ms_per_tx', 'chaincode'))}, "
          f"peer CPU per bid {bench.ratio(mean(by['owner'], 'cpu_ms_per_tx', 'peer'), mean(by['all'], 'cpu_ms_per_tx', 'peer'))}, "
          f"total CPU per bid {bench.ratio(mean(by['owner'], 'cpu_ms_per_tx_total'), mean(by['all'], 'cpu_ms_per_tx_total'))}")
    print(f"bids / floor tx per s: all {bench.ratio(mean(by['all'], 'per_second'), mean(floor, 'per_second'))}, "
          f"owner {bench.ratio(mean(by['owner'], 'per_second'), mean(floor, 'per_second'))}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"concurrency": args.concurrency, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
