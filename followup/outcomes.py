"""Outcome metrics (SPEC §6) computed from plain records: pure, no Flask, no database.

`followup.outcome_store` loads the records; this module only counts. Every metric has a one-line
definition in DEFINITIONS, shown in the API docs, in the JSON answer and on the dashboard.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Mapping, Sequence

REPEAT_WITHIN = timedelta(days=7)
STAY_CLOSED = timedelta(days=7)
CHURN_HORIZONS = (30, 90)
NO_STAGE = "unknown"
CHANNELS = ("sms", "email", "whatsapp")  # always shown, in this order; another channel follows if one was used

DEFINITIONS: dict[str, str] = {
    "repeat_contacts": "Share of contacts (closed interactions and customer.contacted events) in the window whose "
                       "customer had another contact in the same category during the 7 days before; by the "
                       "repeat contact's journey stage.",
    "time_to_resolution": "For cases whose first contact falls in the window: hours from first contact to the "
                          "customer confirming it resolved (their first 'resolved' reply) or, without such a reply, "
                          "to the first close not followed by a reopen or a new interaction within 7 days; median "
                          "and p90 over resolved cases (linear interpolation between ranks).",
    "churn_after_friction": "Customers whose first friction-heavy interaction in the window (triage marked it "
                            "important or emotional load ≥ the high threshold) was followed by a customer.churned "
                            "event within 30 / 90 days; 'followed_up' and 'control' compare automated check-ins "
                            "sent vs held out by the control group (intention to treat), 'human_callback' is shown "
                            "for context; 'pending' counts customers whose horizon has not fully passed yet.",
    "bot_escalation": "Of interactions that started with the bot (channel 'bot' or escalated_from_bot), the share "
                      "escalated to a human (escalated_from_bot), by journey stage.",
    "checkins": "Check-ins sent in the window; reply rate = check-ins with at least one reply / sent; resolved and "
                "reopen rates = first reply's intent 'resolved' / 'reopen' among replied check-ins; the same per "
                "channel (SMS, email, WhatsApp), so the channels customers answer show.",
    "reopen_latency": "For replies in the window that reopened a case: seconds from the reply being received to "
                      "its case item being created in a human queue; median and p90.",
    "unmatched_replies": "Replies in the window that matched no check-in (stored for a person to read; not "
                         "filtered by team or stage).",
    "breaks": "Break decisions in the window per agent (granted, deferred, escalated, refused), minutes on break "
              "and minutes spent above the load threshold, from wellbeing's break statistics.",
}


@dataclass(frozen=True)
class InteractionRec:
    id: str
    case_id: str
    customer_id: str
    ended_at: datetime
    started_at: datetime | None = None
    team: str | None = None
    journey_stage: str | None = None
    category: str | None = None
    channel: str = "chat"
    escalated_from_bot: bool = False
    important: bool = False
    emotional_load: float = 0.0
    triage_decision: str = "none"
    held_out: bool = False

    @property
    def first_touch(self) -> datetime:
        return self.started_at or self.ended_at


@dataclass(frozen=True)
class ContactRec:
    """A customer.contacted event (interactions are turned into contacts by `contacts_from`)."""

    customer_id: str
    at: datetime
    category: str | None = None
    journey_stage: str | None = None
    team: str | None = None


@dataclass(frozen=True)
class CaseRec:
    id: str
    closed_at: datetime | None = None
    reopened_at: datetime | None = None
    team: str | None = None
    journey_stage: str | None = None


@dataclass(frozen=True)
class CheckinRec:
    id: str
    case_id: str
    sent_at: datetime
    team: str | None = None
    journey_stage: str | None = None
    channel: str = "sms"


@dataclass(frozen=True)
class ReplyRec:
    id: str
    received_at: datetime
    intent: str
    checkin_id: str | None = None
    case_id: str | None = None
    reopened: bool = False          # this reply reopened its case
    routed_at: datetime | None = None  # its case item was created in a human queue
    team: str | None = None
    journey_stage: str | None = None


@dataclass(frozen=True)
class ChurnRec:
    customer_id: str
    at: datetime


@dataclass(frozen=True)
class Window:
    """[start, end) with optional filters; `as_of` is how far the history is known (now)."""

    start: datetime
    end: datetime
    as_of: datetime
    team: str | None = None
    journey_stage: str | None = None

    def contains(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end

    def matches(self, team: str | None, stage: str | None) -> bool:
        return (self.team is None or team == self.team) and (self.journey_stage is None or stage == self.journey_stage)


@dataclass(frozen=True)
class History:
    interactions: Sequence[InteractionRec] = ()
    contacts: Sequence[ContactRec] = ()
    cases: Sequence[CaseRec] = ()
    checkins: Sequence[CheckinRec] = ()
    replies: Sequence[ReplyRec] = ()
    churns: Sequence[ChurnRec] = ()
    breaks: Mapping = field(default_factory=dict)


def percentile(values: Iterable[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def contacts_from(interactions: Iterable[InteractionRec], events: Iterable[ContactRec]) -> list[ContactRec]:
    return [ContactRec(customer_id=i.customer_id, at=i.ended_at, category=i.category, journey_stage=i.journey_stage,
                       team=i.team) for i in interactions] + list(events)


def repeat_contacts(contacts: Iterable[ContactRec], window: Window) -> dict:
    """A contact repeats when the same customer contacted about the same category in the 7 days before."""
    by_key: dict[tuple, list[ContactRec]] = defaultdict(list)
    for contact in contacts:
        by_key[(contact.customer_id, contact.category)].append(contact)
    stages: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (_, category), group in by_key.items():
        group.sort(key=lambda c: c.at)
        for index, contact in enumerate(group):
            if not window.contains(contact.at) or not window.matches(contact.team, contact.journey_stage):
                continue
            counts = stages[contact.journey_stage or NO_STAGE]
            counts[0] += 1
            if category is not None and index and contact.at - group[index - 1].at <= REPEAT_WITHIN:
                counts[1] += 1
    rows = [{"journey_stage": stage, "contacts": n, "repeats": r, "rate": _rate(r, n)}
            for stage, (n, r) in sorted(stages.items())]
    total_n, total_r = sum(r["contacts"] for r in rows), sum(r["repeats"] for r in rows)
    return {"by_journey_stage": rows,
            "total": {"contacts": total_n, "repeats": total_r, "rate": _rate(total_r, total_n)}}


def _stuck_close(case: CaseRec, interactions: list[InteractionRec], replies: list[ReplyRec],
                 as_of: datetime) -> datetime | None:
    """The first close not followed within 7 days by a reopen or a new interaction on the case."""
    closes = sorted({i.ended_at for i in interactions} | ({case.closed_at} if case.closed_at else set()))
    comebacks = [r.received_at for r in replies if r.reopened] + [i.first_touch for i in interactions]
    if case.reopened_at:
        comebacks.append(case.reopened_at)
    for close in closes:
        if close + STAY_CLOSED > as_of:
            return None
        if not any(close < back <= close + STAY_CLOSED for back in comebacks):
            return close
    return None


def time_to_resolution(interactions: Iterable[InteractionRec], cases: Iterable[CaseRec],
                       replies: Iterable[ReplyRec], window: Window) -> dict:
    by_case: dict[str, list[InteractionRec]] = defaultdict(list)
    for interaction in interactions:
        by_case[interaction.case_id].append(interaction)
    replies_by_case: dict[str, list[ReplyRec]] = defaultdict(list)
    for reply in replies:
        if reply.case_id:
            replies_by_case[reply.case_id].append(reply)
    hours, confirmed, stayed, episodes = [], 0, 0, 0
    for case in cases:
        touches = by_case.get(case.id)
        if not touches:
            continue
        first = min(i.first_touch for i in touches)
        if not window.contains(first) or not window.matches(case.team, case.journey_stage):
            continue
        episodes += 1
        said_resolved = min((r.received_at for r in replies_by_case[case.id]
                             if r.intent == "resolved" and r.received_at >= first), default=None)
        resolved_at = said_resolved or _stuck_close(case, touches, replies_by_case[case.id], window.as_of)
        if resolved_at is None:
            continue
        confirmed += said_resolved is not None
        stayed += said_resolved is None
        hours.append((resolved_at - first).total_seconds() / 3600)
    return {"episodes": episodes, "resolved": len(hours), "confirmed_by_customer": confirmed,
            "stayed_closed": stayed, "unresolved": episodes - len(hours),
            "median_hours": _round(percentile(hours, 50)), "p90_hours": _round(percentile(hours, 90))}


def is_friction_heavy(interaction: InteractionRec, high_threshold: float) -> bool:
    return interaction.important or interaction.emotional_load >= high_threshold


def _group(interaction: InteractionRec) -> str | None:
    if interaction.triage_decision == "human_callback":
        return "human_callback"
    if interaction.triage_decision == "automated_checkin":
        return "control" if interaction.held_out else "followed_up"
    return None


def churn_after_friction(interactions: Iterable[InteractionRec], churns: Iterable[ChurnRec], window: Window,
                         *, high_threshold: float) -> dict:
    """Each customer counts once, from their first friction-heavy interaction in the window."""
    first: dict[str, InteractionRec] = {}
    for interaction in sorted(interactions, key=lambda i: i.ended_at):
        if (window.contains(interaction.ended_at) and window.matches(interaction.team, interaction.journey_stage)
                and is_friction_heavy(interaction, high_threshold) and interaction.customer_id not in first):
            first[interaction.customer_id] = interaction
    churned_at: dict[str, list[datetime]] = defaultdict(list)
    for churn in churns:
        churned_at[churn.customer_id].append(churn.at)
    groups = {name: {"n": 0, **{f"{k}_{d}d": 0 for d in CHURN_HORIZONS for k in ("churned", "pending")}}
              for name in ("followed_up", "control", "human_callback")}
    for customer_id, episode in first.items():
        name = _group(episode)
        if name is None:
            continue
        group = groups[name]
        group["n"] += 1
        for days in CHURN_HORIZONS:
            horizon = episode.ended_at + timedelta(days=days)
            if any(episode.ended_at < at <= horizon for at in churned_at[customer_id]):
                group[f"churned_{days}d"] += 1
            elif horizon > window.as_of:
                group[f"pending_{days}d"] += 1
    for group in groups.values():
        for days in CHURN_HORIZONS:
            group[f"rate_{days}d"] = _rate(group[f"churned_{days}d"], group["n"])
    return {"episodes": sum(group["n"] for group in groups.values()), "groups": groups}


def bot_escalation(interactions: Iterable[InteractionRec], window: Window) -> dict:
    stages: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i in interactions:
        if not window.contains(i.ended_at) or not window.matches(i.team, i.journey_stage):
            continue
        if i.channel == "bot" or i.escalated_from_bot:
            counts = stages[i.journey_stage or NO_STAGE]
            counts[0] += 1
            counts[1] += bool(i.escalated_from_bot)
    rows = [{"journey_stage": stage, "bot_started": n, "escalated": e, "rate": _rate(e, n)}
            for stage, (n, e) in sorted(stages.items())]
    n, e = sum(r["bot_started"] for r in rows), sum(r["escalated"] for r in rows)
    return {"by_journey_stage": rows, "total": {"bot_started": n, "escalated": e, "rate": _rate(e, n)}}


def _funnel(sent: Sequence[CheckinRec], first_reply: Mapping[str, ReplyRec]) -> dict:
    intents: dict[str, int] = defaultdict(int)
    for checkin in sent:
        if checkin.id in first_reply:
            intents[first_reply[checkin.id].intent] += 1
    replied = sum(intents.values())
    return {"sent": len(sent), "replied": replied, "reply_rate": _rate(replied, len(sent)),
            "resolved": intents["resolved"], "resolved_rate": _rate(intents["resolved"], replied),
            "reopen": intents["reopen"], "reopen_rate": _rate(intents["reopen"], replied),
            "ack": intents["ack"], "opt_out": intents["opt_out"]}


def checkin_funnel(checkins: Iterable[CheckinRec], replies: Iterable[ReplyRec], window: Window) -> dict:
    """The funnel over all check-ins, and per channel (`by_channel`) with the same measures."""
    first_reply: dict[str, ReplyRec] = {}
    for reply in sorted(replies, key=lambda r: r.received_at):
        if reply.checkin_id and reply.checkin_id not in first_reply:
            first_reply[reply.checkin_id] = reply
    sent = [c for c in checkins if window.contains(c.sent_at) and window.matches(c.team, c.journey_stage)]
    channels = list(CHANNELS) + sorted({c.channel for c in sent} - set(CHANNELS))
    return {**_funnel(sent, first_reply),
            "by_channel": [{"channel": channel, **_funnel([c for c in sent if c.channel == channel], first_reply)}
                           for channel in channels]}


def reopen_latency(replies: Iterable[ReplyRec], window: Window) -> dict:
    seconds = [(r.routed_at - r.received_at).total_seconds() for r in replies
               if r.reopened and r.routed_at and window.contains(r.received_at)
               and window.matches(r.team, r.journey_stage)]
    return {"n": len(seconds), "median_seconds": _round(percentile(seconds, 50), 3),
            "p90_seconds": _round(percentile(seconds, 90), 3)}


def unmatched_replies(replies: Iterable[ReplyRec], window: Window) -> int:
    return sum(1 for r in replies if r.checkin_id is None and r.case_id is None and window.contains(r.received_at))


def breaks_table(stats: Mapping) -> dict:
    """wellbeing.break_stats as a list sorted by agent (JSON and CSV friendly)."""
    per_agent = stats.get("per_agent") or {}
    return {"per_agent": [{"agent_id": agent_id, **values} for agent_id, values in sorted(per_agent.items())],
            "totals": dict(stats.get("totals") or {})}


def compute_outcomes(history: History, window: Window, *, high_threshold: float = 0.7) -> dict:
    """Every outcome metric for one window, with the definitions a reader needs to judge them."""
    return {
        "window": {"from": window.start.isoformat(), "to": window.end.isoformat(), "as_of": window.as_of.isoformat(),
                   "team": window.team, "journey_stage": window.journey_stage},
        "repeat_contacts": repeat_contacts(contacts_from(history.interactions, history.contacts), window),
        "time_to_resolution": time_to_resolution(history.interactions, history.cases, history.replies, window),
        "churn_after_friction": churn_after_friction(history.interactions, history.churns, window,
                                                     high_threshold=high_threshold),
        "bot_escalation": bot_escalation(history.interactions, window),
        "checkins": checkin_funnel(history.checkins, history.replies, window),
        "reopen_latency": reopen_latency(history.replies, window),
        "unmatched_replies": unmatched_replies(history.replies, window),
        "breaks": breaks_table(history.breaks),
        "definitions": dict(DEFINITIONS),
    }


# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV Injection", ASVS 1.2.10).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def spreadsheet_cell(value):
    """Text that would start a formula gets a leading single quote, so Excel, LibreOffice and Sheets show it as
    text. Numbers are written as numbers: the measures are ints and floats, and a negative one must stay a number;
    text that merely looks like one ("-1") came from a CRM field, so it is quoted like any other text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_rows(report: Mapping) -> list[list]:
    """The report flattened to (metric, group, measure, value) rows for `Accept: text/csv`; groups are journey
    stages and agent ids from CRM events, so every text cell goes through `spreadsheet_cell`."""
    rows: list[list] = [["metric", "group", "measure", "value"]]

    def add(metric: str, group: str, values: Mapping) -> None:
        rows.extend([spreadsheet_cell(cell) for cell in (metric, group, key, "" if value is None else value)]
                    for key, value in values.items() if not isinstance(value, (dict, list)))

    for metric in ("repeat_contacts", "bot_escalation"):
        for row in report[metric]["by_journey_stage"]:
            add(metric, row["journey_stage"], {k: v for k, v in row.items() if k != "journey_stage"})
        add(metric, "total", report[metric]["total"])
    add("time_to_resolution", "all", report["time_to_resolution"])
    for name, group in report["churn_after_friction"]["groups"].items():
        add("churn_after_friction", name, group)
    add("checkins", "all", report["checkins"])
    for row in report["checkins"]["by_channel"]:
        add("checkins", row["channel"], {k: v for k, v in row.items() if k != "channel"})
    add("reopen_latency", "all", report["reopen_latency"])
    add("unmatched_replies", "all", {"n": report["unmatched_replies"]})
    for row in report["breaks"]["per_agent"]:
        add("breaks", row["agent_id"], {k: v for k, v in row.items() if k != "agent_id"})
    add("breaks", "total", report["breaks"]["totals"])
    if loop := report.get("close_the_loop"):  # known problems resolved in the window (followup.problems)
        add("close_the_loop", "all", loop)
        for group in ("notified", "control"):
            add("repeat_after_fix", group, loop["repeat_after_fix"][group])
    return rows
