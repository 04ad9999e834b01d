"""The REST error model for bad input: chaincode refusals of arguments are 400 whatever value they echo,
echoed messages are bounded, and a 405 names the allowed methods."""

from __future__ import annotations

import grpc
import pytest
from gw_api_support import build

from gateway.api.errors import chaincode_status
from gateway.errors import EndorseError, ErrorDetail

MARKET = {"id": "x1", "kind": "flexibility", "day": "2026-11-21", "gate_opens": "2026-11-21T00:00:00Z",
          "gate_closes": "2026-11-21T10:00:00Z"}


@pytest.fixture()
def env(tmp_path, ca):
    built = build(tmp_path, ca)
    yield built
    built.close()


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    return body["error"]


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
    assert chaincode_status(message) == (400, "invalid")


@pytest.mark.parametrize(("message", "status"), [
    ("needs role dso; the caller's certificate has aggregator", 403),
    ("agg1MSP is not allowed to act as dso by the marketplace governance", 403),
    ("device bat1 is managed by agg1MSP, not agg2MSP", 403),
    ("market m9 does not exist", 404),
    ("agg1MSP is already enrolled in market m1", 409),
])
def test_other_refusals_keep_their_status(message, status):
    assert chaincode_status(message)[0] == status





def test_chaincode_refusal_of_nan_is_a_400(env):
    detail = ErrorDetail("peer0:7051", "dsoMSP", "chaincode response 500, market: is not valid JSON: NaN is not allowed")
    env.ledger.fail_with = EndorseError(message="failed", code=grpc.StatusCode.ABORTED, details=[detail])
    r = env.dso.post("/markets", json=MARKET, headers=env.auth("operator"))
    assert r.status_code == 400 and error_of(r)["field"] == "market"


def test_an_echoed_chaincode_message_is_bounded(env):
    detail = ErrorDetail("peer0:7051", "agg1MSP", "chaincode response 500, id: device " + "x" * 100_000 + " is retired")
    env.ledger.fail_with = EndorseError(message="failed", code=grpc.StatusCode.ABORTED, details=[detail])
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
