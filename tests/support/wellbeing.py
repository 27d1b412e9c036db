"""Wellbeing scenarios: CRM events built around the test clock, agent keys, the tick."""
from __future__ import annotations

import uuid
from datetime import timedelta

from tests.support.factories import interaction_event

TEAM = "billing-emea"
ABUSIVE = {"interaction.signals": ["abusive_language"], "interaction.customer_sentiment": -0.8,
           "interaction.resolution": "unresolved"}
ROUGH = {"interaction.signals": [], "interaction.customer_sentiment": -0.6, "interaction.resolution": "resolved"}
CALM = {"interaction.signals": [], "interaction.customer_sentiment": 0.5, "interaction.resolution": "resolved",
        "interaction.repeat_contact_count": 0, "interaction.category": "password_reset"}


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def event_for(clock, agent: str = "ag_1", *, team: str = TEAM, minutes: float = 5, **changes) -> dict:
    """An interaction.closed that ended now (by the test clock) after `minutes`, handled by `agent`."""
    suffix = uuid.uuid4().hex[:8]
    base = {"interaction.case_id": f"case_{suffix}", "customer.id": f"cus_{suffix}",
            "interaction.started_at": _iso(clock.now - timedelta(minutes=minutes)),
            "interaction.ended_at": _iso(clock.now), "occurred_at": _iso(clock.now),
            "interaction.escalated_from_bot": False,
            "agent": {"id": agent, "name": agent.replace("_", " ").title(), "team": team}}
    return interaction_event(**{**base, **changes})


def status_event(clock, agent: str, status: str, *, team: str = TEAM, at=None) -> dict:
    return {"event_id": f"evt_{uuid.uuid4().hex[:8]}", "type": "agent.status", "occurred_at": _iso(at or clock.now),
            "agent": {"id": agent, "team": team}, "status": status}


def sign_in(post_event, clock, count: int, *, team: str = TEAM) -> None:
    """ag_1 … ag_<count> report available (a team big enough for the service-level guard to let one rest)."""
    for n in range(1, count + 1):
        assert post_event(status_event(clock, f"ag_{n}", "available", team=team)).status_code == 202


def tick(rt, clock):
    from wellbeing.services import process_breaks

    return process_breaks(rt.db, now=clock.now)


def publish(client, headers, rule_set: dict, *, team: str | None = TEAM, reason: str = "test rules"):
    path = "/api/v1/break-rules" + (f"?team={team}" if team else "")
    resp = client.put(path, json={"rule_set": rule_set, "reason": reason}, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()
