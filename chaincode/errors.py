"""The one refusal type of the contract.

Every refusal names the field it is about first (``device.max_power_mw: must be >= 0``) so that the
gateway can show it to whoever typed the input; the message travels unchanged as the chaincode error.
"""

from __future__ import annotations


class ChaincodeError(Exception):
    """A refused transaction; nothing it attempted reaches the ledger."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
