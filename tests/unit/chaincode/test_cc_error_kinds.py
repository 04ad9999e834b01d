"""A refusal answers with the response status of its kind (contract.kinds), whatever its words."""

from __future__ import annotations

import pytest
from cc_fakes import Chain, Refused
from cc_world import AGG1, AGG2, DEVICES, DSO, SETTLE, market_day

from contract.kinds import RESPONSE_STATUS, Kind


@pytest.fixture(scope="module")
def day() -> Chain:
    return market_day()


def _status(chain: Chain, who, fn: str, *args) -> int:
    with pytest.raises(Refused) as refused:
        chain.invoke(who, fn, *args)
    return refused.value.status


@pytest.mark.parametrize(("who", "fn", "args", "kind"), [
    (AGG1, "RegisterDevice", ({**DEVICES["D1"][1], "id": "D9", "feeder": "F9"},), Kind.INVALID_ARGUMENT),
    (AGG1, "ReadDevice", ("D1", "extra"), Kind.INVALID_ARGUMENT),
    (AGG2, "RetireDevice", ("D1",), Kind.FORBIDDEN),
    (AGG1, "ClearMarket", ("FLEX1",), Kind.FORBIDDEN),
    (AGG1, "ReadDevice", ("NOPE",), Kind.NOT_FOUND),
    (AGG1, "ReadMarket", ("NOPE",), Kind.NOT_FOUND),
    (AGG1, "RegisterDevice", (DEVICES["D1"][1],), Kind.CONFLICT),
    (AGG1, "EnrolInMarket", ("CAP1",), Kind.CONFLICT),
    (DSO, "ClearMarket", ("CAP1",), Kind.FAILED_PRECONDITION),
    (SETTLE, "SettleMarket", ("CAP1",), Kind.FAILED_PRECONDITION),
])
def test_refusal_status_is_its_kinds(day: Chain, who, fn, args, kind) -> None:
    assert _status(day, who, fn, *args) == RESPONSE_STATUS[kind]


def test_an_unknown_function_has_no_kind(day: Chain) -> None:
    assert _status(day, AGG1, "StealEverything") == 500
