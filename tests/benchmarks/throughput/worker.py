"""One load-generating process: submits a list of bids N at a time and reports what it saw as JSON.

Each path (our client library, REST) runs in a process of its own, like the Node client, so that the
benchmark can read every process's CPU time separately. Input on stdin, output on stdout:

    {"mode": "client", "profile": ..., "user": ..., "function": "PlaceBid", "args": [[...]], "concurrency": 32}
    {"mode": "rest", "url": ..., "token": ..., "path": "/bids", "bodies": [{...}], "concurrency": 32}
    → {"latencies": [s, ...], "failures": ["...", ...], "wall_s": s, "cpu_s": s}

``worker serve PROFILE PORT`` runs an organisation's REST service instead (the server under test).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gateway.retry import SETTLE_RETRY


def run(jobs: list[Callable[[], None]], concurrency: int) -> dict[str, Any]:
    """Run ``jobs`` with ``concurrency`` threads; latencies of the ones that returned, messages of the rest."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def timed(job: Callable[[], None]) -> None:
        start = time.perf_counter()
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - counted and reported
            with lock:
                failures.append(str(exc)[:300])
            return
        with lock:
            latencies.append(time.perf_counter() - start)

    cpu, wall = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(max(1, concurrency)) as pool:
        list(pool.map(timed, jobs))
    return {"latencies": latencies, "failures": failures, "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu}


def client_jobs(job: dict[str, Any]) -> tuple[list[Callable[[], None]], Callable[[], None]]:
    from gateway import connect_from_profile

    gw = connect_from_profile(job["profile"], job["user"], endorse_retry=SETTLE_RETRY)
    contract = gw.get_network(job["channel"]).get_contract(job["chaincode"])
    jobs = [lambda a=args: contract.submit(job["function"], *a) for args in job["args"]]
    return jobs, gw.close


def rest_jobs(job: dict[str, Any]) -> tuple[list[Callable[[], None]], Callable[[], None]]:
    import httpx

    client = httpx.Client(base_url=job["url"], headers={"Authorization": f"Bearer {job['token']}"}, timeout=180,
                          limits=httpx.Limits(max_connections=job["concurrency"] + 8))

    def post(body: dict[str, Any]) -> None:
        r = client.post(job["path"], json=body)
        if r.status_code != 201:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")

    return [lambda b=body: post(b) for body in job["bodies"]], client.close


def serve(profile: str, port: int) -> None:
    """The org's REST service on ``port``, as ``flexledger gateway up`` runs it, without touching its state files."""
    import uvicorn

    from gateway.profile import load_profile
    from restapi import create_app

    uvicorn.run(create_app(load_profile(profile)), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


def main() -> int:
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
        return 0
    job = json.load(sys.stdin)
    jobs, close = (client_jobs if job["mode"] == "client" else rest_jobs)(job)
    try:
        result = run(jobs, job["concurrency"])
    finally:
        close()
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
