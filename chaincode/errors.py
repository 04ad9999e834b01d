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

    def __init__(self, field: str, message: str) -> None:
        field, message = _clip(field, FIELD_MAX_LENGTH), _clip(message, MESSAGE_MAX_LENGTH)
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
