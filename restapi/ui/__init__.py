"""The web UI: one HTML page, one stylesheet and one script, served by the organisation's REST service.

Why this shape: the page is a thin client of the REST API itself (same bearer tokens, same routes, same
errors), so the UI can never do or show what the API would not, and it adds no server-side template engine,
no JavaScript framework and no build step. The script is plain ES2020 that Chromium and Firefox run as is.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from restapi.errors import ApiError

STATIC = Path(__file__).with_name("static")
#: every file the UI serves, with its media type: nothing else under the folder is reachable
FILES = {"app.js": "text/javascript", "style.css": "text/css"}
#: the page may load only its own script and style and talk only to this service
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui")
def page() -> FileResponse:
    """The single page; it asks for a token on its login screen and keeps it for the browser tab only."""
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=SECURITY_HEADERS)


@router.get("/ui/static/{name}")
def static(name: str) -> FileResponse:
    if name not in FILES:
        raise ApiError(404, "not_found", f"no UI file {name!r}", "name")
    return FileResponse(STATIC / name, media_type=FILES[name], headers=SECURITY_HEADERS)
