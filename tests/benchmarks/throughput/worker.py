"""One load-generating process: submits a list of bids N at a time and reports what it saw as JSON.

Each path (our client library, REST) runs in a process of its own, like the Node client, so that the
benchmark can read every process's CPU time separately. Input on stdin, output on stdout:

    {"mode": "client", "profile": ..., "user": ..., "function": "PlaceBid", "args": [[...]], "concurrency": 32}
    {"mode": "aio", ...the same as "client"...}
    {"mode": "rest", "url": ..., "token": ..., "path": "/bids", "bodies": [{...}], "concurrency": 32}
    → {"latencies": [s, ...], "failures": ["...", ...], "wall_s": s, "cpu_s": s}

``worker serve PROFILE PORT`` runs an organisation's REST service instead (the server under test).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from gateway.retry import SETTLE_RETRY


def client_jobs_aio(job: dict[str, Any]) -> dict[str, Any]:
    """The client library's asyncio flavour: ``job["concurrency"]`` calls in flight on one event loop."""
    from gateway.aio import connect_from_profile

    async def main() -> dict[str, Any]:
        latencies: list[float] = []
        failures: list[str] = []
        pending = iter(job["args"])
        async with connect_from_profile(job["profile"], job["user"], endorse_retry=SETTLE_RETRY) as gw:
            contract = gw.get_network(job["channel"]).get_contract(job["chaincode"])

            async def caller() -> None:
                for args in pending:  # shared: each caller takes the next call when its last one committed
                    start = time.perf_counter()
                    try:
                        await contract.submit(job["function"], *args)
                    except Exception as exc:  # noqa: BLE001 - counted and reported
                        failures.append(str(exc)[:300])
                        continue
                    latencies.append(time.perf_counter() - start)

            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(max(1, min(job["concurrency"], len(job["args"]))))))
            return {"latencies": latencies, "failures": failures, "wall_s": time.perf_counter() - wall,
                    "cpu_s": time.process_time() - cpu}

    return asyncio.run(main())


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


class HttpConnection:
    """One keep-alive HTTP/1.1 connection that sends prepared requests and reads their answers.

    Why not an HTTP library: REST users are HTTP clients on machines of their own, so the load generator
    sharing the two cores with the network under test should cost as little CPU as it can. The former
    generator (a thread per request in flight, httpx) spent up to 15 ms of CPU per bid at 512 in flight, and
    async httpx more; this one does only what a bid needs: write the bytes, read a status line, headers and a
    ``Content-Length`` or chunked body.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one whole request; (status, body) of the answer."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        try:
            self._writer.write(raw)
            head = await self._reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head[:-4].split(b"\r\n")
            status = int(status_line.split(b" ", 2)[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines)}
            if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
                body = await self._chunked()
            else:
                body = await self._reader.readexactly(int(headers.get(b"content-length", b"0")))
            if headers.get(b"connection", b"").lower() == b"close":
                await self.close()
            return status, body
        except BaseException:
            await self.close()  # a half-read answer leaves the connection unusable
            raise

    async def _chunked(self) -> bytes:
        assert self._reader is not None
        parts = []
        while size := int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)
        await self._reader.readuntil(b"\r\n")  # no trailers are sent to us
        return b"".join(parts)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def post_requests(url: str, path: str, token: str, bodies: list[dict[str, Any]]) -> list[bytes]:
    """Each body as the complete bytes of ``POST path`` with the bearer token (built before the clock starts)."""
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}"
    out = []
    for body in bodies:
        data = json.dumps(body).encode()
        out.append(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
    return out


async def post_all(host: str, port: int, requests: list[bytes], concurrency: int,
                   expect: int = 201) -> dict[str, Any]:
    """Send ``requests`` over ``concurrency`` keep-alive connections, one request in flight on each.

    A request's latency runs from writing it to reading its whole answer; an answer other than ``expect``
    (or a broken connection) is a failure with its status and the start of its body.
    """
    latencies: list[float] = []
    failures: list[str] = []
    pending = iter(requests)

    async def connection() -> None:
        conn = HttpConnection(host, port)
        try:
            for raw in pending:  # shared: each connection takes the next request when it is free
                start = time.perf_counter()
                try:
                    status, body = await conn.request(raw)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                    failures.append(f"{type(exc).__name__}: {exc}"[:300])
                    continue
                if status != expect:
                    failures.append(f"HTTP {status}: {body[:200].decode(errors='replace')}")
                    continue
                latencies.append(time.perf_counter() - start)
        finally:
            await conn.close()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(max(1, min(concurrency, len(requests))))))
    return {"latencies": latencies, "failures": failures, "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu}


def run_rest(job: dict[str, Any]) -> dict[str, Any]:
    """``POST`` every body of ``job`` to the REST service, ``job["concurrency"]`` at a time (one event loop)."""
    parts = urlsplit(job["url"])
    requests = post_requests(job["url"], job["path"], job["token"], job["bodies"])
    return asyncio.run(post_all(parts.hostname or "127.0.0.1", parts.port or 80, requests, job["concurrency"]))


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
    if job["mode"] == "rest":
        result = run_rest(job)
    elif job["mode"] == "aio":
        result = client_jobs_aio(job)
    else:
        jobs, close = client_jobs(job)
        try:
            result = run(jobs, job["concurrency"])
        finally:
            close()
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
