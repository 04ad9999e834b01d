"""Batched state access against one message per key: the same bids, the same network, side by side.

Against a running network (``flexledger network up``, same ``FLEXLEDGER_HOME`` and ``FLEXLEDGER_BASE_PORT``),
it places bids through the client library twice: first with every chaincode server declining the peer's
batched state access (``FLEXLEDGER_STATE_BATCHING=0``, the baseline: one message per key, as with peers before
Fabric 3.1), then accepting it; the servers are restarted between the two and the network's previous
chaincode environment is restored at the end. It prints committed bids/s, p50/p99 and the CPU milliseconds per
committed bid of peers, orderers and chaincode servers, and the ratios batched/baseline. On a peer that offers
no batching (the snapshot build, Fabric 2.5) both rows measure the same thing, and the report says so.
Not a test: nothing is asserted.

    .venv/bin/python -m tests.benchmarks.batching [--bids 600] [--concurrency 128]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from flexledger.home import flexledger_home
from network.layout import Layout
from network.manager import Network
from network.topology import default_topology
from tests.benchmarks.throughput import bench, cpu, workload

ENV = "FLEXLEDGER_STATE_BATCHING"
#: What the chaincode server logs when its peer offers batching (chaincode/server.py).
OFFER = re.compile(r"peer offers batched reads of (\d+) keys, write batches of (\d+) records")


def offered(layout: Layout, orgs: list[str]) -> dict[str, str]:
    """Each org's last logged offer from its peer ("none" when the peer offered nothing)."""
    found = {}
    for org in orgs:
        log = layout.log(f"{org}-chaincode")
        matches = OFFER.findall(log.read_text(errors="replace")) if log.is_file() else []
        found[org] = f"{matches[-1][0]} keys / {matches[-1][1]} records" if matches and matches[-1] != ("0", "0") \
            else "none"
    return found


def measure(net: Network, mode: str, env: dict[str, dict[str, str]], level: int, bids: int, day: workload.Day,
            home: Path) -> dict[str, Any]:
    net.set_chaincode_env(env, f"({mode})")
    pids = cpu.network_pids(net.layout)
    bench.phase("floor", level, 2 * len(day.aggregators), home, day, None, [], pids)  # reconnect the peers first
    row = bench.phase("client", level, bids, home, day, None, [], pids)
    row["mode"] = mode
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args = bench.side_by_side_arguments(parser, "bids per mode (default 600)", "out/bench_batching.json", argv)
    home = args.home or flexledger_home()
    net = Network(topo=default_topology(), layout=Layout(home))
    orgs = args.orgs.split(",")
    day = workload.prepare(home, orgs, args.user, -(-2 * args.bids // len(orgs) // 2) + 1, bench.say)
    previous = net.state().get("chaincode_env", {})
    declined = {o.name: {**previous.get(o.name, {}), ENV: "0"} for o in net.topo.orgs}
    accepted = {o.name: {k: v for k, v in previous.get(o.name, {}).items() if k != ENV} for o in net.topo.orgs}
    accepted = {org: env for org, env in accepted.items() if env}
    rows = []
    try:
        for mode, env in (("one message per key", declined), ("batched", accepted)):
            bench.say(f"{mode}: {args.bids} bids, {args.concurrency} in flight ...")
            rows.append(measure(net, mode, env, args.concurrency, args.bids, day, home))
            offers = offered(net.layout, [o.name for o in net.topo.orgs])
    finally:
        net.set_chaincode_env(previous, "(as before the benchmark)")
    print(f"Fabric: {net.fabric.summary}; the peers' offers: "
          + ", ".join(f"{org} {offer}" for org, offer in offers.items()))
    bench.print_rows(rows, {"state access": "mode"}, ("peer", "orderer", "chaincode", "client"))
    base, batched = rows
    print(f"\nbatched / one message per key: bids/s {bench.ratio(batched['per_second'], base['per_second'])}, "
          f"chaincode CPU per bid {bench.ratio(batched['cpu_ms_per_tx']['chaincode'], base['cpu_ms_per_tx']['chaincode'])}, "
          f"total CPU per bid {bench.ratio(batched['cpu_ms_per_tx_total'], base['cpu_ms_per_tx_total'])}")
    if all(offer == "none" for offer in offers.values()):
        print("(these peers offer no batching: both rows measure one message per key)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"offers": offers, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
