"""The one error model of the REST service: ``{"error": {"code", "message", "field"}}`` + HTTP status.

Chaincode refusals arrive as ``field: message`` text inside the peers' error details, with the refusal's
kind (contract.kinds) in the chaincode response status; the kind alone picks the HTTP status, so a
reworded message keeps its status and an echoed input cannot change it. A refusal without a kind (an
internal chaincode error) is a 400, as any other refusal of the call.
"""

from __future__ import annotations

import logging
import re

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from contract.kinds import Kind
from gateway.ca import CAError
from gateway.errors import (
    CommitError,
    CommitStatusError,
    ConfigError,
    EndorseError,
    GatewayError,
    RpcFailure,
    SubmitError,
)

log = logging.getLogger("restapi")

_FIELD = re.compile(r"^([A-Za-z_$][\w$.\[\]-]*): (.+)$", re.DOTALL)
#: Longest message and field the service repeats (a chaincode message may echo part of the input).
MESSAGE_MAX_LENGTH = 1000
FIELD_MAX_LENGTH = 200
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

#: HTTP status and error code of each kind of chaincode refusal. Both "collides with what exists" and
#: "not in a state that allows it" are a 409: the request conflicts with the current state.
KIND_STATUS: dict[Kind, tuple[int, str]] = {
    Kind.INVALID_ARGUMENT: (400, "invalid"),
    Kind.FORBIDDEN: (403, "forbidden"),
    Kind.NOT_FOUND: (404, "not_found"),
    Kind.CONFLICT: (409, "conflict"),
    Kind.FAILED_PRECONDITION: (409, "conflict"),
}


class ErrorInfo(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Every non-2xx answer of the service has this body."""

    error: ErrorInfo


class ApiError(Exception):
    """Raised by routes; rendered as :class:`ErrorBody`."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        super().__init__(message)


def split_field(text: str) -> tuple[str | None, str]:
    """``"device.max_power_mw: must be > 0"`` → (``"device.max_power_mw"``, ``"must be > 0"``)."""
    m = _FIELD.match(text.strip())
    if m:
        return m.group(1), m.group(2)
    return None, text.strip()


def chaincode_status(kind: Kind | None) -> tuple[int, str]:
    """HTTP status and code of a chaincode refusal of ``kind`` (None: the chaincode gave no kind)."""
    return (400, "invalid") if kind is None else KIND_STATUS[kind]


def from_gateway_error(exc: GatewayError) -> ApiError:
    """Translate a client-library error into the REST error model."""
    if isinstance(exc, EndorseError) and exc.mismatched_orgs:
        return ApiError(502, "endorsement_mismatch", f"organisations computed different results "
                        f"({exc.disagreement_summary()}): nothing was written")
    if isinstance(exc, (SubmitError, CommitStatusError)) and exc.outcome_unknown:
        return ApiError(504, "outcome_unknown", str(exc))
    if isinstance(exc, RpcFailure):
        text = exc.chaincode_message
        if text is not None:
            field, message = split_field(text)
            status, code = chaincode_status(exc.chaincode_kind)
            return ApiError(status, code, message, field)
        if exc.code == grpc.StatusCode.PERMISSION_DENIED:
            return ApiError(403, "forbidden", f"the peer refused this identity: {exc.message}")
        if exc.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
            return ApiError(503, "ledger_unavailable", f"the ledger did not answer: {exc.message}")
        return ApiError(502, "ledger_error", f"the ledger failed: {exc.message}")
    if isinstance(exc, CommitError):
        return ApiError(409, "commit_invalid", f"transaction was not committed: {exc.code_name}")
    if isinstance(exc, CAError):
        if exc.already_registered:
            return ApiError(409, "conflict", str(exc).removeprefix("ca: "), "name")
        return ApiError(502, "ca_error", str(exc))
    if isinstance(exc, ConfigError):
        field, message = split_field(str(exc))
        return ApiError(500, "configuration", message, field)
    return ApiError(500, "internal", str(exc))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(err: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    field = None if err.field is None else _clip(err.field, FIELD_MAX_LENGTH)
    body = ErrorBody(error=ErrorInfo(code=err.code, message=_clip(err.message, MESSAGE_MAX_LENGTH), field=field))
    if err.status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(body.model_dump(), status_code=err.status, headers=headers)


def render_gateway_error(exc: GatewayError) -> JSONResponse:
    """The answer to a client-library error (logged when the fault is the ledger's, not the caller's)."""
    err = from_gateway_error(exc)
    if err.status >= 500:
        log.warning("ledger error: %s", exc)
    return render(err)


def allowed_methods(app: FastAPI, scope: dict) -> list[str]:
    """Every method some route of ``app`` serves at this request's path (for ``Allow`` on a 405).

    Why not Starlette's own header: it names only the methods of the first route whose path matched,
    while FastAPI registers one route per method (``GET /devices`` and ``POST /devices``). Each method
    is probed through the router's own matching, which also sees routes of included routers.
    """
    allowed = []
    for method in _METHODS:
        probe = {"type": "http", "path": scope["path"], "root_path": scope.get("root_path", ""), "method": method,
                 "headers": []}
        if any(route.matches(probe)[0] == Match.FULL for route in app.router.routes):
            allowed.append(method)
    return allowed


def _loc_to_field(loc: tuple) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or None


def install(app: FastAPI) -> None:
    """Register handlers so that every error, including 422 and 404, uses the one model."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return render(exc)

    @app.exception_handler(GatewayError)
    async def _gateway(_: Request, exc: GatewayError) -> JSONResponse:
        return render_gateway_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = _loc_to_field(tuple(first.get("loc", ())))
        message = str(first.get("msg", "invalid"))
        return render(ApiError(422, "validation_error", f"{field}: {message}" if field else message, field))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope)) or headers.get("Allow", "")
        return render(ApiError(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail)),
                       headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return render(ApiError(500, "internal", f"internal error: {type(exc).__name__}"))


#: For route decorators: documents the error model in OpenAPI.
ERROR_RESPONSES: dict[int | str, dict] = {
    s: {"model": ErrorBody} for s in (400, 401, 403, 404, 409, 422, 502, 503)
}
