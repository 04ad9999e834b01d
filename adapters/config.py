"""Which exchange and which TSO platform a service talks to: from the environment, by file drop or HTTP.

``FLEXLEDGER_EXCHANGE_URL`` (HTTP) or ``FLEXLEDGER_EXCHANGE_DROP`` (a shared folder) for the exchange;
``FLEXLEDGER_TSO_URL`` or ``FLEXLEDGER_TSO_DROP`` for the TSO's balancing platform. A URL wins over a drop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from adapters.drop import ExchangeLink, FileExchange, FileTso, HttpExchange, HttpTso, TsoLink


def exchange_link(env: Mapping[str, str] | None = None) -> ExchangeLink | None:
    env = os.environ if env is None else env
    if env.get("FLEXLEDGER_EXCHANGE_URL"):
        return HttpExchange(env["FLEXLEDGER_EXCHANGE_URL"])
    if env.get("FLEXLEDGER_EXCHANGE_DROP"):
        return FileExchange(Path(env["FLEXLEDGER_EXCHANGE_DROP"]))
    return None


def tso_link(env: Mapping[str, str] | None = None) -> TsoLink | None:
    env = os.environ if env is None else env
    if env.get("FLEXLEDGER_TSO_URL"):
        return HttpTso(env["FLEXLEDGER_TSO_URL"])
    if env.get("FLEXLEDGER_TSO_DROP"):
        return FileTso(Path(env["FLEXLEDGER_TSO_DROP"]))
    return None
