"""SendGrid email with the real `sendgrid` client against a local fake; Inbound Parse and the Event Webhook."""
from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from followup.models import CheckIn, OptOut
from tests.support.dispatching import dispatch, stored_checkin as row
from tests.support.factories import interaction_event
from tests.support.pages import assert_protected_page
from tests.support.signing import event_request

EMAIL_ONLY = {"customer.consent": {"sms": False, "email": True}}


@pytest.fixture
def event_key(overrides, fake_sendgrid):
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    overrides["sendgrid"]["event_public_key"] = base64.b64encode(public).decode()
    return key


@pytest.fixture
def email_checkin(fake_sendgrid, event_key, post_event, rt, clock):
    checkin_id = post_event(interaction_event(**EMAIL_ONLY)).get_json()["checkin"]["id"]
    with rt.db.session() as session:
        session.get(CheckIn, checkin_id).due_at = clock.now
        session.commit()
    return checkin_id


def test_mail_send_carries_reply_to_custom_args_and_one_click_unsubscribe(email_checkin, fake_sendgrid, rt, clock):
    assert dispatch(rt, clock).sent == 1
    request = fake_sendgrid.requests[0]
    assert request.headers["Authorization"] == "Bearer SG.test"
    body = fake_sendgrid.accepted[0]
    token = row(rt, email_checkin).reply_token
    assert body["reply_to"]["email"] == f"reply+{token}@in.acme.example"
    assert body["custom_args"] == {"checkin_id": email_checkin}
    assert body["headers"]["List-Unsubscribe"] == f"<https://aftercare.example.com/unsubscribe/{token}>"
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    types = [c["type"] for c in body["content"]]
    assert types == ["text/plain", "text/html"] and "Maria" in body["content"][0]["value"]
    assert body["personalizations"][0]["to"][0]["email"] == "sam@example.com"
    assert row(rt, email_checkin).provider_message_id == fake_sendgrid.accepted[0]["_message_id"]


def test_400_is_permanent(email_checkin, fake_sendgrid, rt, clock):
    fake_sendgrid.decide = lambda body: (400, {"errors": [{"message": "bad from"}]}, {})
    assert dispatch(rt, clock).failed == 1
    clock.advance(hours=1)
    dispatch(rt, clock)
    assert len(fake_sendgrid.requests) == 1 and "400" in row(rt, email_checkin).state_reason


def test_429_retry_after_and_500_retry(email_checkin, fake_sendgrid, rt, clock):
    answers = iter([(429, {"errors": []}, {"Retry-After": "90"}), (500, {"errors": []}, {})])
    fake_sendgrid.decide = lambda body: next(answers, None)
    dispatch(rt, clock)
    first = row(rt, email_checkin)
    assert first.state == "scheduled" and (first.due_at - clock.now).total_seconds() >= 90
    clock.now = first.due_at
    dispatch(rt, clock)
    clock.now = row(rt, email_checkin).due_at
    assert dispatch(rt, clock).sent == 1 and len(fake_sendgrid.accepted) == 1


GMAIL = """Still not fixed, I was charged twice again this morning.

On Wed, 25 Nov 2026 at 17:00, Maria from Acme <care@acme.example> wrote:
> Hi Sam, this is Maria from Acme. Earlier today you had trouble with a
> double charge - is it sorted now?
"""
OUTLOOK = """Yes all sorted now, thank you so much!

Sam Carter
Head of Ops

________________________________
From: Maria from Acme <care@acme.example>
Sent: Wednesday, November 25, 2026 5:00 PM
To: Sam Carter <sam@example.com>
Subject: Is your double charge sorted now?

Hi Sam, this is Maria from Acme. Is it sorted now? Thanks, Maria
"""
APPLE = """Thanks for nothing. Nobody has called me.

Sent from my iPhone

> On 25 Nov 2026, at 17:00, Maria from Acme <care@acme.example> wrote:
>
> Hi Sam, all sorted now? Thanks and have a great day
"""


def inbound(client, token, text, *, auth=("parse", "parse-pass"), message_id="<m1@mail.example>", query="",
            sender="Sam Carter <sam@example.com>"):
    form = {"to": f'"Acme Care" <reply+{token}@in.acme.example>', "from": sender,
            "subject": "Re: Is your double charge sorted now?", "text": text,
            "envelope": json.dumps({"to": [f"reply+{token}@in.acme.example"], "from": "sam@example.com"}),
            "headers": f"Message-ID: {message_id}\nFrom: sam@example.com\n", "charsets": "{}", "SPF": "pass"}
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    return client.post(f"/webhooks/sendgrid/inbound{query}", data=form, headers=headers,
                       content_type="multipart/form-data")


@pytest.mark.parametrize("text,intent,case_state", [(GMAIL, "reopen", "reopened"), (OUTLOOK, "resolved", "closed"),
                                                    (APPLE, "reopen", "reopened")])
def test_inbound_parse_strips_quotes_and_signatures(email_checkin, rt, clock, client, read_headers, text, intent,
                                                    case_state):
    dispatch(rt, clock)
    resp = inbound(client, row(rt, email_checkin).reply_token, text)
    assert resp.status_code == 200 and resp.get_json()["matched"] is True
    case = client.get("/api/v1/cases/case_77", headers=read_headers).get_json()
    reply = case["replies"][0]
    assert reply["intent"] == intent and case["state"] == case_state
    assert "wrote:" not in reply["text"] and "From:" not in reply["text"] and "Sent from my" not in reply["text"]


def test_inbound_parse_with_nul_is_stored_without_it(email_checkin, rt, clock, client, read_headers):
    """SendGrid retries what we refuse for days: NUL (which PostgreSQL text cannot hold) is dropped, the reply kept."""
    dispatch(rt, clock)
    resp = inbound(client, row(rt, email_checkin).reply_token, "still\x00 charging me twice",
                   sender="Sam\x00 <sam@example.com>")
    assert resp.status_code == 200 and resp.get_json()["status"] == "stored"
    case = client.get("/api/v1/cases/case_77", headers=read_headers).get_json()
    assert case["replies"][0]["text"] == "still charging me twice"


def test_inbound_parse_needs_auth_and_changes_nothing(email_checkin, rt, clock, client):
    dispatch(rt, clock)
    token = row(rt, email_checkin).reply_token
    assert inbound(client, token, GMAIL, auth=None).status_code == 401
    assert inbound(client, token, GMAIL, auth=("parse", "wrong")).status_code == 401
    assert row(rt, email_checkin).state == "sent"


def test_inbound_parse_url_secret(overrides, fake_sendgrid, event_key, post_event, clock):
    from aftercare.app import create_app

    overrides["sendgrid"].update(inbound_user="", inbound_password="", inbound_url_secret="s3cret")
    app2 = create_app(overrides)
    app2.extensions["aftercare"].clock = clock
    c = app2.test_client()
    assert inbound(c, "nope", "hi", auth=None, query="?key=wrong").status_code == 401
    resp = inbound(c, "nope", "hi", auth=None, query="?key=s3cret")
    assert resp.status_code == 200 and resp.get_json()["matched"] is False


def test_inbound_retry_is_stored_once_and_unknown_token_is_kept(email_checkin, rt, clock, client, read_headers):
    dispatch(rt, clock)
    token = row(rt, email_checkin).reply_token
    inbound(client, token, GMAIL)
    assert inbound(client, token, GMAIL).get_json()["status"] == "duplicate"
    inbound(client, "unknown-token", "who are you?", message_id="<m2@mail.example>", sender="x@stranger.example")
    replies = client.get("/api/v1/replies", headers=read_headers).get_json()["items"]
    assert len(replies) == 2
    unmatched = client.get("/api/v1/replies?unmatched=true", headers=read_headers).get_json()["items"]
    assert [r["text"] for r in unmatched] == ["who are you?"]


@pytest.fixture
def post_events(client, event_key, clock):
    """POST a batch signed as SendGrid signs it, at the app's clock or at `timestamp`; forged or unsigned if asked."""
    def _post(events, *, forge=False, drop=False, timestamp=None):
        raw, headers = event_request(event_key, events, now=clock.now)
        if timestamp is not None:
            signature = event_key.sign(str(timestamp).encode() + raw, ec.ECDSA(hashes.SHA256()))
            headers.update({"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                            "X-Twilio-Email-Event-Webhook-Timestamp": str(timestamp)})
        if drop:
            headers = {"Content-Type": "application/json"}
        if forge:
            raw = raw.replace(b"delivered", b"bounce")
        return client.post("/webhooks/sendgrid/events", data=raw, headers=headers)

    return _post


def test_event_webhook_delivered(email_checkin, rt, clock, post_events):
    dispatch(rt, clock)
    sg_id = row(rt, email_checkin).provider_message_id
    resp = post_events([{"event": "delivered", "sg_message_id": f"{sg_id}.filter0001", "checkin_id": email_checkin,
                         "email": "sam@example.com"}])
    assert resp.status_code == 200 and row(rt, email_checkin).state == "delivered"
    post_events([{"event": "deferred", "checkin_id": email_checkin}])
    assert row(rt, email_checkin).state == "delivered"


def test_event_webhook_bounce_fails_important_checkin(email_checkin, rt, clock, client, read_headers, post_events):
    dispatch(rt, clock)
    post_events([{"event": "bounce", "checkin_id": email_checkin, "reason": "550 no such user"}])
    failed = row(rt, email_checkin)
    assert failed.state == "failed" and "550" in failed.state_reason
    assert client.get("/api/v1/routing/queue", headers=read_headers).get_json()["items"][0]["kind"] == "human_task"


@pytest.mark.parametrize("kind", ["spamreport", "unsubscribe"])
def test_event_webhook_opt_out(email_checkin, rt, clock, kind, post_events):
    dispatch(rt, clock)
    post_events([{"event": kind, "checkin_id": email_checkin, "email": "sam@example.com"}])
    with rt.db.session() as session:
        assert session.get(OptOut, "sam@example.com") is not None


@pytest.mark.parametrize("mode", ["forge", "drop"])
def test_event_webhook_refuses_forged_or_unsigned(email_checkin, rt, clock, mode, post_events):
    dispatch(rt, clock)
    resp = post_events([{"event": "delivered", "checkin_id": email_checkin}],
                       forge=mode == "forge", drop=mode == "drop")
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    assert row(rt, email_checkin).state == "sent"


@pytest.mark.parametrize("sg_message_id", ["x" * 129, ["a", {"b": 1}], 12345])
def test_an_event_message_id_that_is_not_one_is_ignored(email_checkin, rt, post_events, sg_message_id):
    """Found by the fuzz test on PostgreSQL: a long or non-string sg_message_id overflowed the column (500)."""
    resp = post_events([{"event": "dropped", "checkin_id": email_checkin, "sg_message_id": sg_message_id}])
    assert resp.status_code == 200
    failed = row(rt, email_checkin)
    assert failed.state == "failed" and failed.provider_message_id is None


A_YEAR_2001 = 978307200  # 2001-01-01T00:00:00Z, as in the reproduction


@pytest.mark.parametrize("offset", ["2001", -301, 301, -100_000])
def test_event_webhook_refuses_a_stale_or_future_timestamp(email_checkin, rt, clock, post_events, offset):
    """A correctly signed batch whose signed timestamp is outside `sendgrid.replay_window_seconds` (300 s)."""
    dispatch(rt, clock)
    timestamp = A_YEAR_2001 if offset == "2001" else int(clock.now.timestamp()) + offset
    resp = post_events([{"event": "bounce", "checkin_id": email_checkin, "reason": "550 replayed"}],
                       timestamp=timestamp)
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["type"].endswith("invalid-signature")
    assert row(rt, email_checkin).state == "sent"


@pytest.mark.parametrize("offset", [-300, 300])
def test_event_webhook_accepts_the_edges_of_the_window(email_checkin, rt, clock, post_events, offset):
    dispatch(rt, clock)
    resp = post_events([{"event": "delivered", "checkin_id": email_checkin}],
                       timestamp=int(clock.now.timestamp()) + offset)
    assert resp.status_code == 200 and row(rt, email_checkin).state == "delivered"


def test_processed_event_reconciles_a_crashed_send(email_checkin, fake_sendgrid, rt, clock, post_events):
    from datetime import timedelta

    with rt.db.session() as session:
        c = session.get(CheckIn, email_checkin)
        c.state, c.claimed_by, c.lease_until = "claimed", "dead", clock.now - timedelta(seconds=1)
        c.send_started_at = clock.now - timedelta(minutes=3)
        session.commit()
    resp = post_events([{"event": "processed", "sg_message_id": "abc.x", "checkin_id": email_checkin}])
    assert resp.status_code == 200
    assert dispatch(rt, clock).sent == 0 and fake_sendgrid.requests == []
    assert row(rt, email_checkin).state == "sent"


def test_one_click_unsubscribe(email_checkin, rt, clock, client):
    dispatch(rt, clock)
    token = row(rt, email_checkin).reply_token
    assert client.get(f"/unsubscribe/{token}").status_code == 200
    with rt.db.session() as session:
        assert session.get(OptOut, "sam@example.com") is None
    resp = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200
    with rt.db.session() as session:
        assert session.get(OptOut, "sam@example.com") is not None
    assert client.post("/unsubscribe/not-a-token").status_code == 404


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unsubscribe_page_carries_the_dashboard_security_headers(email_checkin, rt, clock, client, method):
    dispatch(rt, clock)
    resp = client.open(f"/unsubscribe/{row(rt, email_checkin).reply_token}", method=method)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert_protected_page(resp)


# -- Who may act on a case by email (SPEC §8 "Trust of inbound replies") -------------------------------------------
# SendGrid's own verdicts, in the shapes SendGrid posts them: `dkim` "{@gmail.com : pass}" and `SPF` "pass" with
# the envelope sender in `envelope` (sendgrid/sendgrid-python, examples/inbound-webhook-parsing/
# example-webhook-payload.txt); `dkim` "none" for an unsigned message (sendgrid/docs issue #1991).

CARE = "care@in.acme.example"  # the inbound address without a reply token (e.g. a new mail, not a reply)


def parse_post(client, *, text, sender="Sam Carter <sam@example.com>", to=CARE, envelope_from="sam@example.com",
               spf="none", dkim="none", message_id="<spoof@mail.example>"):
    form = {"to": to, "from": sender, "subject": "Re: Is your double charge sorted now?", "text": text,
            "envelope": json.dumps({"to": [to], "from": envelope_from}), "SPF": spf, "dkim": dkim,
            "headers": f"Message-ID: {message_id}\n", "charsets": "{}"}
    auth = "Basic " + base64.b64encode(b"parse:parse-pass").decode()
    return client.post("/webhooks/sendgrid/inbound", data=form, headers={"Authorization": auth},
                       content_type="multipart/form-data")


def case_77(client, read_headers) -> dict:
    return client.get("/api/v1/cases/case_77", headers=read_headers).get_json()


def test_a_spoofed_thank_you_without_token_closes_nothing(email_checkin, rt, clock, client, read_headers):
    """The issue's reproduction: from=<the customer>, no token, no SPF/DKIM pass for example.com."""
    dispatch(rt, clock)
    resp = parse_post(client, text="Thanks, it's all sorted now!", spf="softfail",
                      envelope_from="bounce@attacker.example", dkim="{@attacker.example : pass}")
    body = resp.get_json()
    assert resp.status_code == 200 and body["matched"] is False and body["trusted"] is False
    assert body["case_id"] is None and body["action"].startswith("not acted on: sender not verified")
    assert row(rt, email_checkin).state == "sent"
    case = case_77(client, read_headers)
    assert case["loop_closed_at"] is None and case["replies"] == []
    unmatched = client.get("/api/v1/replies?unmatched=true", headers=read_headers).get_json()["items"]
    assert [r["text"] for r in unmatched] == ["Thanks, it's all sorted now!"]
    assert "no DKIM or SPF pass for example.com" in unmatched[0]["action"]


def test_a_spoofed_unsubscribe_cancels_nothing_and_needs_confirmation(email_checkin, rt, clock, client,
                                                                     read_headers):
    """Someone else writes "unsubscribe me" as sam@example.com: the scheduled check-in stays, no opt-out."""
    resp = parse_post(client, text="unsubscribe me from these emails")
    body = resp.get_json()
    assert body["trusted"] is False and "opt-out request from an unverified sender: needs confirmation" in \
        body["action"]
    assert row(rt, email_checkin).state == "scheduled"
    with rt.db.session() as session:
        assert session.get(OptOut, "sam@example.com") is None
    unmatched = client.get("/api/v1/replies?unmatched=true", headers=read_headers).get_json()["items"]
    assert unmatched[0]["intent"] == "opt_out" and "needs confirmation" in unmatched[0]["action"]


def test_the_dashboard_inbox_shows_why_a_reply_was_not_acted_on(email_checkin, app, client, clock):
    from aftercare.managers import create_manager
    from tests.support.dashboard import PASSWORD, sign_in

    parse_post(client, text="unsubscribe me from these emails")
    with app.extensions["aftercare"].db.session() as session:
        create_manager(session=session, username="Dana", password=PASSWORD, now=clock.now)
    assert sign_in(client).status_code == 302
    page = client.get("/dashboard/inbox").get_data(as_text=True)
    assert "unsubscribe me from these emails" in page
    assert "opt-out request from an unverified sender: needs confirmation" in page


def test_a_token_reply_opts_out_the_address_the_token_was_sent_to(email_checkin, rt, clock, client):
    """A customer's own token with someone else's From: the token proves the check-in address, nothing more."""
    dispatch(rt, clock)
    token = row(rt, email_checkin).reply_token
    resp = parse_post(client, text="unsubscribe me from these emails", to=f"reply+{token}@in.acme.example",
                      sender="victim@other.example", envelope_from="victim@other.example")
    assert resp.get_json()["trusted"] is True and resp.get_json()["action"] == "opted out email address"
    with rt.db.session() as session:
        assert session.get(OptOut, "sam@example.com") is not None
        assert session.get(OptOut, "victim@other.example") is None


@pytest.mark.parametrize("verdicts", [
    {"dkim": "{@example.com : pass}", "spf": "softfail", "envelope_from": "bounces@esp.example"},
    {"dkim": "{@esp.example : pass, @example.com : pass}", "spf": "none"},
    {"dkim": "none", "spf": "pass", "envelope_from": "sam@example.com"},
    {"dkim": "{@mail.example.com : pass}", "spf": "fail"},
], ids=["dkim", "second-signature", "spf", "dkim-subdomain"])
def test_a_verified_sender_without_token_acts_on_the_latest_checkin(email_checkin, rt, clock, client, read_headers,
                                                                    verdicts):
    dispatch(rt, clock)
    resp = parse_post(client, text="Thanks, it's all sorted now!", **verdicts)
    body = resp.get_json()
    assert body["matched"] is True and body["trusted"] is True and body["case_id"] == "case_77"
    assert body["action"] == "loop closed: customer confirmed resolved"
    assert row(rt, email_checkin).state == "replied" and case_77(client, read_headers)["loop_closed_at"]


def test_a_from_header_the_address_parser_cannot_read_is_stored_not_a_500(email_checkin, rt, clock, client):
    resp = parse_post(client, text="hello", sender="(" * 5000, to="(" * 5000)
    assert resp.status_code == 200 and resp.get_json()["trusted"] is False
