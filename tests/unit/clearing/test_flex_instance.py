"""Validation and normalisation of flexledger.clearing/1 documents."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from flex_cases import chain_doc, clone

from clearing import ValidationError
from clearing.flex import FlexInstance, clear_flexibility
from clearing.flex.synthetic import feeder_document

Doc = dict[str, Any]


def _set(path: list[Any], value: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: list[Any]) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _append_branch(branch: Doc) -> Callable[[Doc], None]:
    return lambda doc: doc["network"]["branches"].append(branch)


def _duplicate_offer(doc: Doc) -> None:
    doc["offers"].append(clone(doc["offers"][0]))


def _duplicate_baseline_row(doc: Doc) -> None:
    doc["baseline"].append(clone(doc["baseline"][0]))


def _add_island(doc: Doc) -> None:
    doc["network"]["nodes"].append({"id": "9"})


def _add_cycle(doc: Doc) -> None:
    doc["network"]["nodes"].append({"id": "3"})
    doc["network"]["branches"].append({"id": "1-3", "from": "1", "to": "3", "r_pu": 0.01, "x_pu": 0.01})
    doc["network"]["branches"].append({"id": "2-3", "from": "2", "to": "3", "r_pu": 0.01, "x_pu": 0.01})


BAD_INPUTS: list[tuple[str, Callable[[Doc], None], str, str]] = [
    ("wrong schema", _set(["schema"], "flexledger.clearing/0"), "schema", "expected"),
    ("missing offers", _delete(["offers"]), "offers", "is required"),
    ("unknown top-level field", _set(["ofers"], []), "ofers", "unknown field"),
    ("periods not an integer", _set(["periods"], 1.5), "periods", "integer"),
    ("zero periods", _set(["periods"], 0), "periods", "between"),
    ("bool period_minutes", _set(["period_minutes"], True), "period_minutes", "integer"),
    ("negative base", _set(["network", "base_mva"], -1.0), "network.base_mva", "positive"),
    ("v_min above v_max", _set(["network", "v_min_pu"], 1.1), "network.v_min_pu", "v_max_pu"),
    ("no slack node", _set(["network", "nodes", 0, "slack"], False), "network.nodes", "exactly one"),
    ("duplicate node id", _set(["network", "nodes", 2, "id"], "1"), "network.nodes[2].id", "duplicate node"),
    ("branch to unknown node", _set(["network", "branches", 1, "to"], "99"), "network.branches[1].to",
     "unknown node '99'"),
    ("duplicate branch id", _set(["network", "branches", 1, "id"], "0-1"), "network.branches[1].id",
     "duplicate branch"),
    ("self loop", _set(["network", "branches", 1, "to"], "1"), "network.branches[1].to", "itself"),
    ("branch into slack", _append_branch({"id": "2-0", "from": "2", "to": "0", "r_pu": 0.1, "x_pu": 0.1}),
     "network.branches[2].to", "slack"),
    ("non-radial network", _add_cycle, "network.branches[3].to", "not radial"),
    ("disconnected network", _add_island, "network.branches", "'9' cannot be reached"),
    ("negative resistance", _set(["network", "branches", 0, "r_pu"], -0.1), "network.branches[0].r_pu",
     "negative"),
    ("baseline unknown node", _set(["baseline", 0, "node"], "7"), "baseline[0].node", "unknown node '7'"),
    ("baseline period out of range", _set(["baseline", 0, "period"], 5), "baseline[0].period", "between"),
    ("negative demand", _set(["baseline", 0, "demand_mw"], -1.0), "baseline[0].demand_mw", "negative"),
    ("duplicate baseline row", _duplicate_baseline_row, "baseline[1]", "duplicate row"),
    ("substation series too short", _set(["substation", "p_mw"], []), "substation.p_mw", "expected 1, got 0"),
    ("negative shedding cost", _set(["shedding_cost", "load_eur_per_mwh"], -5), "shedding_cost.load_eur_per_mwh",
     "negative"),
    ("offer at unknown node", _set(["offers", 2, "node"], "99"), "offers[2].node", "unknown node '99'"),
    ("duplicate offer id", _duplicate_offer, "offers[3].id", "duplicate offer id 'A'"),
    ("empty owner", _set(["offers", 0, "owner"], ""), "offers[0].owner", "non-empty"),
    ("unknown product", _set(["offers", 0, "products", "p_sideways"], {}), "offers[0].products.p_sideways",
     "unknown product"),
    ("no product", _set(["offers", 0, "products"], {}), "offers[0].products", "at least one"),
    ("negative quantity", _set(["offers", 1, "products", "p_up", "quantity_mw"], [-0.1]),
     "offers[1].products.p_up.quantity_mw[0]", "negative"),
    ("wrong number of periods", _set(["offers", 1, "products", "p_up", "quantity_mw"], [0.1, 0.1]),
     "offers[1].products.p_up.quantity_mw", "expected 1, got 2"),
    ("price is a string", _set(["offers", 0, "products", "p_up", "price_eur_per_mwh"], "10"),
     "offers[0].products.p_up.price_eur_per_mwh", "number"),
    ("infinite quantity", _set(["offers", 0, "products", "p_up", "quantity_mw"], [float("inf")]),
     "offers[0].products.p_up.quantity_mw[0]", "finite"),
    ("negative price", _set(["offers", 0, "products", "p_up", "price_eur_per_mwh"], -1.0),
     "offers[0].products.p_up.price_eur_per_mwh", "negative"),
]


@pytest.mark.parametrize(("mutate", "field", "message"), [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_rejected_naming_the_field(mutate: Callable[[Doc], None], field: str, message: str) -> None:
    doc = chain_doc()
    mutate(doc)
    with pytest.raises(ValidationError) as caught:
        clear_flexibility(doc, "vcg")
    assert caught.value.field == field, str(caught.value)
    assert message in caught.value.message


def test_unknown_mechanism_is_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        clear_flexibility(chain_doc(), "pay-as-bid")
    assert caught.value.field == "mechanism"


def test_input_hash_ignores_order_of_offers_nodes_branches_rows_and_keys() -> None:
    doc = feeder_document(nodes=12, periods=3, offers=10, seed=4)
    shuffled = clone(doc)
    rng = random.Random(1)
    for seq in (shuffled["offers"], shuffled["baseline"], shuffled["network"]["nodes"],
                shuffled["network"]["branches"]):
        rng.shuffle(seq)
    shuffled = {k: shuffled[k] for k in reversed(list(shuffled))}
    assert FlexInstance.from_document(shuffled).input_hash() == FlexInstance.from_document(doc).input_hash()


def test_input_hash_changes_with_any_number() -> None:
    doc = chain_doc()
    other = clone(doc)
    other["offers"][0]["products"]["p_up"]["price_eur_per_mwh"] = 10.5
    assert FlexInstance.from_document(doc).input_hash() != FlexInstance.from_document(other).input_hash()


def test_normalised_document_is_sorted_with_defaults_filled() -> None:
    doc = chain_doc()
    doc["offers"].reverse()
    normal = FlexInstance.from_document(doc).to_document()
    assert [o["id"] for o in normal["offers"]] == ["A", "B", "C"]
    assert normal["baseline"][0]["demand_tan_phi"] == 0.0
    assert normal["network"]["branches"][1]["p_max_mw"] is None
    assert FlexInstance.from_document(normal).to_document() == normal
