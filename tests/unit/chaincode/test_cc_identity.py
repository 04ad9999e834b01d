"""Caller identity and governance: certificate role attribute AND the MSP allowed for that role."""

from __future__ import annotations

import json

import pytest
from cc_fakes import Chain, certificate, identity
from cc_world import ADMIN, AGG1, AUDITOR, DEVICES, DSO, GOVERNANCE, NETWORK

from chaincode.errors import ChaincodeError
from chaincode.identity import caller_of, certificate_attributes


class _Creator:
    def __init__(self, msp: str, pem: bytes) -> None:
        self._creator = {"mspid": msp, "idBytes": pem}

    def get_creator(self) -> dict:
        return self._creator


def test_role_is_read_from_the_fabric_ca_attribute_extension() -> None:
    caller = caller_of(_Creator("agg1MSP", certificate("agg1MSP", "aggregator", "alice")))
    assert caller.msp_id == "agg1MSP"
    assert caller.role == "aggregator"
    assert "CN=alice" in caller.subject


def test_certificate_without_attribute_extension_has_no_role() -> None:
    assert certificate_attributes(certificate("agg1MSP", None, "bob")) == {}
    assert caller_of(_Creator("agg1MSP", certificate("agg1MSP", None, "bob"))).role == ""


def test_malformed_attribute_extension_is_refused() -> None:
    pem = certificate("agg1MSP", None, "mallory", raw_attrs=b"not json")
    with pytest.raises(ChaincodeError, match="^creator:"):
        certificate_attributes(pem)


def test_missing_creator_is_refused() -> None:
    with pytest.raises(ChaincodeError, match="^creator:"):
        caller_of(_Creator("", b""))


def test_init_marketplace_needs_the_admin_role() -> None:
    chain = Chain()
    chain.refuse(DSO, "InitMarketplace", GOVERNANCE, field="caller.role")


def test_init_marketplace_records_governance_once() -> None:
    chain = Chain()
    record = chain.invoke(ADMIN, "InitMarketplace", GOVERNANCE)
    assert record["dso"] == "dsoMSP"
    assert record["admins"] == ["dsoMSP"]
    assert chain.invoke(AUDITOR, "GetMarketplace")["aggregators"] == ["agg1MSP", "agg2MSP"]
    chain.refuse(ADMIN, "InitMarketplace", GOVERNANCE, field="marketplace")


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"aggregators": ["agg1MSP"], "settlement": ["dsoMSP"]}, "config.dso"),
        ({**GOVERNANCE, "aggregators": []}, "config.aggregators"),
        ({**GOVERNANCE, "aggregators": ["dsoMSP"]}, "config.aggregators"),
        ({**GOVERNANCE, "aggregators": ["agg1MSP", "agg1MSP"]}, "config.aggregators"),
        ({**GOVERNANCE, "bogus": 1}, "config.bogus"),
        ({**GOVERNANCE, "admins": ["agg1MSP"]}, "config.admins"),
        ({**GOVERNANCE, "settlement": "dsoMSP"}, "config.settlement"),
    ],
)
def test_bad_governance_config_is_refused(config: dict, field: str) -> None:
    Chain().refuse(ADMIN, "InitMarketplace", config, field=field)


def test_functions_refuse_before_the_marketplace_is_initialised() -> None:
    Chain().refuse(DSO, "PublishNetwork", NETWORK, field="marketplace")


def test_role_minted_by_another_organisations_ca_is_refused(chain: Chain) -> None:
    fake_dso = identity("agg1MSP", "dso", "rogue")
    message = chain.refuse(fake_dso, "PublishNetwork", NETWORK, field="caller.msp")
    assert "agg1MSP" in message


def test_auditor_cannot_write(chain: Chain) -> None:
    chain.refuse(AUDITOR, "RegisterDevice", DEVICES["D1"][1], field="caller.role")
    chain.refuse(AUDITOR, "PublishNetwork", NETWORK, field="caller.role")
    chain.refuse(AUDITOR, "Deposit", "agg1MSP", "100", field="caller.role")


def test_caller_without_role_attribute_is_refused(chain: Chain) -> None:
    chain.refuse(identity("agg1MSP", None, "norole"), "RegisterDevice", DEVICES["D1"][1], field="caller.role")


def test_unknown_function_is_an_error_without_effect(chain: Chain) -> None:
    from cc_fakes import Refused

    with pytest.raises(Refused, match="not found"):
        chain.invoke(AGG1, "StealEverything")


def test_read_results_are_canonical_json(chain: Chain) -> None:
    stub = chain.stub(AUDITOR, "GetMarketplace", ())
    import asyncio

    response = asyncio.run(chain.cc.invoke(stub))
    text = response.payload.decode()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def test_reads_need_a_role_the_governance_allows(chain: Chain) -> None:
    chain.refuse(identity("agg1MSP", None, "norole"), "ReadNetwork", "", field="caller.role")
    chain.refuse(identity("strangerMSP", "auditor", "outsider"), "GetMarketplace", field="caller.msp")
    assert chain.invoke(identity("tsoMSP", "tso"), "ReadNetwork", "")["version"] == 1
