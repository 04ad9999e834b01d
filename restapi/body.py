"""JSON request bodies read strictly before any route sees them: bounded size, no duplicate keys, no NaN.

Why a middleware: FastAPI decodes bodies with ``json.loads``, which keeps the *last* of two equal keys
(``{"id": "a", "id": "b"}`` is ``b``) and accepts ``NaN``/``Infinity``, which are not JSON; the chaincode
refuses both. Checking the raw bytes once, here, covers every route, and the body is then replayed
unchanged to FastAPI. A refusal uses the service's one error model: 413 for a body over
``limits.JSON_MAX_BYTES``, 422 naming the duplicated key or the body otherwise.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearing import limits
from restapi.errors import ApiError, render

_WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}


def check_json(raw: bytes) -> ApiError | None:
    """The refusal of a JSON body, or None when it is fine (or not JSON at all: FastAPI reports that)."""
    try:
        limits.strict_json(raw)
    except limits.DuplicateKey as exc:
        field = exc.key if limits.is_id(exc.key) else "body"
        return ApiError(422, "validation_error", f"{field}: a JSON object has this key twice", field)
    except RecursionError:
        return ApiError(422, "validation_error", f"body: nested deeper than {limits.JSON_MAX_DEPTH} levels", "body")
    except ValueError as exc:
        if "is not a JSON number" in str(exc):
            return ApiError(422, "validation_error", f"body: {exc}", "body")
    return None


def is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = value.split(b";")[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return True  # FastAPI reads a body without content type as JSON


class StrictJsonBody:
    """ASGI middleware: read a JSON body (at most JSON_MAX_BYTES), refuse it or replay it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY or not is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # client went away: let the app see it
                await self.app(scope, replay([message]), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limits.JSON_MAX_BYTES:
                await _refuse(ApiError(413, "too_large", f"body: must be at most {limits.JSON_MAX_BYTES} bytes",
                                       "body"), scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        error = check_json(raw) if raw.strip() else None
        if error is not None:
            await _refuse(error, scope, receive, send)
            return
        await self.app(scope, replay([{"type": "http.request", "body": raw, "more_body": False}], receive), send)


def replay(messages: list[Message], then: Receive | None = None) -> Receive:
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


async def _refuse(error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
    await render(error)(scope, receive, send)
