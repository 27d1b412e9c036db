"""Commitments (SPEC §4.2): remind the agent before due; escalate to the team when the case was not updated."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

import followup.commitments as commitments
from followup.commitment_models import Commitment
from followup.commitments import process_commitments
from tests.support.factories import interaction_event

PROMISE = "I will update you by 3 pm"
DUE = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)


def promised(case_id: str = "case_77", **changes) -> dict:
    return interaction_event(**{"interaction.case_id": case_id,
                                "interaction.commitment": {"text": PROMISE, "due_at": "2026-11-25T15:00:00Z"},
                                **changes})


def case_updated(case_id: str = "case_77") -> dict:
    return {"event_id": f"evt_upd_{case_id}", "type": "case.updated", "occurred_at": "2026-11-25T14:45:00Z",
            "case": {"id": case_id}}


def stored(rt, case_id: str = "case_77") -> Commitment:
    with rt.db.session() as session:
        row = session.scalars(select(Commitment).where(Commitment.case_id == case_id)).one()
        session.expunge(row)
        return row


def items(client, headers, kind: str) -> list[dict]:
    return [i for i in client.get("/api/v1/routing/queue", headers=headers).get_json()["items"] if i["kind"] == kind]


def tick(rt, clock):
    return process_commitments(rt.db, now=clock.now)


def test_commitment_is_recorded_with_its_reminder_time(post_event, rt, clock):
    event = promised()
    assert post_event(event).status_code == 202
    row = stored(rt)
    assert (row.text, row.due_at, row.state) == (PROMISE, DUE, "pending")
    assert row.remind_at == datetime(2026, 11, 25, 14, 30, tzinfo=timezone.utc)
    assert (row.agent_id, row.team, row.interaction_id) == ("ag_1", "billing-emea", event["interaction"]["id"])


def test_no_commitment_no_row(post_event, rt):
    post_event(interaction_event())
    with rt.db.session() as session:
        assert session.scalars(select(Commitment)).all() == []


def test_reminder_fires_at_remind_at_for_the_agent_and_only_once(post_event, rt, clock, client, read_headers):
    post_event(promised())
    assert tick(rt, clock).reminded == 0
    clock.now = datetime(2026, 11, 25, 14, 29, 59, tzinfo=timezone.utc)
    assert tick(rt, clock).reminded == 0
    clock.advance(seconds=1)
    assert tick(rt, clock).reminded == 1
    [reminder] = items(client, read_headers, "commitment_reminder")
    assert reminder["preferred_agent_id"] == "ag_1" and reminder["case_id"] == "case_77"
    assert PROMISE in reminder["title"] and "15:00 UTC" in reminder["title"]
    row = stored(rt)
    assert (row.state, row.reminded_at, row.reminder_item_id) == ("reminded", clock.now, reminder["id"])

    assert tick(rt, clock).reminded == 0
    clock.advance(minutes=15)
    assert tick(rt, clock).reminded == 0
    assert len(items(client, read_headers, "commitment_reminder")) == 1


def test_case_updated_before_due_keeps_it_and_nothing_escalates(post_event, rt, clock, client, read_headers):
    post_event(promised())
    clock.advance(minutes=25)
    tick(rt, clock)
    clock.advance(minutes=10)
    assert post_event(case_updated()).status_code == 202
    row = stored(rt)
    assert (row.state, row.kept_at) == ("kept", clock.now)
    clock.now = datetime(2026, 11, 25, 15, 30, tzinfo=timezone.utc)
    assert tick(rt, clock).escalated == 0
    assert items(client, read_headers, "escalation") == []


def test_missed_commitment_escalates_to_the_team_lead_once(post_event, rt, clock, client, read_headers):
    post_event(promised())
    clock.now = datetime(2026, 11, 25, 14, 30, tzinfo=timezone.utc)
    assert tick(rt, clock).reminded == 1
    clock.now = DUE
    assert tick(rt, clock).escalated == 0, "it is missed only after due_at"
    clock.advance(seconds=1)
    report = tick(rt, clock)
    assert (report.escalated, report.reminded) == (1, 0)
    [escalation] = items(client, read_headers, "escalation")
    assert escalation["team"] == "billing-emea" and escalation["preferred_agent_id"] is None
    assert escalation["title"].startswith("Missed commitment on case case_77") and PROMISE in escalation["title"]
    assert escalation["details"]["reason"].startswith("commitment missed: Maria Lopez promised")
    assert escalation["details"]["escalate_to"] == "team_lead"
    row = stored(rt)
    assert (row.state, row.escalated_at, row.escalation_item_id) == ("escalated", clock.now, escalation["id"])
    assert row.state_reason == escalation["details"]["reason"]

    clock.advance(minutes=10)
    assert tick(rt, clock).escalated == 0
    assert post_event(case_updated()).status_code == 202
    assert stored(rt).state == "escalated", "a late update does not undo the miss"


def test_overdue_before_any_tick_escalates_without_a_reminder(post_event, rt, clock, client, read_headers):
    post_event(promised())
    clock.now = datetime(2026, 11, 25, 16, 0, tzinfo=timezone.utc)
    report = tick(rt, clock)
    assert (report.escalated, report.reminded) == (1, 0)
    assert items(client, read_headers, "commitment_reminder") == []


def test_update_on_another_case_keeps_nothing(post_event, rt, clock):
    post_event(promised())
    post_event(case_updated("case_other"))
    assert stored(rt).state == "pending"


def test_one_bad_commitment_is_skipped_and_retried_next_tick(post_event, rt, clock, monkeypatch):
    post_event(promised("case_a", **{"customer.id": "cus_a"}))
    post_event(promised("case_b", **{"customer.id": "cus_b"}))
    real = commitments.wellbeing.enqueue_case_item

    def broken_for_case_a(session, **kwargs):
        if kwargs["case_id"] == "case_a":
            raise RuntimeError("routing queue refused it")
        return real(session, **kwargs)

    monkeypatch.setattr(commitments.wellbeing, "enqueue_case_item", broken_for_case_a)
    clock.now = datetime(2026, 11, 25, 14, 30, tzinfo=timezone.utc)
    report = tick(rt, clock)
    assert report.reminded == 1 and len(report.errors) == 1 and report.errors[0].startswith("cmt_")
    assert (stored(rt, "case_a").state, stored(rt, "case_b").state) == ("pending", "reminded")
    monkeypatch.undo()
    assert tick(rt, clock).reminded == 1
    assert stored(rt, "case_a").state == "reminded"


def test_reminder_lead_comes_from_settings(overrides, request):
    overrides.setdefault("followup", {})["commitment_reminder_minutes"] = 10
    rt, post_event = request.getfixturevalue("rt"), request.getfixturevalue("post_event")
    post_event(promised())
    assert stored(rt).remind_at == datetime(2026, 11, 25, 14, 50, tzinfo=timezone.utc)


def test_due_times_at_the_ends_of_the_accepted_range_never_fail_the_webhook_or_the_tick(post_event, rt, clock):
    for n, due in enumerate(("1970-01-01T00:00:00Z", "2999-12-31T23:59:59Z")):
        event = promised(f"case_x{n}", **{"customer.id": f"cus_x{n}",
                                          "interaction.commitment": {"text": PROMISE, "due_at": due}})
        assert post_event(event).status_code == 202
    report = tick(rt, clock)
    assert (report.escalated, report.reminded, report.errors) == (1, 0, [])


def test_due_times_beyond_the_accepted_range_are_refused(post_event, rt):
    for due in ("0001-01-01T00:10:00Z", "9999-12-31T23:59:59Z"):
        resp = post_event(promised("case_far", **{"interaction.commitment": {"text": PROMISE, "due_at": due}}))
        assert resp.status_code == 422
        assert [e["field"] for e in resp.get_json()["errors"]] == ["interaction.commitment.due_at"]
    with rt.db.session() as session:
        assert session.scalars(select(Commitment)).first() is None
