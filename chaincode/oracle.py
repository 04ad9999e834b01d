"""The clearing oracle as the chaincode runs it: in a worker thread, with an optional deliberate fault.

Why a thread: an OPF solve takes a while and the chaincode server is one asyncio event loop talking to
the peer; running :func:`clearing.api.clear` through ``run_in_executor`` keeps that loop serving other
transactions meanwhile.

Why a fault switch: the endorsement policy must stop a clearing on which organisations' oracles
disagree. ``FLEXLEDGER_ORACLE_FAULT=1`` makes this server's oracle add 0.01 EUR to the first payment
(in owner order) and re-hash, so its endorsement differs from every honest peer's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from chaincode.errors import ChaincodeError
from clearing import canonical
from clearing.api import ClearingResult

LOG = logging.getLogger("chaincode.oracle")

ClearFn = Callable[[Mapping[str, Any], "str | None"], ClearingResult]


@dataclass(frozen=True)
class OracleOutcome:
    input_bytes: bytes  # canonical bytes of the input document, stored for re-verification
    result: ClearingResult
    result_bytes: bytes  # canonical bytes of the result document
    input_hash: str
    result_hash: str
    oracle: Any  # the oracle's own version record


def _default_clear(document: Mapping[str, Any], mechanism: str | None) -> ClearingResult:
    from clearing.api import clear_result

    return clear_result(document, mechanism)


def result_hash_of(result: Mapping[str, Any]) -> str:
    """Hash of a result without its own ``result_hash`` field (used to re-hash a perturbed result)."""
    return canonical.hash_of({k: v for k, v in result.items() if k != "result_hash"})


def perturb(result: dict[str, Any]) -> dict[str, Any]:
    """The deliberate fault: +0.01 EUR on the first payment (or a marker when nothing is paid)."""
    faulty = dict(result)
    payments = dict(faulty.get("payments_eur") or {})
    if payments:
        first = sorted(payments)[0]
        payments[first] = canonical.round_float(float(payments[first]) + 0.01)
        faulty["payments_eur"] = payments
    else:
        faulty["oracle_fault"] = True
    faulty["result_hash"] = result_hash_of(faulty)
    return faulty


class Oracle:
    """Runs the clearing library off the event loop; ``fault=True`` perturbs every result."""

    def __init__(self, *, fault: bool = False, clear_fn: ClearFn | None = None, executor: Executor | None = None):
        self.fault = fault
        self._clear = clear_fn or _default_clear
        self._executor = executor

    async def run(self, document: dict[str, Any], mechanism: str | None) -> OracleOutcome:
        from clearing.errors import ClearingError, ValidationError

        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, self._clear, document, mechanism)
        except ValidationError as exc:
            raise ChaincodeError(f"clearing.{exc.field}", exc.message) from exc
        except ClearingError as exc:
            raise ChaincodeError("clearing", f"the oracle could not clear the market: {exc}") from exc
        if self.fault:
            LOG.warning("ORACLE FAULT INJECTED: perturbing the clearing result (FLEXLEDGER_ORACLE_FAULT=1)")
            result = ClearingResult(perturb(dict(result.document)))
        result_bytes = canonical.dumps(result.document)
        # everything downstream sees exactly the stored, canonical numbers
        stored = ClearingResult(json.loads(result_bytes))
        return OracleOutcome(
            input_bytes=canonical.dumps(document, canonical.EXACT),
            result=stored,
            result_bytes=result_bytes,
            input_hash=str(stored.input_hash or canonical.hash_of(document, canonical.EXACT)),
            result_hash=str(stored.result_hash or result_hash_of(stored.document)),
            oracle=stored.oracle,
        )
