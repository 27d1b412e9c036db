"""Close the loop's pure rules (SPEC §12), without a database: reason categories, root-cause codes, which cases a
problem takes in, who is told of a fix, the insights arithmetic, and the fix notice's wording."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from followup import policy as pol
from followup.channels import smstext
from followup.insights import ReopenRec, reopen_reasons, trend
from followup.messages import render_fix_notice, templates_for
from followup.problem_rules import ProblemScope, in_scope, plan_fix_notice
from followup.reasons import REASON_CATEGORIES, reason_category, root_cause_value
from followup.understanding import ReplyContext, classify_reply

UTC = timezone.utc
NOW = datetime(2026, 11, 25, 14, 10, tzinfo=UTC)


@pytest.mark.parametrize("text, expected", [
    ("It still does not work", "still_broken"),
    ("no", "still_broken"),
    ("Nope, the app crashes every time I open it", "still_broken"),
    ("Es funktioniert immer noch nicht", "still_broken"),
    ("I'm still waiting for the refund", "still_waiting"),
    ("Any update?", "still_waiting"),
    ("Nobody called me back", "still_waiting"),
    ("Now I have a new problem with my login", "new_problem"),
    ("The refund came but there's another charge on my card now", "new_problem"),
    ("This is ridiculous, worst service ever", "complaint"),
    ("thanks for nothing", "complaint"),
    ("How do I get the invoice?", "question"),
    ("Where is the refund shown on my statement?", "question"),
    ("Can I speak to a real person please", "wants_person"),
    ("Please call me back", "wants_person"),
])
def test_a_reopening_reply_gets_its_reason_category_from_the_verdict(text, expected):
    verdict = classify_reply(text, ReplyContext(question="is it sorted now?"))
    assert verdict.intent == "reopen", verdict
    assert reason_category(intent=verdict.intent, reasons=verdict.reasons, text=text) == expected


def test_a_reply_that_did_not_reopen_has_no_category_and_an_unreadable_one_is_unclear():
    assert reason_category(intent="resolved", reasons=("fixed: 'works'",), text="works now") is None
    assert reason_category(intent="reopen", reasons=("needs a person to read", "long reply"), text="…") == "unclear"
    assert reason_category(intent="reopen", reasons=("button",), text="No, still need help") == "still_broken"
    assert set(REASON_CATEGORIES) >= {"still_broken", "still_waiting", "new_problem", "complaint", "question",
                                      "wants_person"}


def test_a_root_cause_is_stored_as_a_configured_code_when_it_names_one():
    codes = {"billing_bug": "Billing system bug", "outage": "Service outage"}
    assert root_cause_value("billing_bug", codes) == "billing_bug"
    assert root_cause_value("Billing Bug", codes) == "billing_bug"
    assert root_cause_value("service outage", codes) == "outage"
    assert root_cause_value("  cache   not flushed ", codes) == "cache not flushed"
    assert root_cause_value("   ", codes) is None
    assert len(root_cause_value("x" * 500, codes)) == 200


def test_a_problem_takes_in_its_category_stage_and_window():
    scope = ProblemScope(category="double_charge", journey_stage="billing", start=NOW - timedelta(days=5),
                         end=NOW)
    inside = dict(category="double_charge", journey_stage="billing", ended_at=NOW - timedelta(days=1))
    assert in_scope(scope, **inside)
    assert not in_scope(scope, **{**inside, "category": "login"})
    assert not in_scope(scope, **{**inside, "journey_stage": "shipping"})
    assert not in_scope(scope, **{**inside, "ended_at": NOW - timedelta(days=6)})
    assert not in_scope(scope, **{**inside, "ended_at": NOW + timedelta(minutes=1)})
    open_ended = ProblemScope(category="double_charge", journey_stage=None, start=NOW - timedelta(days=5))
    assert in_scope(open_ended, **{**inside, "journey_stage": "shipping", "ended_at": NOW + timedelta(days=30)})


CONTACT = pol.Contact(timezone="Europe/London", phone="+447700900123", email="sam@example.com", consent_sms=True,
                      consent_email=True)


def _plan(**changes):
    args = dict(key="prb_1:cus_1", contact=CONTACT, used_channel="sms", recent=[], held_out=False,
                case_reopened=False, policy=pol.SchedulePolicy(), now=NOW)
    return plan_fix_notice(**{**args, **changes})


def test_a_fix_notice_keeps_consent_opt_outs_caps_quiet_hours_and_the_control_group():
    ok = _plan()
    assert ok.send and ok.channel == "sms" and ok.due_at == NOW and ok.skip_code is None
    assert _plan(held_out=True).skip_code == "control"
    assert _plan(case_reopened=True).skip_code == "case_reopened"
    no_consent = pol.Contact(timezone="UTC", phone="+447700900123", email="sam@example.com")
    assert _plan(contact=no_consent).skip_code == "no_consent"
    opted = pol.Contact(timezone="UTC", phone="+447700900123", consent_sms=True, opted_out=frozenset({"+447700900123"}))
    assert _plan(contact=opted).skip_code == "opted_out"
    sms_opted_email_ok = pol.Contact(**{**CONTACT.__dict__, "opted_out": frozenset({"+447700900123"})})
    assert _plan(contact=sms_opted_email_ok).channel == "email"
    capped = _plan(recent=[NOW - timedelta(hours=3)])
    assert capped.skip_code == "capped" and "24 h" in capped.reasons[-1]
    night = _plan(now=datetime(2026, 11, 25, 22, 30, tzinfo=UTC))
    assert night.send and night.due_at == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def test_the_control_group_fraction_holds_out_the_same_customers_every_time():
    policy = pol.SchedulePolicy(control_fraction=0.5)
    held = [k for k in (f"prb_1:cus_{i}" for i in range(200)) if _plan(key=k, policy=policy).skip_code == "control"]
    assert 60 < len(held) < 140
    assert held == [k for k in (f"prb_1:cus_{i}" for i in range(200))
                    if _plan(key=k, policy=policy).skip_code == "control"]
    assert _plan(policy=pol.SchedulePolicy(control_fraction=1.0)).skip_code == "control"


def test_trend_against_the_previous_window():
    assert trend(4, 1) == {"count": 4, "previous": 1, "change": 3, "change_pct": 3.0, "trend": "up"}
    assert trend(1, 2)["trend"] == "down" and trend(2, 2)["trend"] == "flat"
    assert trend(3, 0) == {"count": 3, "previous": 0, "change": 3, "change_pct": None, "trend": "new"}


def _rec(hours_ago: float, reason: str, *, category="double_charge", stage="billing", team="emea", cause=None,
         text="it still does not work"):
    return ReopenRec(at=NOW - timedelta(hours=hours_ago), reason=reason, category=category, journey_stage=stage,
                     team=team, root_cause=cause, text=text)


def test_reopen_reasons_count_by_reason_root_cause_and_group_with_three_examples_each():
    records = [
        _rec(1, "still_broken", text="a"), _rec(2, "still_broken", text="b"), _rec(3, "still_broken", text="c"),
        _rec(4, "still_broken", text="d", cause="billing_bug"), _rec(5, "complaint", team="us", category="login"),
        _rec(30, "still_broken"), _rec(31, "question"), _rec(80, "still_broken"),  # 80 h: before both windows
    ]
    out = reopen_reasons(records, start=NOW - timedelta(hours=24), end=NOW,
                         root_cause_labels={"billing_bug": "Billing system bug"})
    assert out["reopens"] == {"count": 5, "previous": 2, "change": 3, "change_pct": 1.5, "trend": "up"}
    assert [(r["reason"], r["count"], r["previous"], r["trend"]) for r in out["reasons"]] == [
        ("still_broken", 4, 1, "up"), ("complaint", 1, 0, "new"), ("question", 0, 1, "down")]
    assert out["reasons"][0]["examples"] == ["a", "b", "c"]  # the three most recent
    assert [(r["root_cause"], r["label"], r["count"]) for r in out["root_causes"]] == [
        ("not given", "not given", 4), ("billing_bug", "Billing system bug", 1)]
    assert [(g["category"], g["count"]) for g in out["by_category"]] == [("double_charge", 4), ("login", 1)]
    assert out["by_team"][1]["team"] == "us" and out["by_team"][1]["reasons"][0]["reason"] == "complaint"
    only_us = reopen_reasons(records, start=NOW - timedelta(hours=24), end=NOW, team="us")
    assert only_us["reopens"]["count"] == 1 and only_us["reopens"]["previous"] == 0


@pytest.mark.parametrize("locale, yes", [("en", "YES"), ("es", "SI"), ("fr", "OUI"), ("de", "JA"), ("pt", "SIM")])
def test_the_fix_notice_in_every_locale_asks_the_check_in_question_and_fits_two_sms(locale, yes):
    sms = render_fix_notice(channel="sms", locale=locale, customer_name="Maximiliana Example",
                            company="Example Telecom Services", category="double_charge_on_card",
                            note="Any extra charge was refunded to your card.").body
    assert smstext.segments(sms) <= 2 and yes in sms, sms
    question = templates_for(locale)["question"]
    assert question.strip("¿? ").lower() in sms.lower()
    email = render_fix_notice(channel="email", locale=locale, customer_name="Sam", company="Acme",
                              category="double_charge")
    assert yes in email.body and "{" not in email.body + email.subject and "  " not in email.body
    assert classify_reply(yes, ReplyContext(locale=locale, question=question)).intent == "resolved"
