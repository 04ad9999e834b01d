"""Every route of the REST service declares its answer: the OpenAPI document shows a schema for each 2xx."""

from __future__ import annotations


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
