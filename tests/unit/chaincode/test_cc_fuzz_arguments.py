"""Property-based test of the chaincode's argument parsing (hypothesis, fixed seed, bounded examples).

Every transaction function is called, in the middle of a market day, with arguments derived from a
valid call: one value replaced by something odd (another JSON type, a huge or tiny number, NaN, a time
at the edge of the calendar, a look-alike id, a long string, deep nesting), a duplicated or unknown key,
random text, or one argument too many or too few. Whatever the input, the chaincode must either accept
it (keeping its own invariants, checked by the test driver) or refuse it naming a field other than
``internal``, in a bounded message, with the ledger unchanged.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import cc_wholesale
from cc_fakes import Chain, FakeLedger, Refused
from cc_world import (
    ADMIN,
    AGG1,
    AGG2,
    AUDITOR,
    BASELINE,
    DAY,
    DSO,
    GOVERNANCE,
    NETWORK,
    SETTLE,
    capacity_bid,
    capacity_market,
    flex_offer,
    flex_request,
    market_day,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaincode.contract import EVALUATE, FlexledgerContract, expected_arguments

#: One valid call of every function, as (caller, arguments); JSON arguments as Python values.
VALID: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "InitMarketplace": (ADMIN, (GOVERNANCE,)),
    "GetMarketplace": (AUDITOR, ()),
    "Ping": (AGG1, ()),
    "RegisterDevice": (AGG1, ({"id": "D9", "type": "storage", "max_power_mw": 1.0, "min_power_mw": 0.0,
                               "capacity_mwh": 2.0, "node": "1", "feeder": "F1"},)),
    "UpdateDevice": (AGG1, ("D1", {"max_power_mw": 1.5, "min_power_mw": 0.1})),
    "RetireDevice": (AGG1, ("D3",)),
    "OfferManagement": (AGG1, ("D1", "agg2MSP")),
    "AcceptManagement": (AGG2, ("D1",)),
    "ReadDevice": (AGG1, ("D1",)),
    "ListDevices": (AGG1, ({"owner": "agg1MSP", "page_size": 2, "bookmark": "D1"},)),
    "PublishNetwork": (DSO, (NETWORK,)),
    "PublishBaseline": (DSO, (BASELINE,)),
    "PublishCapacityLimits": (DSO, ({"market_id": "CAP1", "limits": [
        {"feeder": "F1", "period": 0, "capacity_mw": 1.0}]},)),
    "ReadNetwork": (AUDITOR, ("1",)),
    "ReadBaseline": (AUDITOR, (DAY,)),
    "ReadCapacityLimits": (AUDITOR, ("CAP1",)),
    "Deposit": (SETTLE, ("agg1MSP", "100")),
    "Withdraw": (SETTLE, ("agg1MSP", "100")),
    "GetBalance": (AGG1, ("agg1MSP",)),
    "TotalFunds": (AUDITOR, ()),
    "CreateMarket": (DSO, (capacity_market(id="CAP2", gate_opens="2026-11-20T11:00:00Z"),)),
    "UpdateMarket": (DSO, ("CAP1", {"periods": 4, "rules": {"max_price_eur_per_mwh": 400.0}})),
    "ReadMarket": (AGG1, ("CAP1",)),
    "ListMarkets": (AGG1, ({"kind": "capacity_day_ahead", "day": DAY},)),
    "EnrolInMarket": (AGG1, ("CAP1",)),
    "RequestFlexibility": (DSO, (flex_request(id="FLEX2"),)),
    "CloseGate": (DSO, ("CAP1",)),
    "PlaceBid": (AGG1, (capacity_bid(),)),
    "CancelBid": (AGG1, ("B1",)),
    "CommitBid": (AGG1, ({"id": "B7", "market_id": "CAP1", "device": "D1", "commitment": "0" * 64},)),
    "RevealBid": (AGG1, ("B1", capacity_bid(), "ab" * 32)),
    "ListBids": (AGG1, ("CAP1",)),
    "ClearMarket": (DSO, ("CAP1",)),
    "SettleMarket": (SETTLE, ("CAP1",)),
    "GetClearing": (AUDITOR, ("CAP1",)),
    "GetHistory": (AUDITOR, ("enrolment", "CAP1/agg1MSP")),
    "QueryByParticipant": (AUDITOR, ("agg1MSP",)),
    "ListTrades": (AUDITOR, ("CAP1",)),
    "ProposeMembershipChange": (ADMIN, ({"id": "P1", "action": "add", "msp": "agg3MSP", "role": "aggregator"},)),
    "ApproveMembershipChange": (ADMIN, ("P1",)),
    "ReadMembershipProposal": (AUDITOR, ("P1",)),
}
VALID["PlaceBid:flex"] = (AGG2, (flex_offer(),))
VALID.update(cc_wholesale.VALID)
CALLERS = [ADMIN, AGG1, AGG2, AUDITOR, DSO, SETTLE]

#: Odd JSON values, as raw JSON text (some are not expressible as Python values: huge ints, NaN).
ODD_JSON = [
    "null", "true", "false", '"1"', '""', '"\\u00b2"', '"D1\\n"', "9" * 400, "-" + "9" * 400, "1e308", "-1e308",
    "1e-30", "1e30", "-0.0", "NaN", "Infinity", "-Infinity", "[]", "{}", '"9999-12-31T23:59:59-23:59"',
    '"0001-01-01T00:00:00+01:00"', '"\\uff12\\uff10\\uff12\\uff16-11-20T09:00:00Z"', "9223372036854775808", "0",
    "-1", "2.0", "0.1", "1.0000001", '"' + "x" * 300 + '"', "[" * 60 + "]" * 60, '{"a": {"a": {"a": 1}}}',
    '"CAP1"', '"D1"', '"agg1MSP"', "1440", "1441", "1000000.5",
]
#: Odd plain-string arguments (ids, days, versions, amounts).
ODD_TEXT = ["", " ", "D1\n", "D1 ", "\u00b2", "\u0661", "x" * 200, "x" * 70_000, "CAP1/agg1MSP", "a/b/c", "1",
            "00000001", "-5", "1e3", str(10**16), "null", "{}", "[]", '{"id": "D1", "id": "D2"}', "\x00", "D1\x00"]

_MARK = "\u0000odd\u0000"


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], raw: str) -> str:
    """``doc`` as JSON text with the value at ``path`` replaced by the raw JSON text ``raw``."""
    doc = copy.deepcopy(doc)
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = _MARK
    return json.dumps(doc).replace(json.dumps(_MARK), raw)


@st.composite
def calls(draw: st.DrawFn) -> tuple[Any, str, list[str]]:
    key = draw(st.sampled_from(sorted(VALID)))
    function = key.split(":")[0]
    caller, valid = VALID[key]
    caller = draw(st.sampled_from([caller] * 4 + CALLERS))
    args: list[Any] = list(valid)
    how = draw(st.sampled_from(["replace", "replace", "replace", "key", "text", "json", "arity"]))
    if how == "arity":
        if args and draw(st.booleans()):
            args.pop(draw(st.integers(0, len(args) - 1)))
        else:
            args.append(draw(st.sampled_from(ODD_TEXT[:8])))
    elif args:
        i = draw(st.integers(0, len(args) - 1))
        arg = args[i]
        paths = _paths(arg)
        if how == "replace" and paths:
            args[i] = _replace(arg, draw(st.sampled_from(paths)), draw(st.sampled_from(ODD_JSON)))
        elif how == "key" and isinstance(arg, dict) and arg:
            text = json.dumps(arg)
            name = draw(st.sampled_from(sorted(arg) + ["unknown", "x" * 300, "\u00b2", ""]))
            args[i] = "{" + json.dumps(name) + ": " + draw(st.sampled_from(ODD_JSON)) + ", " + text[1:]
        elif how == "json":
            args[i] = draw(st.sampled_from(ODD_JSON))
        else:
            args[i] = draw(st.sampled_from(ODD_TEXT) | st.text(max_size=40))
    text = [a if isinstance(a, str) else json.dumps(a) for a in args]
    return caller, function, text


BASE = cc_wholesale.add_wholesale(market_day())
BASE_LEDGER = BASE.ledger
BASE_NOW = BASE.now_ms


def fresh() -> Chain:
    BASE.ledger = FakeLedger(dict(BASE_LEDGER.state), {k: list(v) for k, v in BASE_LEDGER.history.items()},
                             list(BASE_LEDGER.events))
    BASE.now_ms = BASE_NOW
    return BASE


def test_every_function_has_a_valid_call_to_mutate():
    functions = {name for name in dir(FlexledgerContract) if name[:1].isupper()
                 and callable(getattr(FlexledgerContract, name)) and name != "Name"}
    assert functions - {"Info"} <= {k.split(":")[0] for k in VALID}
    assert set(EVALUATE) <= functions
    for key, (_, args) in VALID.items():
        assert len(args) == len(expected_arguments(getattr(FlexledgerContract(), key.split(":")[0]))), key


@settings(max_examples=1500, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(calls())
def test_any_argument_is_accepted_or_refused_naming_a_real_field(call):
    caller, function, args = call
    chain = fresh()
    before = dict(chain.ledger.state)
    try:
        chain.invoke(caller, function, *args)  # the driver checks money conservation and escrow on success
    except Refused as exc:
        message = str(exc)
        field = message.split(": ", 1)[0]
        assert field != "internal", message
        assert ": " in message and len(message) <= 1000, message[:300]
        assert chain.ledger.state == before, f"{function} was refused but changed the ledger"
