"""Issue 17 on the dashboard: the agent's 24 h timeline (load, breaks, decisions, "rattled" reports) as an inline
SVG with the same events as text, and the rule simulation's Erlang A lines beside Erlang C. Pure functions of
what wellbeing's services return; no Flask."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from markupsafe import Markup, escape

from aftercare.dashboard import charts


@dataclass(frozen=True)
class Span:
    """A stretch of time on the timeline (a break)."""

    start: datetime
    end: datetime
    label: str
    kind: str = "break"


@dataclass(frozen=True)
class Mark:
    """A moment on the timeline (a break decision, a "that one rattled me")."""

    at: datetime
    label: str
    kind: str


def timeline_chart(points: Sequence[tuple[datetime, float]], *, title: str, threshold: float | None = None,
                   spans: Sequence[Span] = (), marks: Sequence[Mark] = (), width: int = 640,
                   height: int = 220) -> Markup:
    """Load over time with breaks shaded and decisions / reports marked at their moment. Each shape has a <title>
    and the chart a <desc> listing the events; the page also lists them as text beside it."""
    left, right, top, bottom = 44, 10, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    if len(points) < 2:
        return charts._svg(width, height, title,
                           [f'<text class="label" x="{left + 8}" y="{top + 20}">no data</text>'])
    first, last = points[0][0], points[-1][0]
    span_s = max(1.0, (last - first).total_seconds())
    scale_max = max([v for _, v in points] + [threshold or 0, 1e-9]) * 1.1

    def x_of(moment: datetime) -> float:
        return left + plot_w * min(1.0, max(0.0, (moment - first).total_seconds() / span_s))

    def y_of(value: float) -> float:
        return top + plot_h - max(0.0, value) / scale_max * plot_h

    said = [s.label for s in spans if s.end >= first and s.start <= last]
    said += [m.label for m in marks if first <= m.at <= last]
    body = [f"<desc>{escape('; '.join(said) or 'No breaks, decisions or reports in this window.')}</desc>",
            f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}"/>',
            f'<text class="label" x="{left - 4}" y="{top + 8}" text-anchor="end">{scale_max:.1f}</text>',
            f'<text class="label" x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>']
    for span in spans:
        if span.end < first or span.start > last:
            continue
        x0, x1 = x_of(span.start), x_of(span.end)
        body.append(f'<rect class="marker-{escape(span.kind)}" x="{x0:.1f}" y="{top}" width="{max(2.0, x1 - x0):.1f}" '
                    f'height="{plot_h}"><title>{escape(span.label)}</title></rect>')
    line = " ".join(f"{x_of(at):.1f},{y_of(v):.1f}" for at, v in points)
    body.append(f'<polyline class="line line-accent" points="{line}"><title>load</title></polyline>')
    if threshold is not None:
        y = y_of(threshold)
        body.append(f'<line class="threshold" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>'
                    f'<text class="threshold-label" x="{width - right}" y="{y - 3:.1f}" text-anchor="end">'
                    f'threshold {threshold:.1f}</text>')
    for mark in marks:
        if not first <= mark.at <= last:
            continue
        x = x_of(mark.at)
        if mark.kind == "rattled":
            body.append(f'<circle class="marker-rattled" cx="{x:.1f}" cy="{top + 6}" r="5">'
                        f'<title>{escape(mark.label)}</title></circle>')
        else:
            body.append(f'<line class="marker-decision marker-{escape(mark.kind)}" x1="{x:.1f}" y1="{top}" '
                        f'x2="{x:.1f}" y2="{top + plot_h}"><title>{escape(mark.label)}</title></line>')
    for moment, anchor in ((first, "start"), (first + (last - first) / 2, "middle"), (last, "end")):
        body.append(f'<text class="label" x="{x_of(moment):.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}">'
                    f'{moment.strftime("%H:%M")}</text>')
    return charts._svg(width, height, title, body)


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def agent_timeline(detail: dict, *, breaks: list[dict], decisions: list[dict], reports: list[dict]):
    """The agent page's 24 h timeline and the same events as (time, text), oldest first (its text alternative)."""
    points = [(_moment(p["at"]), float(p["load"])) for p in detail.get("series") or []]
    end = points[-1][0] if points else None
    spans, marks, events = [], [], []
    for brk in breaks:
        began = _moment(brk.get("started_at"))
        if began is None:
            continue
        finished = _moment(brk.get("ended_at")) or _moment(brk.get("ends_at")) or end or began
        label = f"break {began:%H:%M}–{finished:%H:%M} ({brk.get('rule')}, {brk.get('minutes')} min)"
        spans.append(Span(began, finished, label))
        events.append((began, label))
    for decision in decisions:
        at = _moment(decision["decided_at"])
        reasons = decision.get("reasons") or []
        said = reasons[-1] if reasons else decision.get("rule") or ""
        label = said if said.startswith(decision["outcome"]) else f"{decision['outcome']}: {said}"
        marks.append(Mark(at, f"{at:%H:%M} {label}", decision["outcome"]))
        events.append((at, f"decision {label}"))
    for report in reports:
        at = _moment(report["at"])
        label = "said a call rattled them" + (f": “{report['note']}”" if report.get("note") else "")
        marks.append(Mark(at, f"{at:%H:%M} {label}", "rattled"))
        events.append((at, label))
    name = detail.get("name") or detail.get("agent_id")
    chart = timeline_chart(points, threshold=detail.get("threshold"), spans=spans, marks=marks,
                           title=f"Load over 24 h with breaks and decisions, {name}")
    start = points[0][0] if points else None
    shown = sorted((e for e in events if start is None or e[0] >= start), key=lambda e: e[0])
    return chart, [(f"{at:%H:%M}", text) for at, text in shown]


def _hour(h: dict) -> str:
    return (h.get("hour") or "")[5:13].replace("T", " ") + ":00"


def with_erlang_a(view: dict, result: dict) -> dict:
    """When either rule set's service-level guard uses Erlang A, draw both models side by side: the predicted
    service level by hour under Erlang C and Erlang A, for the proposed and the active set."""
    sides = [(name, result.get(name) or {}) for name in ("proposed", "active")]
    if not any("erlang_a_service_level" in h for _, side in sides for h in side.get("service_level_by_hour") or ()):
        return view
    series = []
    for name, side in sides:
        hours = [h for h in side.get("service_level_by_hour") or () if h.get("predicted_service_level") is not None]
        series.append((f"{name}, Erlang C", [(_hour(h), h["predicted_service_level"]) for h in hours], name))
        if any("erlang_a_service_level" in h for h in hours):
            series.append((f"{name}, Erlang A", [(_hour(h), h.get("erlang_a_service_level")) for h in hours],
                           f"{name}-a"))
    view["service_chart"] = charts.line_chart(series, max_value=1.0, value_format="{:.0%}",
                                              title="Predicted service level by hour: Erlang C and Erlang A")
    return view
