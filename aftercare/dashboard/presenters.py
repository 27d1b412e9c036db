"""Turning service answers into what the pages show: rule documents, diffs, the simulation side by side, charts."""
from __future__ import annotations

import difflib
import json

import wellbeing.services as wellbeing
from aftercare.dashboard import charts
from aftercare.dashboard.wording import change_sentences, measure_label

SIDES = ("proposed", "active")
PER_AGENT = (("breaks_per_agent", "breaks"), ("minutes_off_queue", "minutes off queue"),
             ("peak_load", "peak load"), ("minutes_above_threshold", "minutes above threshold"))
SHOWN_ELSEWHERE = {"team", "start", "end", "service_level_by_hour", "peaked_without_break",
                   *(key for key, _ in PER_AGENT)}


def document_of(entry: dict | None) -> dict:
    """The rule set document (rules, guards, scope) of an active or history entry."""
    if not entry:
        return wellbeing.dump_rule_set(wellbeing.DEFAULT_RULE_SET)
    if isinstance(entry.get("rules"), dict):
        return entry["rules"]
    return {key: entry[key] for key in ("rules", "guards", "scope") if key in entry}


def pretty(document: object) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def with_diffs(entries: list[dict]) -> list[dict]:
    """Newest first, each with a unified diff (difflib) against the version before it (the first one against
    the built-in default)."""
    out, previous = [], None
    for entry in sorted(entries, key=lambda e: e.get("version") or 0):
        before = pretty(document_of(previous)).splitlines()
        diff = difflib.unified_diff(before, pretty(document_of(entry)).splitlines(),
                                    fromfile=f"version {previous['version']}" if previous else "built-in default",
                                    tofile=f"version {entry.get('version')}", lineterm="")
        out.append({**entry, "diff": list(diff),
                    "changes": change_sentences(document_of(previous), document_of(entry))})
        previous = entry
    return list(reversed(out))


def cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value) if value else "none"
    return str(value)


def _flatten(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, inner in value.items():
            out.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _mean_level(side: dict) -> float | None:
    levels = [h.get("predicted_service_level") for h in side.get("service_level_by_hour") or ()]
    levels = [level for level in levels if level is not None]
    return sum(levels) / len(levels) if levels else None


def _lowest_level(side: dict) -> float | None:
    levels = [h.get("predicted_service_level") for h in side.get("service_level_by_hour") or ()]
    return min((level for level in levels if level is not None), default=None)


def _percent(value) -> str:
    return "–" if value is None else f"{value:.0%}"


DERIVED = (
    ("Agents over the threshold with no break", "Their load went over the threshold and came back down (or the "
     "window ended) without a break.", lambda side: str(len(side.get("peaked_without_break") or ()))),
    ("Predicted service level, average hour", "Mean over the hours with traffic.",
     lambda side: _percent(_mean_level(side))),
    ("Predicted service level, worst hour", "The lowest hour with traffic.",
     lambda side: _percent(_lowest_level(side))),
)


def compare_rows(proposed: dict, active: dict) -> list[dict]:
    """Every measure either side reports, labelled in plain words (`wording.MEASURES`), then a few derived ones."""
    left = _flatten({k: v for k, v in proposed.items() if k not in SHOWN_ELSEWHERE})
    right = _flatten({k: v for k, v in active.items() if k not in SHOWN_ELSEWHERE})
    rows = []
    for key in dict.fromkeys([*left, *right]):
        a, b = cell(left.get(key)), cell(right.get(key))
        label, help_ = measure_label(key)
        rows.append({"label": label, "help": help_, "proposed": a, "active": b, "differs": a != b})
    for label, help_, compute in DERIVED:
        a, b = compute(proposed), compute(active)
        rows.append({"label": label, "help": help_, "proposed": a, "active": b, "differs": a != b})
    return rows


def _agent_rows(proposed: dict, active: dict) -> list[dict]:
    agents = sorted({agent for side in (proposed, active) for key, _ in PER_AGENT for agent in (side.get(key) or {})}
                    | set(proposed.get("peaked_without_break") or ()) | set(active.get("peaked_without_break") or ()))
    rows = []
    for agent in agents:
        row = {"agent_id": agent, "values": []}
        for key, _ in PER_AGENT:
            pair = tuple(cell((side.get(key) or {}).get(agent, 0)) for side in (proposed, active))
            row["values"].append(pair)
        row["values"].append(tuple("yes" if agent in (side.get("peaked_without_break") or ()) else "no"
                                   for side in (proposed, active)))
        rows.append(row)
    return rows


def _hour_points(side: dict) -> list[tuple[str, float | None]]:
    """Hours with traffic only: an hour nobody called has no service level to draw."""
    return [((h.get("hour") or "")[5:13].replace("T", " ") + ":00", h.get("predicted_service_level"))
            for h in side.get("service_level_by_hour") or () if h.get("predicted_service_level") is not None]


def _service_level_chart(proposed: dict, active: dict) -> tuple[object, str]:
    """The chart (dots, so even one hour shows) and a note when there is too little traffic for a trend."""
    hours = max(len(_hour_points(proposed)), len(_hour_points(active)))
    if not hours:
        return None, "Too little data for a chart: no hour in this window had traffic to predict a service level for."
    chart = charts.line_chart([("proposed", _hour_points(proposed), "proposed"),
                               ("active", _hour_points(active), "active")],
                              title="Predicted service level by hour, proposed and active", max_value=1.0,
                              value_format="{:.0%}")
    note = "" if hours >= 3 else \
        f"Only {hours} hour{'' if hours == 1 else 's'} with traffic: too little data for a trend."
    return chart, note


def _breaks_chart(proposed: dict, active: dict) -> tuple[object, str]:
    left, right = proposed.get("breaks_per_agent") or {}, active.get("breaks_per_agent") or {}
    agents = sorted(set(left) | set(right))
    if not agents:
        return None, "Too little data for a chart: no agent of this team is known yet."
    chart = charts.grouped_bars(agents, [("proposed", [left.get(a, 0) for a in agents], "proposed"),
                                         ("active", [right.get(a, 0) for a in agents], "active")],
                                title="Breaks per agent, proposed and active", value_format="{:g}")
    if not any(left.values()) and not any(right.values()):
        return chart, "Neither set would have given a break in this window: every bar is zero."
    return chart, ""


def simulation_view(result: dict) -> dict:
    """The simulation side by side: labelled measures, one row per agent, two charts with notes."""
    proposed, active = result.get("proposed") or {}, result.get("active") or {}
    breaks_chart, breaks_note = _breaks_chart(proposed, active)
    service_chart, service_note = _service_level_chart(proposed, active)
    return {"result": result, "rows": compare_rows(proposed, active), "agents": _agent_rows(proposed, active),
            "agent_headers": [label for _, label in PER_AGENT] + ["peaked without a break"],
            "breaks_chart": breaks_chart, "breaks_note": breaks_note,
            "service_chart": service_chart, "service_note": service_note}


CHANNEL_NAMES = {"sms": "SMS", "email": "email", "whatsapp": "WhatsApp"}


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


def _channel_chart(rows: list[dict]):
    """Which channel customers answer, and what they say there."""
    return charts.grouped_bars(
        [f"{channel_name(r['channel'])} (n={r['sent']})" for r in rows],
        [("replied", [r["reply_rate"] for r in rows], "ok"),
         ("resolved, of replies", [r["resolved_rate"] for r in rows], "proposed"),
         ("reopen, of replies", [r["reopen_rate"] for r in rows], "over")],
        title="Reply rate and answer mix by channel", max_value=1)


def outcome_charts(report: dict) -> dict:
    repeat = report["repeat_contacts"]["by_journey_stage"]
    bot = report["bot_escalation"]["by_journey_stage"]
    groups = report["churn_after_friction"]["groups"]
    funnel = report["checkins"]
    followed, control = groups["followed_up"], groups["control"]
    return {
        "repeat": charts.hbar_chart([charts.Bar(r["journey_stage"], r["rate"] or 0.0, "ok",
                                                f"({r['repeats']}/{r['contacts']})") for r in repeat],
                                    title="Repeat contact rate by journey stage", value_format="{:.0%}", max_value=1),
        "bot": charts.hbar_chart([charts.Bar(r["journey_stage"], r["rate"] or 0.0, "ok",
                                             f"({r['escalated']}/{r['bot_started']})") for r in bot],
                                 title="Bot to human escalation rate by journey stage", value_format="{:.0%}",
                                 max_value=1),
        "churn": charts.grouped_bars(["churned within 30 days", "churned within 90 days"], [
            (f"followed up (n={followed['n']})", [followed["rate_30d"], followed["rate_90d"]], "proposed"),
            (f"control (n={control['n']})", [control["rate_30d"], control["rate_90d"]], "active")],
            title="Churn after friction-heavy episodes: followed up vs control"),
        "funnel": charts.hbar_chart([charts.Bar(name, float(funnel[key]), kind) for name, key, kind in (
            ("sent", "sent", "muted"), ("replied", "replied", "ok"), ("resolved", "resolved", "ok"),
            ("reopen", "reopen", "over"), ("ack", "ack", "muted"), ("opt-out", "opt_out", "muted"))],
            title="Check-ins: sent, replied and what the first reply said", value_format="{:.0f}"),
        "channels": _channel_chart(funnel["by_channel"]),
        "breaks": charts.hbar_chart([charts.Bar(r["agent_id"], float(r.get("minutes_above_threshold") or 0), "over",
                                                "min") for r in report["breaks"]["per_agent"]],
                                    title="Minutes above the load threshold per agent", value_format="{:.0f}"),
    }


def mask(address: str | None) -> str:
    """Enough of an address to recognise a repeat sender, not enough to copy it."""
    if not address:
        return "–"
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}…@{domain}"
    return address[:-4] + "····" if len(address) > 6 else "····"
