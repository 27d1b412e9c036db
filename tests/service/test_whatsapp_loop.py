"""WhatsApp as use cases: the check-in the dispatcher hands a channel carries what the adapter decides with (the
customer's last message, the template fields), and a tapped button is the answer, in one commit."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from followup import inbound, services as followup
from intake.schemas import SCHEMAS
from intake.service import act_inline
from tests.support.factories import interaction_event
from tests.support.unit_of_work import RecordingChannel

ON_WHATSAPP = {"interaction.channel": "whatsapp", "customer.consent": {"whatsapp": True}}
CUSTOMER = "whatsapp:+447700900123"


def whatsapp_checkin(uow, ctx, clock) -> str:
    result, _ = act_inline(uow, SCHEMAS["interaction.closed"]().load(interaction_event(**ON_WHATSAPP)),
                           now=clock.now, ctx=ctx)
    assert result["checkin"]["channel"] == "whatsapp"
    return result["checkin"]["id"]


def message(body: str, sid: str, **extra) -> inbound.InboundText:
    return inbound.InboundText(channel="whatsapp", sender=CUSTOMER, body=body, message_sid=sid, **extra)


def test_the_channel_is_told_how_long_ago_the_customer_wrote_and_what_fills_the_template(uow, ctx, clock, crm,
                                                                                         channels):
    checkin_id = whatsapp_checkin(uow, ctx, clock)
    inbound.receive_whatsapp(uow, message=message("hello?", "SM0", profile_name="Sam"), now=clock.now, crm=crm,
                             ctx=ctx, acknowledge=False)
    clock.advance(hours=4)
    channels["whatsapp"] = RecordingChannel(name="whatsapp")
    assert followup.dispatch_due(uow.db, channels, now=clock.now, worker="svc").sent == 1
    [sent] = channels["whatsapp"].sent
    assert (sent.checkin_id, sent.to, sent.inbound_age, sent.needs_template) == \
           (checkin_id, CUSTOMER, timedelta(hours=4), False)
    assert sent.template_fields["customer_first_name"] == "Sam" and sent.locale == "en-GB"


def test_a_tapped_button_closes_the_loop_in_one_commit_and_its_repeat_changes_nothing(uow, ctx, clock, crm,
                                                                                       channels):
    whatsapp_checkin(uow, ctx, clock)
    channels["whatsapp"] = RecordingChannel(name="whatsapp")
    clock.advance(hours=4)
    followup.dispatch_due(uow.db, channels, now=clock.now, worker="svc")
    commits = uow.commits
    tap = message("Yes, all sorted", "SMtap", button="resolved")
    answer = inbound.receive_whatsapp(uow, message=tap, now=clock.now, crm=crm, ctx=ctx, acknowledge=True)
    assert uow.commits == commits + 1 and "closed your case" in answer
    assert inbound.receive_whatsapp(uow, message=tap, now=clock.now, crm=crm, ctx=ctx, acknowledge=True) is None
    assert uow.commits == commits + 1 and crm.notices == []
    rows = uow.session.execute(text("SELECT intent, confidence, reasons FROM replies")).all()
    assert [(intent, confidence) for intent, confidence, _ in rows] == [("resolved", 1.0)]
    assert uow.session.execute(text("SELECT state FROM cases")).scalar_one() == "closed"
