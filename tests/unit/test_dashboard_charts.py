"""Inline SVG charts and page helpers: pure functions, no Flask."""
from __future__ import annotations

from aftercare.dashboard import charts
from aftercare.dashboard.presenters import compare_rows, mask, with_diffs


def test_bar_chart_scales_to_the_largest_value_and_escapes_labels():
    svg = str(charts.hbar_chart([charts.Bar("<script>alert(1)</script>", 2.0, "over"), charts.Bar("Mei", 1.0)],
                                title="load & more", threshold=2.5))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "load &amp; more" in svg
    assert 'class="bar bar-over"' in svg and 'class="threshold"' in svg
    widths = [float(part.split('"')[0]) for part in svg.split('width="')[2:4]]
    assert widths[0] == 2 * widths[1]  # bars are proportional


def test_line_chart_leaves_gaps_for_missing_values():
    svg = str(charts.line_chart([("sl", [("09", 0.9), ("10", None), ("11", 0.7), ("12", 0.8)], "proposed")],
                                title="service level", max_value=1.0))
    assert svg.count("<polyline") == 2


def test_empty_charts_say_so():
    assert "no data" in str(charts.hbar_chart([], title="nothing"))
    assert "no data" in str(charts.line_chart([("x", [], "accent")], title="nothing"))


def test_compare_rows_flattens_and_marks_differences():
    rows = compare_rows({"outcomes": {"granted": 3, "deferred": 1}, "total_minutes_off_queue": 30,
                         "breaks_per_agent": {"ag_1": 3}},
                        {"outcomes": {"granted": 2, "deferred": 1}, "total_minutes_off_queue": 30})
    by_label = {row["label"]: (row["proposed"], row["active"], row["differs"]) for row in rows}
    assert by_label["Breaks granted at once"] == ("3", "2", True)
    assert by_label["Breaks held back at least once"] == ("1", "1", False)
    assert all("outcomes" not in row["label"] and "_" not in row["label"] for row in rows)  # no internal keys
    assert all(not row["label"].lower().startswith("breaks per agent") for row in rows)  # shown per agent instead


def test_history_diffs_each_version_against_the_one_before():
    base = {"rules": [{"name": "a", "when": {"load_at_least": 2}, "then": {"break_minutes": 5}}]}
    changed = {"rules": [{"name": "a", "when": {"load_at_least": 2}, "then": {"break_minutes": 9}}]}
    newest, oldest = with_diffs([{"version": 1, "rules": base}, {"version": 2, "rules": changed}])
    assert newest["version"] == 2 and '+        "break_minutes": 9' in newest["diff"]
    assert '-        "break_minutes": 5' in newest["diff"] and oldest["diff"][0] == "--- built-in default"


def test_mask_keeps_addresses_recognisable_not_copyable():
    assert mask("+447700900123") == "+44770090····"
    assert mask("sam@example.com") == "s…@example.com"
    assert mask(None) == "–"


def test_a_single_point_still_shows_and_every_chart_reads_out_its_data():
    svg = str(charts.line_chart([("proposed", [("09:00", 0.75)], "proposed")], title="service level",
                                max_value=1.0, value_format="{:.0%}"))
    assert svg.count("<circle") == 1  # a lone hour is a dot, not an invisible one-point line
    assert 'aria-label="service level. proposed: 1 point from 09:00 (75%) to 09:00 (75%)' in svg
    bars = str(charts.grouped_bars(["ag_1", "ag_2"],
                                   [("proposed", [2, 0], "proposed"), ("active", [1, None], "active")],
                                   title="Breaks", value_format="{:g}"))
    assert "<desc>ag_1: proposed 2, active 1; ag_2: proposed 0, active no value.</desc>" in bars
    many = str(charts.hbar_chart([charts.Bar(f"a{i}", i) for i in range(20)], title="load"))
    assert "and 8 more." in many


def test_simulation_charts_say_when_there_is_too_little_data():
    from aftercare.dashboard.presenters import simulation_view

    empty = simulation_view({"proposed": {}, "active": {}})
    assert empty["breaks_chart"] is None and empty["breaks_note"].startswith("Too little data")
    assert empty["service_chart"] is None and empty["service_note"].startswith("Too little data")
    hour = [{"hour": "2026-11-25T09:00:00+00:00", "predicted_service_level": 0.9}]
    quiet = simulation_view({"proposed": {"breaks_per_agent": {"ag_1": 0}, "service_level_by_hour": hour},
                             "active": {"breaks_per_agent": {"ag_1": 0}, "service_level_by_hour": hour}})
    assert quiet["breaks_chart"] is not None and "every bar is zero" in quiet["breaks_note"]
    assert "<circle" in str(quiet["service_chart"]) and quiet["service_note"] == ("Only 1 hour with traffic: too "
                                                                                 "little data for a trend.")
    labels = [row["label"] for row in quiet["rows"]]
    assert "Predicted service level, average hour" in labels
    assert next(r for r in quiet["rows"] if r["label"] == "Predicted service level, worst hour")["proposed"] == "90%"
