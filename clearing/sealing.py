"""The commitment of a sealed bid: what the aggregator publishes at bid time and reveals after the gate.

Why here: the chaincode checks a reveal against the commitment, the aggregator's gateway computes it and
the auditor re-checks it; :mod:`clearing` is the one package all three may import. Pure and deterministic:
no randomness (the salt is drawn by the gateway), no clock.

``commitment = sha256(DOMAIN || salt || bid_json)`` in lowercase hex, over the *exact* UTF-8 bytes of the
bid JSON that will be revealed (no re-encoding, so float formatting cannot make two honest parties
disagree). The salt is at least 32 random bytes, so the hash cannot be inverted by trying the few plausible
prices and quantities of a bid; the domain prefix keeps the hash from meaning anything elsewhere.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

DOMAIN: Final = b"flexledger.sealed-bid/1\x00"
#: Random bytes in a salt (the gateway draws exactly this many; the chaincode accepts no fewer).
SALT_BYTES: Final = 32
SALT_PATTERN: Final = r"[0-9a-f]{64}"
COMMITMENT_PATTERN: Final = r"[0-9a-f]{64}"


def is_salt(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(SALT_PATTERN, value) is not None


def is_commitment(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(COMMITMENT_PATTERN, value) is not None


def commitment(salt_hex: str, bid_json: str) -> str:
    """The hex commitment of ``bid_json`` under ``salt_hex`` (64 lowercase hex digits, checked by the caller)."""
    return hashlib.sha256(DOMAIN + bytes.fromhex(salt_hex) + bid_json.encode("utf-8")).hexdigest()
