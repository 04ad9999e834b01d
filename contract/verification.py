"""What an auditor's check of a cleared market finds (:func:`gateway.verify.verify_market`).

Why in the contract: the check runs in the Fabric client part (``gateway.verify``) and is answered by the
REST service (``POST /audit/markets/{id}/verify``) and printed by ``flexledger audit verify``; one typed
record instead of a dict each of them reads by key.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class CommitmentCheck(BaseModel):
    """Sealed markets: every revealed bid against its commitment and the clearing input."""

    sealed: bool
    #: every revealed bid hashes to the commitment made before the gate closed and was cleared with that content
    verified: bool
    revealed: int
    unrevealed: list[str]
    problems: list[str]


class AcCheck(BaseModel):
    """Flexibility markets: the AC power flow of the cleared dispatch (``error`` when it could not run)."""

    ok: bool
    summary: dict[str, Any] | None = None
    text: str | None = None
    error: str | None = None


class Verification(BaseModel):
    """Outcome of re-running the oracle on the stored input.

    ``matches``: the recomputed result hash equals the stored one (same outcome *and* same oracle build).
    ``outcome_matches``: every field except the ``oracle`` version block is identical, i.e. the economic
    result is reproduced even if the auditor runs another build of the oracle. ``differences`` names the
    top-level result fields that differ. ``commitments.verified``: every revealed sealed bid hashes to
    the commitment made before the gate closed and was cleared with that content. ``ac_check``: the AC
    power flow of a flexibility dispatch, summarised.
    """

    market_id: str
    mechanism: str | None
    stored_result_hash: str | None
    recomputed_result_hash: str | None
    input_hash_matches: bool
    matches: bool
    outcome_matches: bool
    differences: list[str]
    commitments: CommitmentCheck | None = None
    ac_check: AcCheck | None = None

    @property
    def verified(self) -> bool:
        """The ledger's integrity holds: the result hash matches and every commitment verifies."""
        return self.matches and (self.commitments is None or self.commitments.verified)
