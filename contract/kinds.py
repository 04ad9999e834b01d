"""Kinds of chaincode refusal and how they travel.

Why a kind: a client must be able to tell "fix this field" from "you may not" from "not there" from
"collides with what exists" from "not now" without reading the English of the message, which is for
people and may be reworded. The chaincode answers a refusal with the Fabric response status of its kind;
the peer relays it (``chaincode response 404, market.id: ...``) and the client reads it back here. Any
status from 400 to 499 reaches the client that way (Fabric treats every status >= 400 as a chaincode
error); a 500 is an answer without a kind (an internal error, or one of the contract library's own).
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """Why a well-formed call was refused."""

    #: the caller can fix the named field
    INVALID_ARGUMENT = "invalid_argument"
    #: the caller's identity or role may not do this
    FORBIDDEN = "forbidden"
    #: a named object (device, market, bid, network version) does not exist
    NOT_FOUND = "not_found"
    #: the request collides with what exists (a duplicate id, a bid already cancelled)
    CONFLICT = "conflict"
    #: the object is not in a state that allows this yet or any more (gate closed, funds short)
    FAILED_PRECONDITION = "failed_precondition"


#: The chaincode response status that carries each kind.
RESPONSE_STATUS: dict[Kind, int] = {
    Kind.INVALID_ARGUMENT: 400,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.FAILED_PRECONDITION: 412,
}
_KIND_OF_STATUS = {status: kind for kind, status in RESPONSE_STATUS.items()}


def kind_of_status(status: int | None) -> Kind | None:
    """The kind a chaincode response status carries; None for a refusal without a kind (e.g. 500)."""
    return None if status is None else _KIND_OF_STATUS.get(status)
