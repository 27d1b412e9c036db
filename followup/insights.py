"""Why customers come back (pure): reopens counted by reason category and root cause, per category, journey stage
and team, against the window before (same length) — the "Learn" of Listen → Learn → Act → Close the loop → Share.

Records come in already masked (followup.insight_store); nothing here reads a database.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Mapping, Sequence

from followup.reasons import LABELS, REASON_CATEGORIES

EXAMPLES = 3
UNKNOWN_CAUSE = "not given"


@dataclass(frozen=True)
class ReopenRec:
    """One reopen: when, why (the reply's reason category), where (case category, stage, team), the root cause
    the agent gave when closing the case (None: not given) and the customer's words, masked."""

    at: datetime
    reason: str
    category: str | None
    journey_stage: str | None
    team: str | None
    root_cause: str | None
    text: str


def trend(count: int, previous: int) -> dict:
    """Counts against the window before: the change, and up / down / flat / new."""
    word = "new" if previous == 0 and count else "up" if count > previous else "down" if count < previous else "flat"
    return {"count": count, "previous": previous, "change": count - previous,
            "change_pct": round((count - previous) / previous, 3) if previous else None, "trend": word}


def _rows(now: Sequence[ReopenRec], before: Sequence[ReopenRec], key: Callable[[ReopenRec], str | None],
          name: str, label: Callable[[str], str], top: int | None, order: Sequence[str] = ()) -> list[dict]:
    """One row per key seen in either window, most frequent first (ties: `order`, then name)."""
    counts, previous = Counter(key(r) or UNKNOWN_CAUSE for r in now), Counter(key(r) or UNKNOWN_CAUSE for r in before)
    examples: dict[str, list[str]] = defaultdict(list)
    for r in sorted(now, key=lambda r: r.at, reverse=True):
        bucket = examples[key(r) or UNKNOWN_CAUSE]
        if len(bucket) < EXAMPLES and r.text not in bucket:
            bucket.append(r.text)
    rank = {k: i for i, k in enumerate(order)}
    keys = sorted(set(counts) | set(previous), key=lambda k: (-counts[k], -previous[k], rank.get(k, len(rank)), k))
    return [{name: k, "label": label(k), **trend(counts[k], previous[k]), "examples": examples.get(k, [])}
            for k in keys[:top]]


def _groups(now: Sequence[ReopenRec], before: Sequence[ReopenRec], attr: str, cause_label: Callable[[str], str],
            top: int) -> list[dict]:
    by_now, by_before = defaultdict(list), defaultdict(list)
    for r in now:
        by_now[getattr(r, attr) or "unknown"].append(r)
    for r in before:
        by_before[getattr(r, attr) or "unknown"].append(r)
    keys = sorted(set(by_now) | set(by_before), key=lambda k: (-len(by_now[k]), -len(by_before[k]), k))
    return [{attr: k, **trend(len(by_now[k]), len(by_before[k])),
             "reasons": _rows(by_now[k], by_before[k], lambda r: r.reason, "reason", _reason_label, top,
                              REASON_CATEGORIES),
             "root_causes": _rows(by_now[k], by_before[k], lambda r: r.root_cause, "root_cause", cause_label, top)}
            for k in keys]


def _reason_label(code: str) -> str:
    return LABELS.get(code, code)


def reopen_reasons(records: Iterable[ReopenRec], *, start: datetime, end: datetime, team: str | None = None,
                   journey_stage: str | None = None, root_cause_labels: Mapping[str, str] | None = None,
                   top: int = 5) -> dict:
    """Top reasons and root causes overall and per category, journey stage and team, in [start, end) against
    [start - (end - start), start)."""
    previous_start = start - (end - start)
    labels = dict(root_cause_labels or {})

    def cause_label(value: str) -> str:
        return labels.get(value, value)

    wanted = [r for r in records if (team is None or r.team == team)
              and (journey_stage is None or r.journey_stage == journey_stage)]
    now = [r for r in wanted if start <= r.at < end]
    before = [r for r in wanted if previous_start <= r.at < start]
    return {
        "window": {"from": start.isoformat(), "to": end.isoformat(), "team": team, "journey_stage": journey_stage},
        "previous_window": {"from": previous_start.isoformat(), "to": start.isoformat()},
        "reopens": trend(len(now), len(before)),
        "reasons": _rows(now, before, lambda r: r.reason, "reason", _reason_label, None, REASON_CATEGORIES),
        "root_causes": _rows(now, before, lambda r: r.root_cause, "root_cause", cause_label, top),
        "by_category": _groups(now, before, "category", cause_label, top),
        "by_journey_stage": _groups(now, before, "journey_stage", cause_label, top),
        "by_team": _groups(now, before, "team", cause_label, top),
    }
