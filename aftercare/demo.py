"""`flask --app wsgi demo`: the whole follow-up story on a throwaway SQLite database, printed step by step.

`demo --days N` instead fills the configured database with an N-day history (see `aftercare.demo_history`).
"""
from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from flask import Flask

from aftercare import migrate
from aftercare.auth import create_api_key
from aftercare.core.signing import sign
from followup import services as followup


def _event(event_id: str, interaction_id: str, case_id: str, ended: datetime, customer: dict, **interaction) -> dict:
    return {"event_id": event_id, "type": "interaction.closed", "occurred_at": ended.isoformat(),
            "interaction": {"id": interaction_id, "case_id": case_id, "channel": "chat", "journey_stage": "billing",
                            "category": "double_charge", "started_at": (ended - timedelta(minutes=18)).isoformat(),
                            "ended_at": ended.isoformat(), "escalated_from_bot": True, "resolution": "workaround",
                            "customer_sentiment": -0.7, "signals": ["threatened_churn"], "repeat_contact_count": 2,
                            **interaction},
            "agent": {"id": "ag_1", "name": "Maria Lopez", "team": "billing-emea"},
            "customer": {**customer, "timezone": "Europe/London", "locale": "en-GB",
                         "consent": {"sms": True, "email": True}}}


CUSTOMERS = ({"id": "cus_5", "name": "Sam Carter", "phone": "+447700900123", "email": "sam@example.com"},
             {"id": "cus_6", "name": "Priya Shah", "phone": "+447700900456", "email": "priya@example.com"})


def play_story(create_app: Callable[..., Flask], say: Callable[[str], None]) -> None:
    """The two stories on a throwaway database; `create_app` is the app factory (passed in by the CLI, which the
    app itself registers)."""
    with tempfile.TemporaryDirectory(prefix="aftercare-demo-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        migrate.upgrade(url)
        app = create_app({"database": {"url": url}, "crm": {"webhook_secret": "demo-secret"},
                          "server": {"instance_dir": tmp}, "scheduler": {"enabled": False},
                          "logging": {"level": "WARNING", "json": False}})
        rt = app.extensions["aftercare"]
        clock_now = [datetime.now(timezone.utc).replace(microsecond=0)]
        rt.clock = lambda: clock_now[0]
        client = app.test_client()
        with rt.db.session() as session:
            key = {"Authorization": f"Bearer {create_api_key(session=session, name='demo', scopes=['manager'])}"}
        london = ZoneInfo("Europe/London")

        for title, ended, reply in (("Story 1: still broken", clock_now[0] - timedelta(minutes=5),
                                     "Thanks for your help, but it's still charging me twice"),
                                    ("Story 2: all sorted", clock_now[0] - timedelta(minutes=4),
                                     "Yes, all sorted now - thank you!")):
            n = 1 if "1" in title else 2
            say(f"\n=== {title} ===")
            body = json.dumps(_event(f"evt_demo_{n}", f"int_demo_{n}", f"case_demo_{n}", ended, CUSTOMERS[n - 1])).encode()
            say(f"1. CRM webhook interaction.closed for case_demo_{n} (signed: {sign('demo-secret', body)[:24]}…)")
            resp = client.post("/webhooks/crm", data=body, headers={
                "Aftercare-Signature": sign("demo-secret", body, int(clock_now[0].timestamp())),
                "Content-Type": "application/json"}).get_json()
            say(f"2. triage: {resp['triage']['decision']}")
            for reason in resp["triage"]["reasons"]:
                say(f"     - {reason}")
            checkin = resp["checkin"]
            due = datetime.fromisoformat(checkin["due_at"])
            say(f"3. check-in {checkin['id']} by {checkin['channel']} due {due.astimezone(london):%a %H:%M %Z} "
                f"(customer's zone Europe/London)")
            say(f"   agent load for ag_1 now {resp['agent_load']['load']}")
            client.post(f"/api/v1/checkins/{checkin['id']}/send-now", headers=key)
            report = followup.dispatch_due(rt.db, rt.services["channels"], now=clock_now[0], worker="demo")
            sent = rt.services["channels"]["sms"].outbox[-1]
            say(f"4. dispatcher sent {report.sent} (console simulation) to {sent.to}: “{sent.body}”")
            clock_now[0] += timedelta(minutes=12)
            outcome = client.post(f"/api/v1/checkins/{checkin['id']}/simulate-reply", json={"text": reply},
                                  headers=key).get_json()
            say(f"5. customer replied: “{reply}”")
            say(f"6. verdict: {outcome['verdict']['intent']} ({outcome['verdict']['confidence']}) — "
                f"{'; '.join(outcome['verdict']['reasons'])}")
            case = client.get(f"/api/v1/cases/case_demo_{n}", headers=key).get_json()
            say(f"7. {outcome['action']}; case is now {case['state']}")
            for item in case["queue_items"]:
                say(f"   queue: [{item['priority']}] {item['title']} → {item['preferred_agent_id'] or item['team']}")
        rt.db.dispose()
        say("\n(demo database discarded)")
