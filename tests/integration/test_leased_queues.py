"""The leased queue (aftercare.core.leased_queue) and the six loops built on it.

For each queue: a worker whose lease expired while it was still working, and whose row another claim took over
meanwhile, cannot record its outcome; the new owner can.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from aftercare.core.leased_queue import LeasedQueue
from followup.channels import SendResult
from followup.commitment_models import Commitment
from followup.commitments import ESCALATIONS, REMINDERS, process_commitments
from followup.crm.base import ReopenNotice
from followup.crm.models import CrmDelivery
from aftercare.core.outbox import OutboxPolicy
from followup.crm.outbox import QUEUE as CRM_QUEUE, deliver_pending, record_reopen
from followup.dispatch import DispatchConfig, dispatch_due
from followup.dispatch.claim import CHECKINS, claim_batch
from followup.models import CheckIn
from tests.support.factories import interaction_event
from wellbeing import jobs
from wellbeing.models import Break, RoutingCommand
from wellbeing.routing import outbox as routing_outbox

LEASE = 60


def _take_over(rt, queue: LeasedQueue, clock, worker: str = "B", **claim):
    """The first worker is still busy when its lease runs out, and another worker claims the row."""
    clock.advance(seconds=LEASE + 1)
    with rt.db.session() as session:
        lease = queue.claim(session, worker=worker, now=clock.now, limit=10, lease_seconds=LEASE, **claim)
    assert lease.ids, "the expired lease should be claimable"
    return lease


def _owner(rt, model, row_id):
    with rt.db.session() as session:
        return session.get(model, row_id).claimed_by


# --- the primitive ---------------------------------------------------------------------------------------------

def _reopen_notice(rt, clock, case_id="case_77") -> str:
    with rt.db.session() as session:
        row = record_reopen(session, adapter="builtin", now=clock.now, notice=ReopenNotice(
            case_id=case_id, reply_text="still broken", intent="reopen", confidence=0.9, reasons=("unresolved",),
            routed_agent_id="ag_1", routed_team="billing-emea", routing_reason="same agent", reopened_at=clock.now))
        session.commit()
        return row.id


def test_claim_skips_leased_rows_and_a_new_claim_gets_a_new_owner(post_event, rt, clock):
    post_event(interaction_event())
    first_id, second_id = _reopen_notice(rt, clock), _reopen_notice(rt, clock)
    with rt.db.session() as session:
        a = CRM_QUEUE.claim(session, worker="w", now=clock.now, limit=1, lease_seconds=LEASE)
        b = CRM_QUEUE.claim(session, worker="w", now=clock.now, limit=10, lease_seconds=LEASE)
        nothing = CRM_QUEUE.claim(session, worker="w", now=clock.now, limit=10, lease_seconds=LEASE)
    assert len(a.ids) == 1 and len(b.ids) == 1 and set(a.ids + b.ids) == {first_id, second_id}
    assert not nothing and a.owner != b.owner and a.owner.startswith("w#")
    assert not a.running_out(clock.now + timedelta(seconds=44)) and a.running_out(clock.now + timedelta(seconds=45))
    with rt.db.session() as session:
        assert CRM_QUEUE.held(session, a, a.ids[0]) is not None and CRM_QUEUE.held(session, b, a.ids[0]) is None
        assert session.get(CrmDelivery, a.ids[0]).attempts == 1
        assert CRM_QUEUE.release(session, a) == 1  # handed back: the attempt did not happen
        session.commit()
        row = session.get(CrmDelivery, a.ids[0])
        assert (row.attempts, row.claimed_by, row.lease_until) == (0, None, None)
        assert CRM_QUEUE.release(session, a) == 0  # no longer held: nothing to hand back


def test_release_worker_hands_back_only_that_workers_claims(post_event, rt, clock):
    post_event(interaction_event())
    _reopen_notice(rt, clock), _reopen_notice(rt, clock)
    with rt.db.session() as session:
        mine = CRM_QUEUE.claim(session, worker="host_1:42", now=clock.now, limit=1, lease_seconds=LEASE)
        theirs = CRM_QUEUE.claim(session, worker="host11:42", now=clock.now, limit=1, lease_seconds=LEASE)
        assert CRM_QUEUE.release_worker(session, "host_1:42") == 1  # "_" is not a wildcard for another host
        session.commit()
        assert CRM_QUEUE.held(session, mine, mine.ids[0]) is None
        assert CRM_QUEUE.held(session, theirs, theirs.ids[0]) is not None


# --- the six queues ----------------------------------------------------------------------------------------------

class _SlowCrm:
    """A CRM whose call outlives the lease: meanwhile another worker takes the notice over."""

    name = "builtin"

    def __init__(self, on_call):
        self.on_call, self.calls = on_call, 0

    def case_reopened(self, notice) -> None:
        self.calls += 1
        self.on_call()


def test_crm_outbox_outcome_of_an_expired_claim_is_dropped(post_event, rt, clock):
    post_event(interaction_event())
    delivery_id = _reopen_notice(rt, clock)
    taken = []
    crm = _SlowCrm(lambda: taken.append(_take_over(rt, CRM_QUEUE, clock)))
    report = deliver_pending(rt.db, crm, clock=clock, worker="A",
                             policy=OutboxPolicy(lease_seconds=LEASE, backoff_seconds=1))
    assert (crm.calls, report.done, report.lost) == (1, 0, 1)
    with rt.db.session() as session:
        row = session.get(CrmDelivery, delivery_id)
        assert (row.state, row.claimed_by) == ("pending", taken[0].owner)
    report = deliver_pending(rt.db, _SlowCrm(lambda: None), clock=clock, worker="B")
    assert report.claimed == 0  # still leased to B's claim: nobody else may act on it
    with rt.db.session() as session:
        assert CRM_QUEUE.held(session, taken[0], delivery_id) is not None


class _SlowRouting:
    name = "builtin"

    def __init__(self, on_call):
        self.on_call = on_call

    def create_task(self, task):
        return None

    def close_task(self, external_id, *, reason):
        return None

    def set_activity(self, agent_id, activity):
        self.on_call()


def test_routing_outbox_outcome_of_an_expired_claim_is_dropped(rt, clock):
    with rt.db.session() as session:
        routing_outbox.activity_set(session, adapter="builtin", agent_id="ag_1", activity="break", now=clock.now)
        session.commit()
        command_id = session.scalars(select(RoutingCommand.id)).one()
    taken = []
    routing = _SlowRouting(lambda: taken.append(_take_over(rt, routing_outbox.QUEUE, clock)))
    report = routing_outbox.deliver_pending(rt.db, routing, clock=clock, worker="A",
                                            policy=OutboxPolicy(lease_seconds=LEASE))
    assert (report.done, report.lost) == (0, 1)
    with rt.db.session() as session:
        row = session.get(RoutingCommand, command_id)
        assert (row.state, row.claimed_by) == ("pending", taken[0].owner)


class _SlowChannel:
    """A provider that accepts the message, but only after the worker's lease ran out and another claimed it."""

    name, sender, max_per_second = "slow", "", 0

    def __init__(self, on_send):
        self.on_send, self.sent = on_send, []

    def send(self, message):
        self.sent.append(message.checkin_id)
        self.on_send()
        return SendResult(f"SM{len(self.sent)}")

    def find_sent(self, message):
        return None


def test_dispatch_outcome_of_an_expired_claim_is_dropped(post_event, rt, clock):
    checkin_id = post_event(interaction_event()).get_json()["checkin"]["id"]
    clock.advance(hours=4)  # due
    taken = []
    config = DispatchConfig(lease_seconds=LEASE)

    def other_worker_claims():
        clock.advance(seconds=LEASE + 1)
        with rt.db.session() as session:
            taken.append(claim_batch(session, now=clock.now, worker="B", config=config))

    channel = _SlowChannel(other_worker_claims)
    report = dispatch_due(rt.db, {"sms": channel, "email": channel}, clock=clock, worker="A", config=config)
    assert (channel.sent, report.sent, report.lost) == ([checkin_id], 0, 1)
    assert taken[0].ids == [checkin_id]
    with rt.db.session() as session:
        row = session.get(CheckIn, checkin_id)
        # B holds it, in doubt (a send started): it reconciles before sending again, never sends blind.
        assert (row.state, row.claimed_by, row.sent_at, row.provider_message_id) == \
            ("claimed", taken[0].owner, None, None)
        assert row.send_started_at is not None
        assert CHECKINS.held(session, taken[0], checkin_id) is not None


def _promise(post_event, case_id="case_77"):
    post_event(interaction_event(**{"interaction.case_id": case_id, "interaction.commitment": {
        "text": "I will update you by 3 pm", "due_at": "2026-11-25T15:00:00Z"}}))


def test_commitment_reminder_of_an_expired_claim_is_dropped(post_event, rt, clock):
    import followup.commitments as commitments

    _promise(post_event)
    clock.advance(minutes=25)  # the reminder is due (30 min before 15:00)
    with rt.db.session() as session:
        stale = REMINDERS.claim(session, worker="A", now=clock.now, limit=10, lease_seconds=LEASE)
    [commitment_id] = stale.ids
    fresh = _take_over(rt, REMINDERS, clock)
    assert commitments._handle_one(rt.db, REMINDERS, stale, commitment_id, states=("pending",),
                                   act=commitments._remind, now=clock.now) is False
    assert _owner(rt, Commitment, commitment_id) == fresh.owner
    assert commitments._handle_one(rt.db, REMINDERS, fresh, commitment_id, states=("pending",),
                                   act=commitments._remind, now=clock.now) is True
    with rt.db.session() as session:
        row = session.get(Commitment, commitment_id)
        assert (row.state, row.claimed_by, row.lease_until) == ("reminded", None, None)


def test_commitment_escalation_of_an_expired_claim_is_dropped(post_event, rt, clock):
    import followup.commitments as commitments

    _promise(post_event)
    clock.advance(hours=1)  # overdue
    with rt.db.session() as session:
        stale = ESCALATIONS.claim(session, worker="A", now=clock.now, limit=10, lease_seconds=LEASE)
    [commitment_id] = stale.ids
    fresh = _take_over(rt, ESCALATIONS, clock)
    assert commitments._handle_one(rt.db, ESCALATIONS, stale, commitment_id, states=("pending", "reminded"),
                                   act=commitments._escalate, now=clock.now) is False
    assert _owner(rt, Commitment, commitment_id) == fresh.owner
    assert process_commitments(rt.db, now=clock.now).escalated == 0  # leased: the tick leaves it alone


def _break(rt, clock, state: str, **times) -> str:
    from wellbeing.models import Agent

    with rt.db.session() as session:
        session.add(Agent(id="ag_1", name="Maria", team="billing-emea", load_value=3.0, load_as_of=clock.now,
                          state="on_break" if state == "on_break" else "available", updated_at=clock.now))
        session.add(Break(id="brk_1", agent_id="ag_1", team="billing-emea", rule="after abuse", minutes=5,
                          start="now", request_reasons=[], state=state, outcome="granted", requested_at=clock.now,
                          was_deferred=False, updated_at=clock.now, **times))
        session.commit()
    return "brk_1"


def test_break_end_of_an_expired_claim_is_dropped(rt, clock):
    break_id = _break(rt, clock, "on_break", started_at=clock.now, ends_at=clock.now + timedelta(minutes=5))
    clock.advance(minutes=6)
    with rt.db.session() as session:
        stale = jobs.ENDING.claim(session, worker="A", now=clock.now, limit=10, lease_seconds=LEASE)
    assert stale.ids == [break_id]
    fresh = _take_over(rt, jobs.ENDING, clock)
    report = jobs.TickReport()
    jobs._one(rt.db, jobs.ENDING, stale, break_id, "on_break", jobs._end, clock.now, report)
    assert report.ended == 0 and _owner(rt, Break, break_id) == fresh.owner
    jobs._one(rt.db, jobs.ENDING, fresh, break_id, "on_break", jobs._end, clock.now, report)
    with rt.db.session() as session:
        row = session.get(Break, break_id)
        assert (report.ended, row.state, row.claimed_by) == (1, "ended", None)


def test_deferred_break_decision_of_an_expired_claim_is_dropped(rt, clock):
    break_id = _break(rt, clock, "deferred", retry_at=clock.now)
    with rt.db.session() as session:
        stale = jobs.DEFERRED.claim(session, worker="A", now=clock.now, limit=10, lease_seconds=LEASE)
    fresh = _take_over(rt, jobs.DEFERRED, clock)
    report = jobs.TickReport()
    jobs._one(rt.db, jobs.DEFERRED, stale, break_id, "deferred", jobs._retry, clock.now, report)
    assert report.decided == 0 and _owner(rt, Break, break_id) == fresh.owner
