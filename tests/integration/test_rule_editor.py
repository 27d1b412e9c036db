"""The rules page's form editor through Flask's test client: every button is a plain form post that redraws the
page (so it works without JavaScript), errors sit on their fields, the JSON view follows the form, and bad posts
get a 422 page, never a 500."""
from __future__ import annotations

import html as html_lib
import json
import re

from tests.support.dashboard import csrf, page

RULES = "/dashboard/rules?team=billing-emea"


def form_values(html: str) -> dict[str, str]:
    """What a browser would post: every named input and the selected option of every select."""
    values = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and ('type="checkbox"' not in tag or " checked" in tag):
            values[html_lib.unescape(name.group(1))] = html_lib.unescape(value.group(1) if value else "")
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        values[name] = chosen.group(1) if chosen else ""
    values["document"] = html_lib.unescape(re.search(r'<textarea id="document"[^>]*>(.*?)</textarea>', html,
                                                     re.S).group(1))
    values.pop("team", None)
    values["team"] = "billing-emea"
    return values


def post(client, html: str, **changes):
    data = {**form_values(html), **changes}
    data["csrf_token"] = csrf(html)
    return client.post("/dashboard/rules", data=data)


def test_buttons_redraw_the_form_and_the_json_follows(signed_in):
    html = page(signed_in, RULES)
    assert "After an interaction with abusive language, a 5-minute break once the current interaction ends" in html
    assert 'name="rules.0.then.break_minutes"' in html and 'name="guards.service_level.target"' in html

    added = post(signed_in, html, action="add_rule").get_data(as_text=True)
    assert 'id="rules-3-name"' in added and 'value="new rule 4"' in added and "autofocus" in added
    moved = post(signed_in, added, action="up-3", **{"rules.3.name": "first", "rules.3.when.load_at_least": "3"}
                 ).get_data(as_text=True)
    values = form_values(moved)
    assert values["rules.2.name"] == "first" and values["rules.3.name"] == "three rough in a row"
    document = json.loads(values["document"])
    assert [r["name"] for r in document["rules"]] == ["after abuse", "heavy load", "first", "three rough in a row"]
    assert document["rules"][2]["when"] == {"load_at_least": 3}

    removed = post(signed_in, moved, action="remove-0").get_data(as_text=True)
    assert [r["name"] for r in json.loads(form_values(removed)["document"])["rules"]][0] == "heavy load"


def test_errors_sit_next_to_their_fields(signed_in):
    html = page(signed_in, RULES)
    resp = post(signed_in, html, action="simulate", **{"rules.0.then.break_minutes": "500",
                                                       "rules.1.when.load_at_least": "",
                                                       "guards.service_level.target": "high"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'role="alert"' in body
    field = re.search(r'<input id="rules-0-then-break_minutes"[^>]*>', body, re.S).group(0)
    assert 'aria-invalid="true"' in field and "rules-0-then-break_minutes-error" in field
    assert re.search(r'id="rules-0-then-break_minutes-error">[^<]*120', body)
    assert 'id="rules-1-when-error"' in body and "At least one condition" in body  # on the conditions' fieldset
    assert 'id="guards-service_level-target-error">Not a valid number.' in body
    assert '<a href="#rules-0-then-break_minutes">Rule 1 “after abuse”, Break length</a>' in html_lib.unescape(body)
    assert 'id="publish"' not in body


def test_form_simulate_then_publish_and_the_history_says_what_changed(signed_in):
    html = page(signed_in, RULES)
    simulated = post(signed_in, html, action="simulate", **{"rules.0.then.break_minutes": "8"})
    body = simulated.get_data(as_text=True)
    assert simulated.status_code == 200 and 'id="publish"' in body
    assert "Breaks the rules asked for" in body and "outcomes.requests" not in body
    published = post(signed_in, body, action="publish", reason="eight after abuse")
    assert published.status_code == 302
    history = html_lib.unescape(page(signed_in, "/dashboard/rules/history?team=billing-emea"))
    assert "after abuse: break 5 → 8 minutes" in history and "<details>" in history


def test_json_edited_in_the_advanced_view_wins_and_redraws_the_form(signed_in):
    html = page(signed_in, RULES)
    document = json.loads(form_values(html)["document"])
    document["rules"][0]["then"]["break_minutes"] = 9
    applied = post(signed_in, html, action="apply_json", document=json.dumps(document)).get_data(as_text=True)
    assert form_values(applied)["rules.0.then.break_minutes"] == "9"
    edited = post(signed_in, applied, action="simulate", **{"rules.0.then.break_minutes": "7"},
                  document=json.dumps({**document, "rules": document["rules"][:1]}))
    values = form_values(edited.get_data(as_text=True))  # the JSON was edited: it wins over the form's 7
    assert values["rules.0.then.break_minutes"] == "9" and values["rule_count"] == "1"


def test_the_preview_gives_the_json_and_sentences_of_the_form(signed_in):
    html = page(signed_in, RULES)
    data = {**form_values(html), "csrf_token": csrf(html), "action": "preview", "rules.0.then.break_minutes": "8"}
    answer = signed_in.post("/dashboard/rules/preview", data=data).get_json()
    assert json.loads(answer["document"])["rules"][0]["then"]["break_minutes"] == 8
    assert answer["sentences"][0].startswith("After an interaction with abusive language, an 8-minute break")


def test_bad_posts_get_a_page_not_a_500(signed_in):
    html = page(signed_in, RULES)
    for changes in ({"action": "drop table"}, {"action": "remove-99999"}, {"rule_count": "99999999999"},
                    {"rule_count": "²"}, {"rules.0.when.signals_any": "\x00"}, {"action": "up-0"},
                    {"rules.0.then.start": "later"}, {"guards.service_level": "maybe"}):
        resp = post(signed_in, html, **changes)
        assert resp.status_code in (200, 422), (changes, resp.status_code)


def test_json_of_the_wrong_shape_is_named_not_a_500(signed_in):
    html = page(signed_in, RULES)
    for document in ({"rules": [{"name": "x", "when": ["load"], "then": 5}], "guards": {"service_level": "x"}},
                     {"rules": [{"name": 3, "when": {"signals_any": "abusive_language", "category_in": 7},
                                 "then": {"break_minutes": "ten", "start": ["now"]}}], "guards": []},
                     {"rules": "none", "guards": {"max_breaks_per_shift": {"a": 1}}}, [], "text", None):
        resp = post(signed_in, html, action="simulate", document=json.dumps(document))
        assert resp.status_code == 422, (document, resp.status_code)
        assert 'role="alert"' in resp.get_data(as_text=True)


def test_an_error_without_an_input_links_to_the_json_view(signed_in):
    html = page(signed_in, RULES)
    document = json.loads(form_values(html)["document"])
    document["rules"][0]["when"]["typo_condition"] = 1
    body = post(signed_in, html, action="simulate", document=json.dumps(document)).get_data(as_text=True)
    assert '<li data-field="rules.0.when.typo_condition"><a href="#document">' in body
    assert '<details class="card advanced" id="advanced" open>' in body  # unfolded where the error is
