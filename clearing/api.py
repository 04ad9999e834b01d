"""One door into the oracle for every caller (CLI, chaincode, auditors).

Callers pass the input document as parsed JSON or raw bytes; the ``schema`` field picks
the market. The result is a plain JSON-like dict whose canonical bytes
(:func:`clearing.canonical.dumps`) are what peers compare.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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


def clear_to_bytes(document: Mapping[str, Any] | str | bytes, mechanism: str | None = None) -> bytes:
    """Canonical bytes of :func:`clear`'s result: what every peer must agree on."""
    return canonical.dumps(clear(document, mechanism))
