"""One door into the oracle for every caller (CLI, chaincode, auditors).

Callers pass the input document as parsed JSON or raw bytes; the ``schema`` field picks
the market. The result is a plain JSON-like dict whose canonical bytes
(:func:`clearing.canonical.dumps`) are what peers compare; :class:`ClearingResult` is the typed view of the
result fields the ledger acts on (awards, dispatch, payments, hashes), for the chaincode and auditors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clearing import canonical
from clearing.errors import ValidationError

FLEX_SCHEMA = "flexledger.clearing/1"
CAPACITY_SCHEMA = "flexledger.capacity/1"
SCHEMAS = (FLEX_SCHEMA, CAPACITY_SCHEMA)
#: The fields of one bid (capacity) / offer (flexibility) in an input document; the oracle refuses any other.
#: The chaincode builds inputs from bid records with them, and an auditor compares the same fields.
CAPACITY_INPUT_BID_FIELDS = ("id", "owner", "device", "feeder", "periods", "quantity_mw", "min_mw", "divisible",
                             "price_eur_per_mwh", "timestamp")
FLEX_INPUT_OFFER_FIELDS = ("id", "owner", "node", "products")


def parse_document(document: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    """Parse bytes/str into a mapping, refusing anything that is not a JSON object."""
    if isinstance(document, bytes | str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise ValidationError("$", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(document, Mapping):
        raise ValidationError("$", "the document must be a JSON object")
    return document


def clear(document: Mapping[str, Any] | str | bytes, mechanism: str | None = None) -> dict[str, Any]:
    """Clear a market document and return its result document.

    ``mechanism`` applies to the flexibility market (``vcg``, the default, or ``dlmp``);
    the capacity market takes its rule from the document and refuses a mechanism.
    """
    doc = parse_document(document)
    schema = doc.get("schema")
    if schema == FLEX_SCHEMA:
        from clearing.flex import clear_flexibility

        return clear_flexibility(doc, mechanism or "vcg")
    if schema == CAPACITY_SCHEMA:
        if mechanism is not None:
            raise ValidationError("mechanism", "the capacity market takes its rule from market.rule, not --mechanism")
        from clearing.capacity import clear_capacity

        return clear_capacity(doc)
    raise ValidationError("schema", f"unknown schema {schema!r}; expected one of {', '.join(SCHEMAS)}")


def clear_result(document: Mapping[str, Any] | str | bytes, mechanism: str | None = None) -> ClearingResult:
    """:func:`clear`, its result with typed access to what settles from it (the chaincode's door)."""
    return ClearingResult(clear(document, mechanism))


def clear_to_bytes(document: Mapping[str, Any] | str | bytes, mechanism: str | None = None) -> bytes:
    """Canonical bytes of :func:`clear`'s result: what every peer must agree on."""
    return canonical.dumps(clear(document, mechanism))


@dataclass(frozen=True)
class ClearingResult:
    """A result document (``flexledger.clearing-result/1`` or the capacity result) and what settles from it.

    Why a view and not a copy: the document is the record. Its canonical bytes are what every endorsing peer
    hashes and stores, and its numbers are the canonical ones; the properties read it, and name in one place
    (here, where the oracle writes them) the fields the chaincode turns into trades and money.
    """

    document: Mapping[str, Any]

    @property
    def payments_eur(self) -> dict[str, float]:
        """Per owner: what the market pays it (flexibility) or charges it (capacity), in EUR."""
        return dict(self.document.get("payments_eur") or {})

    @property
    def awards_mw(self) -> dict[str, float]:
        """Capacity: per bid id, the MW awarded."""
        return dict(self.document.get("awards_mw") or {})

    @property
    def clearing_price_eur_per_mwh(self) -> float | None:
        """Capacity under uniform pricing: the clearing price (None under pay-as-bid)."""
        return self.document.get("clearing_price_eur_per_mwh")

    @property
    def dispatch_mw(self) -> dict[str, dict[str, list[float]]]:
        """Flexibility: per offer id, per product (``p_up``...), the MW dispatched in each period."""
        return dict(self.document.get("dispatch_mw") or {})

    @property
    def result_hash(self) -> str | None:
        return self.document.get("result_hash")

    @property
    def input_hash(self) -> str | None:
        return self.document.get("input_hash")

    @property
    def oracle(self) -> Mapping[str, Any] | None:
        """The oracle's code and solver versions that produced the result."""
        return self.document.get("oracle")
