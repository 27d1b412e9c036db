"""Drive the real loop to a reopen (event → check-in sent → customer reply) and read the CRM outbox back."""
from __future__ import annotations

from sqlalchemy import func, select

from aftercare.model_registry import metadata
from followup.crm.models import CrmDelivery
from followup.crm.outbox import deliver_pending, policy_from_settings
from followup.dispatch import dispatch_due
from tests.support.factories import interaction_event

STILL_BROKEN = "thanks, but it's still broken"


def sent_checkin(client, post_event, rt, clock, headers, **changes) -> str:
    """An interaction whose check-in has just been sent (console channel)."""
    body = post_event(interaction_event(**changes)).get_json()
    checkin_id = body["checkin"]["id"]
    assert client.post(f"/api/v1/checkins/{checkin_id}/send-now", headers=headers).status_code == 202
    assert dispatch_due(rt.db, rt.services["channels"], now=clock.now, worker="test-worker").sent == 1
    return checkin_id


def reply(client, checkin_id: str, headers, text: str = STILL_BROKEN) -> dict:
    resp = client.post(f"/api/v1/checkins/{checkin_id}/simulate-reply", json={"text": text}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def reopen_via_reply(client, post_event, rt, clock, headers, *, text: str = STILL_BROKEN, **changes) -> dict:
    outcome = reply(client, sent_checkin(client, post_event, rt, clock, headers, **changes), headers, text)
    assert outcome["verdict"]["intent"] == "reopen", outcome
    return outcome


def deliver(rt, clock):
    return deliver_pending(rt.db, rt.services["crm"], now=clock.now, policy=policy_from_settings(rt.settings))


def deliveries(rt) -> list[CrmDelivery]:
    with rt.db.session() as session:
        rows = list(session.scalars(select(CrmDelivery).order_by(CrmDelivery.created_at, CrmDelivery.id)))
        session.expunge_all()
        return rows


def only_delivery(rt) -> CrmDelivery:
    rows = deliveries(rt)
    assert len(rows) == 1, rows
    return rows[0]


def snapshot(rt) -> dict:
    """Row counts of every table and each CRM delivery's state, to show that a refused request changed nothing."""
    with rt.db.session() as session:
        counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in metadata.sorted_tables
                  if t.name != "api_keys"}
    return {"counts": counts, "deliveries": [(d.id, d.state, d.attempts, d.next_attempt_at, d.last_error)
                                             for d in deliveries(rt)]}


def assert_problem(resp, status: int, field: str | None = None) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["title"]
    if field:
        assert field in [e["field"] for e in body["errors"]], body
    return body
