"""Retrying a transaction that lost a race, as an explicit policy the caller chooses.

Fabric endorses on the state a peer has now and validates at commit against the state then: a transaction
whose reads were overwritten in between is committed as invalid (``MVCC_READ_CONFLICT``) or, for a range read,
``PHANTOM_READ_CONFLICT``. It changed nothing, so it is safe to run the same call again as a *new*
transaction (new id, endorsed on the newer state); the chaincode then decides afresh, and may refuse it.
Nothing retries unless a policy says so: :data:`NO_RETRY` is the library's default, the REST service uses
:data:`RACE_RETRY`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

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

    def run(self, attempt: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
        """Call ``attempt`` (one whole new transaction each time) until it commits or the policy gives up."""
        for n in range(self.attempts):
            try:
                return attempt()
            except CommitError as exc:
                if exc.code_name not in self.retry_on or n + 1 == self.attempts:
                    raise
                sleep(self.backoff * 2**n)
        raise AssertionError("unreachable")  # pragma: no cover


NO_RETRY = RetryPolicy(attempts=1)
#: what the REST service uses: a bid racing a deposit of the same participant, or two writers of one key
RACE_RETRY = RetryPolicy(attempts=4, backoff=0.05)
