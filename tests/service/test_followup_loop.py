"""The follow-up loop as use cases: an event in, a check-in out, the customer's text read, the case reopened and
the CRM told — each step a unit of work that commits once, with recording adapters instead of providers."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from aftercare.core.problems import Problem
from followup import inbound, services as followup
from followup.inbound_email import ReplyTrust
from intake.schemas import SCHEMAS
from intake.service import act_inline
from tests.support.factories import interaction_event


def closed(**changes) -> dict:
    return SCHEMAS["interaction.closed"]().load(interaction_event(**changes))


def test_an_interaction_closed_schedules_a_check_in_in_one_commit(uow, ctx, clock):
    result, repeat = act_inline(uow, closed(), now=clock.now, ctx=ctx)
    assert repeat is None and uow.commits == 1
    assert result["triage"]["decision"] == "automated_checkin" and result["checkin"]["channel"] == "sms"
    assert result["agent_load"]["agent_id"] == "ag_1"


def test_the_same_interaction_under_another_event_id_is_a_conflict_that_commits_nothing(uow, ctx, clock):
    event = closed()
    act_inline(uow, event, now=clock.now, ctx=ctx)
    with pytest.raises(Problem) as refused:
        act_inline(uow, {**event, "event_id": "evt_other"}, now=clock.now, ctx=ctx)
    assert refused.value.status == 409 and uow.commits == 1


def test_a_reply_that_is_still_broken_reopens_the_case_and_the_crm_hears_of_it(uow, ctx, clock, channels, crm):
    result, _ = act_inline(uow, closed(), now=clock.now, ctx=ctx)
    clock.advance(hours=4)
    report = followup.dispatch_due(uow.db, channels, now=clock.now, worker="svc")
    [message] = channels["sms"].sent
    assert report.sent == 1 and message.checkin_id == result["checkin"]["id"] and message.to == "+447700900123"

    commits = uow.commits
    answer = inbound.receive_sms(uow, sender="+447700900123", body="no, it still charges me twice",
                                 message_sid="SM1", now=clock.now, crm=crm, ctx=ctx, acknowledge=True)
    assert uow.commits == commits + 1 and answer  # an acknowledgement that says what happens next
    delivered = followup.deliver_crm_notices(uow.db, crm, now=clock.now + timedelta(seconds=1), worker="svc")
    [notice] = crm.notices
    assert delivered.done == 1 and notice.case_id == "case_77" and notice.intent == "reopen"
    assert notice.routed_agent_id == "ag_1"  # the agent who handled it, not over their threshold


def test_stop_opts_the_number_out_and_the_repeat_of_the_same_message_changes_nothing(uow, ctx, clock, crm):
    act_inline(uow, closed(), now=clock.now, ctx=ctx)
    for _ in range(2):
        inbound.receive_sms(uow, sender="+447700900123", body="STOP", message_sid="SM9", now=clock.now, crm=crm,
                            ctx=ctx, acknowledge=True)
    rows = uow.session.execute(text("SELECT address FROM opt_outs")).scalars().all()
    assert rows == ["+447700900123"]
    pending = uow.session.execute(text("SELECT state FROM checkins")).scalars().all()
    assert pending == ["cancelled"]


def test_an_untrusted_email_reply_is_kept_for_a_person_and_changes_nothing(uow, ctx, clock, crm):
    act_inline(uow, closed(), now=clock.now, ctx=ctx)
    email = inbound.InboundEmail(text="Thanks, it's all sorted now!", sender="sam@example.com", message_id="<m1@x>",
                                 reply_token=None, sender_trust=ReplyTrust(False, "sender not verified"))
    answer = inbound.receive_email(uow, email=email, now=clock.now, crm=crm, ctx=ctx)
    assert (answer["trusted"], answer["matched"], answer["case_id"]) == (False, False, None)
    assert uow.session.execute(text("SELECT state FROM cases")).scalar_one() == "closed"
    assert "not acted on" in answer["action"]
