"""The REST error model for bad input: chaincode refusals of arguments are 400 whatever value they echo,
echoed messages are bounded, and a 405 names the allowed methods."""

from __future__ import annotations

import grpc
import pytest
from gw_api_support import MARKET, error_of

from contract.kinds import RESPONSE_STATUS, Kind
from gateway.errors import PAYLOAD_MISMATCH, EndorseError, ErrorDetail
from restapi.errors import from_gateway_error


def _refusal(status: int, text: str) -> EndorseError:
    """What the gateway raises for a chaincode refusal of the kind ``status`` carries."""
    detail = ErrorDetail("peer0:7051", "dsoMSP", f"chaincode response {status}, {text}")
    return EndorseError(message="failed", code=grpc.StatusCode.ABORTED, details=[detail])


@pytest.mark.parametrize("message", [
    "is not valid JSON: NaN is not allowed",  # what an older chaincode said: it is not a permission matter
    "is not valid JSON: NaN is not a JSON number",
    "must be one of storage, generation, load, got 'not allowed'",
    "must be an identifier of letters, digits and _ . : @ - (1-128 characters), got 'already'",
    "unknown field; allowed: id, type",
    "is required",
    "UpdateDevice takes 2 arguments (deviceId, patchJSON), got 3",
])
def test_argument_validation_refusals_map_to_400(message):
    err = from_gateway_error(_refusal(RESPONSE_STATUS[Kind.INVALID_ARGUMENT], f"market: {message}"))
    assert (err.status, err.code) == (400, "invalid")


@pytest.mark.parametrize(("kind", "message", "status"), [
    (Kind.FORBIDDEN, "needs role dso; the caller's certificate has aggregator", 403),
    (Kind.FORBIDDEN, "agg1MSP is not allowed to act as dso by the marketplace governance", 403),
    (Kind.FORBIDDEN, "device bat1 is managed by agg1MSP, not agg2MSP", 403),
    (Kind.NOT_FOUND, "market m9 does not exist", 404),
    (Kind.CONFLICT, "agg1MSP is already enrolled in market m1", 409),
    (Kind.FAILED_PRECONDITION, "the gate of market m1 closed at 2026-11-20T10:00:00Z", 409),
])
def test_other_refusals_keep_their_status(kind, message, status):
    assert from_gateway_error(_refusal(RESPONSE_STATUS[kind], f"field: {message}")).status == status


def test_a_refusal_without_a_kind_is_a_400():
    err = from_gateway_error(_refusal(500, "internal: KeyError: 'not found'"))
    assert (err.status, err.code, err.field) == (400, "invalid", "internal")


def test_chaincode_refusal_of_nan_is_a_400(env):
    env.ledger.fail_with = _refusal(400, "market: is not valid JSON: NaN is not allowed")
    r = env.dso.post("/markets", json=MARKET, headers=env.auth("operator"))
    assert r.status_code == 400 and error_of(r)["field"] == "market"


def test_an_echoed_chaincode_message_is_bounded(env):
    env.ledger.fail_with = _refusal(412, "id: device " + "x" * 100_000 + " is retired")
    r = env.agg1.delete("/devices/bat1", headers=env.auth("trader"))
    assert 400 <= r.status_code < 500 and len(r.text) < 2000


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/devices", {"GET", "POST"}),
    ("POST", "/devices/bat1", {"GET", "PATCH", "DELETE"}),
    ("GET", "/bids", {"POST"}),
    ("DELETE", "/health", {"GET"}),
])
def test_405_names_the_allowed_methods(env, method, path, allowed):
    r = env.agg1.request(method, path, headers=env.auth("trader"))
    assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"
    assert set(r.headers["allow"].replace(" ", "").split(",")) - {"HEAD"} == allowed


def _mismatch(differing: list[str], disagreement: dict[str, list[str]]) -> EndorseError:
    details = [ErrorDetail(address=f"{m}:7051", msp_id=m, message=PAYLOAD_MISMATCH) for m in differing]
    error = EndorseError(message="failed to collect enough transaction endorsements",
                         code=grpc.StatusCode.ABORTED, details=details)  # fmt: skip
    error.disagreement = disagreement
    return error


def test_divergence_names_the_majority_as_agreed_and_the_faulty_org_as_differed() -> None:
    # dso's peer answered first and is the faulty one: Fabric's details name the honest orgs
    error = _mismatch(["agg1MSP", "agg2MSP"], {"aa" * 32: ["dsoMSP"], "bb" * 32: ["agg2MSP", "agg1MSP", "auditorMSP"]})
    summary = error.disagreement_summary()
    assert summary == f"agreed: agg1MSP, agg2MSP, auditorMSP (result {'bb' * 6}); differed: dsoMSP (result {'aa' * 6})"
    assert "agg1MSP at" not in str(error), "the detail lines no longer blame the honest organisations"


def test_divergence_without_a_majority_says_so() -> None:
    error = _mismatch(["agg2MSP"], {"aa" * 32: ["dsoMSP"], "bb" * 32: ["agg2MSP"]})
    assert error.disagreement_summary().startswith("no majority: ")


def test_divergence_without_a_diagnosis_says_against_what_fabric_compared() -> None:
    error = _mismatch(["agg2MSP"], {})
    assert error.disagreement_summary() == "differed from the first endorsement collected: agg2MSP"


def test_rest_names_agreed_and_differed_organisations_in_the_502() -> None:
    api = from_gateway_error(_mismatch(["agg2MSP"], {"aa" * 32: ["agg1MSP", "dsoMSP"], "bb" * 32: ["agg2MSP"]}))
    assert api.status == 502 and api.code == "endorsement_mismatch"
    assert "agreed: agg1MSP, dsoMSP" in api.message and "differed: agg2MSP" in api.message


def test_a_lost_commit_status_is_an_outcome_unknown_504_that_says_what_to_do() -> None:
    from gateway.errors import CommitStatusError

    error = CommitStatusError(message="context deadline exceeded", code=grpc.StatusCode.DEADLINE_EXCEEDED,
                              transaction_id="ab12")  # fmt: skip
    assert error.outcome_unknown and str(error).startswith("outcome unknown: ")
    assert "ab12" in str(error) and "new transaction" in str(error)
    api = from_gateway_error(error)
    assert (api.status, api.code) == (504, "outcome_unknown")


def test_an_unreachable_orderer_leaves_the_outcome_unknown_but_a_refusal_does_not() -> None:
    from gateway.errors import SubmitError

    unreachable = SubmitError(message="connection refused", code=grpc.StatusCode.UNAVAILABLE, transaction_id="t1")
    refused = SubmitError(message="rejected by orderer", code=grpc.StatusCode.ABORTED, transaction_id="t2")
    assert unreachable.outcome_unknown and str(unreachable).startswith("outcome unknown")
    assert not refused.outcome_unknown and not str(refused).startswith("outcome unknown")
    assert from_gateway_error(refused).code != "outcome_unknown"
