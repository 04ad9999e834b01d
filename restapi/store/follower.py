"""Keeps a :class:`QueryStore` up to date: follows the peer's committed blocks from the store's checkpoint.

Why a thread of its own: the Deliver stream blocks while it waits for the next block, and the REST routes
must never wait on it. After any failure (peer restarting, network down) it reconnects from the
checkpoint, with a growing pause, so a gateway that was down for some blocks simply catches up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

from fabric_protos.common import common_pb2

from gateway.deliver import decode_block
from restapi.store.db import QueryStore

log = logging.getLogger(__name__)


class BlockStream(Protocol):
    def __iter__(self): ...

    def close(self) -> None: ...


#: opens the stream of committed blocks from a block number on
OpenBlocks = Callable[[int], BlockStream]


def apply_blocks(store: QueryStore, blocks: Iterable[common_pb2.Block], namespace: str) -> int:
    """Apply every block in turn (blocks already applied are skipped); how many were new."""
    return sum(store.apply(decode_block(block, namespace)) for block in blocks)


class StoreFollower:
    """Runs :func:`apply_blocks` on a daemon thread until :meth:`stop`."""

    def __init__(self, store: QueryStore, open_blocks: OpenBlocks, namespace: str,
                 max_pause: float = 5.0) -> None:
        self.store = store
        self.open_blocks = open_blocks
        self.namespace = namespace
        self.max_pause = max_pause
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._stream: BlockStream | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="query-store", daemon=True)

    def start(self) -> StoreFollower:
        self._thread.start()
        return self

    def _run(self) -> None:
        pause = 0.2
        while not self._stop.is_set():
            try:
                stream = self.open_blocks(self.store.next_block)
                with self._lock:
                    self._stream = stream
                if self._stop.is_set():
                    stream.close()
                    return
                for block in stream:
                    self.store.apply(decode_block(block, self.namespace))
                    self.last_error = None
                    pause = 0.2
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect from the checkpoint
                self.last_error = str(exc)
                log.warning("query store: block stream failed (%s); resuming from block %s",
                            exc, self.store.next_block)
            self._stop.wait(pause)
            pause = min(pause * 2, self.max_pause)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._lock:
            if self._stream is not None:
                self._stream.close()
        self._thread.join(timeout)
