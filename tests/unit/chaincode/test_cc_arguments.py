"""The chaincode refuses a call with the wrong number of arguments, naming the function and what it takes
(the contract API would silently drop extra arguments)."""

from __future__ import annotations

import pytest
from cc_fakes import Chain
from cc_world import AGG1, DEVICES

from chaincode.contract import FlexledgerContract, expected_arguments
from clearing import limits

DEVICE = DEVICES["D1"][1]


@pytest.mark.parametrize(("fn", "args", "expected"), [
    ("ReadDevice", ("D1", "extra"), "ReadDevice takes 1 argument (deviceId), got 2"),
    ("ReadDevice", (), "ReadDevice takes 1 argument (deviceId), got 0"),
    ("UpdateDevice", ("D1", "{}", "x"), "UpdateDevice takes 2 arguments (deviceId, patchJSON), got 3"),
    ("GetMarketplace", ("x",), "GetMarketplace takes 0 arguments, got 1"),
])
def test_wrong_number_of_arguments_is_refused_naming_the_function_and_its_arguments(
        chain: Chain, fn: str, args: tuple[str, ...], expected: str):
    chain.invoke(AGG1, "RegisterDevice", DEVICE)
    message = chain.refuse(AGG1, fn, *args, field="args")
    assert message == f"args: {expected}"


def test_extra_argument_to_a_write_changes_nothing(chain: Chain):
    chain.refuse(AGG1, "RegisterDevice", DEVICE, "ignored?", field="args")
    chain.refuse(AGG1, "ReadDevice", "D1", field="id")  # not registered


def test_arguments_are_named_as_the_api_document_names_them():
    contract = FlexledgerContract()
    assert expected_arguments(contract.PlaceBid) == ["bidJSON"]
    assert expected_arguments(contract.Deposit) == ["participantMsp", "amountCents"]
    assert expected_arguments(contract.GetHistory) == ["kind", "ident"]


def test_an_argument_longer_than_any_document_is_refused_before_it_is_read(chain: Chain):
    chain.refuse(AGG1, "ReadDevice", "x" * (limits.JSON_MAX_BYTES + 1), field="deviceId")


def test_the_argument_check_is_not_itself_a_transaction_function(chain: Chain):
    functions = set(chain.cc._contracts["flexledger"].functions)
    assert functions and all(name[:1].isupper() for name in functions), sorted(functions)
