"""Browser-test fixtures shared by every file in tests/e2e: the app on a real localhost server, a signed-up
manager with two seeded interactions, and Debian's headless Chromium driven by Playwright (never a downloaded
browser). Screenshots land in test-artifacts/ (gitignored); the tests are skipped only when /usr/bin/chromium is
missing (`make install` installs it, so CI runs them).
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.support.factories import interaction_event

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
PASSWORD = "correct horse battery"

requires_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian chromium is not installed at /usr/bin/chromium (run `make install`)")


@pytest.fixture
def overrides(overrides):
    overrides["dashboard"] = {"refresh_seconds": 1}
    return overrides


@pytest.fixture
def server(app):
    """The app on a free localhost port, served by a real werkzeug server in a thread."""
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, name="dashboard-e2e", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def seeded(app, post_event, clock):
    from aftercare.managers import create_manager

    with app.extensions["aftercare"].db.session() as session:
        create_manager(session=session, username="dana", password=PASSWORD, now=clock.now)
    post_event(interaction_event())
    post_event(interaction_event(**{"interaction.case_id": "case_78", "customer.id": "cus_6",
                                    "customer.phone": "+447700900456", "agent.id": "ag_2",
                                    "agent.name": "Tom Becker", "interaction.signals": ["abusive_language"],
                                    "interaction.customer_sentiment": -0.9}))


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        yield page, problems
        context.close()
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"e2e-{name}.png"), full_page=True)
