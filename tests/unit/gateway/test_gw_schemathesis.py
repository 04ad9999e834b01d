"""Property-based run of the OpenAPI spec (schemathesis) against the app on the fake ledger: no 500s.

The same run against the live network is in tests/integration/test_gateway_api.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from gw_api_support import build
from gw_pki import TestCA
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

ENV = build(Path(tempfile.mkdtemp(prefix="flexledger-schemathesis-")), TestCA())
agg_schema = schemathesis.openapi.from_asgi("/openapi.json", ENV.agg1.app)
dso_schema = schemathesis.openapi.from_asgi("/openapi.json", ENV.dso.app)
for _schema in (agg_schema, dso_schema):
    # the coverage phase enumerates hundreds of boundary cases per operation: too slow for a unit run;
    # the integration run against the live network keeps it
    _schema.config.phases.coverage.enabled = False
SETTINGS = settings(max_examples=2, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def run(case, user: str) -> None:
    headers = {"Authorization": f"Bearer {ENV.tokens[user]}"}
    params = {"limit": 1} if case.path == "/events" else None
    response = case.call(headers=headers, params=params)
    case.validate_response(response, checks=[not_a_server_error], headers=headers)


@agg_schema.parametrize()
@SETTINGS
def test_no_server_error_for_an_aggregator(case):
    run(case, "trader")


@dso_schema.parametrize()
@SETTINGS
def test_no_server_error_for_the_dso(case):
    run(case, "operator")
