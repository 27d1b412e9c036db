"""Small charts as inline SVG, rendered on the server: no chart library, no script, styled by dashboard.css."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    kind: str = "ok"      # css class suffix: ok, over, break, proposed, active, muted
    note: str = ""        # shown after the value


def _fmt(value: float, fmt: str) -> str:
    return fmt.format(value)


MAX_SPOKEN = 12


def _svg(width: int, height: int, title: str, body: list[str], summary: str = "") -> Markup:
    """The chart as one image for assistive technology: its title and, as the description, its data in words."""
    label = f"{title}. {summary}" if summary else title
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        + (f"<desc>{escape(summary)}</desc>" if summary else "") + "".join(body) + "</svg>")


def _spoken(items: list[str]) -> str:
    """At most a dozen items read out; the rest counted (the tables beside the charts hold every number)."""
    if not items:
        return "No data."
    more = len(items) - MAX_SPOKEN
    return "; ".join(items[:MAX_SPOKEN]) + (f"; and {more} more." if more > 0 else ".")


def hbar_chart(bars: Sequence[Bar], *, title: str, max_value: float | None = None, threshold: float | None = None,
               value_format: str = "{:.2f}", width: int = 640, label_width: int = 170) -> Markup:
    """One horizontal bar per row (e.g. load per agent), with an optional threshold line."""
    row, top = 26, 8
    height = top * 2 + row * max(1, len(bars)) + (14 if threshold is not None else 0)
    plot = width - label_width - 90
    scale_max = max([b.value for b in bars] + [threshold or 0, max_value or 0, 1e-9])
    body = []
    for index, bar in enumerate(bars):
        y = top + index * row
        length = max(0.0, bar.value) / scale_max * plot
        text = _fmt(bar.value, value_format) + (f" {bar.note}" if bar.note else "")
        body.append(f'<text class="label" x="{label_width - 8}" y="{y + 16}" text-anchor="end">'
                    f'{escape(bar.label)}</text>'
                    f'<rect class="bar bar-{escape(bar.kind)}" x="{label_width}" y="{y + 3}" width="{length:.1f}" '
                    f'height="{row - 8}"><title>{escape(bar.label)}: {escape(text)}</title></rect>'
                    f'<text class="value" x="{label_width + length + 6:.1f}" y="{y + 16}">{escape(text)}</text>')
    if not bars:
        body.append(f'<text class="label" x="{label_width}" y="{top + 16}">no data</text>')
    if threshold is not None:
        x = label_width + threshold / scale_max * plot
        bottom = height - 14
        body.append(f'<line class="threshold" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}"/>'
                    f'<text class="threshold-label" x="{x:.1f}" y="{height - 2}" text-anchor="middle">'
                    f'threshold {_fmt(threshold, value_format)}</text>')
    summary = _spoken([f"{bar.label}: {_fmt(bar.value, value_format)}{' ' + bar.note if bar.note else ''}"
                       for bar in bars])
    return _svg(width, height, title, body, summary)


def grouped_bars(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None], str]], *,
                 title: str, value_format: str = "{:.0%}", max_value: float | None = None, width: int = 640,
                 height: int = 220) -> Markup:
    """Vertical bars, one group per category and one bar per series (e.g. followed-up vs control)."""
    left, bottom, top = 10, 40, 18
    plot_h = height - bottom - top
    values = [v for _, vs, _ in series for v in vs if v is not None]
    scale_max = max(values + [max_value or 0, 1e-9])
    group_w = (width - left * 2) / max(1, len(categories))
    bar_w = min(48.0, group_w * 0.8 / max(1, len(series)))
    body = [f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}"/>']
    for gi, category in enumerate(categories):
        x0 = left + gi * group_w + (group_w - bar_w * len(series)) / 2
        for si, (name, vs, kind) in enumerate(series):
            value = vs[gi] if gi < len(vs) else None
            x = x0 + si * bar_w
            if value is None:
                body.append(f'<text class="value" x="{x + bar_w / 2:.1f}" y="{height - bottom - 4}" '
                            f'text-anchor="middle">–</text>')
                continue
            h = max(0.0, value) / scale_max * plot_h
            y = height - bottom - h
            label = _fmt(value, value_format)
            body.append(f'<rect class="bar bar-{escape(kind)}" x="{x + 2:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" '
                        f'height="{h:.1f}"><title>{escape(category)} · {escape(name)}: {escape(label)}</title></rect>'
                        f'<text class="value" x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
                        f'{escape(label)}</text>')
        body.append(f'<text class="label" x="{left + gi * group_w + group_w / 2:.1f}" y="{height - bottom + 16}" '
                    f'text-anchor="middle">{escape(category)}</text>')
    for si, (name, _, kind) in enumerate(series):
        x = left + si * 150
        body.append(f'<rect class="bar bar-{escape(kind)}" x="{x}" y="{height - 14}" width="10" height="10"/>'
                    f'<text class="label" x="{x + 14}" y="{height - 5}">{escape(name)}</text>')
    summary = _spoken([f"{category}: " + ", ".join(
        f"{name} {'no value' if gi >= len(vs) or vs[gi] is None else _fmt(vs[gi], value_format)}"
        for name, vs, _ in series) for gi, category in enumerate(categories)])
    return _svg(width, height, title, body, summary)


def line_chart(series: Sequence[tuple[str, Sequence[tuple[str, float | None]], str]], *, title: str,
               threshold: float | None = None, max_value: float | None = None, value_format: str = "{:.1f}",
               width: int = 640, height: int = 200) -> Markup:
    """Lines over a shared x axis (e.g. an agent's load; service level proposed vs active); None leaves a gap."""
    left, right, top, bottom = 44, 10, 10, 40 if len(series) > 1 else 28
    plot_w, plot_h = width - left - right, height - top - bottom
    labels = list(series[0][1]) if series else []
    values = [v for _, points, _ in series for _, v in points if v is not None]
    scale_max = max_value or max(values + [threshold or 0, 1e-9]) * 1.1
    body = [f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}"/>',
            f'<text class="label" x="{left - 4}" y="{top + 8}" text-anchor="end">'
            f'{_fmt(scale_max, value_format)}</text>',
            f'<text class="label" x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>']

    def xy(i: int, count: int, v: float) -> tuple[float, float]:
        x = left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)
        return x, top + plot_h - max(0.0, v) / scale_max * plot_h

    for name, points, kind in series:
        for i, (label, v) in enumerate(points):  # a dot per point: one hour alone still shows
            if v is not None:
                x, y = xy(i, len(points), v)
                body.append(f'<circle class="dot dot-{escape(kind)}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                            f'<title>{escape(name)} {escape(label)}: {escape(_fmt(v, value_format))}</title></circle>')
        run: list[str] = []
        for i, (_, v) in enumerate(list(points) + [("", None)]):
            if v is not None:
                x, y = xy(i, len(points), v)
                run.append(f"{x:.1f},{y:.1f}")
                continue
            if run:
                body.append(f'<polyline class="line line-{escape(kind)}" points="{" ".join(run)}">'
                            f'<title>{escape(name)}</title></polyline>')
            run = []
    if labels:
        for i in sorted({0, len(labels) // 2, len(labels) - 1}):
            x, _ = xy(i, len(labels), 0)
            anchor = "middle" if len(labels) == 1 or 0 < i < len(labels) - 1 else "start" if i == 0 else "end"
            body.append(f'<text class="label" x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}">'
                        f'{escape(labels[i][0])}</text>')  # the first and last labels stay inside the chart
    if not values:
        body.append(f'<text class="label" x="{left + 8}" y="{top + 20}">no data</text>')
    if threshold is not None:
        y = top + plot_h - threshold / scale_max * plot_h
        body.append(f'<line class="threshold" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>'
                    f'<text class="threshold-label" x="{width - right}" y="{y - 3:.1f}" text-anchor="end">'
                    f'threshold {_fmt(threshold, value_format)}</text>')
    if len(series) > 1:
        for si, (name, _, kind) in enumerate(series):
            x = left + si * 150
            body.append(f'<rect class="bar bar-{escape(kind)}" x="{x}" y="{height - 12}" width="10" height="10"/>'
                        f'<text class="label" x="{x + 14}" y="{height - 3}">{escape(name)}</text>')
    return _svg(width, height, title, body, _line_summary(series, value_format))


def _line_summary(series, value_format: str) -> str:
    """Per line: how many points, first and last, lowest and highest."""
    parts = []
    for name, points, _ in series:
        known = [(label, v) for label, v in points if v is not None]
        if not known:
            parts.append(f"{name}: no data")
            continue
        low, high = min(known, key=lambda p: p[1]), max(known, key=lambda p: p[1])
        parts.append(f"{name}: {len(known)} point{'' if len(known) == 1 else 's'} from {known[0][0]} "
                     f"({_fmt(known[0][1], value_format)}) to {known[-1][0]} ({_fmt(known[-1][1], value_format)}), "
                     f"lowest {_fmt(low[1], value_format)} at {low[0]}, "
                     f"highest {_fmt(high[1], value_format)} at {high[0]}")
    return _spoken(parts)
