"""Committed bids per second through three clients on one live network, and where the CPU goes.

Against a running network (``flexledger network up``; ``--home`` or ``$FLEXLEDGER_HOME``), in one run:

* ``node``   — the official Fabric Gateway client for Node (npm ``@hyperledger/fabric-gateway``, installed by
  this benchmark into the git-ignored ``.bench/node``), calling ``PlaceBid``;
* ``client`` — our Python client library (:mod:`gateway`), calling ``PlaceBid``, a thread per call in flight;
* ``aio``    — the same library's asyncio flavour (:mod:`gateway.aio`), every call in flight on one event loop;
* ``rest``   — ``POST /bids`` on each organisation's REST service, run in a process of its own;
* ``floor``  — our client library calling ``Ping``, the contract's cheapest transaction (reads and writes
  nothing): what this network costs per transaction before any of our contract's work (the cheapest
  client: the Node client spends ~5x more CPU per transaction than ours, and would measure itself).

Bids come from every aggregator (one load process each) into a capacity market with escrow and a
flexibility market, alternating; every call returns when the bid is committed. For each concurrency
level and path it prints committed bids/s, p50/p99 latency to commit, failures, the ratios REST/client,
client/node and bid/floor, and the CPU milliseconds per committed transaction of each process kind
(peers, orderers, chaincode servers, REST services, the client processes), read from ``/proc``.
Not a test: nothing is asserted.

    .venv/bin/python -m tests.benchmarks.throughput [--bids 600] [--concurrency 32,128,512]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from flexledger.home import flexledger_home, profile_path
from gateway.profile import load_profile
from network.layout import Layout
from restapi.auth import TOKEN_FILE, TokenStore
from tests.benchmarks.throughput import cpu, workload

ROOT = Path(__file__).resolve().parents[3]
NODE_SOURCES = Path(__file__).resolve().parent / "node"
NODE_DIR = ROOT / ".bench" / "node"
PATHS = ("floor", "node", "client", "aio", "rest")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def install_node_client() -> Path:
    """``npm ci`` of the pinned official client (package-lock.json) into ``.bench/node`` (once); the script there."""
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json", "submit.mjs"):
        shutil.copyfile(NODE_SOURCES / name, NODE_DIR / name)
    marker = NODE_DIR / "node_modules" / "@hyperledger" / "fabric-gateway" / "package.json"
    if not marker.is_file():
        if shutil.which("npm") is None:
            raise SystemExit("npm is not installed: the Node client path needs Node.js and npm (or --paths client,rest)")
        say("installing @hyperledger/fabric-gateway into .bench/node ...")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True)
    return NODE_DIR / "submit.mjs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RestService:
    org: str
    url: str
    process: subprocess.Popen


def start_rest(home: Path, orgs: list[str]) -> list[RestService]:
    services = []
    for org in orgs:
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.throughput.worker", "serve",
                                 str(profile_path(org, home)), str(port)], cwd=ROOT)
        services.append(RestService(org, f"http://127.0.0.1:{port}", proc))
    for service in services:
        for _ in range(300):
            try:
                httpx.get(service.url + "/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"the REST service of {service.org} did not start")
    return services


def stop_rest(services: list[RestService]) -> None:
    for service in services:
        service.process.terminate()
    for service in services:
        try:
            service.process.wait(15)
        except subprocess.TimeoutExpired:
            service.process.kill()


def client_job(home: Path, org: str, user: str, function: str, args: list[list[str]], concurrency: int) -> dict:
    profile = load_profile(profile_path(org, home))
    ident = profile.identity_files(user)
    return {"mode": "client", "profile": str(profile_path(org, home)), "user": user, "channel": profile.channel,
            "chaincode": profile.chaincode, "function": function, "args": args, "concurrency": concurrency,
            "msp_id": profile.msp_id, "cert": str(ident.cert), "key": str(ident.key),
            "peer": {"endpoint": profile.peer.endpoint, "server_name": profile.peer.server_name,
                     "tls_ca_cert": str(profile.peer.tls_ca_cert)}}


def run_process(argv: list[str], job: dict) -> tuple[dict, int]:
    proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(json.dumps(job))
    if proc.returncode != 0:
        raise SystemExit(f"load process {argv[:3]} failed with exit code {proc.returncode}")
    return json.loads(out), proc.pid


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def phase(path: str, level: int, count: int, home: Path, day: workload.Day, node_script: Path | None,
          rest: list[RestService], pids: dict[str, list[int]]) -> dict[str, Any]:
    """Place ``count`` transactions along ``path`` with ``level`` in flight in all; measure."""
    if path == "floor":
        per_org = {a.org: [{}] * (count // len(day.aggregators)) for a in day.aggregators}
    else:
        per_org = workload.split_bids(day, count)
    orgs = [a.org for a in day.aggregators]
    share = max(1, level // len(orgs))
    jobs: list[tuple[list[str], dict]] = []
    for agg in day.aggregators:
        docs = per_org[agg.org]
        if path == "rest":
            service = next(s for s in rest if s.org == agg.org)
            token = TokenStore(load_profile(profile_path(agg.org, home)).wallet / TOKEN_FILE).issue(agg.user)
            jobs.append(([sys.executable, "-m", "tests.benchmarks.throughput.worker"],
                         {"mode": "rest", "url": service.url, "token": token, "path": "/bids", "bodies": docs,
                          "concurrency": share}))
            continue
        function, args = ("Ping", [[] for _ in docs]) if path == "floor" else \
            ("PlaceBid", [[json.dumps(d)] for d in docs])
        job = {**client_job(home, agg.org, agg.user, function, args, share), "mode": path}
        argv = ["node", str(node_script)] if path == "node" else \
            [sys.executable, "-m", "tests.benchmarks.throughput.worker"]
        jobs.append((argv, job))
    watched = {**pids, "rest": [s.process.pid for s in rest]} if path == "rest" else dict(pids)
    before = cpu.snapshot(watched)
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda j: run_process(*j), jobs))
    spent = cpu.spent(before, cpu.snapshot(watched))
    latencies = [x for r, _ in results for x in r["latencies"]]
    failures = [f for r, _ in results for f in r["failures"]]
    wall = max(r["wall_s"] for r, _ in results)
    spent["client"] = sum(r["cpu_s"] for r, _ in results)
    committed = len(latencies)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return {"path": path, "concurrency": level, "orgs": orgs, "sent": count, "committed": committed,
            "failed": len(failures), "failure_samples": failures[:3], "seconds": round(wall, 2),
            "per_second": round(committed / wall, 1) if wall else 0.0,
            "p50_ms": None if p50 is None else round(p50 * 1000), "p99_ms": None if p99 is None else round(p99 * 1000),
            "cpu_ms_per_tx": {k: round(1000 * v / committed, 2) if committed else None for k, v in spent.items()},
            "cpu_ms_per_tx_total": round(1000 * sum(spent.values()) / committed, 2) if committed else None}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def print_rows(rows: list[dict[str, Any]], labels: dict[str, str], kinds: tuple[str, ...]) -> None:
    """One markdown row per measured phase: ``labels`` (column title -> row key) first, then the figures."""
    print("| " + " | ".join(labels) + " | committed/sent | per s | p50 ms | p99 ms | failed | CPU ms per tx: "
          + " / ".join(kinds) + " = total |")
    print("| " + " | ".join(["---"] * (len(labels) + 6)) + " |")
    for r in rows:
        cpu_ms = " / ".join(str(r["cpu_ms_per_tx"].get(k, "-")) for k in kinds)
        print("| " + " | ".join(str(r[key]) for key in labels.values())
              + f" | {r['committed']}/{r['sent']} | {r['per_second']} | {r['p50_ms']} | {r['p99_ms']} | {r['failed']} "
              f"| {cpu_ms} = {r['cpu_ms_per_tx_total']} |")


def print_report(rows: list[dict[str, Any]]) -> None:
    print_rows(rows, {"concurrency": "concurrency", "path": "path"}, ("peer", "orderer", "chaincode", "rest", "client"))
    print()
    print("| concurrency | REST/client bids/s | REST/client p99 | REST/aio bids/s | aio/client bids/s "
          "| client/node bids/s | client bids/floor tx |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for level in sorted({r["concurrency"] for r in rows}):
        by = {r["path"]: r for r in rows if r["concurrency"] == level}

        def get(path: str, key: str, by: dict = by) -> float | None:
            return by[path][key] if path in by else None

        print(f"| {level} | {ratio(get('rest', 'per_second'), get('client', 'per_second'))} "
              f"| {ratio(get('rest', 'p99_ms'), get('client', 'p99_ms'))} "
              f"| {ratio(get('rest', 'per_second'), get('aio', 'per_second'))} "
              f"| {ratio(get('aio', 'per_second'), get('client', 'per_second'))} "
              f"| {ratio(get('client', 'per_second'), get('node', 'per_second'))} "
              f"| {ratio(get('client', 'per_second'), get('floor', 'per_second'))} |")


def add_network_options(parser: argparse.ArgumentParser) -> None:
    """Who bids on which running network (shared by the benchmarks that place bids)."""
    parser.add_argument("--orgs", default="agg1,agg2", help="aggregator organisations placing bids")
    parser.add_argument("--user", default="trader", help="aggregator identity in each org's profile")
    parser.add_argument("--home", type=Path, default=None, help="FLEXLEDGER_HOME of the running network")


def side_by_side_arguments(parser: argparse.ArgumentParser, bids_help: str, out: str,
                           argv: list[str] | None) -> argparse.Namespace:
    """The options of a benchmark that runs two modes at one concurrency on one network (--bids, --concurrency,
    the network options, --out), parsed."""
    parser.add_argument("--bids", type=int, default=600, help=bids_help)
    parser.add_argument("--concurrency", type=int, default=128, help="bids in flight (default 128)")
    add_network_options(parser)
    parser.add_argument("--out", type=Path, default=Path(out))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bids", type=int, default=600, help="transactions per path and concurrency (default 600)")
    parser.add_argument("--concurrency", default="32,128,512", help="levels, comma-separated (default 32,128,512)")
    parser.add_argument("--paths", default=",".join(PATHS), help=f"subset of {','.join(PATHS)}")
    add_network_options(parser)
    parser.add_argument("--bid-endorsement", choices=("all", "owner"), default="all",
                        help="markets whose bids every market organisation endorses (default) or the bidder's "
                             "peer alone (docs/chaincode.md, 'Endorsement')")
    parser.add_argument("--out", type=Path, default=Path("out/bench_throughput.json"))
    args = parser.parse_args(argv)
    home = args.home or flexledger_home()
    levels = [int(x) for x in args.concurrency.split(",")]
    paths = [p for p in PATHS if p in args.paths.split(",")]
    unknown = set(args.paths.split(",")) - set(PATHS)
    if unknown:
        parser.error(f"--paths: unknown {', '.join(sorted(unknown))}; choose from {', '.join(PATHS)}")
    orgs = args.orgs.split(",")
    node_script = install_node_client() if "node" in paths else None
    bid_paths = [p for p in paths if p != "floor"]
    per_org = -(-args.bids * len(bid_paths) * len(levels) // len(orgs))
    day = workload.prepare(home, orgs, args.user, -(-per_org // 2) + 1, say, args.bid_endorsement)
    pids = cpu.network_pids(Layout(home))
    rest = start_rest(home, orgs) if "rest" in paths else []
    rows = []
    try:
        for level in levels:
            for path in paths:
                say(f"{path}: {args.bids} transactions, {level} in flight ...")
                rows.append(phase(path, level, args.bids, home, day, node_script, rest, pids))
                say(f"  {rows[-1]['per_second']}/s, p50 {rows[-1]['p50_ms']} ms, p99 {rows[-1]['p99_ms']} ms, "
                    f"{rows[-1]['failed']} failed, CPU {rows[-1]['cpu_ms_per_tx_total']} ms/tx")
    finally:
        stop_rest(rest)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"bids": args.bids, "levels": levels, "bid_endorsement": args.bid_endorsement,
                                    "rows": rows}, indent=2))
    print(f"bids endorsed by: {'the bidder' if args.bid_endorsement == 'owner' else 'every market organisation'}; "
          "the floor (Ping) is endorsed by every market organisation")
    print_report(rows)
    print(f"\n(written to {args.out})")
    return 0
