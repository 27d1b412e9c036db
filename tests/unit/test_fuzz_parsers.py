"""Hypothesis fuzzing of everything that reads outside input: the CRM signature check, the intake schemas, inbound
email parsing, SMS keywords and reply understanding never raise anything but their documented exceptions.
The last tests push arbitrary, correctly signed Twilio and SendGrid posts through the test client (the form
parsing in the views): never a 5xx. Derandomized, so CI sees the same examples every run."""
from __future__ import annotations

import json
import string

import pytest
from hypothesis import example, given, strategies as st
from marshmallow import ValidationError

from aftercare.core.signing import SignatureError, sign, verify
from followup.inbound_email import extract_reply, html_to_text, reply_token_from_addresses, strip_quoted
from followup.keywords import KeywordAction, keyword_action
from followup.understanding import INTENTS, ReplyContext, ReplyVerdict, classify_reply
from intake.schemas import SCHEMAS, EnvelopeSchema
from tests.support.factories import interaction_event
from tests.support.fuzz import FUZZ, SLOW, any_text, header_text, json_values, secret_text


def signature_headers():
    """Mostly well-shaped headers with odd pieces: digits of any script, hex, junk, repeats, huge numbers."""
    t = st.one_of(st.integers(-10**15, 10**15).map(str), st.text("0123456789²³١٢٣", max_size=20), header_text)
    v1 = st.one_of(st.text("0123456789abcdef", max_size=64), header_text)
    part = st.one_of(t.map(lambda v: f"t={v}"), v1.map(lambda v: f"v1={v}"), header_text)
    return st.one_of(st.none(), header_text, st.lists(part, max_size=6).map(",".join))


@FUZZ
@given(header=signature_headers(), body=st.binary(max_size=200), secrets=st.lists(secret_text, max_size=3),
       now=st.floats(0, 4e9), tolerance=st.integers(0, 10_000))
@example(header="t=²,v1=ab", body=b"{}", secrets=["s"], now=1.0, tolerance=300)
@example(header="t=1,v1=é", body=b"{}", secrets=["s"], now=1.0, tolerance=300)
@example(header="t=" + "9" * 5000 + ",v1=ab", body=b"", secrets=["s"], now=1.0, tolerance=300)
def test_verify_returns_a_timestamp_or_raises_signature_error(header, body, secrets, now, tolerance):
    try:
        t = verify(header, body, secrets, tolerance=tolerance, now=now)
    except SignatureError:
        return
    assert isinstance(t, int) and abs(now - t) <= tolerance


@FUZZ
@given(body=st.binary(max_size=500), secret=secret_text, others=st.lists(secret_text, max_size=2),
       t=st.integers(0, 4_000_000_000))
def test_sign_then_verify_round_trips_with_any_secret_in_the_rotation(body, secret, others, t):
    assert verify(sign(secret, body, t), body, [*others, secret], now=t) == t
    if all(s != secret for s in others):
        with pytest.raises(SignatureError):
            verify(sign(secret, body, t), body + b"x", [*others, secret], now=t)


def valid_event() -> dict:
    return {"event_id": "evt_1", "type": "interaction.closed", "occurred_at": "2026-11-25T14:02:00Z",
            "interaction": {"id": "int_1", "case_id": "case_1", "channel": "chat", "ended_at": "2026-11-25T14:00:00Z"},
            "customer": {"id": "cus_1", "phone": "+447700900123", "email": "sam@example.com",
                         "timezone": "Europe/London", "consent": {"sms": True}}}


def mutated_events():
    """The valid event with one field (top-level or nested) replaced by anything JSON can carry."""
    paths = [("event_id",), ("type",), ("occurred_at",), ("interaction",), ("interaction", "id"),
             ("interaction", "channel"), ("interaction", "started_at"), ("interaction", "customer_sentiment"),
             ("interaction", "signals"), ("interaction", "commitment"), ("customer",), ("customer", "phone"),
             ("customer", "email"), ("customer", "timezone"), ("customer", "consent"), ("case",), ("agent",)]

    def build(path, value):
        event = valid_event()
        target = event
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return event

    return st.builds(build, st.sampled_from(paths), json_values)


@FUZZ
@given(data=st.one_of(json_values, mutated_events()), kind=st.sampled_from(sorted(SCHEMAS)))
def test_intake_schemas_load_or_raise_validation_error(data, kind):
    for schema in (EnvelopeSchema(), SCHEMAS[kind]()):
        try:
            loaded = schema.load(data)
        except ValidationError as exc:
            assert isinstance(exc.messages, (dict, list))
            continue
        assert isinstance(loaded, dict)


@FUZZ
@given(phone=st.one_of(any_text, st.from_regex(r"\+?[0-9 ()\-]{1,25}", fullmatch=True)))
def test_phone_numbers_normalise_to_e164_or_are_refused(phone):
    event = valid_event()
    event["customer"]["phone"] = phone
    try:
        loaded = SCHEMAS["interaction.closed"]().load(event)
    except ValidationError as exc:
        assert "customer" in exc.messages
        return
    assert loaded["customer"]["phone"].startswith("+") and loaded["customer"]["phone"][1:].isdigit()


mail_lines = st.lists(st.one_of(any_text, st.sampled_from([
    "> quoted", "On Tue, 24 Nov 2026, Maria <m@acme.example> wrote:", "-----Original Message-----", "From: x",
    "Sent: Monday", "To: y", "Subject: z", "--", "Sent from my iPhone", "", "\r", "\ufeff", "Le lun. a écrit :"])),
    max_size=12).map("\n".join)
html_docs = st.lists(st.one_of(any_text, st.sampled_from([
    "<div>", "</div>", "<br>", "<blockquote>", "</blockquote>", '<div class="gmail_quote">', "<p>&nbsp;</p>",
    "<script>x</script>", "<", ">", "&", "&#0;", "&#xD800;", "<!--", "<![CDATA[", "</p"])), max_size=15).map("".join)


@FUZZ
@given(text=st.one_of(st.none(), mail_lines), html=st.one_of(st.none(), html_docs))
def test_inbound_email_text_extraction_never_raises(text, html):
    assert isinstance(extract_reply(text, html), str)
    if text is not None:
        assert isinstance(strip_quoted(text), str)
    if html is not None:
        assert isinstance(html_to_text(html), str)


@FUZZ
@given(to=st.one_of(st.none(), any_text, st.from_regex(r"[A-Za-z <>]*reply\+[\w-]{0,30}@[\w.]{0,20}>?")),
       envelope=st.one_of(st.none(), any_text, json_values.map(json.dumps),
                          st.lists(any_text, max_size=3).map(lambda to: json.dumps({"to": to}))),
       domain=st.one_of(st.just("in.example.com"), any_text))
def test_reply_token_extraction_never_raises(to, envelope, domain):
    token = reply_token_from_addresses(to, envelope, domain)
    assert token is None or (isinstance(token, str) and token)


@FUZZ
@given(text=st.one_of(st.none(), any_text, st.lists(st.sampled_from(
    ["stop", "STOP", "please", "opt out", "opt-out", "help", "yes", "start", "me", "!", " ", "\u2019", "ﬆop"]),
    max_size=6).map(" ".join)), opted_out=st.booleans())
def test_keyword_action_never_raises(text, opted_out):
    action = keyword_action(text, opted_out=opted_out)
    assert action is None or isinstance(action, KeywordAction)


replies = st.one_of(any_text, st.lists(st.sampled_from(
    ["still", "not", "fixed", "thanks", "for", "nothing", "?", "!!!", "STOP", "great", "no", "sorted", "😡", "🙂",
     "but", "refund", "Maria", "\n> quoted", "On Mon wrote:", "ok", "lol", "🙏", "\u200b"]), max_size=30).map(" ".join),
    st.text(string.printable, min_size=1900, max_size=2100))


@SLOW
@given(text=replies, context=st.one_of(st.none(), st.builds(
    ReplyContext, channel=st.sampled_from([None, "sms", "email", "console"]),
    locale=st.one_of(st.none(), any_text), agent_name=st.one_of(st.none(), any_text))))
def test_classify_reply_always_answers_with_a_valid_verdict(text, context):
    verdict = classify_reply(text, context)
    assert isinstance(verdict, ReplyVerdict) and verdict.intent in INTENTS
    assert 0.0 <= verdict.confidence <= 1.0 and verdict.reasons and all(isinstance(r, str) for r in verdict.reasons)
    assert "internal error while reading the reply" not in verdict.reasons, "classify_reply hid an exception"
    json.dumps(verdict.as_dict())


# -- form parsing through the views: arbitrary but correctly signed provider posts --------------------------

form_fields = st.dictionaries(st.sampled_from(["From", "To", "Body", "MessageSid", "MessageStatus", "ErrorCode",
                                               "NumMedia", "AccountSid"]) | any_text.filter(bool),
                              any_text, max_size=6)


@pytest.fixture
def signed(overrides):
    from tests.support.signing import configure_providers

    return configure_providers(overrides)


@SLOW
@given(form=form_fields, path=st.sampled_from(["/webhooks/twilio/sms", "/webhooks/twilio/status",
                                               "/webhooks/twilio/status?checkin=chk_x"]))
def test_signed_twilio_posts_never_fail(signed, client, form, path):
    from tests.support.signing import twilio_request

    form = {k.encode("utf-8", "replace").decode(): v.encode("utf-8", "replace").decode() for k, v in form.items()}
    raw, headers = twilio_request(path.split("?")[0], form, path.partition("?")[2] or None)
    resp = client.post(path, data=raw, headers=headers)
    assert resp.status_code < 500, resp.get_data(as_text=True)
    assert resp.status_code != 403, "the signature was valid"


@SLOW
@given(fields=st.fixed_dictionaries({}, optional={
    "from": any_text, "to": st.one_of(any_text, st.just("Care <reply+tok@in.acme.example>")),
    "subject": any_text, "text": mail_lines, "html": html_docs, "headers": any_text.map(lambda h: f"Message-ID: <{h}>"),
    "envelope": st.one_of(any_text, json_values.map(json.dumps))}))
def test_authorised_inbound_parse_posts_are_always_stored(signed, client, fields):
    from tests.support.signing import inbound_headers

    fields = {k: v.encode("utf-8", "replace").decode() for k, v in fields.items()}
    resp = client.post("/webhooks/sendgrid/inbound", data=fields, headers=inbound_headers(),
                       content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["status"] in ("stored", "duplicate")


SEEDED = "<the seeded check-in>"


@pytest.fixture
def checkin_id(signed, post_event):
    return post_event(interaction_event()).get_json()["checkin"]["id"]


@SLOW
@given(events=st.one_of(json_values, st.lists(st.fixed_dictionaries(
    {"checkin_id": st.just(SEEDED) | json_values},
    optional={"event": st.sampled_from(["delivered", "bounce", "dropped", "spamreport", "unsubscribe"]) | json_values,
              "sg_message_id": json_values, "reason": json_values, "response": json_values}), max_size=4)))
def test_signed_sendgrid_events_never_fail(signed, checkin_id, client, clock, events):
    from tests.support.signing import event_request

    if isinstance(events, list):
        events = [{**e, "checkin_id": checkin_id} if isinstance(e, dict) and e.get("checkin_id") == SEEDED else e
                  for e in events]
    raw, headers = event_request(signed, events, now=clock.now)
    resp = client.post("/webhooks/sendgrid/events", data=raw, headers=headers)
    # 400: json.dumps writes infinities as `Infinity`, which is not JSON and is refused as malformed
    assert resp.status_code in (200, 400, 422), resp.get_data(as_text=True)

