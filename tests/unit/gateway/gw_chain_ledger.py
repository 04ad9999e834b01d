"""The REST service's ledger port backed by the real chaincode running in-process (tests only).

Why: the fake ledger mimics a few chaincode rules; fuzzing the REST service against it cannot show what
the chaincode answers to the inputs the service lets through (a 500, a refusal whose field is
``internal``, a status mapped from the wrong words). Here every call goes through the chaincode's real
dispatch on the in-memory stub of the chaincode unit tests, in the middle of the test world's market day
(``cc_world.market_day``: open capacity and flexibility markets, devices, funds).
Refusals come back in the peer's real detail format, as :class:`gateway.errors.EndorseError`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chaincode"))

import cc_world as world  # noqa: E402
from cc_fakes import Chain, Identity, Refused  # noqa: E402

from gateway.blocks import CommittedTransaction  # noqa: E402
from gateway.errors import ConfigError, EndorseError, ErrorDetail, EvaluateError  # noqa: E402
from gateway.identity import X509Identity  # noqa: E402

#: REST users of gw_api_support.USERS → chaincode test identities.
IDENTITIES: dict[str, Identity] = {"admin": world.ADMIN, "trader": world.AGG1, "trader2": world.AGG2,
                                   "operator": world.DSO, "settlement": world.SETTLE, "inspector": world.AUDITOR}


class ChainLedger:
    """:class:`restapi.ledger.Ledger` over the in-process chaincode."""

    def __init__(self, chain: Chain | None = None) -> None:
        self.chain = chain or world.market_day()
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []

    def identity(self, user: str) -> X509Identity:
        if user not in IDENTITIES:
            raise ConfigError(f"user: no identity {user!r}")
        who = IDENTITIES[user]
        return X509Identity(who.msp, who.pem)

    def _run(self, kind: type, user: str, function: str, args: tuple[str, ...]) -> bytes:
        self.calls.append((user, function, args))
        who = IDENTITIES[user]
        try:
            answer: Any = self.chain.invoke(who, function, *args)
        except Refused as exc:
            detail = ErrorDetail("peer0:7051", who.msp, f"chaincode response {exc.status}, {exc}")
            raise kind(message="failed", code=grpc.StatusCode.ABORTED, details=[detail]) from None
        from chaincode.contract import to_json

        return to_json(answer).encode()

    def evaluate(self, user: str, function: str, *args: str) -> bytes:
        return self._run(EvaluateError, user, function, args)

    def submit(self, user: str, function: str, *args: str) -> bytes:
        return self._run(EndorseError, user, function, args)

    async def asubmit(self, user: str, function: str, *args: str) -> bytes:
        return self.submit(user, function, *args)

    async def aclose(self) -> None:
        pass

    def events(self, user: str, checkpoint: Any) -> Any:
        class Empty:
            def __iter__(self):
                return iter(())

            def close(self) -> None:
                pass

        return Empty()

    def committed(self, user: str, tx_id: str) -> CommittedTransaction:
        return CommittedTransaction(tx_id, "VALID", ("dsoMSP", "agg1MSP", "agg2MSP"))

    def close(self) -> None:
        pass
