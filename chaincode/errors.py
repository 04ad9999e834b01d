"""The one refusal type of the contract.

Every refusal names the field it is about first (``device.max_power_mw: must be >= 0``) so that the
gateway can show it to whoever typed the input; the message travels unchanged as the chaincode error.
Field and message are bounded here, whatever the caller passed: the message goes back to the client in
gRPC trailers, which a long echoed input would overflow (the peer then resets the stream).
"""

from __future__ import annotations

#: Longest field name and message a refusal carries (longer ones are cut with an ellipsis).
FIELD_MAX_LENGTH = 160
MESSAGE_MAX_LENGTH = 640


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ChaincodeError(Exception):
    """A refused transaction; nothing it attempted reaches the ledger."""

    kind = "invalid_argument"

    def __init__(self, field: str, message: str) -> None:
        field, message = _clip(field, FIELD_MAX_LENGTH), _clip(message, MESSAGE_MAX_LENGTH)
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# Kinds of refusal. The base class is an invalid argument (the caller can fix the named field); the
# subclasses say why else a well-formed request was refused, so that clients can branch on the kind.
class Forbidden(ChaincodeError):
    """The caller's identity or role may not do this."""

    kind = "forbidden"


class NotFound(ChaincodeError):
    """A named object (device, market, bid, network version) does not exist."""

    kind = "not_found"


class Conflict(ChaincodeError):
    """The request collides with what exists (a duplicate id, a bid already cancelled)."""

    kind = "conflict"


class FailedPrecondition(ChaincodeError):
    """The object is not in a state that allows this yet or any more (gate closed, funds short)."""

    kind = "failed_precondition"
