"""The web UI's files: served without a token, only the listed ones, with a policy that keeps the page to
its own script, style and service."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from gw_api_support import build
from gw_pki import TestCA


@pytest.fixture(scope="module")
def client():
    env = build(Path(tempfile.mkdtemp(prefix="flexledger-ui-")), TestCA())
    yield env.agg1
    env.close()


def test_the_page_and_its_files_are_served_with_a_content_security_policy(client) -> None:
    page = client.get("/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/ui/static/app.js" in page.text and "/ui/static/style.css" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    script = client.get("/ui/static/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "Authorization" in script.text  # the page calls the API with the user's bearer token
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui"


@pytest.mark.parametrize("name", ["index.html", "..%2F__init__.py", "nope.js", "%2e%2e"])
def test_only_the_listed_files_are_reachable(client, name: str) -> None:
    response = client.get(f"/ui/static/{name}")
    assert response.status_code == 404 and "app.js" not in response.text


def test_the_page_builds_text_nodes_never_markup() -> None:
    script = (Path(__file__).resolve().parents[3] / "restapi" / "ui" / "static" / "app.js").read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script
