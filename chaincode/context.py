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
    now_ms: int  # transaction timestamp (ms since epoch): the only clock
    tx_id: str
    oracle: Oracle
