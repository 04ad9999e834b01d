"""Benchmark: bids accepted through the REST API and committed, vs the same through the client library.

Runs against a live network (``flexledger network up``; default ``$FLEXLEDGER_HOME``). It prepares a
flexibility market and one device per bid, then places the same number of bids twice, with the same
concurrency: (A) ``POST /bids`` on the org's REST service (a real uvicorn server started here, each
request signed with the caller's own key, returning after commit), (B) ``Contract.submit`` straight
through the Python Gateway client. It reports committed bids per second and p50/p99 latency to commit
for both, and the REST/client ratios. Not a test: nothing is asserted.

    .venv/bin/python -m tests.benchmarks.bench_gateway [--bids 100] [--concurrency 16] [--org agg1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from flexledger.home import flexledger_home, profile_path
from gateway import connect_from_profile
from gateway.profile import load_profile
from restapi.auth import TOKEN_FILE, TokenStore
from tests.small_feeder import SMALL_FEEDER as FEEDER
from tests.small_feeder import small_baseline


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run_concurrently(jobs: list[Callable[[], None]], concurrency: int) -> tuple[float, list[float], int]:
    """Wall time, per-job latencies (s) and failures."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def timed(job: Callable[[], None]) -> None:
        nonlocal failures
        start = time.perf_counter()
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - counted and reported
            with lock:
                failures += 1
            print(f"  failed: {exc}", file=sys.stderr)
            return
        with lock:
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(timed, jobs))
    return time.perf_counter() - start, latencies, failures


def prepare(home: Path, org: str, user: str, count: int, concurrency: int) -> tuple[str, list[str]]:
    """A fresh flexibility market (long gate), the org enrolled, ``count`` devices of its own."""
    dso_profile = profile_path("dso", home)
    day = dt.datetime.now(dt.UTC).date().isoformat()
    with connect_from_profile(dso_profile, "operator") as gw:
        dso = gw.get_network("flexchannel").get_contract("flexledger")
        try:
            dso.evaluate("ReadNetwork", "")
        except Exception:  # noqa: BLE001 - none published yet
            dso.submit("PublishNetwork", json.dumps(FEEDER))
        try:
            dso.evaluate("ReadBaseline", day)
        except Exception:  # noqa: BLE001 - none published yet
            dso.submit("PublishBaseline", json.dumps(small_baseline(day)))
        with connect_from_profile(dso_profile, "settlement") as sgw:
            sgw.get_network("flexchannel").get_contract("flexledger").submit("Deposit", "dsoMSP", "1000")
        market = f"bench-{uuid.uuid4().hex[:8]}"
        now = dt.datetime.now(dt.UTC)
        dso.submit("RequestFlexibility", json.dumps({
            "id": market, "day": day, "gate_opens": iso(now - dt.timedelta(minutes=1)),
            "gate_closes": iso(now + dt.timedelta(hours=6)), "budget_cents": 1000}))
    with connect_from_profile(profile_path(org, home), user) as gw:
        contract = gw.get_network("flexchannel").get_contract("flexledger")
        contract.submit("EnrolInMarket", market)
        devices = [f"bd-{uuid.uuid4().hex[:10]}" for _ in range(count)]
        jobs = [lambda d=d: contract.submit("RegisterDevice", json.dumps(
            {"id": d, "type": "load", "max_power_mw": 0.05, "node": "3", "feeder": "F1"})) for d in devices]
        _, _, failures = run_concurrently(jobs, concurrency)
        if failures:
            raise SystemExit(f"could not register {failures} devices")
    return market, devices


def bid(market: str, device: str) -> dict:
    return {"id": f"bb-{uuid.uuid4().hex[:12]}", "market_id": market, "device": device,
            "products": {"p_up": {"price_eur_per_mwh": 10.0, "quantity_mw": [0.01]}}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(org: str, home: Path) -> tuple[str, Callable[[], None]]:
    import uvicorn

    from restapi import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(load_profile(profile_path(org, home))), host="127.0.0.1",
                                           port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/health", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return url, stop


def summary(name: str, wall: float, latencies: list[float], failures: int) -> dict:
    return {"path": name, "committed": len(latencies), "failed": failures, "seconds": round(wall, 2),
            "bids_per_second": round(len(latencies) / wall, 2) if wall else 0.0,
            "p50_ms": round(percentile(latencies, 50) * 1000, 1) if latencies else None,
            "p99_ms": round(percentile(latencies, 99) * 1000, 1) if latencies else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bids", type=int, default=100, help="bids per path (default 100)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--org", default="agg1")
    parser.add_argument("--user", default="trader", help="aggregator identity in the org's profile")
    parser.add_argument("--home", type=Path, default=None, help="FLEXLEDGER_HOME of the running network")
    parser.add_argument("--out", type=Path, default=Path("out/bench_gateway.json"))
    args = parser.parse_args(argv)
    home = args.home or flexledger_home()

    print(f"preparing a market and {2 * args.bids} devices ...", file=sys.stderr)
    market, devices = prepare(home, args.org, args.user, 2 * args.bids, args.concurrency)
    rest_devices, lib_devices = devices[: args.bids], devices[args.bids:]

    print(f"(A) {args.bids} bids through the REST API, {args.concurrency} in flight ...", file=sys.stderr)
    url, stop = start_service(args.org, home)
    token = TokenStore(load_profile(profile_path(args.org, home)).wallet / TOKEN_FILE).issue(args.user)
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120,
                          limits=httpx.Limits(max_connections=args.concurrency * 2))

    def rest(device: str) -> None:
        r = client.post("/bids", json=bid(market, device))
        if r.status_code != 201:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")

    rest_result = summary("rest", *run_concurrently([lambda d=d: rest(d) for d in rest_devices], args.concurrency))
    client.close()
    stop()

    print(f"(B) {args.bids} bids through the client library, {args.concurrency} in flight ...", file=sys.stderr)
    with connect_from_profile(profile_path(args.org, home), args.user) as gw:
        contract = gw.get_network("flexchannel").get_contract("flexledger")
        jobs = [lambda d=d: contract.submit("PlaceBid", json.dumps(bid(market, d))) for d in lib_devices]
        lib_result = summary("client", *run_concurrently(jobs, args.concurrency))

    report = {
        "bids": args.bids, "concurrency": args.concurrency, "org": args.org, "market": market,
        "rest": rest_result, "client": lib_result,
        "ratio_rest_over_client": {
            "throughput": round(rest_result["bids_per_second"] / lib_result["bids_per_second"], 3)
            if lib_result["bids_per_second"] else None,
            "p50": round(rest_result["p50_ms"] / lib_result["p50_ms"], 3) if lib_result["p50_ms"] else None,
            "p99": round(rest_result["p99_ms"] / lib_result["p99_ms"], 3) if lib_result["p99_ms"] else None,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print("| path | committed | bids/s | p50 ms | p99 ms |\n| --- | --- | --- | --- | --- |")
    for r in (rest_result, lib_result):
        print(f"| {r['path']} | {r['committed']}/{args.bids} | {r['bids_per_second']} | {r['p50_ms']} | {r['p99_ms']} |")
    ratio = report["ratio_rest_over_client"]
    print(f"REST/client: throughput {ratio['throughput']}, p50 {ratio['p50']}, p99 {ratio['p99']}  "
          f"(written to {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
