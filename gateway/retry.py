"""Retrying, only as an explicit policy the caller chooses: a transaction that lost a race, an endorsement
that met a passing state of a healthy network.

Fabric endorses on the state a peer has now and validates at commit against the state then: a transaction
whose reads were overwritten in between is committed as invalid (``MVCC_READ_CONFLICT``) or, for a range read,
``PHANTOM_READ_CONFLICT``. It changed nothing, so it is safe to run the same call again as a *new*
transaction (new id, endorsed on the newer state); the chaincode then decides afresh, and may refuse it.
Nothing retries unless a policy says so: :data:`NO_RETRY` is the library's default, the REST service uses
:data:`RACE_RETRY`.

Endorsement meets passing states too (:class:`EndorseRetry`): discovery still converging after a network
start or a chaincode definition change, another org's peer a block behind, an endorsing peer restarting.
There the *same signed proposal* is endorsed again (nothing was ordered); :data:`NO_ENDORSE_RETRY` is the
library's default, the project's own callers (REST service, ``flexledger tx``, demo, tests) choose
:data:`SETTLE_RETRY`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from gateway.errors import CommitError

#: validation codes of a transaction that lost a race and changed nothing
RACE_CODES = frozenset({"MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT"})

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Up to ``attempts`` transactions in all; waits ``backoff`` × 2^n seconds between them."""

    attempts: int = 1
    backoff: float = 0.05
    retry_on: frozenset[str] = RACE_CODES

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts: must be >= 1")
        if self.backoff < 0:
            raise ValueError("backoff: must be >= 0")

    def _pause_after(self, exc: CommitError, n: int) -> float:
        """The pause before attempt ``n + 2`` after attempt ``n + 1`` failed with ``exc``; re-raises it when the
        policy gives up."""
        if exc.code_name not in self.retry_on or n + 1 == self.attempts:
            raise exc
        return self.backoff * 2**n

    def run(self, attempt: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
        """Call ``attempt`` (one whole new transaction each time) until it commits or the policy gives up."""
        for n in range(self.attempts):
            try:
                return attempt()
            except CommitError as exc:
                sleep(self._pause_after(exc, n))
        raise AssertionError("unreachable")  # pragma: no cover

    async def run_async(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """:meth:`run` for asyncio callers: ``attempt`` is awaited, the pauses too."""
        for n in range(self.attempts):
            try:
                return await attempt()
            except CommitError as exc:
                await asyncio.sleep(self._pause_after(exc, n))
        raise AssertionError("unreachable")  # pragma: no cover


NO_RETRY = RetryPolicy(attempts=1)
#: what the REST service uses: a bid racing a deposit of the same participant, or two writers of one key
RACE_RETRY = RetryPolicy(attempts=4, backoff=0.05)


@dataclass(frozen=True)
class EndorseRetry:
    """How long (seconds, from the first attempt) the same signed proposal is endorsed again, by cause; 0: never."""

    #: the gateway's discovery does not yet see every org's peer (gossip converging after a start or a new
    #: chaincode definition): FAILED_PRECONDITION "no combination of peers"
    discovery_settle: float = 0.0
    #: another org's peer refused (or simulated differently) because it has not committed the block the
    #: own org's peer has; the caller's previous transaction is typically that block
    peer_catch_up: float = 0.0
    #: an endorsing peer cannot be reached (crashed, restarting); keep it below the network's clock bound
    #: (10 s), past which the peers would refuse the same signed proposal as stale
    peer_unreachable: float = 0.0

    #: pause between attempts: a peer restarting or discovery settling takes longer than a block to commit
    PAUSE: ClassVar[float] = 0.5
    CATCH_UP_PAUSE: ClassVar[float] = 0.25

    def __post_init__(self) -> None:
        negative = [name for name, value in vars(self).items() if value < 0]
        if negative:
            raise ValueError(f"{negative[0]}: must be >= 0")

    def wait_before_retry(self, elapsed: float, *, discovering: bool, unreachable: bool,
                          lagging: bool) -> float | None:  # fmt: skip
        """Seconds to wait before endorsing again after a refusal of this kind, or ``None``: report it."""
        if (discovering and elapsed < self.discovery_settle) or (unreachable and elapsed < self.peer_unreachable):
            return self.PAUSE
        if lagging and not unreachable and elapsed < self.peer_catch_up:
            return self.CATCH_UP_PAUSE
        return None


NO_ENDORSE_RETRY = EndorseRetry()
#: what the project's own callers use on its local network (the bounds the client had built in before)
SETTLE_RETRY = EndorseRetry(discovery_settle=30.0, peer_catch_up=6.0, peer_unreachable=8.0)
