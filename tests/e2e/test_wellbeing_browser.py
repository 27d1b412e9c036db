"""Issue 17 in Debian's headless Chromium: an agent's "that one rattled me" appears on the team load page as a
prompt (live, without a reload) until the manager marks it seen; an agent over threshold shows why there is no
break; the agent page shows the timeline and its text alternative. Screenshots land in test-artifacts/."""
from __future__ import annotations

from aftercare.auth import create_api_key
from tests.e2e.conftest import PASSWORD, requires_chromium, shot
from tests.support.factories import interaction_event

pytestmark = requires_chromium


def test_manager_sees_the_rattled_prompt_and_why_no_break(app, server, seeded, browser_page, post_event, client):
    page, problems = browser_page
    # Tom (ag_2) takes a second abusive call: over his threshold, and his "after abuse" break is held back.
    post_event(interaction_event(**{"interaction.case_id": "case_79", "customer.id": "cus_7",
                                    "customer.phone": "+447700900789", "agent.id": "ag_2", "agent.name": "Tom Becker",
                                    "interaction.signals": ["abusive_language"],
                                    "interaction.customer_sentiment": -0.9}))
    page.goto(f"{server}/dashboard/")
    page.fill("#username", "dana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/load")
    assert page.locator("#rattled").count() == 0
    tom = page.locator("#team-load tbody tr", has_text="Tom Becker")
    status = tom.locator("td.break-status").text_content()
    assert status.startswith("deferred: predicted service level 0.") and "< 0.80 until" in status, status
    maria = page.locator("#team-load tbody tr", has_text="Maria Lopez")
    assert maria.locator("td.break-status").text_content().strip() == ""

    # Maria's softphone says the last call rattled her: the prompt arrives with the next live refresh.
    with app.extensions["aftercare"].db.session() as session:
        key = create_api_key(session=session, name="softphone ag_1", scopes=["agent"], agent_id="ag_1")
        session.commit()
    resp = client.post("/api/v1/agents/ag_1/rattled", json={"note": "he said he knows where I live"},
                       headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 201, resp.get_json()
    page.wait_for_selector("#rattled li.prompt")
    prompt = page.text_content("#rattled")
    assert "Maria Lopez" in prompt and "he said he knows where I live" in prompt
    shot(page, "load-rattled")

    page.click("#rattled button.seen")
    page.wait_for_url("**/dashboard/load**")
    assert "Marked seen" in page.text_content(".flash")
    assert page.locator("#rattled").count() == 0

    # Tom's page: the timeline with its decisions, and the same events as text.
    page.click("#team-load >> text=Tom Becker")
    page.wait_for_selector("#timeline svg.chart")
    assert page.locator("#timeline svg .marker-decision").count() >= 1
    assert "decision deferred" in page.text_content("#timeline-text")
    shot(page, "agent-timeline")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
