"""When and how to check in: delay, quiet hours, channel, caps, control group (pure; DST-correct via zoneinfo)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Without a preference (the customer used voice, chat or a bot): texts first, then WhatsApp, then email.
CHANNEL_ORDER = ("sms", "whatsapp", "email")
WHATSAPP_PREFIX = "whatsapp:"


def whatsapp_address(phone: str | None) -> str | None:
    """A WhatsApp user is addressed as `whatsapp:+E164`; its opt-out is its own, apart from the number's SMS."""
    return f"{WHATSAPP_PREFIX}{phone}" if phone else None


@dataclass(frozen=True)
class SchedulePolicy:
    """Config `[followup]`: the humane-time rules."""

    default_delay: timedelta = timedelta(hours=3)
    late_cutoff: time = time(17, 0)
    next_morning_at: time = time(9, 30)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    no_send_days: frozenset[str] = frozenset()
    category_delay: Mapping[str, timedelta] = field(default_factory=dict)
    max_per_24h: int = 1
    max_per_30d: int = 3
    control_fraction: float = 0.0


@dataclass(frozen=True)
class Contact:
    """How the customer can be reached, and what they agreed to."""

    timezone: str
    phone: str | None = None
    email: str | None = None
    consent_sms: bool = False
    consent_email: bool = False
    consent_whatsapp: bool = False
    opted_out: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CheckinPlan:
    send: bool
    channel: str | None
    address: str | None
    due_at: datetime | None
    reasons: tuple[str, ...]
    held_out: bool = False


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def humane_due_at(ended_at: datetime, tz: str, policy: SchedulePolicy, category: str | None = None,
                  not_before: datetime | None = None) -> tuple[datetime, list[str]]:
    """The first humane moment for a check-in, in UTC, with the reasons in the customer's local time."""
    zone = ZoneInfo(tz)
    local_end = ended_at.astimezone(zone)
    reasons: list[str] = []
    if category and category in policy.category_delay:
        candidate = ended_at + policy.category_delay[category]
        reasons.append(f"category {category}: +{_hours(policy.category_delay[category])}")
    elif local_end.time() >= policy.late_cutoff:
        candidate = _local(local_end.date() + timedelta(days=1), policy.next_morning_at, zone)
        reasons.append(f"ended {local_end:%H:%M} local, after {policy.late_cutoff:%H:%M}: next morning {policy.next_morning_at:%H:%M}")
    else:
        candidate = ended_at + policy.default_delay
        reasons.append(f"ended {local_end:%H:%M} local: +{_hours(policy.default_delay)}")
    if not_before is not None and candidate < not_before:
        candidate = not_before
        reasons.append("that time has passed: as soon as humane")
    due = _out_of_quiet_hours(candidate, zone, policy, reasons)
    due_local = due.astimezone(zone)
    reasons.append(f"scheduled {due_local:%a %Y-%m-%d %H:%M} {due_local.tzname()} ({tz})")
    return due.astimezone(timezone.utc), reasons


def first_humane_moment(now: datetime, tz: str, policy: SchedulePolicy) -> tuple[datetime, list[str]]:
    """Now, or the end of the customer's quiet hours / no-send day (a message with no delay of its own)."""
    reasons: list[str] = []
    due = _out_of_quiet_hours(now, ZoneInfo(tz), policy, reasons)
    due_local = due.astimezone(ZoneInfo(tz))
    reasons.append(f"scheduled {due_local:%a %Y-%m-%d %H:%M} {due_local.tzname()} ({tz})")
    return due.astimezone(timezone.utc), reasons


def cap_reason(recent: Sequence[datetime], due: datetime, policy: SchedulePolicy) -> str | None:
    """Why one more message to this customer at `due` would break the caps (None: it would not)."""
    return _cap_reason(recent, due, policy)


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h"


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on a day; a time skipped by DST moves forward, a repeated one takes the first."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone, fold=0)
    round_trip = aware.astimezone(timezone.utc).astimezone(zone)
    if round_trip.replace(tzinfo=None) != naive:
        return round_trip
    return aware


def in_quiet_hours(local_time: time, policy: SchedulePolicy) -> bool:
    start, end = policy.quiet_start, policy.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end


def _out_of_quiet_hours(candidate: datetime, zone: ZoneInfo, policy: SchedulePolicy, reasons: list[str]) -> datetime:
    local = candidate.astimezone(zone)
    for _ in range(8):
        if in_quiet_hours(local.time(), policy):
            day = local.date() if local.time() < policy.quiet_end else local.date() + timedelta(days=1)
            local = _local(day, policy.quiet_end, zone)
            reasons.append(f"quiet hours {policy.quiet_start:%H:%M}–{policy.quiet_end:%H:%M}: moved to {local:%H:%M}")
            continue
        if WEEKDAYS[local.weekday()] in policy.no_send_days:
            local = _local(local.date() + timedelta(days=1), max(policy.quiet_end, policy.next_morning_at), zone)
            reasons.append(f"no sends on {WEEKDAYS[(local.weekday() - 1) % 7]}: moved to next day")
            continue
        return local
    return local


def choose_channel(contact: Contact, used_channel: str | None) -> tuple[str | None, str | None, str]:
    """The channel the customer used if consented, else SMS, else WhatsApp, else email; opted-out addresses are
    skipped. WhatsApp needs its own consent (a native help-desk connector gives it when the conversation itself
    was on WhatsApp), and goes to the customer's phone number as a WhatsApp address."""
    options = {"sms": (contact.consent_sms, contact.phone), "email": (contact.consent_email, contact.email),
               "whatsapp": (contact.consent_whatsapp, whatsapp_address(contact.phone))}
    order = list(CHANNEL_ORDER)
    if used_channel in options:
        order.remove(used_channel)
        order.insert(0, used_channel)
    skipped = []
    for channel in order:
        consented, address = options[channel]
        if not consented or not address:
            skipped.append(f"no {channel} consent" if not consented else f"no {channel} address")
            continue
        if address in contact.opted_out:
            skipped.append(f"{channel} address opted out")
            continue
        if channel == used_channel:
            return channel, address, f"channel {channel} (the one the customer used)"
        if used_channel in options:  # it was skipped first
            return channel, address, f"channel {channel} (not {used_channel}, the one the customer used: {skipped[0]})"
        return channel, address, f"channel {channel}"
    return None, None, "no consented channel: " + ", ".join(skipped)


def in_control_group(interaction_id: str, fraction: float) -> bool:
    """Deterministic hold-out, so a retried webhook lands in the same group."""
    if fraction <= 0:
        return False
    digest = hashlib.sha256(interaction_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def plan_checkin(*, interaction_id: str, ended_at: datetime, used_channel: str | None, category: str | None,
                 contact: Contact, recent_checkins: Sequence[datetime], policy: SchedulePolicy,
                 now: datetime) -> CheckinPlan:
    """Decide whether, when and how to check in on one interaction the triage marked for a check-in."""
    if in_control_group(interaction_id, policy.control_fraction):
        return CheckinPlan(False, None, None, None, (f"held out: control group ({policy.control_fraction:.0%})",), True)
    channel, address, why = choose_channel(contact, used_channel)
    if channel is None:
        return CheckinPlan(False, None, None, None, (why,))
    due, reasons = humane_due_at(ended_at, contact.timezone, policy, category, not_before=now)
    cap = _cap_reason(recent_checkins, due, policy)
    if cap:
        return CheckinPlan(False, channel, address, None, (why, cap))
    return CheckinPlan(True, channel, address, due, (why, *reasons))


def _cap_reason(recent: Sequence[datetime], due: datetime, policy: SchedulePolicy) -> str | None:
    within_day = [t for t in recent if abs((due - t).total_seconds()) < 86_400]
    within_month = [t for t in recent if abs((due - t).total_seconds()) < 30 * 86_400]
    if len(within_day) >= policy.max_per_24h:
        return f"cap: already {len(within_day)} check-in(s) for this customer within 24 h"
    if len(within_month) >= policy.max_per_30d:
        return f"cap: already {len(within_month)} check-in(s) for this customer within 30 days"
    return None


def policy_from_settings(s) -> SchedulePolicy:
    """Build the policy from `[followup]` settings."""
    return SchedulePolicy(
        default_delay=timedelta(hours=float(s.default_delay_hours)),
        late_cutoff=parse_hhmm(s.late_cutoff),
        next_morning_at=parse_hhmm(s.next_morning_at),
        quiet_start=parse_hhmm(s.quiet_start),
        quiet_end=parse_hhmm(s.quiet_end),
        no_send_days=frozenset(d.lower()[:3] for d in s.no_send_days),
        category_delay={k: timedelta(hours=float(v)) for k, v in s.category_delay_hours.items()},
        max_per_24h=int(s.max_per_customer_24h),
        max_per_30d=int(s.max_per_customer_30d),
        control_fraction=float(s.control_group_fraction),
    )
