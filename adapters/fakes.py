"""A local exchange and a local TSO platform for tests and the demo, answering through the file drop.

They stand in for the outside platforms only: they read what the platform sent over the same interface a
real one would be given, and answer with documents of the same schema; the ledger side checks them as it
would check a real platform's. The fake exchange clears each period at a given price (a sell order is
taken when the price is at least its limit, a buy order when it is at most its limit) and signs with its
own key; the fake TSO activates the bids it is told to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.documents import ExchangeKey, result_document, sign_results
from adapters.drop import FileExchange, FileTso, read_json, write_json
from contract.wholesale import ACTIVATION_SCHEMA


class FakeExchange:
    def __init__(self, root: Path, key: ExchangeKey, prices: list[float]) -> None:
        self.drop = FileExchange(root)
        self.key = key
        self.prices = prices

    def clear(self, session_id: str, fill: float = 1.0) -> dict[str, Any]:
        """Clear the book in the drop; ``fill`` takes that share of every matched order (partial fills)."""
        sent = read_json(self.drop.book_path(session_id))
        if sent is None:
            raise FileNotFoundError(f"no order book for session {session_id} in the drop")
        book = sent["book"]
        accepted: dict[str, list[float]] = {}
        for order in book["orders"]:
            row = []
            for t, q in enumerate(order["quantity_mw"]):
                price = self.prices[t]
                match = price >= order["price_eur_per_mwh"] if order["side"] == "sell" else price <= order["price_eur_per_mwh"]
                row.append(round(q * fill, 3) if match else 0.0)
            if any(row):
                accepted[order["id"]] = row
        envelope = sign_results(result_document(book, sent["book_hash"], self.prices, accepted), self.key)
        write_json(self.drop.results_path(session_id), envelope)
        return envelope


class FakeTsoPlatform:
    def __init__(self, root: Path) -> None:
        self.drop = FileTso(root)

    def activate(self, day: str, choices: dict[str, float], prefix: str = "ACT") -> dict[str, Any]:
        """Request activation of the bids in ``choices`` (bid id -> MW) that the drop offered."""
        sent = read_json(self.drop.bids_path(day)) or {"bids": []}
        offered = {b["id"] for b in sent["bids"]}
        activations = [{"id": f"{prefix}-{bid_id}", "bid_id": bid_id, "quantity_mw": mw}
                       for bid_id, mw in sorted(choices.items()) if bid_id in offered]
        document = {"schema": ACTIVATION_SCHEMA, "day": day, "activations": activations}
        write_json(self.drop.activations_path(day), document)
        return document
