"""The dashboard in Debian's headless Chromium (Playwright, no downloaded browser) against a real server thread.

Screenshots land in test-artifacts/ (gitignored). Skipped only when /usr/bin/chromium is missing:
`make install` installs Debian's chromium package, so CI runs it.
"""
from __future__ import annotations

import json

from tests.e2e.conftest import PASSWORD, requires_chromium, shot

pytestmark = requires_chromium


def open_json(page) -> None:
    """The JSON is the rule editor's advanced view, folded away behind a toggle."""
    if page.get_attribute("#advanced", "open") is None:
        page.click("#advanced summary")


def test_manager_signs_in_edits_simulates_publishes_rolls_back_and_reads_outcomes(server, seeded, browser_page):
    page, problems = browser_page
    page.goto(f"{server}/dashboard/")
    assert "/dashboard/sign-in" in page.url
    page.fill("#username", "dana")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert "Wrong username or password" in page.text_content("#sign-in-error")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    # team load now: one bar per agent, refreshed in place by the vendored script
    page.wait_for_url("**/dashboard/load")
    page.wait_for_selector("svg.chart rect.bar")
    assert page.locator("#team-load tbody tr").count() == 2
    assert "Maria Lopez" in page.text_content("#team-load") and "Tom Becker" in page.text_content("#team-load")
    with page.expect_response(lambda r: "/dashboard/load/live" in r.url and r.status == 200):
        pass
    page.wait_for_selector("#team-load")
    shot(page, "load")

    # rules: an error first, named inline
    page.goto(f"{server}/dashboard/rules?team=billing-emea")
    document = json.loads(page.input_value("#document"))
    document["rules"][0]["when"]["typo_condition"] = 1
    open_json(page)
    page.fill("#document", json.dumps(document, indent=2))
    page.click("#simulate")
    errors = page.text_content("#rule-errors")
    assert "rules.0.when.typo_condition" in errors and "Unknown field" in errors
    assert page.locator("#publish").count() == 0
    shot(page, "rules-error")

    # fixed, simulated side by side, then published with a reason
    del document["rules"][0]["when"]["typo_condition"]
    document["rules"][0]["then"]["break_minutes"] = 8
    open_json(page)
    page.fill("#document", json.dumps(document, indent=2))
    page.click("#simulate")
    page.wait_for_selector("#simulation")
    assert "Proposed" in page.text_content("#simulation") and "Active" in page.text_content("#simulation")
    shot(page, "rules-simulated")
    page.fill("#reason", "eight minutes after abuse")
    page.click("#publish")
    page.wait_for_url("**/dashboard/rules/history**")
    assert "Published version 1" in page.text_content(".flash")
    assert "eight minutes after abuse" in page.text_content("#version-1")

    # a second version, then roll back to the first
    page.goto(f"{server}/dashboard/rules?team=billing-emea")
    document = json.loads(page.input_value("#document"))
    document["rules"][0]["then"]["break_minutes"] = 12
    open_json(page)
    page.fill("#document", json.dumps(document, indent=2))
    page.click("#simulate")
    page.wait_for_selector("#publish")
    page.fill("#reason", "twelve minutes")
    page.click("#publish")
    page.wait_for_selector("#version-2")
    assert '"break_minutes": 12' in page.text_content("#version-2 pre.diff")
    page.click("button.rollback[data-version='1']")
    page.wait_for_selector("#version-3")
    assert "Rolled back to version 1" in page.text_content(".flash")
    assert "rollback to version 1" in page.text_content("#version-3")
    shot(page, "history")
    page.goto(f"{server}/dashboard/rules?team=billing-emea")
    assert json.loads(page.input_value("#document"))["rules"][0]["then"]["break_minutes"] == 8

    # outcomes with charts and definitions
    page.click("nav >> text=Outcomes")
    page.wait_for_selector("#repeat-contacts svg.chart")
    assert page.locator("svg.chart").count() >= 4
    assert "customer confirming it resolved" in page.text_content("#resolution")
    shot(page, "outcomes")

    page.click("nav >> text=Follow-up inbox")
    page.wait_for_selector("#reopened")
    page.click("text=Sign out")
    page.wait_for_url("**/dashboard/sign-in")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
