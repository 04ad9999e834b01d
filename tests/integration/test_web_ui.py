"""The web UI in a real headless Chromium against the real network, one page per organisation's service.

A DSO requests flexibility, an aggregator registers a device, enrols, bids, cancels and bids again, the
DSO (whose page updates live from the event stream) closes the gate and clears, and the auditor re-verifies
the clearing and checks the query store against the ledger: each step by clicking and typing in the page.
Each page's screenshot is written to tests/artefacts/ (git-ignored; docs/img/ holds copies for the README).

The second test stops an organisation's service, commits blocks while it is down and checks that its
query store catches up from its checkpoint when it comes back, and equals the ledger record by record.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from gateway.profile import load_profile
from restapi import create_app
from restapi.auth import TOKEN_FILE, TokenStore
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER, small_baseline

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
#: without the background-networking flags Chromium's own connections are refused by a closed network
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts"
GATE_SECONDS = 75
TIMEOUT_MS = 60_000


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """One organisation's REST service (with its UI and query store) on a real port, in this process."""

    def __init__(self, live: LiveNetwork, org: str) -> None:
        self.profile = load_profile(live.profile(org))
        self.tokens = TokenStore(self.profile.wallet / TOKEN_FILE)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> Served:
        config = uvicorn.Config(create_app(self.profile, tokens=self.tokens), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.profile.org}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "service did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        assert self.server is not None and self.thread is not None
        self.server.should_exit = True
        self.thread.join(30)
        assert not self.thread.is_alive()

    def call(self, token: str, method: str, path: str, **kwargs) -> httpx.Response:
        return httpx.request(method, self.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=120,
                             **kwargs)


@dataclass
class Site:
    services: dict[str, Served]
    tokens: dict[str, str]
    day: str


@pytest.fixture(scope="module")
def site(live_network: LiveNetwork) -> Iterator[Site]:
    users = {"dso": ["operator", "settlement"], "agg1": ["trader"], "auditor": ["inspector"]}
    services = {org: Served(live_network, org).start() for org in users}
    tokens = {f"{org}/{name}": services[org].tokens.issue(name) for org, names in users.items() for name in names}
    day = dt.datetime.now(dt.UTC).date().isoformat()
    dso = services["dso"]
    # what every market day needs (the UI's subject is markets, not publishing network models); a load at
    # node 3 above the 2 MW limit of line 1-3, so that clearing dispatches flexibility there
    baseline = small_baseline(day)
    baseline["baseline"][0]["demand_mw"] = 2.2
    for path, body in (("/network", SMALL_FEEDER), ("/baseline", baseline)):
        r = dso.call(tokens["dso/operator"], "PUT", path, json=body)
        assert r.status_code == 200, r.text
    r = dso.call(tokens["dso/settlement"], "POST", "/funds/deposit", json={"participant": "dsoMSP", "amount_cents": 500000})
    assert r.status_code == 200, r.text
    try:
        yield Site(services, tokens, day)
    finally:
        for service in services.values():
            if service.thread is not None and service.thread.is_alive():
                service.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    ARTEFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


#: script errors of every page: a page that throws fails the test with the browser's own message
PAGE_ERRORS: list[str] = []


def sign_in(browser, service: Served, token: str):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda exc: PAGE_ERRORS.append(f"{service.profile.org}: {exc}"))
    page.on("console", lambda msg: PAGE_ERRORS.append(f"{service.profile.org}: {msg.text}")
            if msg.type == "error" else None)
    page.goto(service.url + "/ui")
    page.wait_for_selector("form#login")
    page.fill("input[name=token]", token)
    page.click("form#login button[type=submit]")
    page.wait_for_selector("main[data-view=markets]")
    return page


def press(page, selector: str, label: str) -> None:
    """Click a button or submit a form, wait for the action's flash line, fail with the API's own words."""
    page.evaluate("document.getElementById('flash').textContent = ''")
    page.click(selector)
    try:
        page.wait_for_function(
            "label => document.getElementById('flash').textContent.startsWith(label + ':')", arg=label)
    except playwright_api.TimeoutError:
        raise AssertionError(f"{label}: no outcome shown; page errors: {PAGE_ERRORS}") from None
    text = page.inner_text("#flash")
    assert text == f"{label}: done", text


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_dso_creates_aggregator_bids_dso_clears_auditor_verifies_through_the_pages(site: Site, browser) -> None:
    market, device, first_bid, bid = uid("ui-mkt"), uid("ui-dev"), uid("ui-bid"), uid("ui-bid")
    gate_closes = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=GATE_SECONDS)

    login = browser.new_page(viewport={"width": 1200, "height": 700})
    login.goto(site.services["dso"].url + "/ui")
    login.wait_for_selector("form#login")
    shot(login, "ui-login")
    login.close()

    # the DSO requests flexibility: a flexibility market opens
    dso = sign_in(browser, site.services["dso"], site.tokens["dso/operator"])
    dso.fill("#flex-request input[name=id]", market)
    dso.fill("#flex-request input[name=day]", site.day)
    dso.fill("#flex-request input[name=gate_closes]", iso(gate_closes))
    dso.fill("#flex-request input[name=feeder]", "F1")
    press(dso, "#flex-request button[type=submit]", "request flexibility")
    dso.wait_for_selector(f'tr[data-id="{market}"]')
    assert "open" in dso.inner_text(f'tr[data-id="{market}"]')
    shot(dso, "ui-markets-dso")
    dso.goto(f"{site.services['dso'].url}/ui#/market/{market}")
    dso.wait_for_selector("main[data-view=market] #close-gate")

    # the aggregator registers a device, enrols, bids, cancels, bids again
    agg = sign_in(browser, site.services["agg1"], site.tokens["agg1/trader"])
    agg.fill("#register-device input[name=id]", device)
    agg.fill("#register-device input[name=max_power_mw]", "0.6")
    agg.fill("#register-device input[name=capacity_mwh]", "1")
    agg.fill("#register-device input[name=node]", "3")
    agg.fill("#register-device input[name=feeder]", "F1")
    press(agg, "#register-device button[type=submit]", "register device")
    agg.goto(f"{site.services['agg1'].url}/ui#/market/{market}")
    agg.wait_for_selector("main[data-view=market] #enrol")
    press(agg, "#enrol", "enrol")
    for bid_id in (first_bid, bid):
        agg.wait_for_selector("form#place-bid")
        agg.fill("#place-bid input[name=id]", bid_id)
        agg.select_option("#place-bid select[name=device]", device)
        agg.select_option("#place-bid select[name=product]", "p_up")
        agg.fill("#place-bid input[name=quantity_mw]", "0.5")
        agg.fill("#place-bid input[name=price_eur_per_mwh]", "12")
        press(agg, "#place-bid button[type=submit]", "place bid")
        agg.wait_for_selector(f'tr[data-id="{bid_id}"]')
        if bid_id == first_bid:
            press(agg, f'tr[data-id="{first_bid}"] button.cancel', "cancel bid")
            agg.wait_for_selector(f'tr[data-id="{first_bid}"] .status.cancelled')
    shot(agg, "ui-market-aggregator")

    # the DSO's page shows the bids without a reload: the live event stream re-rendered it
    dso.wait_for_selector(f'tr[data-id="{bid}"]')
    assert dso.get_attribute("#live", "class") == "live on"

    # after the gate time: close the gate, clear, and look at the result
    wait = (gate_closes - dt.datetime.now(dt.UTC)).total_seconds() + 3
    if wait > 0:
        time.sleep(wait)
    press(dso, "#close-gate", "close gate")
    press(dso, "#clear", "clear")
    dso.goto(f"{site.services['dso'].url}/ui#/result/{market}")
    dso.wait_for_selector("svg#feeder g.node[data-node='3']")
    assert f"{bid}" in dso.inner_text("main")
    assert "€/MWh" in (dso.text_content("svg#feeder") or "")
    assert "MW" in (dso.text_content("svg#feeder g.node[data-node='3'] text.mw") or "")  # dispatched at node 3
    shot(dso, "ui-result-dso")

    # the auditor re-verifies the clearing and checks the query store against the ledger
    auditor = sign_in(browser, site.services["auditor"], site.tokens["auditor/inspector"])
    auditor.goto(f"{site.services['auditor'].url}/ui#/audit/{market}")
    auditor.wait_for_selector("main[data-view=audit] .endorsers")
    endorsers = auditor.inner_text(".endorsers")
    assert "dsoMSP" in endorsers and "agg1MSP" in endorsers, endorsers
    auditor.click("#verify")
    auditor.wait_for_selector("#verdict p")
    assert auditor.inner_text("#verdict p").startswith("Verified"), auditor.inner_text("#verdict")
    shot(auditor, "ui-audit")
    auditor.click("#consistency")
    auditor.wait_for_selector("#verdict p:has-text('Query store')")
    assert "consistent with the ledger" in auditor.inner_text("#verdict p"), auditor.inner_text("#verdict")
    for page in (dso, agg, auditor):
        page.close()
    assert not PAGE_ERRORS


def test_the_query_store_catches_up_after_the_service_was_down(site: Site) -> None:
    agg, dso = site.services["agg1"], site.services["dso"]
    token = site.tokens["agg1/trader"]
    status = agg.call(token, "GET", "/store/status").json()
    assert status["next_block"] == status["ledger_height"], status
    agg.stop()
    # blocks committed while agg1's service (and its store follower) is down
    made = []
    for _ in range(3):
        r = dso.call(site.tokens["dso/operator"], "POST", "/flexibility-requests", json={
            "id": uid("down"), "day": site.day, "gate_opens": iso(dt.datetime.now(dt.UTC)),
            "gate_closes": iso(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)), "budget_cents": 10})
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    agg.start()
    ids: list[str] = []
    bookmark = None
    while True:
        params = {"page_size": 2, **({"bookmark": bookmark} if bookmark else {})}
        page = agg.call(token, "GET", "/markets", params=params).json()
        ids += [m["id"] for m in page["items"]]
        bookmark = page["next_bookmark"]
        if not bookmark:
            break
    assert set(made) <= set(ids) and ids == sorted(ids)
    status = agg.call(token, "GET", "/store/status").json()
    assert status["next_block"] == status["ledger_height"], status
    report = site.services["auditor"].call(site.tokens["auditor/inspector"], "POST", "/audit/store-consistency").json()
    assert report["consistent"] is True, report
    assert report["checked"]["markets"] >= 4
