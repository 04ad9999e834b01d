"""The one refusal type of the contract.

Every refusal names the field it is about first (``device.max_power_mw: must be >= 0``) so that the
gateway can show it to whoever typed the input; the message travels unchanged as the chaincode error.
Field and message are bounded here, whatever the caller passed: the message goes back to the client in
gRPC trailers, which a long echoed input would overflow (the peer then resets the stream).

Each class is one :class:`contract.kinds.Kind`; the kind travels as the response status
(:func:`answer_with_kind`), never in the words, so a message can be reworded without changing what a
client does with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from contract.kinds import RESPONSE_STATUS, Kind

#: Longest field name and message a refusal carries (longer ones are cut with an ellipsis).
FIELD_MAX_LENGTH = 160
MESSAGE_MAX_LENGTH = 640


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ChaincodeError(Exception):
    """A refused transaction; nothing it attempted reaches the ledger."""

    kind: Kind = Kind.INVALID_ARGUMENT

    def __init__(self, field: str, message: str) -> None:
        field, message = _clip(field, FIELD_MAX_LENGTH), _clip(message, MESSAGE_MAX_LENGTH)
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# Kinds of refusal. The base class is an invalid argument (the caller can fix the named field); the
# subclasses say why else a well-formed request was refused, so that clients can branch on the kind.
class Forbidden(ChaincodeError):
    """The caller's identity or role may not do this."""

    kind = Kind.FORBIDDEN


class NotFound(ChaincodeError):
    """A named object (device, market, bid, network version) does not exist."""

    kind = Kind.NOT_FOUND


class Conflict(ChaincodeError):
    """The request collides with what exists (a duplicate id, a bid already cancelled)."""

    kind = Kind.CONFLICT


class FailedPrecondition(ChaincodeError):
    """The object is not in a state that allows this yet or any more (gate closed, funds short)."""

    kind = Kind.FAILED_PRECONDITION


#: The refusals raised during the transaction being answered (set by :func:`answer_with_kind`).
_REFUSALS: ContextVar[list[ChaincodeError] | None] = ContextVar("flexledger_refusals", default=None)


def note_refusal(exc: ChaincodeError) -> None:
    """Remember ``exc`` as the refusal of the current transaction (the contract library only keeps its text)."""
    refusals = _REFUSALS.get()
    if refusals is not None:
        refusals.append(exc)


async def answer_with_kind(call: Callable[[Any], Awaitable[Any]], stub: Any) -> Any:
    """Run ``call(stub)`` (the contract library's invoke or init) and give a refusal its kind's status.

    Why here: the library turns any exception into a response of status 500 carrying ``str(exc)``; the
    status is the one field of the response that the peer relays besides the message.
    """
    refusals: list[ChaincodeError] = []
    token = _REFUSALS.set(refusals)
    try:
        response = await call(stub)
    finally:
        _REFUSALS.reset(token)
    if response is not None and response.status >= 400 and refusals and response.message == str(refusals[-1]):
        response.status = RESPONSE_STATUS[refusals[-1].kind]
    return response
