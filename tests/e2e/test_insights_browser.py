"""Close the loop in Debian's headless Chromium (SPEC §12): "Why customers come back", known problems (declare,
resolve and tell), and the outcomes page's close-the-loop figures. Screenshots land in test-artifacts/."""
from __future__ import annotations

import pytest

from followup.dispatch import dispatch_due
from tests.e2e.conftest import PASSWORD, requires_chromium, shot
from tests.support.factories import interaction_event, make_key

pytestmark = requires_chromium


@pytest.fixture
def story(app, seeded, post_event, clock):
    """case_77's customer answered their check-in "still broken" (a reopen); a third, routine double-charge case
    (no check-in of its own) can be told of a fix."""
    rt, client = app.extensions["aftercare"], app.test_client()
    headers = {"Authorization": f"Bearer {make_key(app, 'manager')}"}
    checkin = client.get("/api/v1/checkins?case_id=case_77", headers=headers).get_json()["items"][0]
    client.post(f"/api/v1/checkins/{checkin['id']}/send-now", headers=headers)
    dispatch_due(rt.db, rt.services["channels"], now=clock.now, worker="e2e")
    reply = client.post(f"/api/v1/checkins/{checkin['id']}/simulate-reply", headers=headers,
                        json={"text": "Still charged twice. My number is 07700 900123"}).get_json()
    assert reply["action"].startswith("reopened"), reply
    post_event(interaction_event(**{"interaction.case_id": "case_79", "customer.id": "cus_7",
                                    "customer.phone": "+447700900789", "interaction.started_at": None,
                                    "interaction.ended_at": "2026-11-25T11:00:00Z",
                                    "interaction.resolution": "resolved", "interaction.customer_sentiment": 0.3,
                                    "interaction.signals": [], "interaction.escalated_from_bot": False,
                                    "interaction.repeat_contact_count": 0}))


def _sign_in(page, server):
    page.goto(f"{server}/dashboard/insights")
    page.fill("#username", "dana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/insights")


def test_manager_sees_why_customers_come_back_declares_a_problem_and_tells_everyone_of_the_fix(
        server, story, browser_page, clock):
    page, problems = browser_page
    _sign_in(page, server)

    # why customers come back: the reopen counted by reason, its example masked
    assert page.text_content("#reopen-count") == "1"
    row = page.locator('#reasons tr[data-reason="still_broken"]')
    assert "Still broken" in row.text_content() and "***** ****23" in row.text_content()
    assert "07700 900123" not in page.content()
    page.wait_for_selector("#reasons svg.chart rect.bar")
    assert page.locator('#by-team tr[data-team="billing-emea"]').count() == 1
    shot(page, "insights")
    page.fill("#from", "2026-12-01")
    page.fill("#to", "2026-11-01")
    page.click("form.picker button[type=submit]")
    assert "Must be before" in page.text_content('#insight-errors li[data-field="from"]')

    # known problems: a refusal named inline, then declared
    page.click("nav >> text=Known problems")
    page.wait_for_url("**/dashboard/problems")
    page.fill("#title", "Card gateway charged twice")
    page.fill("#p_from", "2026-11-20")
    page.click("#declare-problem")
    assert "category" in page.text_content("#problem-errors")
    page.fill("#category", "double_charge")
    page.click("#declare-problem")
    page.wait_for_url("**/dashboard/problems/prb_*")
    assert page.text_content("#affected") == "3" and page.text_content("#problem-state") == "open"
    detail_url = page.url
    page.goto(f"{server}/dashboard/problems")
    row = page.locator("#open-problems tr[data-problem]")
    assert row.count() == 1 and "Card gateway charged twice" in row.text_content()
    shot(page, "problems")

    # fixed: resolve and tell; who was told, who waits, who was not told and why
    page.goto(detail_url)
    page.fill("#message", "Any extra charge was refunded to your card.")
    page.click("#resolve-problem")
    page.wait_for_selector(".flash")
    assert page.text_content("#problem-state") == "resolved"
    statuses = {r.get_attribute("data-code") or r.get_attribute("data-status")
                for r in page.locator("#notices tr[data-status]").all()}
    assert statuses == {"pending", "case_reopened", "capped"}
    shot(page, "problem")

    # the outcomes page's two new figures
    clock.advance(minutes=1)
    page.click("nav >> text=Outcomes")
    page.wait_for_selector("#close-the-loop")
    assert page.text_content("#close-the-loop-rate") == "0%"  # the one notice waits for the dispatcher
    assert "0/3 affected customers told" in page.text_content("#close-the-loop")
    # only the refusals the test asked for (422) and the browser's own favicon request (404)
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p or "500" in p
                or not p.startswith("Failed to load resource")], problems
