"""Everything one transaction function needs: the buffered ledger, the caller, the tx time, the oracle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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
