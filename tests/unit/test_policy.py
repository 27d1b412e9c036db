"""Humane timing in the customer's zone (DST, quiet hours across midnight), channel, caps, control group."""
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from followup.policy import (
    Contact,
    SchedulePolicy,
    choose_channel,
    humane_due_at,
    in_control_group,
    in_quiet_hours,
    plan_checkin,
)

UTC = timezone.utc
P = SchedulePolicy()


def local(due: datetime, tz: str) -> datetime:
    return due.astimezone(ZoneInfo(tz))


def test_afternoon_gets_three_hours():
    due, _ = humane_due_at(datetime(2026, 11, 25, 14, 0, tzinfo=UTC), "Europe/London", P)
    assert due == datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def test_after_five_pm_local_waits_for_next_morning_0930_local():
    due, reasons = humane_due_at(datetime(2026, 11, 25, 22, 30, tzinfo=UTC), "America/New_York", P)
    assert local(due, "America/New_York").replace(tzinfo=None) == datetime(2026, 11, 26, 9, 30)
    assert any("next morning" in r for r in reasons)


def test_plus_three_hours_landing_in_quiet_hours_moves_to_quiet_end():
    # 16:30 local + 3 h = 19:30 is fine; with quiet hours from 19:00 it must move to 08:00 next day
    policy = SchedulePolicy(quiet_start=time(19, 0))
    due, reasons = humane_due_at(datetime(2026, 11, 25, 16, 30, tzinfo=UTC), "Europe/London", policy)
    assert local(due, "Europe/London").replace(tzinfo=None) == datetime(2026, 11, 26, 8, 0)
    assert any("quiet hours" in r for r in reasons)


def test_quiet_hours_window_across_midnight():
    assert in_quiet_hours(time(23, 30), P) and in_quiet_hours(time(2, 0), P) and in_quiet_hours(time(21, 0), P)
    assert not in_quiet_hours(time(8, 0), P) and not in_quiet_hours(time(20, 59), P)
    # early-morning interaction: +3 h from 03:00 = 06:00, still quiet → same day 08:00
    due, _ = humane_due_at(datetime(2026, 11, 25, 3, 0, tzinfo=UTC), "Europe/London", P)
    assert local(due, "Europe/London").replace(tzinfo=None) == datetime(2026, 11, 25, 8, 0)


def test_same_day_quiet_window_not_across_midnight():
    policy = SchedulePolicy(quiet_start=time(12, 0), quiet_end=time(13, 0))
    assert in_quiet_hours(time(12, 30), policy) and not in_quiet_hours(time(13, 0), policy)


def test_london_spring_forward_next_morning_is_bst():
    # Sat 28 Mar 2026 18:00 GMT → Sunday 29 Mar (clocks go forward at 01:00) 09:30 BST = 08:30 UTC
    due, _ = humane_due_at(datetime(2026, 3, 28, 18, 0, tzinfo=UTC), "Europe/London", P)
    assert due == datetime(2026, 3, 29, 8, 30, tzinfo=UTC)
    assert local(due, "Europe/London").tzname() == "BST"


def test_london_fall_back_next_morning_is_gmt():
    # Sat 24 Oct 2026 18:00 BST (17:00 UTC) → Sunday 25 Oct 09:30 GMT = 09:30 UTC
    due, _ = humane_due_at(datetime(2026, 10, 24, 17, 0, tzinfo=UTC), "Europe/London", P)
    assert due == datetime(2026, 10, 25, 9, 30, tzinfo=UTC)


def test_new_york_spring_forward_three_hours_is_elapsed_time():
    # 8 Mar 2026: 02:00 EST → 03:00 EDT. 00:30 EST + 3 h elapsed = 04:30 EDT → quiet → 08:00 EDT = 12:00 UTC
    due, _ = humane_due_at(datetime(2026, 3, 8, 5, 30, tzinfo=UTC), "America/New_York", P)
    assert due == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def test_new_york_quiet_end_inside_the_dst_gap_moves_forward():
    policy = SchedulePolicy(quiet_start=time(18, 0), quiet_end=time(2, 30))
    # Sat 7 Mar 16:00 EST + 3 h = 19:00, quiet → quiet end 02:30 on Sun 8 Mar, a time that never happens
    due, _ = humane_due_at(datetime(2026, 3, 7, 21, 0, tzinfo=UTC), "America/New_York", policy)
    got = local(due, "America/New_York")
    assert (got.day, got.hour, got.minute, got.tzname()) == (8, 3, 30, "EDT")


def test_new_york_fall_back_next_morning():
    # Sat 31 Oct 2026 18:00 EDT (22:00 UTC) → Sun 1 Nov 09:30 EST = 14:30 UTC
    due, _ = humane_due_at(datetime(2026, 10, 31, 22, 0, tzinfo=UTC), "America/New_York", P)
    assert due == datetime(2026, 11, 1, 14, 30, tzinfo=UTC)


def test_no_send_days_skip_to_next_day():
    policy = SchedulePolicy(no_send_days=frozenset({"sun"}))
    # Saturday 28 Nov 2026 18:00 → Sunday morning is not allowed → Monday 09:30
    due, reasons = humane_due_at(datetime(2026, 11, 28, 18, 0, tzinfo=UTC), "Europe/London", policy)
    assert local(due, "Europe/London").replace(tzinfo=None) == datetime(2026, 11, 30, 9, 30)
    assert any("no sends" in r for r in reasons)


def test_category_override_delay():
    policy = SchedulePolicy(category_delay={"outage": timedelta(hours=1)})
    due, _ = humane_due_at(datetime(2026, 11, 25, 10, 0, tzinfo=UTC), "Europe/London", policy, "outage")
    assert due == datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


def test_channel_choice_by_consent_and_opt_out():
    both = Contact("Europe/London", phone="+447700900123", email="a@b.c", consent_sms=True, consent_email=True)
    assert choose_channel(both, "email")[0] == "email"
    assert choose_channel(both, "voice")[0] == "sms"
    email_only = Contact("Europe/London", phone="+447700900123", email="a@b.c", consent_email=True)
    assert choose_channel(email_only, "sms")[0] == "email"
    opted = Contact("Europe/London", phone="+447700900123", email="a@b.c", consent_sms=True, consent_email=True,
                    opted_out=frozenset({"+447700900123"}))
    assert choose_channel(opted, "sms")[0] == "email"
    channel, _, why = choose_channel(Contact("Europe/London", phone="+447700900123"), "sms")
    assert channel is None and "no sms consent" in why


def _plan(**kw):
    base = dict(interaction_id="int_1", ended_at=datetime(2026, 11, 25, 14, 0, tzinfo=UTC), used_channel="sms",
                category=None, contact=Contact("Europe/London", phone="+447700900123", consent_sms=True),
                recent_checkins=[], policy=P, now=datetime(2026, 11, 25, 14, 5, tzinfo=UTC))
    return plan_checkin(**{**base, **kw})


def test_caps_per_day_and_per_month():
    now = datetime(2026, 11, 25, 14, 5, tzinfo=UTC)
    assert _plan().send
    blocked = _plan(recent_checkins=[now - timedelta(hours=5)])
    assert not blocked.send and "24 h" in blocked.reasons[-1]
    month = [now - timedelta(days=d) for d in (3, 9, 15)]
    blocked = _plan(recent_checkins=month)
    assert not blocked.send and "30 days" in blocked.reasons[-1]
    assert _plan(recent_checkins=month[:2]).send


def test_late_webhook_is_not_scheduled_in_the_past():
    plan = _plan(ended_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    assert plan.due_at >= datetime(2026, 11, 25, 14, 5, tzinfo=UTC)


def test_control_group_fraction_is_deterministic_and_close_to_the_fraction():
    ids = [f"int_{i}" for i in range(4000)]
    held = [i for i in ids if in_control_group(i, 0.1)]
    assert 320 < len(held) < 480
    assert held == [i for i in ids if in_control_group(i, 0.1)]
    assert not any(in_control_group(i, 0.0) for i in ids)
    plan = _plan(interaction_id=held[0], policy=SchedulePolicy(control_fraction=0.1))
    assert not plan.send and plan.held_out
