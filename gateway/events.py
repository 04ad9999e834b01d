"""Chaincode event streaming with resume from a checkpoint.

The peer's ChaincodeEvents RPC streams, per block, the events of one chaincode. A checkpoint remembers
the block to resume from and the last transaction already handled in it, so a listener that restarts
(the REST service after a crash, a CLI follower) neither misses nor repeats events.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2

from gateway.errors import EventsError, from_rpc_error

if TYPE_CHECKING:
    from gateway.client import Network


@dataclass(frozen=True)
class ChaincodeEvent:
    block_number: int
    transaction_id: str
    chaincode_name: str
    event_name: str
    payload: bytes

    def json(self) -> object:
        """The payload decoded as JSON (flexledger events are JSON), else as text."""
        try:
            return json.loads(self.payload)
        except ValueError:
            return self.payload.decode(errors="replace")


class Checkpoint:
    """In-memory position: next block to read and last transaction handled in it."""

    def __init__(self, block_number: int | None = None, transaction_id: str = "") -> None:
        self.block_number = block_number
        self.transaction_id = transaction_id
        self._lock = threading.Lock()

    def checkpoint_event(self, event: ChaincodeEvent) -> None:
        with self._lock:
            self.block_number = event.block_number
            self.transaction_id = event.transaction_id
            self._save()

    def checkpoint_block(self, block_number: int) -> None:
        """The whole block is handled: resume from the next one."""
        with self._lock:
            self.block_number = block_number + 1
            self.transaction_id = ""
            self._save()

    def _save(self) -> None:
        """Persist (no-op in memory)."""


class FileCheckpoint(Checkpoint):
    """A checkpoint kept in a small JSON file, written atomically after every step."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        block, tx = None, ""
        if self.path.is_file():
            data = json.loads(self.path.read_text() or "{}")
            block, tx = data.get("block_number"), data.get("transaction_id", "")
        super().__init__(block, tx)

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"block_number": self.block_number, "transaction_id": self.transaction_id}))
        os.replace(tmp, self.path)


def stream_responses(call: object) -> Iterator:
    """The responses of a server stream: cancelling it (``close``) just ends it, other failures raise."""
    try:
        yield from call  # type: ignore[misc]
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.CANCELLED:  # type: ignore[attr-defined]
            return
        raise from_rpc_error(EventsError, exc) from None


class ChaincodeEventStream:
    """Iterator of events; :meth:`close` cancels the underlying gRPC stream.

    Like the official clients, the stream never moves the checkpoint itself: the consumer calls
    ``checkpoint.checkpoint_event(event)`` once it has *handled* an event, so a crash in between replays
    that event instead of losing it.
    """

    def __init__(self, call: object) -> None:
        self._call = call

    def __iter__(self) -> Iterator[ChaincodeEvent]:
        for response in stream_responses(self._call):
            for raw in response.events:
                event = ChaincodeEvent(response.block_number, raw.tx_id, raw.chaincode_id,
                                       raw.event_name, raw.payload)
                yield event

    def close(self) -> None:
        self._call.cancel()  # type: ignore[attr-defined]

    def __enter__(self) -> ChaincodeEventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def events_request(network: Network, chaincode_name: str, checkpoint: Checkpoint | None,
                   start_block: int | None) -> gateway_pb2.ChaincodeEventsRequest:
    """Where to start: the checkpoint wins, then an explicit block, else the next block to commit."""
    request = gateway_pb2.ChaincodeEventsRequest(
        channel_id=network.name, chaincode_id=chaincode_name, identity=network.gateway.creator
    )
    block = start_block
    if checkpoint is not None and checkpoint.block_number is not None:
        block = checkpoint.block_number
        request.after_transaction_id = checkpoint.transaction_id
    if block is None:
        request.start_position.next_commit.CopyFrom(ab_pb2.SeekNextCommit())
    else:
        request.start_position.specified.number = block
    return request


def chaincode_events(network: Network, chaincode_name: str, checkpoint: Checkpoint | None = None,
                     start_block: int | None = None, timeout: float | None = None) -> ChaincodeEventStream:
    """Events of ``chaincode_name``, resuming after the checkpoint when it holds a position."""
    request = events_request(network, chaincode_name, checkpoint, start_block).SerializeToString()
    signed = gateway_pb2.SignedChaincodeEventsRequest(
        request=request, signature=network.gateway.sign(request, "chaincode events request")
    )
    call = network.gateway.stub.ChaincodeEvents(signed, timeout=timeout)
    return ChaincodeEventStream(call)
