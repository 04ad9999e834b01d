"""Every route of the REST service declares its answer: the OpenAPI document shows a schema for each 2xx."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from contract.records import Record


def test_every_success_response_has_a_schema(env):
    spec = env.agg1.get("/openapi.json").json()
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                content = response.get("content", {})
                if "text/event-stream" in content:
                    continue  # the event stream: documented as such, no JSON body
                schema = content.get("application/json", {}).get("schema", {})
                if not schema:
                    missing.append(f"{method.upper()} {path} {status}")
    assert not missing, missing


def test_record_schemas_name_their_fields(env):
    schemas = env.agg1.get("/openapi.json").json()["components"]["schemas"]
    assert {"id", "market_id", "device", "periods", "products", "owner", "status"} <= set(schemas["Bid"]["properties"])
    assert {"from", "to", "amount_cents"} <= set(schemas["Trade"]["properties"])
    assert schemas["Page_Device_"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/Device"}


def untyped_answers(spec: dict[str, Any]) -> set[str]:
    """Routes whose 2xx JSON answer has no schema beyond a title (what FastAPI writes for ``-> Any``)."""
    return {f"{method.upper()} {path}"
            for path, operations in spec["paths"].items() for method, operation in operations.items()
            for status, response in operation["responses"].items() if status.startswith("2")
            if set(response.get("content", {}).get("application/json", {}).get("schema", {"type": 0})) <= {"title"}}


def test_an_answer_declared_as_any_is_found_untyped():
    app = FastAPI()

    @app.get("/loose")
    def loose() -> Any:
        return {}

    @app.get("/typed", response_model=Record)
    def typed() -> Any:
        return {}

    assert untyped_answers(app.openapi()) == {"GET /loose"}


def test_every_answer_schema_says_what_comes_back(env):
    assert untyped_answers(env.agg1.get("/openapi.json").json()) == set()


def test_wholesale_record_schemas_name_their_fields(env):
    spec = env.agg1.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    spot = spec["paths"]["/spot/sessions/{session_id}"]["get"]
    assert spot["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SpotSession"}
    assert {"book_hash", "offer_counts", "trades", "offers"} <= set(schemas["SpotSession"]["properties"])
    assert {"delivered_mw", "non_delivered_mw", "paid_cents"} <= set(schemas["MfrrActivation"]["properties"])
    assert "schema" in schemas["SpotBook"]["properties"]
    assert {"total_cents", "wholesale"} <= set(schemas["FundsAudit"]["properties"])
