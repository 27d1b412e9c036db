"""The rule editor in Debian's headless Chromium: a manager edits rules through the form (never typing JSON), reads
each rule as a sentence, simulates, publishes and finds the change as a sentence in the history. Once with the
editor's script, once with JavaScript switched off (every button a plain form post).
"""
from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PASSWORD, requires_chromium, shot

pytestmark = requires_chromium


def sign_in(page, server: str, path: str) -> None:
    page.goto(f"{server}{path}")
    page.fill("#username", "dana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")


def test_edit_a_rule_through_the_form_simulate_publish_and_read_the_history(server, seeded, browser_page):
    page, problems = browser_page
    sign_in(page, server, "/dashboard/rules?team=billing-emea")
    assert page.text_content("#rule-0-sentence") == ("After an interaction with abusive language, a 5-minute break "
                                                     "once the current interaction ends")
    assert page.locator("#document").is_hidden()  # the JSON is the advanced view, folded away

    # a value out of range: the error sits on its field and is announced
    page.fill("#rules-0-then-break_minutes", "500")
    page.press("#rules-0-then-break_minutes", "Enter")  # Enter in a field simulates (not "Move rule 1 up")
    page.wait_for_selector("#rule-errors")
    field = page.locator("#rules-0-then-break_minutes")
    assert field.get_attribute("aria-invalid") == "true"
    assert "rules-0-then-break_minutes-error" in field.get_attribute("aria-describedby")
    assert "120" in page.text_content("#rules-0-then-break_minutes-error")
    assert page.get_attribute("#rule-errors", "role") == "alert"
    assert page.get_attribute("#rule-errors a", "href") == "#rules-0-then-break_minutes"
    assert page.locator("#publish").count() == 0
    shot(page, "editor-error")

    # fixed in the form: the sentence and the JSON view follow while typing
    page.fill("#rules-0-then-break_minutes", "8")
    page.wait_for_function("() => document.getElementById('rule-0-sentence').textContent.includes('8-minute')")
    assert page.text_content("#rule-0-sentence") == ("After an interaction with abusive language, an 8-minute break "
                                                     "once the current interaction ends")
    page.wait_for_function("() => JSON.parse(document.getElementById('document').value)"
                           ".rules[0].then.break_minutes === 8")

    # a new rule with a condition from the picker, moved up to second place
    page.click("#add-rule")
    page.wait_for_selector("#rules-3-name")
    assert page.evaluate("document.activeElement.id") == "rules-3-name"
    page.fill("#rules-3-name", "very negative")
    page.select_option("#rules-3-when-add", "rules.3.when.sentiment_at_most")
    page.click("#rules-3-when .condition-picker button")
    page.fill("#rules-3-when-sentiment_at_most", "-0.8")
    page.fill("#rules-3-then-break_minutes", "6")
    page.select_option("#rules-3-then-start", "now")
    page.wait_for_function("() => document.getElementById('rule-3-sentence').textContent.includes('straight away')")
    page.click("#rule-3-up")
    page.wait_for_selector("#rule-2-sentence")
    assert page.input_value("#rules-2-name") == "very negative"
    assert page.text_content("#rule-2-sentence") == ("When the customer's sentiment is at most −0.8, a 6-minute break "
                                                     "straight away")
    assert page.input_value("#rules-3-name") == "three rough in a row"

    # simulate: measures in plain words, charts or a note saying why not
    page.click("#simulate")
    page.wait_for_selector("#simulation")
    summary = page.text_content("#simulation-summary")
    assert "Breaks the rules asked for" in summary and "outcomes." not in summary and "_" not in summary
    assert page.locator("#simulation svg.chart").count() + page.locator("#simulation .chart-note").count() >= 2
    shot(page, "editor-simulated")
    page.fill("#reason", "eight minutes after abuse")
    page.click("#publish")
    page.wait_for_url("**/dashboard/rules/history**")
    changes = page.text_content("#version-1-changes")
    assert "after abuse: break 5 → 8 minutes" in changes
    assert "new rule “very negative”: When the customer's sentiment is at most −0.8" in changes
    assert page.locator("#version-1 pre.diff").is_hidden()  # the JSON diff waits behind its toggle
    page.click("#version-1 details summary")
    assert page.locator("#version-1 pre.diff").is_visible()
    shot(page, "editor-history")

    # the published set comes back into the form
    page.goto(f"{server}/dashboard/rules?team=billing-emea")
    assert page.input_value("#rules-0-then-break_minutes") == "8"
    assert json.loads(page.input_value("#document"))["rules"][2]["name"] == "very negative"
    assert not [p for p in problems if "Failed to load resource" not in p], problems  # the 422 page, the favicon


@pytest.fixture
def no_js_page():
    """A page in a context with JavaScript switched off: the editor must work as plain forms."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def test_the_editor_works_without_javascript(server, seeded, no_js_page):
    page = no_js_page
    sign_in(page, server, "/dashboard/rules")
    assert page.locator(".condition-picker").count() == 0  # no script: every condition's input is shown
    page.click("#rule-2-remove")
    assert page.locator("#rule-2").count() == 0 and page.input_value("input[name=rule_count]") == "2"
    page.click("#add-rule")
    page.fill("#rules-2-name", "rattled")
    page.fill("#rules-2-when-consecutive_negative_at_least", "2")
    page.fill("#rules-2-then-break_minutes", "11")
    page.click("#rule-2-up")
    assert page.input_value("#rules-1-name") == "rattled"
    assert page.text_content("#rule-1-sentence") == ("After 2 rough interactions in a row, an 11-minute break once "
                                                     "the current interaction ends")
    page.uncheck("#guards-service_level-on")
    page.fill("#guards-max_breaks_per_shift", "5")
    page.click("#simulate")
    page.wait_for_selector("#simulation")
    assert json.loads(page.input_value("#document"))["guards"]["service_level"] is None  # the JSON view followed
    page.fill("#reason", "two rough calls are enough")
    page.click("#publish")
    page.wait_for_url("**/dashboard/rules/history**")
    changes = page.text_content("#version-1-changes")
    assert "new rule “rattled”" in changes and "removed rule “three rough in a row”" in changes
    assert "service-level guard turned off" in changes and "breaks per shift 6 → 5" in changes
