"""Live market events as Server-Sent Events, resumable with the standard ``Last-Event-ID`` header.

Each SSE ``id`` is ``<block>:<transaction id>``, which is exactly a Fabric chaincode-event checkpoint: a
reconnecting browser or client resumes after the last event it saw, with no gap and no repeat.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from gateway.events import ChaincodeEvent, Checkpoint
from restapi.auth import Principal
from restapi.errors import ERROR_RESPONSES, ApiError
from restapi.state import AppState, principal, state_of

router = APIRouter(responses=ERROR_RESPONSES, tags=["events"])
Anyone = Annotated[Principal, Depends(principal)]
State = Annotated[AppState, Depends(state_of)]
HEARTBEAT_SECONDS = 15.0


def parse_position(text: str, field: str) -> Checkpoint:
    """``"12:abcd"`` (after that transaction of block 12) or ``"12"`` (from block 12); ASCII digits only."""
    block, _, tx = text.partition(":")
    if not re.fullmatch(r"[0-9]{1,18}", block) or (tx and not re.fullmatch(r"[0-9A-Za-z_-]{1,80}", tx)):
        raise ApiError(400, "invalid", "expected <block>[:<transaction id>]", field)
    return Checkpoint(int(block), tx)


def format_event(event: ChaincodeEvent) -> str:
    data = json.dumps({"name": event.event_name, "block": event.block_number,
                       "transaction_id": event.transaction_id, "payload": event.json()})
    return f"id: {event.block_number}:{event.transaction_id}\nevent: {event.event_name}\ndata: {data}\n\n"


@router.get("/events", summary="Live chaincode events (SSE); resume with Last-Event-ID or ?after=",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "event stream"}})
async def events(
    who: Anyone,
    state: State,
    after: Annotated[str | None, Query(max_length=100, description="<block>[:<txid>] to resume after")] = None,
    start_block: Annotated[int | None, Query(ge=0, le=2**62, description="replay from this block")] = None,
    name: Annotated[list[str] | None, Query(description="only these event names")] = None,
    limit: Annotated[int | None, Query(ge=1, le=100000, description="close after this many events")] = None,
    last_event_id: Annotated[str | None, Header(max_length=100)] = None,
) -> StreamingResponse:
    checkpoint: Checkpoint | None = None
    if last_event_id:
        checkpoint = parse_position(last_event_id, "Last-Event-ID")
    elif after:
        checkpoint = parse_position(after, "after")
    elif start_block is not None:
        checkpoint = Checkpoint(start_block, "")
    stream = await asyncio.to_thread(state.ledger.events, who.user, checkpoint)
    wanted = set(name or ())

    async def body():
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()

        def pump() -> None:
            try:
                for event in stream:
                    loop.call_soon_threadsafe(queue.put_nowait, event)
            except Exception as exc:  # noqa: BLE001 - reported to the client as an SSE error event
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=pump, name="sse-events", daemon=True).start()
        sent = 0
        try:
            yield ": connected\n\n"
            while limit is None or sent < limit:
                try:
                    item = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if item is None:
                    break
                if isinstance(item, Exception):
                    yield f"event: error\ndata: {json.dumps({'message': str(item)})}\n\n"
                    break
                assert isinstance(item, ChaincodeEvent)
                if wanted and item.event_name not in wanted:
                    continue
                yield format_event(item)
                sent += 1
        finally:
            stream.close()

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
