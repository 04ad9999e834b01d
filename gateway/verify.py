"""An auditor's independent check of a cleared market, from the ledger alone.

Three checks, each trusting nothing but what the ledger stores:

* the oracle: re-run the clearing on the stored input in this process, compare the canonical result hash
  with the one the endorsing organisations committed;
* the commitments (sealed markets): every revealed bid hashes, with its salt, to the commitment its owner
  put on the ledger before the gate closed (the first committed version of the bid), its stored content is
  the content of the revealed JSON, the clearing input holds exactly the revealed bids with that content,
  and no unrevealed bid;
* the AC power flow (flexibility markets): the cleared dispatch on the full AC feeder
  (:mod:`clearing.ac_check`, pandapower; it runs here, in the auditor's process, never on a peer).

Used by the REST service (``POST /audit/markets/{id}/verify``) and ``flexledger audit verify``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from clearing.api import CAPACITY_INPUT_BID_FIELDS, FLEX_INPUT_OFFER_FIELDS
from clearing.sealing import commitment
from contract.verification import AcCheck, CommitmentCheck, Verification

Evaluate = Callable[..., bytes]
#: Fields of a capacity bid / flexibility offer that the clearing input copies from the bid record.
_INPUT_FIELDS = {"capacity": CAPACITY_INPUT_BID_FIELDS, "flexibility": FLEX_INPUT_OFFER_FIELDS}


class NotVerifiable(Exception):
    """The market cannot be checked at all (not cleared, or the oracle refuses its stored input)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _json(raw: bytes) -> Any:
    return json.loads(raw) if raw else None


def recompute(record: dict[str, Any]) -> dict[str, Any]:
    """Re-run the oracle on the stored input; the comparison of its result with the stored one."""
    from clearing import api as oracle
    from clearing import canonical

    stored = record.get("result") if isinstance(record.get("result"), dict) else {}
    stored_hash = record.get("result_hash") or stored.get("result_hash")
    document = record["input"]
    mechanism = stored.get("mechanism") if document.get("schema") == oracle.FLEX_SCHEMA else None
    try:
        recomputed = oracle.clear(document, mechanism)
    except Exception as exc:  # noqa: BLE001 - any failure of the oracle means "does not verify"
        raise NotVerifiable("input", f"the oracle refused the stored input: {exc}") from None
    input_hash = record.get("input_hash")
    keys = sorted((set(stored) | set(recomputed)) - {"result_hash"})
    differences = [k for k in keys if canonical.dumps(stored.get(k)) != canonical.dumps(recomputed.get(k))]
    return {
        "mechanism": mechanism, "stored_result_hash": stored_hash,
        "recomputed_result_hash": recomputed.get("result_hash"),
        "input_hash_matches": input_hash is None or input_hash == canonical.hash_of(document, canonical.EXACT)
        or input_hash == recomputed.get("input_hash"),
        "matches": stored_hash is not None and stored_hash == recomputed.get("result_hash"),
        "outcome_matches": bool(stored) and not [k for k in differences if k != "oracle"],
        "differences": differences,
    }


def _first_commitment(history: list[dict[str, Any]]) -> str | None:
    """The commitment of the bid's oldest committed version (history comes newest first)."""
    for entry in reversed(history):
        value = entry.get("value")
        if isinstance(value, dict) and value.get("status") == "sealed":
            return value.get("commitment")
    return None


def _bid_problems(bid: dict[str, Any], history: list[dict[str, Any]], offer: dict[str, Any] | None) -> list[str]:
    seal = bid.get("seal") or {}
    bid_id = bid["id"]
    try:
        hashed = commitment(seal["salt"], seal["bid_json"])
        revealed = json.loads(seal["bid_json"])
    except (KeyError, TypeError, ValueError) as exc:
        return [f"{bid_id}: the stored reveal is unreadable ({exc})"]
    problems = []
    if hashed != seal.get("commitment"):
        problems.append(f"{bid_id}: the revealed bid and salt do not hash to the stored commitment")
    if _first_commitment(history) != seal.get("commitment"):
        problems.append(f"{bid_id}: the commitment is not the one committed while the gate was open")
    for name in sorted(set(revealed) - {"id", "market_id", "device"}):
        if name in bid and bid[name] != revealed[name]:
            problems.append(f"{bid_id}: {name} on the ledger differs from the revealed bid")
    for name in ("id", "market_id", "device"):
        if revealed.get(name) != bid.get(name):
            problems.append(f"{bid_id}: the revealed bid names another {name}")
    if offer is None:
        if bid.get("status") == "active":
            problems.append(f"{bid_id}: revealed and active, but missing from the clearing input")
    elif bid.get("status") != "active":
        problems.append(f"{bid_id}: {bid.get('status')}, but in the clearing input")
    else:
        for name in _INPUT_FIELDS[bid["kind"]]:
            if name in offer and offer[name] != bid.get(name):
                problems.append(f"{bid_id}: {name} in the clearing input differs from the revealed bid")
    return problems


def check_commitments(market: dict[str, Any], bids: list[dict[str, Any]], clearing_input: dict[str, Any],
                      history_of: Callable[[str], list[dict[str, Any]]]) -> dict[str, Any]:
    """Every revealed bid of a sealed market against its commitment and the clearing input (see module doc)."""
    if not market.get("sealed"):
        return {"sealed": False, "verified": True, "revealed": 0, "unrevealed": [], "problems": []}
    offers = {o["id"]: o for o in clearing_input.get("bids") or clearing_input.get("offers") or []}
    problems: list[str] = []
    revealed, unrevealed = 0, []
    for bid in bids:
        if bid.get("seal"):
            revealed += 1  # an unfunded bid was revealed too, and is rightly absent from the input
            problems += _bid_problems(bid, history_of(bid["id"]), offers.get(bid["id"]))
        elif bid["status"] in ("unrevealed", "sealed"):
            unrevealed.append(bid["id"])
    for bid_id in sorted(set(offers) - {b["id"] for b in bids if b.get("seal")}):
        problems.append(f"{bid_id}: in the clearing input without a revealed commitment")
    return {"sealed": True, "verified": not problems, "revealed": revealed, "unrevealed": sorted(unrevealed),
            "problems": problems}


def ac_summary(record: dict[str, Any]) -> dict[str, Any] | None:
    """The AC power-flow check of a flexibility clearing (None for capacity markets)."""
    from clearing.ac_check import check_ac
    from clearing.api import FLEX_SCHEMA
    from clearing.errors import ValidationError

    if record["input"].get("schema") != FLEX_SCHEMA:
        return None
    try:
        report = check_ac(record["input"], record["result"])
    except (ValidationError, RuntimeError) as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": report.ok, "summary": report.summary(), "text": report.to_text()}


def verify_market(evaluate: Evaluate, market_id: str, *, ac: bool = True) -> Verification:
    """All three checks of a cleared market through ``evaluate`` (an auditor's or the DSO's identity)."""
    record = _json(evaluate("GetClearing", market_id))
    if not isinstance(record, dict) or not isinstance(record.get("input"), dict):
        raise NotVerifiable("market_id", "market has no stored clearing input (not cleared yet?)")
    market = _json(evaluate("ReadMarket", market_id))
    bids = _json(evaluate("ListBids", market_id)) or []

    def history_of(bid_id: str) -> list[dict[str, Any]]:
        return _json(evaluate("GetHistory", "bid", bid_id)) or []

    summary = ac_summary(record) if ac else None
    return Verification(market_id=market_id, **recompute(record),
                        commitments=CommitmentCheck(**check_commitments(market, bids, record["input"], history_of)),
                        ac_check=AcCheck(**summary) if summary is not None else None)
