"""Two transports for the same four messages: a file drop (shared folder) and HTTP.

The interface (:class:`ExchangeLink`, :class:`TsoLink`) is what the platform side uses; a real exchange or
TSO platform is reached by either transport, and the fakes in :mod:`adapters.fakes` answer through the
same one. File drop layout under its root folder::

    exchange/books/<session>.json        platform -> exchange  {"book": ..., "book_hash": ...}
    exchange/results/<session>.json      exchange -> platform  {"document": ..., "signature": ...}
    tso/bids/<day>.json                  platform -> TSO       {"day": ..., "bids": [...]}
    tso/activations/<day>.json           TSO -> platform       {"schema", "day", "activations": [...]}

HTTP: ``PUT {base}/books/<session>``, ``GET {base}/results/<session>`` (404 until cleared),
``PUT {base}/bids/<day>``, ``GET {base}/activations/<day>`` (404 until any).
Files are written to a temporary name and renamed, so a reader never sees half a document.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

import httpx


class ExchangeLink(Protocol):
    def send_book(self, session_id: str, book: dict[str, Any]) -> None: ...

    def fetch_results(self, session_id: str) -> dict[str, Any] | None: ...


class TsoLink(Protocol):
    def send_bids(self, day: str, bids: list[dict[str, Any]]) -> None: ...

    def fetch_activations(self, day: str) -> dict[str, Any] | None: ...


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(value, sort_keys=True, indent=1))
    os.replace(tmp, path)


def read_json(path: Path) -> Any | None:
    return json.loads(path.read_text()) if path.exists() else None


class FileExchange:
    """The exchange reached through a shared folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "exchange"

    def book_path(self, session_id: str) -> Path:
        return self.root / "books" / f"{session_id}.json"

    def results_path(self, session_id: str) -> Path:
        return self.root / "results" / f"{session_id}.json"

    def send_book(self, session_id: str, book: dict[str, Any]) -> None:
        write_json(self.book_path(session_id), book)

    def fetch_results(self, session_id: str) -> dict[str, Any] | None:
        return read_json(self.results_path(session_id))


class FileTso:
    """The TSO's balancing platform reached through a shared folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "tso"

    def bids_path(self, day: str) -> Path:
        return self.root / "bids" / f"{day}.json"

    def activations_path(self, day: str) -> Path:
        return self.root / "activations" / f"{day}.json"

    def send_bids(self, day: str, bids: list[dict[str, Any]]) -> None:
        write_json(self.bids_path(day), {"day": day, "bids": bids})

    def fetch_activations(self, day: str) -> dict[str, Any] | None:
        return read_json(self.activations_path(day))


class _Http:
    def __init__(self, base_url: str, client: httpx.Client | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=30.0)

    def put(self, path: str, value: Any) -> None:
        self.client.put(f"{self.base}/{path}", json=value).raise_for_status()

    def get(self, path: str) -> Any | None:
        response = self.client.get(f"{self.base}/{path}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()


class HttpExchange(_Http):
    """The exchange reached over HTTP (``PUT books/<session>``, ``GET results/<session>``)."""

    def send_book(self, session_id: str, book: dict[str, Any]) -> None:
        self.put(f"books/{session_id}", book)

    def fetch_results(self, session_id: str) -> dict[str, Any] | None:
        return self.get(f"results/{session_id}")


class HttpTso(_Http):
    """The TSO platform reached over HTTP (``PUT bids/<day>``, ``GET activations/<day>``)."""

    def send_bids(self, day: str, bids: list[dict[str, Any]]) -> None:
        self.put(f"bids/{day}", {"day": day, "bids": bids})

    def fetch_activations(self, day: str) -> dict[str, Any] | None:
        return self.get(f"activations/{day}")
