"""The documents exchanged with the outside platforms, and the exchange's signature over them.

The exchange signs the canonical JSON bytes (:func:`clearing.canonical.dumps`: sorted keys, no spaces,
numbers with at most 6 decimals) of its result document with Ed25519; the envelope
``{"document": ..., "signature": base64}`` is what the chaincode's ``RecordSpotResults`` verifies against
the key the DSO published with ``PublishExchangeKey``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearing import canonical
from contract.wholesale import RESULT_SCHEMA


@dataclass(frozen=True)
class ExchangeKey:
    """An exchange's signing key pair (the private half stays with the exchange)."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> ExchangeKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> ExchangeKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"an exchange key must be Ed25519, got {type(key).__name__}")
        return cls(key)

    def private_pem(self) -> bytes:
        return self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())

    def public_pem(self) -> str:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign_results(document: dict[str, Any], key: ExchangeKey) -> dict[str, Any]:
    """The signed envelope of an exchange result document."""
    signature = key.private.sign(canonical.dumps(document))
    return {"document": document, "signature": base64.b64encode(signature).decode()}


def result_document(book: dict[str, Any], book_hash: str, prices: list[float],
                    accepted: dict[str, list[float]]) -> dict[str, Any]:
    """A spot result for ``book``: the clearing price per period and the accepted MW per order."""
    return {"schema": RESULT_SCHEMA, "exchange": book["exchange"], "session_id": book["session_id"],
            "book_hash": book_hash, "prices_eur_per_mwh": prices,
            "trades": [{"order_id": oid, "accepted_mw": accepted[oid]} for oid in sorted(accepted)]}
