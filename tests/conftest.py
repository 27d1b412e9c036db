"""Shared fixtures: a migrated database (SQLite file or a fresh PostgreSQL schema), an app with a test clock, keys,
signed posts, fake providers, a signed-in manager. Helpers and test data live in tests/support."""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from aftercare.managers import create_manager
from tests.support.dashboard import PASSWORD, sign_in
from tests.support.factories import PUBLIC_BASE, TEST_SECRET, TWILIO_TOKEN, TestClock, make_key


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """AFTERCARE_TEST_DATABASE_URL=postgres…  → a schema of its own for this run; default: a SQLite file."""
    from aftercare import migrate

    url = os.environ.get("AFTERCARE_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        migrate.upgrade(url)
        yield url
        return
    schema = f"test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    scoped = f"{url}{sep}options=-csearch_path%3D{schema}"
    migrate.upgrade(scoped)
    yield scoped
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def clock():
    return TestClock(datetime(2026, 11, 25, 14, 10, tzinfo=timezone.utc))


@pytest.fixture
def overrides(database_url, tmp_path):
    """Per-test settings; tests may mutate before asking for `app`."""
    return {"database": {"url": database_url}, "crm": {"webhook_secret": TEST_SECRET},
            "server": {"instance_dir": str(tmp_path / "instance")}, "scheduler": {"enabled": False},
            "logging": {"json": False, "level": "WARNING"}}


@pytest.fixture
def app(overrides, clock):
    from aftercare.app import create_app
    from aftercare.model_registry import metadata

    app = create_app(overrides)
    app.config["TESTING"] = True
    rt = app.extensions["aftercare"]
    rt.clock = clock
    with rt.db.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    yield app
    rt.db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def rt(app):
    return app.extensions["aftercare"]


@pytest.fixture
def manager_headers(app):
    return {"Authorization": f"Bearer {make_key(app, 'manager')}"}


@pytest.fixture
def read_headers(app):
    return {"Authorization": f"Bearer {make_key(app, 'read')}"}


@pytest.fixture
def post_event(client, clock):
    """POST a signed CRM event (the body as given, bytes or a dict), signed at the test clock's time."""
    from aftercare.core.signing import sign

    def _post(event, *, secret: str = TEST_SECRET, timestamp: int | None = None, headers: dict | None = None):
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        t = int(clock.now.timestamp()) if timestamp is None else timestamp
        hdrs = {"Aftercare-Signature": sign(secret, body, t), "Content-Type": "application/json", **(headers or {})}
        return client.post("/webhooks/crm", data=body, headers=hdrs)

    return _post


@pytest.fixture
def fake_twilio(httpserver, overrides):
    """Configure the app for the real Twilio client against a local fake (request before `app`)."""
    from tests.support.fakes import FakeTwilio

    fake = FakeTwilio(httpserver)
    overrides["twilio"] = {"account_sid": fake.account_sid, "auth_token": TWILIO_TOKEN,
                           "from_number": "+15005550006", "api_base_url": fake.base_url, "max_per_second": 0}
    overrides.setdefault("followup", {})["channel_sms"] = "twilio"
    overrides["server"]["public_base_url"] = PUBLIC_BASE
    return fake


@pytest.fixture
def threaded_twilio():
    """(FakeTwilio, its server) on a threaded pytest-httpserver, for worker processes that call it at once."""
    from pytest_httpserver import HTTPServer

    from tests.support.fakes import FakeTwilio

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield FakeTwilio(server), server
    server.clear()
    server.stop()


@pytest.fixture
def fake_whatsapp(fake_twilio, overrides):
    """WhatsApp through the real Twilio client against the same local fake, Messages and Content APIs (request
    before `app`); the check-in templates are created in the fake by `whatsapp templates sync`'s own code."""
    from config.settings import load_settings
    from followup import services

    overrides["twilio"].update(whatsapp_from="whatsapp:+15005550006", content_base_url=fake_twilio.base_url)
    overrides["followup"]["channel_whatsapp"] = "twilio"
    synced = services.sync_whatsapp_templates(load_settings(overrides, environ={}))
    overrides["whatsapp"] = {"templates": {t.locale: {"checkin": t.sid} for t in synced}}
    fake_twilio.content_requests.clear()
    return fake_twilio


@pytest.fixture
def fake_sendgrid(httpserver, overrides):
    from tests.support.fakes import FakeSendgrid

    fake = FakeSendgrid(httpserver)
    overrides["sendgrid"] = {"api_key": "SG.test", "from_email": "care@acme.example",
                             "inbound_domain": "in.acme.example", "api_base_url": fake.base_url,
                             "inbound_user": "parse", "inbound_password": "parse-pass"}
    overrides.setdefault("followup", {})["channel_email"] = "sendgrid"
    overrides["server"]["public_base_url"] = PUBLIC_BASE
    return fake


@pytest.fixture
def twilio_post(client):
    """POST form data to a Twilio webhook path, signed the way Twilio signs (or with a given signature)."""
    from twilio.request_validator import RequestValidator

    def _post(path: str, form: dict, *, signature: str | None = None, token: str = TWILIO_TOKEN):
        sig = signature if signature is not None else RequestValidator(token).compute_signature(PUBLIC_BASE + path, form)
        headers = {"X-Twilio-Signature": sig} if sig else {}
        return client.post(path, data=form, headers=headers)

    return _post


@pytest.fixture
def manager(app, clock):
    """A dashboard manager, Dana, with the test password."""
    with app.extensions["aftercare"].db.session() as session:
        return create_manager(session=session, username="Dana", password=PASSWORD, now=clock.now).username


@pytest.fixture
def signed_in(client, manager):
    """The test client, signed in to the dashboard as Dana."""
    assert sign_in(client).status_code == 302
    return client


@pytest.fixture
def agent_headers(app):
    return {"Authorization": f"Bearer {make_key(app, 'agent')}"}
