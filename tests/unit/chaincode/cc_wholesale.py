"""Wholesale state for the argument fuzzer: an exchange key, an open spot session with an offer, an mFRR bid."""

from __future__ import annotations

from typing import Any

from cc_fakes import Chain
from cc_world import AGG1, AGG2, AUDITOR, DAY, DSO, SETTLE, TSO

from adapters.documents import ExchangeKey, result_document, sign_results

KEY = ExchangeKey.generate()
SESSION = {"id": "DA1", "day": DAY, "venue": "day_ahead", "exchange": "EPEX", "gate_closes": "2026-11-20T11:00:00Z"}
OFFER = {"id": "S1", "session_id": "DA1", "device": "D1", "side": "sell", "quantity_mw": [1.0, 1.0, 0.5, 0.0],
         "price_eur_per_mwh": 40.0}
MFRR = {"id": "M1", "device": "D2", "day": DAY, "period": 1, "direction": "up", "quantity_mw": 0.5,
        "price_eur_per_mwh": 80.0}
RESULTS = sign_results(result_document({"exchange": "EPEX", "session_id": "DA1"}, "0" * 64, [45.0] * 4,
                                       {"S1": [1.0, 1.0, 0.5, 0.0]}), KEY)


def add_wholesale(chain: Chain) -> Chain:
    chain.invoke(SETTLE, "Deposit", "tsoMSP", "100000")
    chain.invoke(DSO, "PublishExchangeKey", {"exchange": "EPEX", "public_key_pem": KEY.public_pem()})
    chain.invoke(DSO, "CreateSpotSession", SESSION)
    chain.invoke(AGG1, "SubmitSpotOffer", OFFER)
    chain.invoke(AGG2, "SubmitMfrrBid", MFRR)
    return chain


#: One valid call of every wholesale function (some are refused in the base state for a named field).
VALID: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "PublishExchangeKey": (DSO, ({"exchange": "EEX", "public_key_pem": KEY.public_pem()},)),
    "CreateSpotSession": (DSO, ({**SESSION, "id": "ID2", "venue": "intraday"},)),
    "SubmitSpotOffer": (AGG1, ({**OFFER, "id": "S2", "side": "buy"},)),
    "CheckSpotSession": (DSO, ("DA1",)),
    "RecordSpotResults": (DSO, ("DA1", RESULTS)),
    "SettleSpotSession": (SETTLE, ("DA1",)),
    "ReadSpotSession": (AGG2, ("DA1",)),
    "ListSpotSessions": (AUDITOR, (DAY,)),
    "ReadSpotBook": (AUDITOR, ("DA1",)),
    "WholesaleFlows": (AUDITOR, ()),
    "SubmitMfrrBid": (AGG1, ({**MFRR, "id": "M2", "device": "D1", "direction": "down"},)),
    "SetMfrrConsent": (AGG2, ({"device": "D2", "allow": True, "price_eur_per_mwh": 70.0},)),
    "ActivateMfrr": (TSO, ({"id": "A1", "bid_id": "M1", "quantity_mw": 0.4},)),
    "RecordMfrrDelivery": (DSO, ("A1", "0.4")),
    "SettleMfrrActivation": (SETTLE, ("A1",)),
    "ListMfrrBids": (TSO, (DAY,)),
    "ListMfrrActivations": (AUDITOR, (DAY,)),
}
