"""Bad input at the edges of what parsers, datetimes and columns can hold: a 4xx problem naming the field, never a
500, and nothing stored. Oversized chunked bodies (no Content-Length) get the same 413 as declared ones, on the
test client and on a real server."""
from __future__ import annotations

import base64
import json
import logging

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from aftercare.core.signing import sign
from tests.support.dashboard import csrf, page, post_form, sign_in
from tests.support.factories import DELETE, TEST_SECRET, interaction_event
from tests.support.problems import assert_problem, row_counts

LIMIT = 1024 * 1024  # server.max_body_bytes (default)
DEEP = 100_000  # deeper than any recursion limit


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def chunked(client, path: str, body: bytes, headers: dict, method: str = "POST"):
    """A request as a server hands over a chunked body: Transfer-Encoding: chunked (so no length) and a stream
    the server ends where the body does (`wsgi.input_terminated`)."""
    return client.open(path, method=method, data=body, headers={**headers, "Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})


def crm_headers(body: bytes, clock) -> dict:
    return {"Aftercare-Signature": sign(TEST_SECRET, body, int(clock.now.timestamp())),
            "Content-Type": "application/json"}


def padded_event(size: int) -> bytes:
    """A valid event padded with JSON whitespace to exactly `size` bytes."""
    body = json.dumps(interaction_event()).encode()
    return body + b" " * (size - len(body))


@pytest.fixture(params=["inline", "queued"])
def intake_mode(request, overrides):
    """Both doors: acting on the event in the request, or storing it for the workers (ask for it first)."""
    overrides["crm"]["intake_mode"] = request.param
    return request.param


@pytest.fixture
def before(rt, post_event):
    post_event(interaction_event(**{"event_id": "evt_existing"}))
    return row_counts(rt)


# -- oversized bodies without Content-Length ---------------------------------------------------------------------

def test_chunked_crm_body_signed_over_its_first_mib_with_junk_after_is_a_413(client, clock, rt, before):
    head = padded_event(LIMIT)
    resp = chunked(client, "/webhooks/crm", head + b"junk" * 1000, crm_headers(head, clock))
    assert_problem(resp, 413)
    assert row_counts(rt) == before


def test_chunked_crm_body_at_the_limit_is_accepted(client, clock, rt, before):
    body = padded_event(LIMIT)
    assert chunked(client, "/webhooks/crm", body, crm_headers(body, clock)).status_code == 202


def test_chunked_json_api_body_over_the_limit_is_a_413(client, manager_headers, rt, before):
    body = json.dumps({"rule_set": {"rules": []}, "reason": "x" * (LIMIT + 10)}).encode()
    resp = chunked(client, "/api/v1/break-rules", body, {**manager_headers, "Content-Type": "application/json"},
                   method="PUT")
    assert_problem(resp, 413)
    assert row_counts(rt) == before


def test_chunked_form_over_the_limit_is_a_413(client, rt, before):
    body = b"From=%2B447700900123&Body=" + b"x" * LIMIT
    resp = chunked(client, "/webhooks/twilio/sms", body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(resp, 413)
    assert row_counts(rt) == before


@pytest.fixture
def event_key(overrides):
    from tests.support.signing import configure_providers

    return configure_providers(overrides)


def sendgrid_headers(key, raw: bytes, clock) -> dict:
    timestamp = str(int(clock.now.timestamp()))
    signature = key.sign(timestamp.encode() + raw, ec.ECDSA(hashes.SHA256()))
    return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp, "Content-Type": "application/json"}


def test_chunked_sendgrid_events_over_the_limit_are_a_413(event_key, client, clock, rt, before):
    head = b"[" + b" " * (LIMIT - 2) + b"]"
    resp = chunked(client, "/webhooks/sendgrid/events", head + b"junk", sendgrid_headers(event_key, head, clock))
    assert_problem(resp, 413)
    assert row_counts(rt) == before


def test_a_real_server_refuses_an_oversized_chunked_body(app, clock, rt, before):
    """The werkzeug server `make run` uses, over a socket: http.client sends Transfer-Encoding: chunked."""
    import http.client
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        head = padded_event(LIMIT)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("POST", "/webhooks/crm", body=iter([head, b"junk" * 1000]), headers=crm_headers(head, clock),
                     encode_chunked=True)
        resp = conn.getresponse()
        assert resp.status == 413 and resp.getheader("Content-Type") == "application/problem+json"
        conn.close()
        assert row_counts(rt) == before
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("POST", "/webhooks/crm", body=iter([head]), headers=crm_headers(head, clock),
                     encode_chunked=True)
        assert conn.getresponse().status == 202
        conn.close()
    finally:
        server.shutdown()
        thread.join()


# -- JSON nested deeper than the parsers can go ------------------------------------------------------------------

@pytest.mark.parametrize("depth", [DEEP, 500])
def test_deeply_nested_crm_event_is_refused(intake_mode, post_event, rt, before, depth):
    body = json.dumps(interaction_event())[:-1] + f', "extra": {nested(depth)}}}'
    assert_problem(post_event(body.encode()), 422, "body")
    assert row_counts(rt) == before


def test_deeply_nested_sendgrid_events_are_refused(event_key, client, clock, rt, before):
    raw = nested(DEEP).encode()
    assert_problem(client.post("/webhooks/sendgrid/events", data=raw,
                               headers=sendgrid_headers(event_key, raw, clock)), 422, "body")
    assert row_counts(rt) == before


@pytest.mark.parametrize("method,path,body", [
    ("PUT", "/api/v1/break-rules", '{"rule_set": %s, "reason": "x"}'),
    ("POST", "/api/v1/break-rules/simulate", '{"rules": %s}'),
    ("POST", "/api/v1/break-rules/rollback", '{"version": %s}'),
    ("PUT", "/api/v1/agents/ag_1/state", '{"state": "available", "team": %s}'),
])
def test_deeply_nested_json_api_bodies_are_refused(client, manager_headers, rt, before, method, path, body):
    resp = client.open(path, method=method, data=body % nested(DEEP),
                       headers={**manager_headers, "Content-Type": "application/json"})
    assert_problem(resp, 422, "body")
    assert row_counts(rt) == before


@pytest.mark.parametrize("payload,status", [(nested(DEEP), 422), ("[" + "9" * 5000 + "]", 400), ("[NaN]", 400)])
def test_every_documented_json_body_refuses_what_the_parser_cannot_take(app, client, manager_headers, rt, before,
                                                                      payload, status):
    """From /openapi.json, so an endpoint added later is covered: no JSON body reaches a parser that recurses,
    and a number past Python's 4,300-digit limit (a ValueError webargs did not catch) is malformed JSON."""
    spec = client.get("/openapi.json").get_json()
    bodies = [(method, path) for path, item in spec["paths"].items() for method, op in item.items()
              if isinstance(op, dict) and "application/json" in ((op.get("requestBody") or {}).get("content") or {})]
    assert len(bodies) >= 7, bodies
    for method, path in bodies:
        url = path.replace("{agent_id}", "ag_1").replace("{checkin_id}", "chk_x").replace("{break_id}", "brk_x")
        headers = {**manager_headers, "Content-Type": "application/json"}
        if path == "/webhooks/crm":
            headers = crm_headers(payload.encode(), rt.clock)
        resp = client.open(url, method=method.upper(), data=payload, headers=headers)
        assert resp.status_code in (401, 403, status), (method, path, resp.status_code, resp.get_data()[:300])
        if resp.status_code == status:
            assert "body" in [e["field"] for e in resp.get_json()["errors"]], (method, path)
    assert row_counts(rt) == before


# -- datetimes beyond what the service can compute with -----------------------------------------------------------

@pytest.mark.parametrize("query,field", [("to=9999-12-31", "to"), ("to=0001-01-01", "to"),
                                         ("from=0001-01-01T00:00:00%2B23:59", "from"),
                                         ("from=9999-12-31T23:59:59-23:59", "from")])
def test_out_of_range_dates_in_the_outcomes_api(client, read_headers, query, field):
    assert_problem(client.get(f"/api/v1/metrics/outcomes?{query}", headers=read_headers), 422, field)


@pytest.mark.parametrize("dotted", ["occurred_at", "interaction.ended_at", "interaction.started_at",
                                    "interaction.commitment"])
@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z",
                                  "9999-12-31T23:59:59-05:00"])
def test_out_of_range_datetimes_in_crm_events(intake_mode, post_event, rt, before, dotted, when):
    value = {"text": "call back", "due_at": when} if dotted == "interaction.commitment" else when
    field = "interaction.commitment.due_at" if dotted == "interaction.commitment" else dotted
    alone = {"interaction.started_at": DELETE} if dotted != "interaction.started_at" else {"interaction.ended_at": DELETE}
    body = interaction_event(**{dotted: value, **alone})  # not refused only for coming before started_at
    assert_problem(post_event(body), 422, field)
    assert row_counts(rt) == before


@pytest.mark.parametrize("event", [
    {"type": "customer.contacted", "customer": {"id": "cus_5"}},
    {"type": "customer.churned", "customer": {"id": "cus_5"}},
    {"type": "case.updated", "case": {"id": "case_77", "status": "closed"}},
    {"type": "agent.status", "agent": {"id": "ag_1"}, "status": "available"},
])
def test_out_of_range_occurred_at_in_every_event_type(intake_mode, post_event, rt, before, event):
    for when in ("0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"):
        assert_problem(post_event({"event_id": "evt_far", "occurred_at": when, **event}), 422, "occurred_at")
    assert row_counts(rt) == before


def test_out_of_range_simulation_window(client, manager_headers, rt, before):
    rules = client.get("/api/v1/break-rules", headers=manager_headers).get_json()["rules"]
    resp = client.post("/api/v1/break-rules/simulate", headers=manager_headers,
                       json={"rules": rules, "from": "0001-01-01T00:00:00+01:00", "to": "9999-12-31T23:59:59Z"})
    body = assert_problem(resp, 422)
    assert {"from", "to"} <= {e["field"] for e in body["errors"]}
    assert row_counts(rt) == before


# -- strings longer than their columns, NUL -------------------------------------------------------------------

@pytest.mark.parametrize("event,field", [
    ({"type": "customer.contacted", "customer": {"id": "cus_5"}, "journey_stage": "s" * 65}, "journey_stage"),
    ({"type": "customer.contacted", "customer": {"id": "cus_5"}, "category": "c" * 65}, "category"),
    ({"type": "customer.contacted", "customer": {"id": "c" * 129}}, "customer.id"),
    ({"type": "customer.contacted", "customer": {"id": "cus_5"}, "case": {"id": "k" * 129}}, "case.id"),
    ({"type": "customer.churned", "customer": {"id": "c" * 129}}, "customer.id"),
    ({"type": "agent.status", "agent": {"id": "ag_1", "team": "t" * 129}, "status": "busy"}, "agent.team"),
])
def test_strings_longer_than_their_column_are_refused_in_every_event(intake_mode, post_event, rt, before, event, field):
    assert_problem(post_event({"event_id": "evt_long", "occurred_at": "2026-11-25T14:02:00Z", **event}), 422, field)
    assert row_counts(rt) == before


@pytest.mark.parametrize("dotted,value", [
    ("customer.email", "a" * 310 + "@example.com"),
    ("interaction.journey_stage", "j" * 65),
    ("agent.name", "n" * 201),
])
def test_strings_longer_than_their_column_in_interaction_closed(intake_mode, post_event, rt, before, dotted, value):
    assert_problem(post_event(interaction_event(**{dotted: value})), 422, dotted)
    assert row_counts(rt) == before


EVENTS = {
    "interaction.closed": lambda: interaction_event(**{"interaction.commitment": {
        "text": "I will call you back", "due_at": "2026-11-26T10:00:00Z"}}),
    "case.updated": lambda: {"case": {"id": "case_77", "status": "open"},
                             "agent": {"id": "ag_1", "name": "Maria", "team": "billing-emea"}},
    "customer.contacted": lambda: {"customer": {"id": "cus_5"}, "case": {"id": "case_77"},
                                   "journey_stage": "billing", "category": "refund"},
    "customer.churned": lambda: {"customer": {"id": "cus_5"}, "reason": "moved"},
    "agent.status": lambda: {"agent": {"id": "ag_1", "name": "Maria", "team": "billing-emea"}, "status": "busy"},
    "problem.opened": lambda: {"problem": {"id": "INC-1", "title": "Gateway double charge", "category": "double_charge",
                                           "journey_stage": "billing", "from": "2026-11-20T00:00:00Z"}},
    "problem.resolved": lambda: {"problem": {"id": "INC-1", "message": "Refunded."}},
}


def opened_first(post_event, event: dict) -> None:
    """problem.resolved names a problem the CRM opened before."""
    if event["type"] == "problem.resolved":
        opened = {"event_id": "evt_edge_open", "type": "problem.opened", "occurred_at": event["occurred_at"],
                  "problem": {**EVENTS["problem.opened"]()["problem"], "id": event["problem"]["id"]}}
        assert post_event(opened).status_code == 202


def plain_strings(schema, prefix=""):
    """(dotted name, max length) of every plain string field with a maximum length, nested schemas included."""
    from marshmallow import fields, validate

    for name, field in schema.fields.items():
        if isinstance(field, fields.Nested):
            yield from plain_strings(field.schema, f"{prefix}{name}.")
        elif type(field) is fields.String and not any(isinstance(v, validate.OneOf) for v in field.validators):
            lengths = [v.max for v in field.validators if isinstance(v, validate.Length) and v.max]
            yield f"{prefix}{name}", min(lengths) if lengths else None


def string_cases():
    from intake.schemas import SCHEMAS

    # `origin` is a native connector's to set (POST /webhooks/crm drops it); connectors bound its ids to the columns
    # (tests/unit/test_desk_mapping.py).
    return [pytest.param(kind, dotted, length, id=f"{kind} {dotted}")
            for kind, schema in SCHEMAS.items() for dotted, length in plain_strings(schema())
            if dotted != "type" and not dotted.startswith("origin.")]


def with_value(kind: str, dotted: str, value) -> dict:
    event = {"event_id": "evt_edge", "type": kind, "occurred_at": "2026-11-25T14:02:00Z", **EVENTS[kind]()}
    *path, last = dotted.split(".")
    target = event
    for part in path:
        target = target.setdefault(part, {})
    target[last] = value
    return event


@pytest.mark.parametrize("kind,dotted,length", string_cases())
def test_every_stored_string_fits_its_columns_at_the_limit_and_is_refused_past_it(post_event, rt, kind, dotted,
                                                                                   length):
    """On PostgreSQL the longest accepted value must be storable (the door and the columns agree); one character
    more is a 422 naming the field, on either database. A text without a limit goes only into Text columns."""
    if length is None:
        assert dotted == "reason", f"{kind} {dotted} has no maximum length"
        return
    before = row_counts(rt)
    assert_problem(post_event(with_value(kind, dotted, "x" * (length + 1))), 422, dotted)
    assert row_counts(rt) == before
    event = with_value(kind, dotted, "x" * length)
    opened_first(post_event, event)
    resp = post_event(event)
    assert resp.status_code == 202, resp.get_data(as_text=True)


def test_an_agent_id_longer_than_its_column_is_refused_where_it_would_be_stored(client, manager_headers, rt, before):
    resp = client.put(f"/api/v1/agents/{'a' * 129}/state", json={"state": "available"}, headers=manager_headers)
    assert_problem(resp, 422, "agent_id")
    assert row_counts(rt) == before


@pytest.mark.parametrize("form,field", [({"From": "+44" + "7" * 320, "Body": "hi"}, "From"),
                                        ({"From": "+447700900123", "Body": "STOP", "MessageSid": "SM" + "0" * 199},
                                         "MessageSid")])
def test_twilio_fields_longer_than_their_columns_are_refused(event_key, client, rt, before, form, field):
    from tests.support.signing import twilio_request

    raw, headers = twilio_request("/webhooks/twilio/sms", form)
    assert_problem(client.post("/webhooks/twilio/sms", data=raw, headers=headers), 422, field)
    assert row_counts(rt) == before


@pytest.mark.parametrize("fields", [
    {"from": "x" * 320 + "@example.com", "text": "thanks"},
    {"from": "", "envelope": json.dumps({"from": "x" * 320 + "@example.com"}), "text": "thanks"},
    {"from": "", "envelope": '{"from": 5}', "text": "thanks"},
    {"from": "sam@example.com", "text": "thanks", "headers": f"Message-ID: <{'m' * 199}@example.com>"},
])
def test_inbound_email_with_an_impossible_sender_or_message_id_is_stored_without_it(event_key, client, rt, fields):
    """The email's headers are its sender's to write: the reply is kept (for a person to read), not refused."""
    from sqlalchemy import select

    from followup.models import Reply
    from tests.support.signing import inbound_headers

    resp = client.post("/webhooks/sendgrid/inbound", data=fields, headers=inbound_headers(),
                       content_type="multipart/form-data")
    assert resp.status_code == 200 and resp.get_json()["status"] == "stored", resp.get_data(as_text=True)
    with rt.db.session() as session:
        reply = session.scalars(select(Reply)).one()
        assert reply.text == "thanks"
        assert (reply.from_address or "") in ("", "sam@example.com") and reply.provider_message_id is None


def test_schema_lengths_come_from_the_columns():
    """The door and the database cannot disagree: every length-limited string a CRM event carries is as long as
    the narrowest column it is stored in."""
    from marshmallow import fields, validate

    from followup.models import Customer
    from followup.outcome_models import ContactEvent
    from intake.schemas import SCHEMAS

    contacted = SCHEMAS["customer.contacted"]()
    stage = contacted.fields["journey_stage"]
    assert [v.max for v in stage.validators if isinstance(v, validate.Length)] == \
        [ContactEvent.__table__.c.journey_stage.type.length]
    email = SCHEMAS["interaction.closed"]().fields["customer"].schema.fields["email"]
    assert isinstance(email, fields.Email)
    assert [v.max for v in email.validators if isinstance(v, validate.Length)] == \
        [Customer.__table__.c.email.type.length]


@pytest.mark.parametrize("dotted", ["customer.name", "interaction.category", "agent.team"])
def test_nul_in_crm_text_is_refused_on_every_database(intake_mode, post_event, rt, before, dotted):
    event = interaction_event(**{dotted: "double\u0000charge"})
    assert_problem(post_event(event), 422, dotted)
    assert row_counts(rt) == before


# -- dashboard ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/dashboard/outcomes\r\nSet-Cookie: x=1", "/dashboard/\nload",
                                    "/dashboard/load\t", "/dashboard/\\\\evil.example", "/dashboard/%0d%0aX: y"])
def test_sign_in_next_with_control_characters_redirects_safely(client, manager, target):
    resp = sign_in(client, next_url=target)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith("/dashboard/") and "\r" not in location and "\n" not in location
    assert "\\" not in location and "evil" not in location


@pytest.mark.parametrize("query", ["to=9999-12-31", "to=0001-01-01", "from=0001-01-01T00:00:00%2B23:59"])
def test_out_of_range_dates_on_the_outcomes_page(signed_in, query):
    field = query.split("=")[0]
    resp = signed_in.get(f"/dashboard/outcomes?{query}")
    assert resp.status_code == 422 and f'data-field="{field}"' in resp.get_data(as_text=True)
    csv = signed_in.get(f"/dashboard/outcomes.csv?{query}")
    assert csv.status_code == 422 and csv.get_data(as_text=True).startswith(f"{field}:")


@pytest.mark.parametrize("depth", [10_000, 500])  # the editor takes at most 100,000 characters
def test_deeply_nested_rules_document_is_a_form_error(signed_in, rt, depth):
    before = row_counts(rt)
    for action in ("simulate", "publish"):
        resp = post_form(signed_in, "/dashboard/rules", {"document": nested(depth), "action": action,
                                                         "window_days": "7", "reason": "deep"})
        assert resp.status_code == 422 and 'data-field="document"' in resp.get_data(as_text=True)
    assert row_counts(rt) == before


@pytest.mark.parametrize("days", ["²", "9" * 5000])
def test_rules_window_that_is_not_a_plain_number_is_a_form_error(signed_in, days):
    resp = post_form(signed_in, "/dashboard/rules", {"document": "{}", "action": "simulate", "window_days": days})
    assert resp.status_code == 422 and 'data-field="window_days"' in resp.get_data(as_text=True)


@pytest.mark.parametrize("version", ["²", "9" * 5000, "99999999999"])
def test_rollback_to_a_version_that_is_not_a_plain_number_is_refused(signed_in, rt, version):
    before = row_counts(rt)
    history = page(signed_in, "/dashboard/rules/history")
    resp = signed_in.post("/dashboard/rules/rollback", data={"csrf_token": csrf(history), "version": version})
    assert resp.status_code == 302 and "Choose a version" in page(signed_in, "/dashboard/rules/history")
    assert row_counts(rt) == before


# -- logs ----------------------------------------------------------------------------------------------------------

def test_database_errors_never_log_bound_or_row_values(app, client, caplog):
    """A statement that fails carries its SQL into the log, never the values bound to it, nor the row values
    PostgreSQL quotes back (`DETAIL: Key (address)=(…) already exists`)."""
    from sqlalchemy import insert

    from aftercare.core.logs import JsonFormatter, MaskingFormatter
    from followup.models import OptOut

    marker = "Secret Customer Name"

    @app.route("/fails-in-the-database")
    def fails():
        from aftercare.core.web import db_session

        row = {"address": marker, "channel": "email", "source": f"{marker} asked"}
        db_session().execute(insert(OptOut).values(**row))
        db_session().execute(insert(OptOut).values(**row))  # the same primary key again
        return "unreachable"

    with caplog.at_level(logging.INFO):
        assert_problem(client.get("/fails-in-the-database"), 500)
    for formatter in (JsonFormatter(), MaskingFormatter("%(message)s")):
        logged = "\n".join(formatter.format(record) for record in caplog.records)
        assert "unhandled error" in logged and "INSERT INTO opt_outs" in logged
        assert "IntegrityError" in logged and "Secret" not in logged, logged
