"""Canonical input keeps the physics: no input number loses digits, and the same input gives the same bytes."""

from __future__ import annotations

import json

from flex_cases import chain_doc, clone

from clearing import canonical
from clearing.flex import FlexInstance, clear_flexibility


def _with_r_pu(value: float) -> dict:
    doc = chain_doc()
    doc["network"]["branches"][0]["r_pu"] = value
    return doc


def test_a_small_impedance_survives_parsing_and_the_canonical_input_bytes():
    doc = _with_r_pu(0.0000123)
    instance = FlexInstance.from_document(doc)
    assert instance.branches[0].r_pu == 0.0000123  # not 0.000012: a 2.4 % impedance error
    printed = canonical.dumps(instance.to_document(), canonical.EXACT)
    assert json.loads(printed)["network"]["branches"][0]["r_pu"] == 0.0000123
    assert json.loads(canonical.dumps(doc, canonical.EXACT))["network"]["branches"][0]["r_pu"] == 0.0000123


def test_inputs_differing_below_six_decimals_are_different_problems():
    a, b = FlexInstance.from_document(_with_r_pu(0.0000123)), FlexInstance.from_document(_with_r_pu(0.0000121))
    assert a.input_hash() != b.input_hash()


def test_same_input_same_bytes_whatever_the_key_order_or_zero_sign():
    doc = _with_r_pu(0.0000123)
    doc["baseline"][0]["generation_mw"] = -0.0
    reordered = json.loads(json.dumps(clone(doc), sort_keys=True))
    reordered = {k: reordered[k] for k in sorted(reordered, reverse=True)}
    reordered["baseline"][0]["generation_mw"] = 0.0
    assert canonical.dumps(doc, canonical.EXACT) == canonical.dumps(reordered, canonical.EXACT)
    assert FlexInstance.from_document(doc).input_hash() == FlexInstance.from_document(reordered).input_hash()
    first = clear_flexibility(clone(doc), "vcg")
    assert canonical.dumps(first) == canonical.dumps(clear_flexibility(clone(reordered), "vcg"))


def test_numbers_with_at_most_six_decimals_keep_the_bytes_they_always_had():
    values = [0.0, 1.0, 2.5, 0.011, 0.000012, 123456.654321, -0.5, 1e16, 3]
    assert [canonical.format_number(v, canonical.EXACT) for v in values] == [
        canonical.format_number(v) for v in values]


def test_exact_printing_reads_back_as_the_same_float():
    for value in (0.0000123, 1 / 3, 2 ** -40, 1e-300, 0.1 + 0.2, 123456.6543219):
        text = canonical.format_number(value, canonical.EXACT)
        assert float(text) == value and json.loads(text) == value, text
