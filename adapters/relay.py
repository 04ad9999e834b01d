"""The platform side of the adapters: ledger → outside platform, and outside answers → ledger.

Each function takes the ledger as two callables (``evaluate``/``submit``: function name and string
arguments → decoded JSON answer, signed by the caller's own identity), so the same relay serves the REST
service, the demo and the tests, and the ledger refuses whatever the outside platform got wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.drop import ExchangeLink, TsoLink
from contract.wholesale import CheckedBook, MfrrActivation, MfrrBid, Refusal, SpotSession, TsoBid

Call = Callable[..., Any]

#: mFRR bid states the TSO may still activate (chaincode.mfrr.OPEN).
OPEN_BIDS = ("forwarded", "curtailed")


def forward_book(evaluate: Call, link: ExchangeLink, session_id: str) -> CheckedBook:
    """Send the checked order book of a session to the exchange, exactly as the ledger hashed it."""
    book = evaluate("ReadSpotBook", session_id)
    link.send_book(session_id, book)
    return CheckedBook.model_validate(book)


def relay_results(submit: Call, link: ExchangeLink, session_id: str) -> SpotSession | None:
    """Enter the exchange's signed results on the ledger (None while the exchange has not answered)."""
    envelope = link.fetch_results(session_id)
    if envelope is None:
        return None
    return SpotSession.model_validate(submit("RecordSpotResults", session_id, json.dumps(envelope)))


def tso_bid(bid: MfrrBid) -> TsoBid:
    """What the TSO platform sees of a bid: what it may activate, never more than the network allows."""
    return TsoBid(id=bid.id, direction=bid.direction, day=bid.day, period=bid.period,
                  quantity_mw=bid.forwarded_mw, price_eur_per_mwh=bid.price_eur_per_mwh)


def open_bids(bids: list[MfrrBid]) -> list[MfrrBid]:
    """The bids the TSO may still activate: checked by the network and neither activated nor rejected."""
    return [b for b in bids if b.status in OPEN_BIDS]


def forward_mfrr(evaluate: Call, link: TsoLink, day: str) -> list[TsoBid]:
    """Send every bid of ``day`` that passed the network check and is still open to the TSO platform."""
    bids = [tso_bid(b) for b in open_bids([MfrrBid.model_validate(b) for b in evaluate("ListMfrrBids", day)])]
    link.send_bids(day, [b.model_dump() for b in bids])
    return bids


@dataclass
class Relayed:
    accepted: list[MfrrActivation] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def relay_activations(submit: Call, link: TsoLink, day: str, refused: type[Exception] = Exception) -> Relayed:
    """Enter the TSO's activation requests on the ledger, one transaction each; keep the refusals.

    Must run as the TSO's identity: ``ActivateMfrr`` checks the role. ``refused`` is the exception type
    the ``submit`` callable raises for a chaincode refusal.
    """
    out = Relayed()
    document = link.fetch_activations(day) or {"activations": []}
    for request in document["activations"]:
        try:
            out.accepted.append(MfrrActivation.model_validate(submit("ActivateMfrr", json.dumps(request))))
        except refused as exc:
            out.refused.append(Refusal(id=str(request.get("id")), reason=str(exc)))
    return out
