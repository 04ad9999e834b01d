"""Everything one transaction function needs: the buffered ledger, the caller, the tx time, the oracle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from chaincode.identity import Caller
from chaincode.state import Ledger

if TYPE_CHECKING:
    from chaincode.oracle import Oracle


@dataclass
class Tx:
    ledger: Ledger
    caller: Caller
    now_ms: int  # transaction timestamp (ms since epoch): the only clock written to the ledger
    tx_id: str
    oracle: Oracle
    #: this endorser's own clock when it ran the transaction; only ever used to *refuse* (it differs between
    #: peers, so it must never shape a write): see chaincode.clock
    local_ms: int = 0
    #: the network's bound on |claimed time - endorser's clock| (governance ``clock_skew_seconds``), in ms
    skew_ms: int = 10_000


Fn = TypeVar("Fn", bound=Callable[..., Any])


def reads_first(keys_of: Callable[..., list[str]]) -> Callable[[Fn], Fn]:
    """Declare the keys a transaction function reads whenever it succeeds: ``keys_of(tx, *args)``.

    The contract reads them, with the governance record every write reads, in one batched read before the
    function runs (chaincode/batching.py; a no-op on peers without batching). Only keys read on every
    success belong here: a key read needlessly enters the read set and collides with concurrent writes.
    """

    def mark(fn: Fn) -> Fn:
        fn.reads_first = keys_of  # type: ignore[attr-defined]
        return fn

    return mark


def first_reads(fn: Any, tx: Tx, args: tuple[str, ...]) -> list[str]:
    """The keys ``fn`` declared with :func:`reads_first` for these arguments (none if it declared none)."""
    keys_of = getattr(fn, "reads_first", None)
    return keys_of(tx, *args) if keys_of is not None else []
