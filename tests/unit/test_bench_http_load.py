"""The throughput benchmark's HTTP load generator (tests/benchmarks/throughput/worker.py) against a small
server on a local socket: what it counts as committed and as failed must be right, or the REST row lies."""

from __future__ import annotations

import asyncio
import json

from tests.benchmarks.throughput.worker import post_all, post_requests


async def _serve(answers: list[bytes], seen: list[dict]) -> tuple[asyncio.AbstractServer, int]:
    """Answers requests with ``answers`` in turn, over keep-alive connections; records each request body."""
    pending = iter(answers)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            seen.append({"head": head.decode(), "body": json.loads(await reader.readexactly(length))})
            answer = next(pending)
            writer.write(answer)
            await writer.drain()
            if b"connection: close" in answer.lower():
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _answer(status: int, body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode() + body


def _run(answers: list[bytes], bodies: list[dict], concurrency: int) -> tuple[dict, list[dict]]:
    seen: list[dict] = []

    async def main() -> dict:
        server, port = await _serve(answers, seen)
        async with server:
            requests = post_requests(f"http://127.0.0.1:{port}", "/bids", "tok", bodies)
            return await post_all("127.0.0.1", port, requests, concurrency)

    return asyncio.run(main()), seen


def test_each_created_answer_is_one_latency_and_every_other_status_a_failure_with_its_body():
    chunked = b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n3\r\n{}\n\r\n0\r\n\r\n"
    answers = [_answer(201, b"{}"), _answer(409, b'{"error": "bid exists"}'), chunked,
               _answer(201, b"{}", "connection: close\r\n"), _answer(201, b"{}")]
    result, seen = _run(answers, [{"id": f"b{i}"} for i in range(5)], concurrency=1)
    assert len(result["latencies"]) == 4
    assert result["failures"] == ['HTTP 409: {"error": "bid exists"}']
    assert [s["body"]["id"] for s in seen] == ["b0", "b1", "b2", "b3", "b4"]  # the fifth on a new connection
    assert "Authorization: Bearer tok" in seen[0]["head"] and "POST /bids HTTP/1.1" in seen[0]["head"]


def test_every_request_is_sent_once_whatever_the_number_in_flight():
    bodies = [{"id": f"b{i}"} for i in range(50)]
    result, seen = _run([_answer(201, b"{}")] * 50, bodies, concurrency=8)
    assert len(result["latencies"]) == 50 and not result["failures"]
    assert sorted(s["body"]["id"] for s in seen) == sorted(b["id"] for b in bodies)


def test_a_connection_broken_mid_answer_is_a_failure_and_the_next_request_reconnects():
    truncated = b"HTTP/1.1 201 Created\r\ncontent-length: 10\r\nconnection: close\r\n\r\n{}"
    result, seen = _run([truncated, _answer(201, b"{}")], [{"id": "b0"}, {"id": "b1"}], concurrency=1)
    assert len(result["latencies"]) == 1 and len(result["failures"]) == 1
    assert result["failures"][0].startswith("IncompleteReadError")
    assert [s["body"]["id"] for s in seen] == ["b0", "b1"]
