"""docs/chaincode-api.md and the typed contract (contract/, chaincode/contract.py) say the same thing."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from chaincode.contract import FlexledgerContract
from contract import records, wholesale
from contract.kinds import RESPONSE_STATUS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "chaincode-api.md").read_text()


def _documented_functions() -> set[str]:
    names: set[str] = set()
    for row in re.findall(r"^\| `([A-Z][A-Za-z]+)`(?: / `([A-Z][A-Za-z]+)`)? \|", DOC, re.MULTILINE):
        names.update(n for n in row if n)
    return names


def _contract_functions() -> set[str]:
    return {name for name, fn in inspect.getmembers(FlexledgerContract, inspect.iscoroutinefunction)
            if name[:1].isupper()}


def test_every_function_of_the_contract_is_documented_and_no_other():
    # a records row ("| `TotalFunds` — ...") is never read as a function row, though some share the name
    assert _documented_functions() == _contract_functions()


def test_the_records_table_is_the_records_module():
    assert records.markdown() in DOC, "regenerate with: python -m contract.records"


def test_the_wholesale_records_table_is_the_wholesale_module():
    assert records.markdown(wholesale.DOCUMENTED) in DOC, "regenerate with: python -m contract.wholesale"


def test_the_documented_documents_name_every_field_the_chaincode_takes():
    rows = {name: line for line in DOC.splitlines()
            for name in re.findall(r"^\| `([A-Za-z]+)`", line)}
    for field in records.CAPACITY_BID_FIELDS + records.FLEX_BID_FIELDS:
        assert field in rows["PlaceBid"], field
    for field in records.DEVICE_FIELDS:
        assert field in rows["RegisterDevice"], field
    for function, fields in (("PublishExchangeKey", wholesale.EXCHANGE_KEY_FIELDS),
                             ("CreateSpotSession", wholesale.SPOT_SESSION_FIELDS),
                             ("SubmitSpotOffer", wholesale.SPOT_OFFER_FIELDS),
                             ("RecordSpotResults", wholesale.RESULTS_FIELDS),
                             ("SubmitMfrrBid", wholesale.MFRR_BID_FIELDS),
                             ("SetMfrrConsent", wholesale.MFRR_CONSENT_FIELDS),
                             ("ActivateMfrr", wholesale.ACTIVATION_FIELDS)):
        for field in fields:
            assert field in rows[function], (function, field)


def test_every_kind_of_refusal_is_documented_with_its_status():
    for kind, status in RESPONSE_STATUS.items():
        assert re.search(rf"^\| `{kind.value}` \| {status} \|", DOC, re.MULTILINE), kind


def test_the_contracts_market_rules_are_the_oracles() -> None:
    from clearing.capacity.rules import RULE_FIELDS
    from contract.records import MARKET_RULE_FIELDS, MarketRules

    assert MARKET_RULE_FIELDS == RULE_FIELDS
    assert tuple(MarketRules.model_fields) == RULE_FIELDS
