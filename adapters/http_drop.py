"""The HTTP side of a drop: a small service that serves the four messages of :mod:`adapters.drop` over
HTTP, backed by a drop folder.

Why: an exchange or a TSO platform that speaks HTTP talks to the platform through :class:`HttpExchange`
/ :class:`HttpTso`; this service is the other end of those paths, so the local fakes (which work on a
folder) can stand behind HTTP exactly as behind a shared folder, and the HTTP transport is tested against
a real server instead of a mock. Run it with any ASGI server (``uvicorn``) on :func:`create_drop_app`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, HTTPException

from adapters.drop import FileExchange, FileTso, read_json, write_json

#: Session ids and days as the chaincode allows them: no path separators can reach the folder.
_NAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


def _path(builder: Any, name: str) -> Path:
    if not _NAME.fullmatch(name) or name in (".", ".."):
        raise HTTPException(422, f"not a session id or day: {name!r}")
    return builder(name)


def create_drop_app(root: Path) -> FastAPI:
    """``PUT/GET`` of books, results, bids and activations under ``root`` (404 for what is not there yet)."""
    exchange, tso = FileExchange(root), FileTso(root)
    app = FastAPI(title="flexledger wholesale drop")
    routes = {"books": exchange.book_path, "results": exchange.results_path, "bids": tso.bids_path,
              "activations": tso.activations_path}

    @app.put("/{kind}/{name}", status_code=204)
    def put(kind: str, name: str, document: dict[str, Any] = Body(...)) -> None:  # noqa: B008
        if kind not in routes:
            raise HTTPException(404, f"unknown document kind {kind!r}")
        write_json(_path(routes[kind], name), document)

    @app.get("/{kind}/{name}")
    def get(kind: str, name: str) -> Any:
        if kind not in routes:
            raise HTTPException(404, f"unknown document kind {kind!r}")
        found = read_json(_path(routes[kind], name))
        if found is None:
            raise HTTPException(404, f"no {kind} for {name} yet")
        return found

    return app
