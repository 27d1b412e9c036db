"""Data retention: closed cases past retention.days lose message bodies and contact details; ids, states and
numbers stay; live or recent cases are untouched; a second run changes nothing; --dry-run only counts."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from aftercare.retention import purge
from followup.crm.models import CrmDelivery
from followup.models import Case, CheckIn, Customer, Interaction, OptOut, Reply
from followup.retention import REDACTED
from tests.support.factories import interaction_event
from tests.support.reopen import deliver, reopen_via_reply, reply, sent_checkin
from wellbeing.models import QueueItem

DAYS = 365


def case_update(post_event, case_id: str, status: str = "solved"):
    resp = post_event({"event_id": f"evt_upd_{case_id}_{status}", "type": "case.updated",
                       "occurred_at": "2026-11-25T15:00:00Z", "case": {"id": case_id, "status": status}})
    assert resp.status_code == 202, resp.get_json()


@pytest.fixture
def history(client, post_event, rt, clock, manager_headers):
    """Three cases for three customers: reopened-then-solved (old), loop closed by the customer (old), and a
    recent one; plus a fourth customer whose old case is closed but who has a newer live case."""
    reopen_via_reply(client, post_event, rt, clock, manager_headers, **{"interaction.case_id": "case_old"})
    deliver(rt, clock)
    case_update(post_event, "case_old")
    resolved = sent_checkin(client, post_event, rt, clock, manager_headers, **{
        "interaction.case_id": "case_loop", "customer.id": "cus_loop", "customer.phone": "+447700900222",
        "customer.email": "lou@example.com", "customer.name": "Lou Loop"})
    assert reply(client, resolved, manager_headers, "Thanks, all sorted now!")["verdict"]["intent"] == "resolved"
    post_event(interaction_event(**{"interaction.case_id": "case_both_old", "customer.id": "cus_both",
                                    "customer.phone": "+447700900333", "customer.email": "bo@example.com",
                                    "interaction.resolution": "resolved", "interaction.customer_sentiment": 0.5,
                                    "interaction.signals": [], "interaction.escalated_from_bot": False,
                                    "interaction.repeat_contact_count": 0}))
    clock.advance(days=DAYS + 10)
    post_event(interaction_event(**{"interaction.case_id": "case_recent", "customer.id": "cus_recent",
                                    "customer.phone": "+447700900444", "customer.email": "rae@example.com",
                                    "occurred_at": clock.now.isoformat()}))
    post_event(interaction_event(**{"interaction.case_id": "case_both_new", "customer.id": "cus_both",
                                    "customer.phone": "+447700900333", "customer.email": "bo@example.com"}))
    return clock.now


def snapshot(rt) -> dict:
    with rt.db.session() as session:
        return {
            "cases": {c.id: (c.state, c.customer_id, c.reopen_reason, c.closed_at, c.loop_closed_at)
                      for c in session.scalars(select(Case))},
            "checkins": {c.id: (c.case_id, c.state, c.body, c.subject, c.address, c.due_at, c.sent_at)
                         for c in session.scalars(select(CheckIn))},
            "replies": {r.id: (r.case_id, r.intent, r.confidence, r.text, r.from_address)
                        for r in session.scalars(select(Reply))},
            "customers": {c.id: (c.name, c.phone, c.email, c.timezone) for c in session.scalars(select(Customer))},
            "interactions": {i.id: (i.case_id, i.triage_decision, i.customer_sentiment, i.commitment_text)
                             for i in session.scalars(select(Interaction))},
            "crm": {d.id: (d.state, json.dumps(d.payload, sort_keys=True))
                    for d in session.scalars(select(CrmDelivery))},
            "queue": {q.id: (q.state, q.title, json.dumps(q.details, sort_keys=True))
                      for q in session.scalars(select(QueueItem))},
            "opt_outs": session.scalar(select(func.count()).select_from(OptOut)),
        }


def test_purges_old_closed_cases_and_keeps_ids_states_and_numbers(rt, history):
    before = snapshot(rt)
    report = purge(rt.db, now=history, days=DAYS)
    after = snapshot(rt)
    assert report.cases == 2 and report.customers == 2, report  # case_both_old had nothing to purge
    # the same rows, the same states, the same numbers
    for table in ("cases", "checkins", "replies", "customers", "interactions", "crm", "queue"):
        assert set(after[table]) == set(before[table]), table
    assert {k: v[0:2] for k, v in after["cases"].items()} == {k: v[0:2] for k, v in before["cases"].items()}
    assert {k: v[0:3] for k, v in after["replies"].items()} == {k: v[0:3] for k, v in before["replies"].items()}
    for case_id, (_, _, reason, *_rest) in after["cases"].items():
        if case_id == "case_old":
            assert reason == REDACTED
    old_cases = {"case_old", "case_loop", "case_both_old"}
    for checkin in after["checkins"].values():
        case_id, _, body, subject, address, *_ = checkin
        if case_id in old_cases:
            assert (body, subject, address) == (REDACTED, None, REDACTED)
        else:
            assert body != REDACTED and address.startswith("+44")
    for reply_row in after["replies"].values():
        assert reply_row[3:] == (REDACTED, None)
    assert after["customers"]["cus_5"][:3] == (None, None, None)
    assert after["customers"]["cus_loop"][:3] == (None, None, None)
    assert after["customers"]["cus_5"][3] == "Europe/London"
    assert after["customers"]["cus_both"][1:3] == ("+447700900333", "bo@example.com"), "has a live case"
    assert after["customers"]["cus_recent"][1] == "+447700900444"
    assert all("still broken" not in payload for _, payload in after["crm"].values())
    assert all("still broken" not in details for _, _, details in after["queue"].values())
    assert after["opt_outs"] == before["opt_outs"]


def test_second_run_changes_nothing(rt, history):
    first = purge(rt.db, now=history, days=DAYS)
    assert first.rows > 0
    middle = snapshot(rt)
    again = purge(rt.db, now=history, days=DAYS)
    assert again.rows == 0 and again.cases == 0, again
    assert snapshot(rt) == middle


def test_dry_run_counts_exactly_what_a_real_run_does_and_writes_nothing(rt, history):
    before = snapshot(rt)
    dry = purge(rt.db, now=history, days=DAYS, dry_run=True)
    assert snapshot(rt) == before
    real = purge(rt.db, now=history, days=DAYS)
    assert {**dry.as_dict(), "dry_run": None} == {**real.as_dict(), "dry_run": None}


def test_small_batches_purge_the_same(rt, history):
    assert purge(rt.db, now=history, days=DAYS, batch_size=1).cases == 2
    assert purge(rt.db, now=history, days=DAYS).rows == 0


def test_nothing_is_old_enough_yet(rt, history):
    assert purge(rt.db, now=history, days=DAYS + 30).rows == 0


def test_a_case_with_a_check_in_still_to_send_is_kept(rt, post_event, clock):
    post_event(interaction_event(**{"interaction.case_id": "case_pending"}))
    clock.advance(days=DAYS + 1)
    report = purge(rt.db, now=clock.now, days=DAYS)
    assert report.rows == 0
    with rt.db.session() as session:
        assert session.get(Customer, "cus_5").phone == "+447700900123"


def test_days_must_be_positive(rt, clock):
    with pytest.raises(ValueError):
        purge(rt.db, now=clock.now, days=0)


def test_cli_dry_run_then_purge(app, rt, history):
    runner = app.test_cli_runner()
    rt.clock = lambda: history
    dry = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run: would purge 2 closed case(s)" in dry.output and "checkins: 2" in dry.output
    assert purge(rt.db, now=history, days=DAYS, dry_run=True).cases == 2, "dry run wrote nothing"
    done = runner.invoke(args=["retention", "purge", "--days", str(DAYS)])
    assert done.exit_code == 0 and "purged 2 closed case(s)" in done.output, done.output
    again = runner.invoke(args=["retention", "purge"])
    assert "purged 0 closed case(s)" in again.output
    assert runner.invoke(args=["retention", "purge", "--days", "0"]).exit_code != 0


def test_purged_case_still_reads_through_the_api(client, rt, history, read_headers):
    purge(rt.db, now=history, days=DAYS)
    case = client.get("/api/v1/cases/case_old", headers=read_headers)
    assert case.status_code == 200
    body = case.get_json()
    assert body["state"] == "closed" and body["replies"][0]["text"] == REDACTED
    assert body["checkins"][0]["address"] == REDACTED and body["interactions"][0]["triage_decision"]


def test_whatsapp_template_fields_and_profiles_of_long_silent_addresses_go(client, post_event, rt, clock,
                                                                           manager_headers):
    from followup.models import ChannelContact

    on_whatsapp = {"interaction.channel": "whatsapp", "customer.consent": {"whatsapp": True}}
    checkin_id = sent_checkin(client, post_event, rt, clock, manager_headers, **on_whatsapp)
    case_update(post_event, "case_77", "closed")
    with rt.db.session() as session:
        assert session.get(CheckIn, checkin_id).template_fields["customer_first_name"] == "Sam"
        session.add(ChannelContact(address="whatsapp:+447700900123", channel="whatsapp", profile_name="Sam Carter",
                                   last_inbound_at=clock.now))
        session.commit()
    clock.advance(days=DAYS + 10)
    with rt.db.session() as session:
        session.add(ChannelContact(address="whatsapp:+447700900999", channel="whatsapp", profile_name="Recent",
                                   last_inbound_at=clock.now))
        session.commit()
    assert purge(rt.db, now=clock.now, days=DAYS, dry_run=True).channel_contacts == 1
    report = purge(rt.db, now=clock.now, days=DAYS)
    assert report.channel_contacts == 1 and report.checkins == 1
    with rt.db.session() as session:
        assert session.get(CheckIn, checkin_id).template_fields is None
        assert [c.profile_name for c in session.scalars(select(ChannelContact))] == ["Recent"]
    assert purge(rt.db, now=clock.now, days=DAYS).rows == 0
