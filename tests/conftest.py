"""Shared fixtures: a migrated database (SQLite file or a fresh PostgreSQL schema), an app with a test clock."""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

TEST_SECRET = "whsec_test_secret"


class TestClock:
    """A clock the test moves by hand (the service reads time only through Runtime.clock)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


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


def make_key(app, *scopes: str) -> str:
    from aftercare.auth import create_api_key

    with app.extensions["aftercare"].db.session() as session:
        return create_api_key(session=session, name=f"test {'+'.join(scopes)}", scopes=list(scopes))


@pytest.fixture
def manager_headers(app):
    return {"Authorization": f"Bearer {make_key(app, 'manager')}"}


@pytest.fixture
def read_headers(app):
    return {"Authorization": f"Bearer {make_key(app, 'read')}"}


def interaction_event(**changes) -> dict:
    """The SPEC §3 example event, with changes merged in (dotted keys reach nested fields)."""
    event = {
        "event_id": f"evt_{uuid.uuid4().hex[:8]}", "type": "interaction.closed", "occurred_at": "2026-11-25T14:02:00Z",
        "interaction": {"id": f"int_{uuid.uuid4().hex[:8]}", "case_id": "case_77", "channel": "chat",
                        "journey_stage": "billing", "category": "double_charge",
                        "started_at": "2026-11-25T13:40:00Z", "ended_at": "2026-11-25T14:00:00Z",
                        "escalated_from_bot": True, "resolution": "workaround", "customer_sentiment": -0.7,
                        "signals": ["threatened_churn"], "repeat_contact_count": 2,
                        "refund_or_credit_decision": False, "irreversible_action": False},
        "agent": {"id": "ag_1", "name": "Maria Lopez", "team": "billing-emea"},
        "customer": {"id": "cus_5", "name": "Sam Carter", "phone": "+447700900123", "email": "sam@example.com",
                     "timezone": "Europe/London", "locale": "en-GB", "consent": {"sms": True, "email": True}},
    }
    for dotted, value in changes.items():
        target = event
        *path, last = dotted.split(".")
        for part in path:
            target = target[part]
        if value is DELETE:
            target.pop(last, None)
        else:
            target[last] = value
    return event


DELETE = object()


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


TWILIO_TOKEN = "twilio_test_token"
PUBLIC_BASE = "https://aftercare.example.com"


@pytest.fixture
def fake_twilio(httpserver, overrides):
    """Configure the app for the real Twilio client against a local fake (request before `app`)."""
    from tests.fakes import FakeTwilio

    fake = FakeTwilio(httpserver)
    overrides["twilio"] = {"account_sid": fake.account_sid, "auth_token": TWILIO_TOKEN,
                           "from_number": "+15005550006", "api_base_url": fake.base_url, "max_per_second": 0}
    overrides.setdefault("followup", {})["channel_sms"] = "twilio"
    overrides["server"]["public_base_url"] = PUBLIC_BASE
    return fake


@pytest.fixture
def fake_sendgrid(httpserver, overrides):
    from tests.fakes import FakeSendgrid

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
