"""Test data and helpers every tier shares: the test clock, the SPEC §3 example event, API keys, test secrets."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from aftercare.auth import create_api_key

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


def make_key(app, *scopes: str) -> str:
    with app.extensions["aftercare"].db.session() as session:
        return create_api_key(session=session, name=f"test {'+'.join(scopes)}", scopes=list(scopes))


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


TWILIO_TOKEN = "twilio_test_token"
PUBLIC_BASE = "https://aftercare.example.com"


