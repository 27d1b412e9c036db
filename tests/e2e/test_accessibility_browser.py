"""Accessibility of the dashboard in Debian's headless Chromium, with demo data and a signed-in manager.

axe-core (bundled by axe-playwright-python: nothing is downloaded) runs on every dashboard page: the pages are
found from the app's own routes and the navigation, so a page added later is checked without touching this file.
0 serious or critical violations are allowed. A keyboard-only pass (Tab, Enter and Space; no mouse) signs in,
edits a rule, simulates and publishes. The per-page results are written to test-artifacts/axe-results.md.
"""
from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e.conftest import ARTIFACTS, PASSWORD, requires_chromium

pytestmark = requires_chromium

BLOCKING = {"serious", "critical"}
IMPACTS = ("critical", "serious", "moderate", "minor")


@pytest.fixture
def demo(app, clock, seeded):
    """Two days of the `demo` command's history (fixed seed) on top of the seeded manager and interactions."""
    from aftercare.demo_history import seed_history

    return seed_history(app, days=2, seed=2026, say=lambda *_: None, now=clock.now)


def run_axe(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    return Axe().run(page).response["violations"]


def page_routes(app) -> list[str]:
    """Every dashboard page reachable with a plain GET and no arguments, from the app's URL map (downloads such as
    outcomes.csv left out)."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("dashboard.") and "GET" in rule.methods and not rule.arguments \
                and rule.endpoint not in ("dashboard.static", "dashboard.sign_in", "dashboard.home") \
                and "." not in rule.rule.rsplit("/", 1)[-1]:
            out.append(rule.rule)
    return sorted(out)


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, Counter, list[str]]] = []
        self.serious: list[str] = []

    def check(self, page, name: str) -> None:
        page.wait_for_load_state("load")
        if not page.evaluate("() => !!document.querySelector('html > head > title')"):
            return  # a fragment fetched by a page's script (e.g. the live load table), checked inside its page
        violations = run_axe(page)
        impacts = Counter(v.get("impact") or "minor" for v in violations)
        self.rows.append((name, impacts, [f"{v['id']} ({v.get('impact')}, {len(v['nodes'])} nodes)"
                                          for v in violations]))
        self.serious.extend(f"{name}: {v['id']} ({v.get('impact')}): {v.get('help')}; "
                            f"{[n.get('target') for n in v['nodes'][:3]]}"
                            for v in violations if v.get("impact") in BLOCKING)

    def blocking(self) -> list[str]:
        return self.serious

    def write(self) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        lines = ["| page | " + " | ".join(IMPACTS) + " | rules |", "|---|" + "---|" * (len(IMPACTS) + 1)]
        for name, impacts, details in self.rows:
            lines.append(f"| {name} | " + " | ".join(str(impacts.get(level, 0)) for level in IMPACTS)
                         + f" | {', '.join(details) or '–'} |")
        (ARTIFACTS / "axe-results.md").write_text("\n".join(lines) + "\n")


def sign_in(page, server: str) -> None:
    page.fill("#username", "dana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/load**")


def test_axe_finds_no_serious_or_critical_violation_on_any_dashboard_page(app, server, demo, browser_page, client,
                                                                         manager_headers):
    page, _ = browser_page
    rattled = client.post("/api/v1/agents/ag_1/rattled", json={"note": "he said he knows where I live"},
                          headers=manager_headers)
    assert rattled.status_code == 201, rattled.get_json()
    report = Report()
    page.goto(f"{server}/dashboard/sign-in")
    report.check(page, "sign in")
    sign_in(page, server)
    nav = page.eval_on_selector_all("header nav a", "links => links.map(a => a.getAttribute('href'))")
    assert len(nav) >= 6
    for path in dict.fromkeys([*nav, *page_routes(app)]):
        page.goto(server + path)
        report.check(page, path)

    # the states a page only reaches by use
    page.goto(f"{server}/dashboard/load?team=billing-emea")
    assert page.locator("#rattled").count() == 1  # the manager's prompt is part of what axe checks
    report.check(page, "/dashboard/load?team=billing-emea (rattled prompt)")
    page.click("#team-load tbody a")
    page.wait_for_url("**/dashboard/agents/**")
    report.check(page, "/dashboard/agents/<id>")
    page.goto(f"{server}/dashboard/rules?team=billing-emea")
    page.fill("#rules-0-then-break_minutes", "oops")
    page.click("#simulate")
    page.wait_for_selector("#rule-errors")
    report.check(page, "/dashboard/rules (errors)")
    page.fill("#rules-0-then-break_minutes", "8")
    page.click("#advanced summary")
    page.click("#simulate")
    page.wait_for_selector("#simulation")
    report.check(page, "/dashboard/rules (simulated)")
    page.fill("#reason", "axe run")
    page.click("#publish")
    page.wait_for_url("**/dashboard/rules/history**")
    page.click("article.version details summary")
    report.check(page, "/dashboard/rules/history (diff open)")
    page.goto(f"{server}/dashboard/problems")
    page.click("tr[data-problem] a")
    page.wait_for_url("**/dashboard/problems/**")
    report.check(page, "/dashboard/problems/<id>")
    page.goto(f"{server}/dashboard/outcomes?from=not-a-date")
    report.check(page, "/dashboard/outcomes (errors)")
    page.goto(f"{server}/dashboard/agents/nobody")
    report.check(page, "/dashboard/agents/nobody (not found)")

    report.write()
    checked = [name for name, _, _ in report.rows]
    assert {"/dashboard/load", "/dashboard/rules", "/dashboard/rules/history", "/dashboard/outcomes"} <= set(checked)
    assert not report.blocking(), report.blocking()


def tab_to(page, selector: str, limit: int = 250) -> None:
    """Press Tab until the element is focused (the way a keyboard user gets there)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_keyboard_only_sign_in_edit_simulate_publish(server, seeded, browser_page):
    page, _ = browser_page
    page.goto(f"{server}/dashboard/rules?team=billing-emea")
    tab_to(page, "#username")
    page.keyboard.type("dana")
    tab_to(page, "#password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/rules?team=billing-emea")

    # change the first rule's break length
    tab_to(page, "#rules-0-then-break_minutes")
    page.keyboard.press("Control+A")
    page.keyboard.type("8")
    # add a rule; focus lands on its name; its condition comes from the picker with Tab and Enter
    tab_to(page, "#add-rule")
    page.keyboard.press("Space")
    page.wait_for_selector("#rules-3-name")
    assert page.evaluate("() => document.activeElement.id") == "rules-3-name"
    page.keyboard.press("Control+A")
    page.keyboard.type("churn threats")
    tab_to(page, "#rules-3-when .condition-picker button")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "rules-3-when-signals_any"
    page.keyboard.type("threatened_churn")
    page.wait_for_function("() => document.getElementById('rule-3-sentence').textContent.includes('threat')")
    assert page.text_content("#rule-3-sentence") == ("After an interaction with a threat to leave, a 5-minute break "
                                                     "once the current interaction ends")

    tab_to(page, "#simulate")
    page.keyboard.press("Enter")
    page.wait_for_selector("#simulation")
    tab_to(page, "#reason")
    page.keyboard.type("keyboard only")
    tab_to(page, "#publish")
    page.keyboard.press("Space")
    page.wait_for_url("**/dashboard/rules/history**")
    changes = page.text_content("#version-1-changes")
    assert "after abuse: break 5 → 8 minutes" in changes and "new rule “churn threats”" in changes
    tab_to(page, "#version-1 details summary")
    page.keyboard.press("Enter")
    assert page.locator("#version-1 pre.diff").is_visible()
