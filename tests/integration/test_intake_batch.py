"""`crm.intake_apply = "batched"`: a leased batch of queued CRM events is acted on in one transaction.

The same events through the per-event worker and through the batched one leave the same rows (interactions,
check-ins, customers, cases, agents' load, the load ledger, breaks and their decisions, routing items, the
stored answers); a refused or failing event in a batch fails alone while the rest commit.
"""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from aftercare.model_registry import metadata
from intake.models import WebhookEvent
from intake.queue import apply_queued
from tests.support.factories import interaction_event

IDS = re.compile(r"[a-z]+_[0-9a-f]{24,}")  # generated ids (uuid4 hex, time-ordered): not the same in two runs
SKIP = {"updated_at", "reply_token", "id", "break_id", "queue_item_id", "escalation_item_id"}
TABLES = ("customers", "cases", "interactions", "checkins", "agents", "load_events", "breaks",
          "break_decisions", "queue_items", "commitments", "webhook_events", "opt_outs")


@pytest.fixture
def overrides(overrides):
    overrides["crm"]["intake_mode"] = "queued"
    return overrides


def scenario() -> list[dict]:
    """Several agents of two teams (breaks asked for and guarded), a repeat customer (caps), an opted-out number,
    a human callback, a commitment, a case update and a customer contact, a refused duplicate interaction."""
    events = []
    for n in range(10):
        changes = {"event_id": f"evt_p{n}", "interaction.id": f"int_p{n}", "interaction.case_id": f"case_p{n}",
                   "customer.id": f"cus_p{n % 7}", "customer.phone": f"+4477009001{n % 7:02d}",
                   "agent.id": f"ag_p{n % 4}", "agent.team": "billing-emea" if n % 4 else "support",
                   "interaction.customer_sentiment": -0.9 + n * 0.15}
        if n == 2:
            changes["interaction.signals"] = ["abusive_language"]
        if n == 3:
            changes["interaction.signals"] = ["vulnerable_customer"]
            changes["interaction.irreversible_action"] = True
        if n == 4:
            changes["interaction.commitment"] = {"text": "I will call you back by 4 pm",
                                                 "due_at": "2026-11-25T16:00:00Z"}
        if n == 5:
            changes["interaction.channel"] = "email"
        events.append(interaction_event(**changes))
    events.append({"event_id": "evt_upd", "type": "case.updated", "occurred_at": "2026-11-25T14:05:00Z",
                   "case": {"id": "case_p1", "status": "solved"}})
    events.append({"event_id": "evt_back", "type": "customer.contacted", "occurred_at": "2026-11-25T14:06:00Z",
                   "customer": {"id": "cus_p6"}})
    events.append(interaction_event(**{"event_id": "evt_dup", "interaction.id": "int_p0",
                                       "interaction.case_id": "case_dup", "customer.id": "cus_dup",
                                       "agent.id": "ag_dup"}))
    return events


def snapshot(rt) -> dict:
    """Every row of the tables intake writes, without generated ids and wall-clock stamps, in a stable order."""
    out = {}
    with rt.db.engine.connect() as conn:
        for name in TABLES:
            table = metadata.tables[name]
            rows = [{k: v for k, v in row._mapping.items() if k not in SKIP} for row in conn.execute(select(table))]
            out[name] = sorted(IDS.sub("<id>", json.dumps(row, sort_keys=True, default=str)) for row in rows)
    return out


def run(rt, post_event, clock, mode: str, events: list[dict]) -> dict:
    start = clock.now
    with rt.db.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(metadata.tables["opt_outs"].insert().values(
            address="+447700900104", channel="sms", source="STOP", opted_out_at=start))
    for event in events:
        assert post_event(event).status_code == 202
        clock.advance(seconds=1)
    total = 0
    while (report := apply_queued(rt.db, ctx=rt.followup, clock=rt.clock, batch_size=200, apply=mode)).total:
        total += report.total
    assert total == len(events)
    clock.now = start
    return snapshot(rt)


def test_the_batched_worker_leaves_the_same_rows_as_the_per_event_one(rt, post_event, clock):
    events = scenario()
    per_event = run(rt, post_event, clock, "per_event", events)
    batched = run(rt, post_event, clock, "batched", events)
    assert per_event["breaks"] and per_event["break_decisions"] and per_event["checkins"]  # the scenario bites
    assert any('"state": "failed"' in row and "409" in row for row in per_event["webhook_events"])
    assert any('"human_task"' in row for row in per_event["queue_items"]) and per_event["commitments"]
    for name in TABLES:
        assert batched[name] == per_event[name], name


def count(rt, *where) -> int:
    with rt.db.session() as session:
        return session.scalar(select(func.count()).select_from(WebhookEvent).where(*where))


def test_a_refused_event_in_a_batch_fails_alone_with_its_reason(rt, post_event, clock):
    events = [interaction_event(**{"event_id": f"evt_r{n}", "interaction.id": "int_same" if n in (1, 3) else
                                   f"int_r{n}", "interaction.case_id": f"case_r{n}", "customer.id": f"cus_r{n}",
                                   "agent.id": f"ag_r{n}"}) for n in range(5)]
    for event in events:
        post_event(event)
        clock.advance(seconds=1)
    report = apply_queued(rt.db, ctx=rt.followup, clock=rt.clock, apply="batched")
    assert (report.batches, report.processed, report.failed, report.retried) == (1, 4, 1, 0)
    with rt.db.session() as session:
        refused = session.get(WebhookEvent, "evt_r3")
        assert (refused.state, refused.status_code) == ("failed", 409) and "int_same" in refused.last_error
        assert refused.response["problem"]["status"] == 409 and refused.payload is not None
        assert refused.claimed_by is None and refused.lease_until is None
    assert count(rt, WebhookEvent.state == "processed", WebhookEvent.payload.is_(None)) == 4


def test_an_event_failing_in_its_savepoint_goes_back_to_the_queue_and_the_rest_commit(rt, post_event, clock,
                                                                                     monkeypatch):
    import intake.service as handlers

    def broken(session, event, now, ctx):
        raise RuntimeError("the routing platform said no")

    monkeypatch.setitem(handlers.HANDLERS, "case.updated", broken)  # not batchable: acted on one by one
    post_event(interaction_event(**{"event_id": "evt_ok1", "interaction.case_id": "case_s1", "customer.id": "cus_s1",
                                    "agent.id": "ag_s1"}))
    post_event({"event_id": "evt_upd", "type": "case.updated", "occurred_at": "2026-11-25T14:05:00Z",
                "case": {"id": "case_other", "status": "solved"}})
    post_event(interaction_event(**{"event_id": "evt_ok2", "interaction.case_id": "case_s2", "customer.id": "cus_s2",
                                    "agent.id": "ag_s2"}))
    report = apply_queued(rt.db, ctx=rt.followup, clock=rt.clock, apply="batched", max_attempts=3)
    assert (report.batches, report.processed, report.retried) == (1, 2, 1)
    with rt.db.session() as session:
        row = session.get(WebhookEvent, "evt_upd")
        assert (row.state, row.attempts, row.claimed_by) == ("queued", 1, None)
        assert "the routing platform said no" in row.last_error
    assert count(rt, WebhookEvent.state == "processed") == 2
