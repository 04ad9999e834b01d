"""The HTTP status of a chaincode refusal follows its kind, never its words.

Every request below is refused by the real chaincode (in-process, gw_chain_ledger). The same requests
are sent again with every chaincode message reworded into text full of the words the service once
matched ("not allowed", "already", "does not exist", "escrow"): each status must stay what it was.
"""

from __future__ import annotations

import itertools

import pytest
from gw_api_support import build, error_of

from chaincode import errors as chaincode_errors

DEVICE = {"id": "D9", "type": "load", "max_power_mw": 1.0, "min_power_mw": 0.0, "node": "1", "feeder": "F1"}

#: (who, method, path, body, expected status, expected field): one refusal of each kind and then some.
REFUSALS = [
    ("trader", "POST", "/devices", {**DEVICE, "feeder": "F9"}, 400, "device.feeder"),
    ("trader", "POST", "/devices", {**DEVICE, "id": "D1"}, 409, "device.id"),
    ("trader2", "PATCH", "/devices/D1", {"max_power_mw": 1.0}, 403, "id"),
    ("trader", "GET", "/devices/NOPE", None, 404, "id"),
    ("trader", "DELETE", "/bids/NOPE", None, 404, "bidId"),
    ("trader", "POST", "/markets/CAP1/enrolment", None, 409, "marketId"),
    ("operator", "POST", "/markets/CAP1/clear", None, 409, "marketId"),
    ("settlement", "POST", "/funds/withdraw", {"participant": "agg1MSP", "amount_cents": 10**12}, 409, "amountCents"),
    ("operator", "GET", "/markets/NOPE", None, 404, "marketId"),
]
ORG_OF = {"trader": "agg1", "trader2": "agg2", "operator": "dso", "settlement": "dso"}
#: Words that once decided a status, in an order that would have picked the wrong one for most refusals.
MISLEADING = "reworded {n}: not allowed, already, does not exist, escrow, must"


def _statuses(env) -> list[tuple[int, str | None, str]]:
    seen = []
    for who, method, path, body, _, _ in REFUSALS:
        client = getattr(env, ORG_OF[who])
        r = client.request(method, path, json=body, headers=env.auth(who))
        error = error_of(r)
        seen.append((r.status_code, error["field"], error["message"]))
    return seen


@pytest.fixture()
def chain_env_factory(tmp_path, ca):
    from gw_chain_ledger import ChainLedger

    built = []

    def make(name: str):
        env = build(tmp_path / name, ca, ChainLedger())
        built.append(env)
        return env

    yield make
    for env in built:
        env.close()


def test_each_refusal_has_the_status_of_its_kind(chain_env_factory):
    seen = _statuses(chain_env_factory("plain"))
    assert [(status, field) for status, field, _ in seen] == [(s, f) for *_, s, f in REFUSALS]


def test_rewording_every_chaincode_message_keeps_every_status(chain_env_factory, monkeypatch):
    plain = _statuses(chain_env_factory("plain"))
    counter = itertools.count()
    original = chaincode_errors.ChaincodeError.__init__

    def reworded(self, field: str, message: str) -> None:
        original(self, field, MISLEADING.format(n=next(counter)))

    monkeypatch.setattr(chaincode_errors.ChaincodeError, "__init__", reworded)
    again = _statuses(chain_env_factory("reworded"))
    assert all(message.startswith("reworded ") for _, _, message in again), again
    assert [(status, field) for status, field, _ in again] == [(status, field) for status, field, _ in plain]
