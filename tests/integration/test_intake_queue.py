"""`crm.intake_mode = "queued"`: the door stores the event in one INSERT and answers 202; the worker tick acts on it.

What a CRM and an operator see: the 202 with the triage and a link, nothing acted on until a worker runs, then
the same result inline mode would have given; repeats, refusals and failures; order per case.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from followup.models import CheckIn, Interaction
from intake.models import WebhookEvent
from intake.queue import apply_queued
from tests.support.factories import interaction_event, make_key


@pytest.fixture
def overrides(overrides):
    overrides["crm"]["intake_mode"] = "queued"
    return overrides


def apply(rt, **kwargs):
    return apply_queued(rt.db, ctx=rt.followup, clock=rt.clock, **kwargs)


def count(rt, model, *where) -> int:
    with rt.db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_queued_202_carries_the_triage_and_a_link_and_acts_on_nothing_yet(post_event, rt, client, read_headers):
    event = interaction_event()
    resp = post_event(event)
    assert resp.status_code == 202
    body = resp.get_json()
    assert body["status"] == "queued" and body["event_id"] == event["event_id"]
    assert body["interaction"] == event["interaction"]["id"]
    assert body["triage"]["decision"] == "automated_checkin" and body["triage"]["reasons"]
    assert resp.headers["Location"] == body["links"]["self"] == f"/api/v1/crm/events/{event['event_id']}"
    assert count(rt, Interaction) == 0 and count(rt, CheckIn) == 0
    seen = client.get(body["links"]["self"], headers=read_headers).get_json()
    assert seen["state"] == "queued" and seen["response"]["status"] == "queued"


def test_a_worker_then_acts_on_it_with_the_same_result_inline_mode_gives(post_event, rt, client, read_headers,
                                                                         database_url, tmp_path, clock):
    from aftercare.app import create_app
    from aftercare.core.signing import sign

    event = interaction_event()
    door = post_event(event).get_json()
    report = apply(rt)
    assert (report.processed, report.failed, report.retried) == (1, 0, 0)
    seen = client.get(door["links"]["self"], headers=read_headers).get_json()
    assert seen["state"] == "processed" and seen["status_code"] == 202 and seen["processed_at"]
    result = seen["response"]
    assert result["status"] == "processed" and result["triage"] == door["triage"]
    with rt.db.session() as session:
        checkin = session.scalars(select(CheckIn)).one()
        assert result["checkin"] == {"id": checkin.id, "due_at": checkin.due_at.isoformat(), "channel": "sms"}
    assert result["agent_load"]["agent_id"] == "ag_1"

    inline_app = create_app({"database": {"url": database_url}, "crm": {"webhook_secret": "whsec_test_secret"},
                             "server": {"instance_dir": str(tmp_path / "inline")}, "scheduler": {"enabled": False}})
    inline_app.extensions["aftercare"].clock = clock
    twin = interaction_event(**{"interaction.case_id": "case_twin", "customer.id": "cus_twin",
                                "customer.phone": "+447700900999", "agent.id": "ag_twin"})
    body = json.dumps(twin).encode()
    inline = inline_app.test_client().post("/webhooks/crm", data=body, headers={
        "Aftercare-Signature": sign("whsec_test_secret", body, int(clock.now.timestamp())),
        "Content-Type": "application/json"}).get_json()
    inline_app.extensions["aftercare"].db.dispose()
    assert inline["status"] == "processed"
    assert inline["triage"] == result["triage"] and inline["checkin"]["due_at"] == result["checkin"]["due_at"]
    assert set(inline) == set(result)


def test_a_repeat_gets_the_stored_answer_queued_then_processed(post_event, rt):
    event = interaction_event()
    first = post_event(event)
    again = post_event(event)
    assert again.status_code == 200 and again.headers["Aftercare-Duplicate"] == "true"
    assert again.get_json() == first.get_json()
    apply(rt)
    later = post_event(event)
    assert later.status_code == 200 and later.get_json()["status"] == "processed" and later.get_json()["checkin"]
    assert count(rt, WebhookEvent) == 1 and count(rt, Interaction) == 1 and count(rt, CheckIn) == 1


@pytest.mark.parametrize("change, field", [
    ({"customer.timezone": "Mars/Olympus"}, "customer.timezone"),
    ({"customer.phone": "12"}, "customer.phone"),
    ({"interaction.resolution": "maybe"}, "interaction.resolution"),
    ({"interaction.category": "double\u0000charge"}, "interaction.category"),
])
def test_bad_events_are_refused_at_the_door_naming_the_field(post_event, rt, change, field):
    resp = post_event(interaction_event(**change))
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert field in [e["field"] for e in resp.get_json()["errors"]]
    assert count(rt, WebhookEvent) == 0


def test_an_event_the_worker_must_refuse_is_failed_with_its_problem_and_can_be_queued_again(
        post_event, rt, client, manager_headers, read_headers, clock):
    post_event(interaction_event(**{"interaction.id": "int_same"}))
    clock.advance(seconds=1)
    other = interaction_event(**{"interaction.id": "int_same"})  # same interaction, another event_id
    post_event(other)
    report = apply(rt)
    assert (report.processed, report.failed) == (1, 1)
    seen = client.get(f"/api/v1/crm/events/{other['event_id']}", headers=read_headers).get_json()
    assert seen["state"] == "failed" and seen["status_code"] == 409
    assert seen["response"]["problem"]["status"] == 409 and "int_same" in seen["response"]["problem"]["detail"]
    repeat = post_event(other)
    assert repeat.status_code == 409 and repeat.mimetype == "application/problem+json"
    assert repeat.headers["Aftercare-Duplicate"] == "true" and repeat.get_json()["type"].endswith("/conflict")
    listed = client.get("/api/v1/crm/events?state=failed", headers=read_headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["event_id"] == other["event_id"]

    clock.advance(minutes=5)
    retried = client.post(f"/api/v1/crm/events/{other['event_id']}/retry", headers=manager_headers)
    assert retried.status_code == 202 and retried.get_json()["state"] == "queued"
    assert retried.get_json()["received_at"].startswith("2026-11-25T14:15")  # back of the line
    again = post_event(other)  # a repeat now says queued, not the old failure
    assert again.status_code == 200 and again.get_json()["status"] == "queued"
    before = client.get(f"/api/v1/crm/events/{other['event_id']}", headers=read_headers).get_json()
    refused = client.post(f"/api/v1/crm/events/{other['event_id']}/retry", headers=manager_headers)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"  # queued, not failed
    assert client.post(f"/api/v1/crm/events/{other['event_id']}/retry",
                       headers=read_headers).status_code == 403
    assert client.get("/api/v1/crm/events/evt_nope", headers=read_headers).status_code == 404
    missing = client.post("/api/v1/crm/events/evt_nope/retry", headers=manager_headers)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/crm/events/{other['event_id']}", headers=read_headers).get_json() == before
    assert count(rt, WebhookEvent) == 2 and count(rt, Interaction) == 1  # the refusals changed nothing


def fail_in_both_paths(monkeypatch, case_id: str, fault) -> None:
    """Make acting on `case_id`'s interaction go wrong the way `fault(session, event, now)` does, in the per-event
    handler and, for the batched worker, in the run that holds it (which then falls back to one by one)."""
    import intake.queue as queue
    import intake.service as handlers

    real, real_run = handlers.HANDLERS["interaction.closed"], queue.act_on_run

    def handler(session, event, now, ctx):
        result = real(session, event, now, ctx)
        if event["interaction"]["case_id"] == case_id:
            fault(session, event, now)
        return result

    def run(session, events, now, ctx):
        results = real_run(session, events, now, ctx)
        for event in events:
            if event.get("interaction", {}).get("case_id") == case_id:
                fault(session, event, now)
        return results

    monkeypatch.setitem(handlers.HANDLERS, "interaction.closed", handler)
    monkeypatch.setattr(queue, "act_on_run", run)


@pytest.mark.parametrize("mode", ["per_event", "batched"])
def test_an_unexpected_error_is_retried_then_failed_and_holds_up_only_its_own_case(post_event, rt, monkeypatch,
                                                                                   clock, mode):
    def fault(session, event, now):
        raise RuntimeError("the database said no")

    fail_in_both_paths(monkeypatch, "case_bad", fault)
    bad = interaction_event(**{"interaction.case_id": "case_bad"})
    behind_bad = {"event_id": "evt_behind", "type": "case.updated", "occurred_at": "2026-11-25T14:05:00Z",
                  "case": {"id": "case_bad", "status": "solved"}}
    good = interaction_event(**{"interaction.case_id": "case_good", "customer.id": "cus_good", "agent.id": "ag_good"})
    for event in (bad, behind_bad, good):
        post_event(event)
        clock.advance(seconds=1)
    first = apply(rt, max_attempts=3, apply=mode)
    assert (first.processed, first.retried) == (1, 1)  # good went ahead; case_bad's update waits its turn
    with rt.db.session() as session:
        row = session.get(WebhookEvent, bad["event_id"])
        assert (row.state, row.attempts) == ("queued", 1) and "the database said no" in row.last_error
        assert session.get(WebhookEvent, "evt_behind").state == "queued"
    apply(rt, max_attempts=3, apply=mode)
    last = apply(rt, max_attempts=3, apply=mode)
    with rt.db.session() as session:
        row = session.get(WebhookEvent, bad["event_id"])
        assert (row.state, row.status_code, row.attempts) == ("failed", 500, 3)
        assert row.payload is not None  # kept, so a manager can queue it again once the cause is fixed
        assert session.get(WebhookEvent, "evt_behind").state == "processed"  # no longer held up
    assert last.failed == 1


def test_events_for_one_case_are_acted_on_in_arrival_order(post_event, rt, clock):
    closed = interaction_event(**{"interaction.case_id": "case_order"})
    solved = {"event_id": "evt_solved", "type": "case.updated", "occurred_at": "2026-11-25T14:09:00Z",
              "case": {"id": "case_order", "status": "solved"}}
    post_event(closed)
    clock.advance(seconds=1)
    post_event(solved)
    report = apply(rt, batch_size=10)
    assert report.processed == 2 and report.batches == 2  # one event per case per batch, back to back
    with rt.db.session() as session:
        assert session.scalars(select(CheckIn.state)).one() == "cancelled"  # the update came after its check-in


def test_the_scheduler_tick_acts_on_the_queue_before_it_dispatches(post_event, app, rt):
    from aftercare.scheduler import tick

    post_event(interaction_event())
    tick(app, "test-worker")
    assert count(rt, WebhookEvent, WebhookEvent.state == "processed") == 1 and count(rt, CheckIn) == 1


def test_the_queue_list_is_oldest_first_and_needs_a_read_or_manager_key(post_event, app, client, read_headers, clock):
    ids = []
    for _ in range(3):
        event = interaction_event(**{"interaction.case_id": f"case_{len(ids)}"})
        ids.append(event["event_id"])
        post_event(event)
        clock.advance(seconds=1)
    listed = client.get("/api/v1/crm/events?state=queued&limit=2", headers=read_headers).get_json()
    assert [i["event_id"] for i in listed["items"]] == ids[:2] and listed["total"] == 3
    crm_key = {"Authorization": f"Bearer {make_key(app, 'crm')}"}
    assert client.get("/api/v1/crm/events?state=queued", headers=crm_key).status_code == 403
    assert client.get(f"/api/v1/crm/events/{ids[0]}", headers=crm_key).status_code == 200
    bad = client.get("/api/v1/crm/events?state=lost", headers=read_headers)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "state"


def test_an_unknown_intake_mode_refuses_to_start(overrides):
    from aftercare.app import create_app
    from config.settings import SettingsError

    overrides["crm"]["intake_mode"] = "later"
    with pytest.raises(SettingsError, match="intake_mode"):
        create_app(overrides)


def test_retention_drops_the_payload_of_old_failed_events_only(post_event, rt, clock, client, manager_headers):
    from aftercare.retention import purge

    post_event(interaction_event(**{"interaction.id": "int_twice"}))
    clock.advance(seconds=1)
    failed = interaction_event(**{"interaction.id": "int_twice"})
    post_event(failed)
    apply(rt)
    assert purge(rt.db, now=clock.advance(days=30), days=60).webhook_events == 0  # not old enough yet
    assert purge(rt.db, now=clock.advance(days=60), days=60, dry_run=True).webhook_events == 1
    assert purge(rt.db, now=clock.now, days=60).webhook_events == 1
    with rt.db.session() as session:
        rows = {row.event_id: row for row in session.scalars(select(WebhookEvent))}
        assert rows[failed["event_id"]].payload is None and rows[failed["event_id"]].state == "failed"
        assert all(row.payload is None for row in rows.values())  # the processed one never kept it
    refused = client.post(f"/api/v1/crm/events/{failed['event_id']}/retry", headers=manager_headers)
    assert refused.status_code == 409 and "no longer has its payload" in refused.get_json()["detail"]
    assert count(rt, WebhookEvent, WebhookEvent.state == "failed") == 1  # still failed, nothing queued


def claim(rt, worker, now, max_attempts=5):
    from intake.queue import ApplyReport, claim

    return claim(rt.db, worker=worker, now=now, batch_size=10, lease_seconds=60, max_attempts=max_attempts,
                 report=ApplyReport())


def act(rt, lease, event_id, now):
    from intake.queue import ApplyReport, apply_one

    report = ApplyReport()
    apply_one(rt.db, lease, event_id, ctx=rt.followup, now=now, max_attempts=5, report=report)
    return report


@pytest.mark.parametrize("second_worker", ["alive", "dead"])
def test_a_killed_workers_lease_runs_out_and_only_the_claim_holding_it_acts(post_event, rt, clock, second_worker):
    """The same worker claiming again after its own lease ran out is a new owner too (a token per claim)."""
    event = interaction_event()
    post_event(event)
    first = claim(rt, "dead", clock.now)
    assert first.ids == [event["event_id"]]
    assert apply(rt, worker="alive", lease_seconds=60).total == 0  # leased: not ready yet
    clock.advance(seconds=61)
    second = claim(rt, second_worker, clock.now)
    assert second.ids == [event["event_id"]]  # the lease ran out: taken over
    assert act(rt, first, event["event_id"], clock.now).total == 0  # the first claim wakes: no longer its own
    assert count(rt, Interaction) == 0 and count(rt, WebhookEvent, WebhookEvent.state == "queued") == 1
    assert act(rt, second, event["event_id"], clock.now).processed == 1
    assert count(rt, Interaction) == 1 and count(rt, CheckIn) == 1
    with rt.db.session() as session:
        row = session.get(WebhookEvent, event["event_id"])
        assert (row.state, row.attempts, row.claimed_by, row.lease_until, row.payload) == \
            ("processed", 2, None, None, None)


def test_an_event_that_keeps_killing_its_worker_runs_out_of_attempts(post_event, rt, clock, client, read_headers):
    event = interaction_event()
    post_event(event)
    for _ in range(2):
        assert claim(rt, "doomed", clock.now, max_attempts=2).ids == [event["event_id"]]
        clock.advance(seconds=61)  # the worker died on it; the lease runs out
    assert claim(rt, "next", clock.now, max_attempts=2).ids == []
    with rt.db.session() as session:
        row = session.get(WebhookEvent, event["event_id"])
        assert (row.state, row.status_code, row.attempts) == ("failed", 500, 2)
        assert "stopped before it finished" in row.last_error
    repeat = post_event(event)  # received all the same: a 5xx would make the CRM retry for ever
    assert repeat.status_code == 200 and repeat.get_json()["status"] == "failed"


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # the clash the test provokes on purpose
@pytest.mark.parametrize("mode", ["per_event", "batched"])
def test_an_error_at_commit_is_recorded_on_the_event_and_the_batch_goes_on(post_event, rt, clock, monkeypatch, mode):
    def clashes_at_commit(session, event, now):
        session.add(WebhookEvent(event_id=event["event_id"], type="x", status_code=1, response={},
                                 received_at=now))  # a second row with the event's own key: fails at flush

    fail_in_both_paths(monkeypatch, "case_clash", clashes_at_commit)
    clash = interaction_event(**{"interaction.case_id": "case_clash"})
    post_event(clash)
    clock.advance(seconds=1)
    post_event(interaction_event(**{"interaction.case_id": "case_fine", "customer.id": "cus_fine",
                                    "agent.id": "ag_fine"}))
    report = apply(rt, apply=mode)
    assert (report.processed, report.retried) == (1, 1)
    with rt.db.session() as session:
        row = session.get(WebhookEvent, clash["event_id"])
        assert (row.state, row.attempts, row.claimed_by) == ("queued", 1, None) and "IntegrityError" in row.last_error
    assert count(rt, Interaction) == 1  # the clashing event's effects were rolled back with it


def test_a_customer_event_waits_for_that_customers_earlier_interaction_on_another_key(post_event, rt, clock):
    closed = interaction_event(**{"interaction.case_id": "case_k", "customer.id": "cus_k"})
    contacted = {"event_id": "evt_contacted", "type": "customer.contacted", "occurred_at": "2026-11-25T14:11:00Z",
                 "customer": {"id": "cus_k"}}
    post_event(closed)
    clock.advance(seconds=1)
    post_event(contacted)
    first = claim(rt, "w1", clock.now)
    assert first.ids == [closed["event_id"]]  # the contact waits behind its customer's event
    assert claim(rt, "w2", clock.now).ids == []
    act(rt, first, closed["event_id"], clock.now)
    second = claim(rt, "w2", clock.now)
    assert second.ids == ["evt_contacted"]
    act(rt, second, "evt_contacted", clock.now)
    with rt.db.session() as session:
        assert session.scalars(select(CheckIn.state)).one() == "cancelled"  # as inline: contact cancels it


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_numbers_json_cannot_carry_are_malformed_json_at_the_door(post_event, rt, number):
    body = interaction_event()
    raw = json.dumps(body)[:-1] + f', "x_extra": {number}}}'
    resp = post_event(raw.encode())
    assert resp.status_code == 400 and resp.get_json()["type"].endswith("/malformed-json")
    assert count(rt, WebhookEvent) == 0


@pytest.mark.parametrize("mode, started", [("per_event", 1), ("batched", 0)])
def test_a_stopping_worker_hands_back_what_it_claimed_but_did_not_start(post_event, rt, clock, mode, started):
    """Per event it stops between events; batched, the batch is the unit: it stops before starting one."""
    for i in range(3):
        post_event(interaction_event(**{"interaction.case_id": f"case_stop_{i}", "customer.id": f"cus_stop_{i}",
                                        "agent.id": f"ag_stop_{i}"}))
        clock.advance(seconds=1)
    calls = []

    def stopping() -> bool:
        calls.append(1)
        return len(calls) > 1 + started  # the loop check, (the first event,) then stop

    report = apply(rt, worker="w1", stopping=stopping, apply=mode)
    assert report.processed == started
    with rt.db.session() as session:
        left = session.scalars(select(WebhookEvent).where(WebhookEvent.state == "queued")).all()
        assert len(left) == 3 - started and all(row.claimed_by is None and row.lease_until is None for row in left)
