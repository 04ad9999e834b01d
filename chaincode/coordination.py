"""DSO-TSO coordination: local flexibility the DSO did not dispatch is offered to the TSO as mFRR bids.

Runs inside ``ClearMarket`` of a flexibility market, on the oracle's result, so the offer to the TSO is
part of the same committed transaction as the local clearing: nothing is offered twice and nothing the
DSO bought is offered again. Only devices whose manager allows it (``SetMfrrConsent``) take part.
For every active P product of an offer and every period, the quantity left undispatched becomes one
bid (``up`` for ``p_up``, ``down`` for ``p_down``) at the consent's price, or the local price when the
consent names none; the bids then pass the mFRR network check (:func:`chaincode.mfrr.forward`) on the
day's firm state including this market's dispatch.
"""

from __future__ import annotations

from typing import Any

from chaincode import mfrr, registry
from chaincode import wholesale_grid as grid
from chaincode.context import Tx
from chaincode.state import key
from clearing import limits, wholesale
from clearing.api import ClearingResult

_DIRECTION = {"p_up": "up", "p_down": "down"}


def _remaining(offered: float, dispatched: float) -> float:
    step = wholesale.DEFAULT_STEP_MW
    return max(0.0, round(int(round(offered - dispatched, 9) / step + 1e-9) * step, 6))


async def offer_undispatched(tx: Tx, market: dict[str, Any], active: list[dict[str, Any]],
                             result: ClearingResult) -> list[str]:
    """Create and check the mFRR bids of ``market``'s undispatched flexibility; returns their ids."""
    dispatch = result.dispatch_mw
    consenting = []
    for offer in sorted(active, key=lambda b: b["id"]):
        consent = await tx.ledger.get(key("mfrrconsent", offer["device"]))
        if consent and consent["allow"] and consent["manager"] == offer["owner"]:
            consenting.append((offer, consent))
    if not consenting:  # no range read at all: a clearing without consent conflicts with nothing new
        return []
    firm = await grid.firm(tx, market["day"], with_activations=False)
    for offer in active:  # this market's dispatch is firm too (its record is not "cleared" yet)
        products = dispatch.get(offer["id"]) or {}
        for t, q in enumerate(products.get("p_up") or []):
            grid.add(firm, offer["node"], t, q)
        for t, q in enumerate(products.get("p_down") or []):
            grid.add(firm, offer["node"], t, -q)
    new_bids = []
    for offer, consent in consenting:
        products = dispatch.get(offer["id"]) or {}
        device = await registry.load(tx, offer["device"])
        for product in sorted(_DIRECTION):
            spec = offer["products"].get(product)
            if spec is None:
                continue
            done = products.get(product) or [0.0] * len(spec["quantity_mw"])
            price = consent["price_eur_per_mwh"]
            price = spec["price_eur_per_mwh"] if price is None else price
            for t, offered in enumerate(spec["quantity_mw"]):
                left = _remaining(offered, done[t])
                bid_id = f"{market['id']}.{offer['id']}.{product}.{t}"
                if not left or not limits.is_id(bid_id) or await tx.ledger.get(key("mfrrbid", bid_id)):
                    continue
                new_bids.append(mfrr.new_bid(tx, bid_id, device, market["day"], t, _DIRECTION[product], left, price,
                                             f"local:{market['id']}"))
    if not new_bids:
        return []
    return [b["id"] for b in await mfrr.forward(tx, new_bids, market["day"], firm)]
