"""SPEC §8 "Outage", on both databases: while the database cannot be reached, webhooks and API calls answer 503 with
Retry-After (never a 500, never a 202 for an event not stored), /readyz says why and /healthz stays up; a
customer's SMS or email reply goes to the spool, is answered as usual and is stored once, in arrival order, when
the database is back; the tick waits the outage out. `down` is the same service (settings, instance folder,
spool) with its database unreachable: PostgreSQL on a port nothing listens on, SQLite unable to open its file.
On PostgreSQL the same app also loses its pooled connections behind a fault proxy and recovers without a restart.
"""
from __future__ import annotations

import copy
import json
import logging
import os
import time

import pytest
from sqlalchemy import select

from aftercare.core.retry import OutageBackoff
from aftercare.scheduler import tick
from followup.models import ChannelContact, OptOut, Reply
from intake.models import WebhookEvent
from tests.support.desks import CASES, body_of, configure_desks
from tests.support.factories import interaction_event
from tests.support.outage import FaultProxy, inbound_parse_form, sms_form, unreachable_url
from tests.support.problems import assert_problem, row_counts
from tests.support.signing import configure_providers, crm_headers, inbound_headers, twilio_request

ON_POSTGRES = os.environ.get("AFTERCARE_TEST_DATABASE_URL", "").startswith("postgresql")


@pytest.fixture(autouse=True)
def providers(overrides):
    configure_providers(overrides)


def service_app(overrides: dict, clock, **database):
    from aftercare.app import create_app

    settings = copy.deepcopy(overrides)
    settings["database"] = database
    app = create_app(settings)
    app.config["TESTING"] = True
    app.extensions["aftercare"].clock = clock
    return app


@pytest.fixture
def down(app, overrides, database_url, tmp_path, clock):
    """The service while its database is unreachable (same instance folder, so the same spool)."""
    down_app = service_app(overrides, clock, url=unreachable_url(database_url, tmp_path))
    yield down_app
    down_app.extensions["aftercare"].db.dispose()


def post_crm(client, clock, event: dict):
    body = json.dumps(event).encode()
    return client.post("/webhooks/crm", data=body, headers=crm_headers(body, clock.now))


def post_sms(client, form: dict):
    body, headers = twilio_request("/webhooks/twilio/sms", form)
    return client.post("/webhooks/twilio/sms", data=body, headers=headers)


def post_email(client, form: dict, headers: dict | None = None):
    return client.post("/webhooks/sendgrid/inbound", data=form, content_type="multipart/form-data",
                       headers=inbound_headers() if headers is None else headers)


def replies(rt) -> list[tuple]:
    with rt.db.session() as session:
        return session.execute(select(Reply.provider_message_id, Reply.text, Reply.received_at, Reply.channel)
                               .order_by(Reply.received_at, Reply.id)).all()


def assert_outage(resp):
    body = assert_problem(resp, 503)
    assert body["type"].endswith("/database-unavailable") and resp.headers["Retry-After"] == "5"


@pytest.mark.parametrize("mode", ["inline", "queued"])
def test_webhooks_and_api_answer_503_and_store_nothing(mode, overrides, down, rt, clock):
    down.extensions["aftercare"].settings = down.extensions["aftercare"].settings.replace("crm", intake_mode=mode)
    client = down.test_client()
    before = row_counts(rt)
    assert_outage(post_crm(client, clock, interaction_event()))
    event = json.dumps(interaction_event()).encode()  # the own-format door with a desk's key (SPEC §10)
    assert_outage(client.post("/webhooks/crm", data=event, headers={"Authorization": "Bearer ak_any",
                                                                    "Content-Type": "application/json"}))
    assert_outage(client.get("/api/v1/crm/events?state=failed", headers={"Authorization": "Bearer ak_any"}))
    assert_outage(client.get("/api/v1/cases/case_77", headers={"Authorization": "Bearer ak_any"}))
    assert row_counts(rt) == before  # never a 202 for an event that was not stored


@pytest.mark.parametrize("desk", sorted(CASES))
def test_every_help_desk_webhook_answers_503_and_stores_nothing(desk, overrides, app, rt, database_url, tmp_path,
                                                                  clock):
    configure_desks(overrides)  # their APIs at a port nothing answers: a contact look-up fails too
    down = service_app(overrides, clock, url=unreachable_url(database_url, tmp_path))
    case, before = CASES[desk], row_counts(rt)
    body = body_of(case.payload())
    try:
        assert_outage(down.test_client().post(f"/webhooks/{desk}", data=body, headers=case.headers(body, clock.now)))
    finally:
        down.extensions["aftercare"].db.dispose()
    assert row_counts(rt) == before


def test_readyz_says_why_and_healthz_stays_up(down):
    client = down.test_client()
    assert client.get("/healthz").status_code == 200
    body = assert_problem(client.get("/readyz"), 503)
    assert body["detail"].startswith("database unreachable: ")
    assert "127.0.0.1" not in body["detail"]


def test_metrics_show_the_database_down_then_up_and_the_spool_depth(down, app, client):
    post_sms(down.test_client(), sms_form("SMdepth"))
    text = down.test_client().get("/metrics").get_data(as_text=True)
    assert "aftercare_db_up 0.0" in text and "aftercare_spool_depth 1.0" in text
    assert client.get("/readyz").status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    assert "aftercare_db_up 1.0" in text


def test_an_sms_during_the_outage_is_answered_spooled_and_stored_once_when_it_is_back(down, app, rt, clock, client):
    arrived = clock.now
    resp = post_sms(down.test_client(), sms_form("SMoutage1"))
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    assert "<Message>" not in resp.get_data(as_text=True)  # nothing to say truthfully until it is stored
    assert replies(rt) == [] and rt.services["spool"].depth() == 1
    clock.advance(minutes=5)
    tick(app, "test-worker")
    assert replies(rt) == [("SMoutage1", "No, still broken. Please call me.", arrived, "sms")]
    assert rt.services["spool"].depth() == 0 and not rt.services["spool"].has_pending()
    tick(app, "test-worker")
    post_sms(client, sms_form("SMoutage1"))  # the same message again: recognised by its MessageSid
    assert len(replies(rt)) == 1


def test_a_whatsapp_message_during_the_outage_keeps_its_button_profile_and_time(down, app, rt, clock):
    arrived = clock.now
    form = {**sms_form("SMwa1", body="No, still need help", sender="whatsapp:+447700900123"),
            "ButtonPayload": "reopen", "ButtonText": "No, still need help", "ProfileName": "Sam C", "WaId": "447700900123"}
    body, headers = twilio_request("/webhooks/twilio/whatsapp", form)
    resp = down.test_client().post("/webhooks/twilio/whatsapp", data=body, headers=headers)
    assert resp.status_code == 200 and "<Message>" not in resp.get_data(as_text=True)
    clock.advance(hours=1)
    tick(app, "test-worker")
    with rt.db.session() as session:
        reply = session.scalars(select(Reply)).one()
        contact = session.get(ChannelContact, "whatsapp:+447700900123")
        assert (reply.provider_message_id, reply.channel, reply.intent, reply.reasons) == \
            ("SMwa1", "whatsapp", "reopen", ["button"])
        assert (contact.profile_name, contact.last_inbound_at) == ("Sam C", arrived)  # its 24-hour window: from then


def test_an_email_during_the_outage_is_spooled_and_stored_once_with_its_trust(down, app, rt, clock):
    resp = post_email(down.test_client(), inbound_parse_form("<r1@mail.example>"))
    assert resp.status_code == 200 and resp.get_json()["status"] == "spooled"
    assert post_email(down.test_client(), inbound_parse_form("<r1@mail.example>")).status_code == 200  # a retry
    post_email(down.test_client(), inbound_parse_form("<r2@mail.example>", sender="sam@example.org", spf="fail"))
    tick(app, "test-worker")
    with rt.db.session() as session:
        stored = session.execute(select(Reply.provider_message_id, Reply.from_address, Reply.received_at,
                                        Reply.action).order_by(Reply.provider_message_id)).all()
    assert [row[:3] for row in stored] == [("<r1@mail.example>", "sam@example.com", clock.now),
                                           ("<r2@mail.example>", "sam@example.org", clock.now)]
    assert not stored[0].action.startswith("not acted on") and stored[1].action.startswith("not acted on")


def test_replies_keep_their_arrival_order_across_the_outage(down, app, rt, clock, client):
    """STOP while the database is away, START once it is back: START must win. Acted on live, START would find
    nothing to undo and the replayed STOP would then opt the number out: a reply arriving while older ones wait
    in the spool queues behind them."""
    post_sms(down.test_client(), sms_form("SMstop", body="STOP"))
    clock.advance(seconds=30)
    resp = post_sms(client, sms_form("SMstart", body="START"))
    assert resp.status_code == 200 and rt.services["spool"].depth() == 2
    tick(app, "test-worker")
    assert [r[0] for r in replies(rt)] == ["SMstop", "SMstart"]
    with rt.db.session() as session:
        assert session.get(OptOut, "+447700900123") is None


def test_a_spool_that_cannot_be_written_is_a_503(overrides, app, database_url, tmp_path, clock, rt):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    overrides["server"]["spool_dir"] = str(blocked / "spool")
    down = service_app(overrides, clock, url=unreachable_url(database_url, tmp_path))
    try:
        assert_outage(post_sms(down.test_client(), sms_form("SMlost")))
        assert_outage(post_email(down.test_client(), inbound_parse_form("<lost@mail.example>")))
    finally:
        down.extensions["aftercare"].db.dispose()


def test_nothing_unverified_is_spooled(down, rt):
    client = down.test_client()
    body, _ = twilio_request("/webhooks/twilio/sms", sms_form("SMforged"))
    assert client.post("/webhooks/twilio/sms", data=body, headers={"X-Twilio-Signature": "forged",
                       "Content-Type": "application/x-www-form-urlencoded"}).status_code == 403
    assert post_email(client, inbound_parse_form("<forged@mail.example>"), headers={}).status_code == 401
    assert not rt.services["spool"].has_pending()


def test_spool_commands_list_and_replay_by_hand(down, app, rt):
    post_sms(down.test_client(), sms_form("SMcli", sender="+447700900199"))
    post_email(down.test_client(), inbound_parse_form("<cli@mail.example>"))
    listed = down.test_cli_runner().invoke(args=["spool", "list"])
    lines = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(line["kind"], line["provider_id"]) for line in lines] == [("sms", "SMcli"), ("email", "<cli@mail.example>")]
    assert lines[0]["sender"] == "+**********99" and "900199" not in listed.stdout  # masked as in the logs
    refused = down.test_cli_runner().invoke(args=["spool", "replay"])
    assert refused.exit_code == 1 and "still unreachable" in refused.output and "2 entries wait" in refused.output
    done = app.test_cli_runner().invoke(args=["spool", "replay"])
    assert done.exit_code == 0 and "replayed: 2 stored, 0 already stored" in done.output
    assert sorted(r[0] for r in replies(rt)) == ["<cli@mail.example>", "SMcli"]


def test_the_tick_waits_the_outage_out_and_logs_it_once(down, app, caplog):
    caplog.set_level(logging.INFO, logger="aftercare.database")
    now = [0.0]
    backoff = OutageBackoff(base=1.0, cap=10.0, clock=lambda: now[0], rng=lambda: 1.0)
    for _ in range(4):
        now[0] += 100
        tick(down, "test-worker", backoff=backoff)  # no exception: the worker rides it out
    assert backoff.failures == 4 and backoff.waiting()
    tick(down, "test-worker", backoff=backoff)  # still inside its pause: nothing is tried
    assert backoff.failures == 4
    tick(app, "test-worker", backoff=OutageBackoff(base=1.0, cap=10.0))
    messages = [r.getMessage() for r in caplog.records if r.name == "aftercare.database"]
    assert len([m for m in messages if "outage started" in m]) == 1
    assert len([m for m in messages if "outage ended" in m]) == 1


def test_openapi_documents_the_503(client):
    spec = client.get("/openapi.json").get_json()
    assert "503" in spec["paths"]["/webhooks/crm"]["post"]["responses"]
    assert "503" in spec["paths"]["/webhooks/twilio/sms"]["post"]["responses"]
    assert "503" not in spec["paths"]["/healthz"]["get"]["responses"]


@pytest.mark.skipif(not ON_POSTGRES, reason="a TCP fault between the service and its PostgreSQL server")
@pytest.mark.parametrize("mode", ["inline", "queued"])
def test_the_same_process_loses_its_connections_and_recovers_without_a_restart(mode, app, overrides, database_url,
                                                                           clock):
    proxy = FaultProxy().start()
    overrides["crm"]["intake_mode"] = mode
    proxied = service_app(overrides, clock, url=proxy.proxied(database_url))  # `app` has emptied the tables
    client, rt = proxied.test_client(), proxied.extensions["aftercare"]
    backoff = OutageBackoff(base=0.01, cap=0.01)
    try:
        assert post_crm(client, clock, interaction_event(event_id="evt_before")).status_code == 202
        tick(proxied, "test-worker", backoff=backoff)
        with proxy.outage():  # every pooled connection dropped, new ones refused
            assert_outage(post_crm(client, clock, interaction_event(event_id="evt_during")))
            assert post_sms(client, sms_form("SMproxy")).status_code == 200
            assert client.get("/readyz").status_code == 503
            tick(proxied, "test-worker", backoff=backoff)
            assert backoff.failures == 1
        clock.advance(seconds=1)
        assert post_crm(client, clock, interaction_event(event_id="evt_during")).status_code == 202
        backoff.next_try = 0.0
        tick(proxied, "test-worker", backoff=backoff)
        assert backoff.failures == 0
        assert client.get("/readyz").status_code == 200
        assert [r[0] for r in replies(rt)] == ["SMproxy"]
        with rt.db.session() as session:
            stored = session.scalars(select(WebhookEvent.event_id).order_by(WebhookEvent.event_id)).all()
        assert stored == ["evt_before", "evt_during"]  # the 503 stored nothing; the retry stored it once
    finally:
        rt.db.dispose()
        proxy.stop()


@pytest.mark.skipif(not ON_POSTGRES, reason="a TCP fault between the service and its PostgreSQL server")
def test_a_connection_lost_after_the_answer_does_not_turn_it_into_a_500(app, overrides, database_url, clock):
    """The view answered; the database goes away before the request's session is rolled back and returned at
    teardown. The answer stands (a teardown error would be a 500 after the fact)."""
    proxy = FaultProxy().start()
    proxied = service_app(overrides, clock, url=proxy.proxied(database_url))
    proxied.after_request(lambda response: (proxy.cut(), response)[1])
    try:
        assert proxied.test_client().get("/readyz").status_code == 200  # its transaction is still open here
    finally:
        proxied.extensions["aftercare"].db.dispose()
        proxy.stop()


def test_a_worker_started_during_the_outage_waits_and_stops_cleanly(database_url, tmp_path):
    """`flask worker` with its database unreachable: it keeps ticking (no crash, no restart loop), logs the
    outage once, and a SIGTERM still stops it with exit code 0 (its claims are left to their leases)."""
    from bench._common import FLASK, Proc, worker_env

    env = worker_env(unreachable_url(database_url, tmp_path), tmp_path, scheduler__tick_seconds=0.1,
                     scheduler__outage_backoff_cap_seconds=0.5)
    worker = Proc([FLASK, "--app", "wsgi", "worker"], env, tmp_path / "worker.log")
    try:
        worker.wait_for("outage started", timeout=30)
        time.sleep(2)  # a dozen tries at least
        assert worker.alive()
    finally:
        code = worker.stop()
    log = worker.log_path.read_text()
    assert code == 0, log
    assert log.count("outage started") == 1 and "Traceback" not in log
    assert "its claims are taken up when their leases run out" in log


def test_an_entry_that_cannot_be_replayed_is_set_aside_and_the_rest_go_on(down, app, rt, clock):
    spool = rt.services["spool"]
    spool.append("fax", {"sender": "+447700900123"}, received_at=clock.now)  # no use case replays this kind
    post_sms(down.test_client(), sms_form("SMafter"))
    tick(app, "test-worker")
    assert [r[0] for r in replies(rt)] == ["SMafter"] and not spool.has_pending()
    aside = [json.loads(line) for line in app.test_cli_runner().invoke(args=["spool", "list"]).stdout.splitlines()]
    assert [(e["kind"], e["set_aside"]) for e in aside] == [("fax", True)] and "no replay" in aside[0]["error"]
