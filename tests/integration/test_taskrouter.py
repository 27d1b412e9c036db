"""The taskrouter routing adapter through the real `twilio` client against a local fake TaskRouter API.

Reopened cases and human tasks become Tasks with attributes; a granted break sets the worker's Break activity
once their current task completes, and Available after the break; platform errors retry or stop, in order.
"""
from __future__ import annotations

import json
import re
import threading
import uuid
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select
from werkzeug import Request, Response

from tests.support.factories import TWILIO_TOKEN
from tests.support.problems import assert_problem, row_counts
from tests.support.reopen import reopen_via_reply
from tests.support.wellbeing import ABUSIVE, TEAM, event_for, sign_in, status_event, tick
from wellbeing.models import QueueItem, RoutingCommand
from wellbeing.routing import BuiltinRouting, RoutingAdapter, TaskRouterRouting

WS, WORKFLOW, BREAK_ACTIVITY, AVAILABLE_ACTIVITY = "WSfake", "WWfake", "WAbreak", "WAavailable"
MARIA = "WKmaria"
PUBLIC = "https://aftercare.example.com"


class FakeTaskRouter:
    """SIMULATED TaskRouter: tasks and worker activities; records every request; `fail` answers with an error."""

    def __init__(self, httpserver) -> None:
        self.tasks: dict[str, dict] = {}
        self.workers: dict[str, str] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.fail: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        base = rf"^/v1/Workspaces/{WS}"
        httpserver.expect_request(re.compile(base + r"/Tasks$"), method="POST").respond_with_handler(self._create)
        httpserver.expect_request(re.compile(base + r"/Tasks/(WT\w+)$")).respond_with_handler(self._task)
        httpserver.expect_request(re.compile(base + r"/Workers/(\w+)$"), method="POST").respond_with_handler(
            self._worker)
        self.base_url = httpserver.url_for("/").rstrip("/")

    def _answer(self, kind: str, request: Request, body: dict, status: int = 200) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        self.requests.append((kind, request.path, form))
        failures = self.fail.get(kind) or []
        if failures:
            code = failures.pop(0)
            return Response(json.dumps({"code": 20000 + code, "message": "simulated", "status": code}), status=code,
                            content_type="application/json")
        return Response(json.dumps(body), status=status, content_type="application/json")

    def _create(self, request: Request) -> Response:
        with self._lock:
            form = request.form.to_dict()
            sid = "WT" + uuid.uuid4().hex
            task = {"sid": sid, "workspace_sid": WS, "assignment_status": "pending", "attributes": form["Attributes"],
                    "workflow_sid": form.get("WorkflowSid"), "priority": int(form.get("Priority", 0))}
            response = self._answer("create", request, task, 201)
            if response.status_code == 201:
                self.tasks[sid] = task
            return response

    def _task(self, request: Request) -> Response:
        with self._lock:
            sid = request.path.rsplit("/", 1)[1]
            task = self.tasks[sid]
            if request.method == "POST":
                response = self._answer("update_task", request, task)
                if response.status_code == 200:
                    task["assignment_status"] = request.form["AssignmentStatus"]
                    task["reason"] = request.form.get("Reason")
                return response
            return self._answer("fetch_task", request, task)

    def _worker(self, request: Request) -> Response:
        with self._lock:
            sid = request.path.rsplit("/", 1)[1]
            response = self._answer("worker", request, {"sid": sid, "activity_sid": request.form.get("ActivitySid")})
            if response.status_code == 200:
                self.workers[sid] = request.form["ActivitySid"]
            return response

    def activity_changes(self) -> list[tuple[str, str]]:
        return [(path.rsplit("/", 1)[1], form["ActivitySid"]) for kind, path, form in self.requests
                if kind == "worker" and "ActivitySid" in form]


@pytest.fixture
def fake_taskrouter(httpserver, overrides):
    fake = FakeTaskRouter(httpserver)
    overrides["twilio"] = {"account_sid": "ACtest", "auth_token": TWILIO_TOKEN}
    overrides["server"]["public_base_url"] = PUBLIC
    overrides["routing"] = {"adapter": "taskrouter", "taskrouter_base_url": fake.base_url,
                            "taskrouter_workspace_sid": WS, "taskrouter_workflow_sid": WORKFLOW,
                            "break_activity_sid": BREAK_ACTIVITY, "available_activity_sid": AVAILABLE_ACTIVITY,
                            "taskrouter_workers": {"ag_1": MARIA}}
    return fake


def commands(rt) -> list[RoutingCommand]:
    with rt.db.session() as session:
        rows = list(session.scalars(select(RoutingCommand).order_by(RoutingCommand.id)))
        session.expunge_all()
        return rows


def test_both_adapters_implement_the_protocol(fake_taskrouter, rt):
    assert isinstance(BuiltinRouting(), RoutingAdapter)
    assert isinstance(rt.services["routing"], TaskRouterRouting)
    assert isinstance(rt.services["routing"], RoutingAdapter)


def test_missing_taskrouter_settings_fail_at_start_up(overrides):
    from aftercare.app import create_app

    overrides["routing"] = {"adapter": "taskrouter"}
    with pytest.raises(ValueError, match="routing.taskrouter_workspace_sid"):
        create_app(overrides)


def test_reopened_case_becomes_a_task_with_attributes(fake_taskrouter, client, post_event, rt, clock,
                                                      manager_headers):
    reopen_via_reply(client, post_event, rt, clock, manager_headers)
    assert fake_taskrouter.tasks == {}, "nothing is sent inside the reply's transaction"
    tick(rt, clock)
    [task] = fake_taskrouter.tasks.values()
    attributes = json.loads(task["attributes"])
    assert task["workflow_sid"] == WORKFLOW and task["priority"] == 90
    assert attributes["type"] == "case" and attributes["case_id"] == "case_77" and attributes["team"] == TEAM
    assert attributes["preferred_agent_id"] == "ag_1" and attributes["preferred_worker_sid"] == MARIA
    assert attributes["details"]["reply"] == "thanks, but it's still broken"
    with rt.db.session() as session:
        [item] = session.scalars(select(QueueItem).where(QueueItem.kind == "case")).all()
        assert item.external_id == task["sid"] and attributes["aftercare_item_id"] == item.id
    assert [c.state for c in commands(rt)] == ["done"]


def test_human_task_becomes_a_task(fake_taskrouter, post_event, rt, clock):
    post_event(event_for(clock, "ag_7", **{"interaction.signals": ["vulnerable_customer"]}))
    tick(rt, clock)
    [task] = fake_taskrouter.tasks.values()
    attributes = json.loads(task["attributes"])
    assert attributes["type"] == "human_task" and attributes["preferred_worker_sid"] == "ag_7"


def test_closing_a_reopened_case_cancels_its_task(fake_taskrouter, client, post_event, rt, clock, manager_headers):
    reopen_via_reply(client, post_event, rt, clock, manager_headers)
    tick(rt, clock)
    post_event({"event_id": "evt_closed", "type": "case.updated", "occurred_at": clock.now.isoformat(),
                "case": {"id": "case_77", "status": "solved"}})
    tick(rt, clock)
    [task] = fake_taskrouter.tasks.values()
    assert task["assignment_status"] == "canceled" and task["reason"] == "case handled"
    assert [c.action for c in commands(rt)] == ["create_task", "close_task"]


def test_break_activity_when_the_current_task_completes_then_available(fake_taskrouter, post_event, rt, clock):
    sign_in(post_event, clock, 6)
    decision = post_event(event_for(clock, "ag_1", **ABUSIVE)).get_json()["agent_load"]["break"]
    assert decision["outcome"] == "granted" and decision["start"] == "after_current"
    tick(rt, clock)
    assert fake_taskrouter.activity_changes() == [], "still on their current task"

    clock.advance(minutes=2)
    reported = post_event(status_event(clock, "ag_1", "wrap_up")).get_json()["agent"]
    assert reported["state"] == "on_break" and reported["break"]["state"] == "on_break"
    tick(rt, clock)
    assert fake_taskrouter.activity_changes() == [(MARIA, BREAK_ACTIVITY)]

    clock.advance(minutes=5)
    assert tick(rt, clock).ended == 1
    assert fake_taskrouter.activity_changes() == [(MARIA, BREAK_ACTIVITY), (MARIA, AVAILABLE_ACTIVITY)]
    assert fake_taskrouter.workers[MARIA] == AVAILABLE_ACTIVITY


def test_platform_errors_retry_in_order_and_permanent_ones_stop(fake_taskrouter, post_event, rt, clock):
    sign_in(post_event, clock, 6)
    post_event(event_for(clock, "ag_1", **{**ABUSIVE, "interaction.signals": ["abusive_language"]}))
    post_event(status_event(clock, "ag_1", "wrap_up"))
    clock.advance(minutes=5)
    fake_taskrouter.fail["worker"] = [503]
    tick(rt, clock)
    assert fake_taskrouter.activity_changes() == [(MARIA, BREAK_ACTIVITY)]
    first, second = [c for c in commands(rt) if c.action == "set_activity"]
    assert (first.state, first.attempts, second.state, second.attempts) == ("pending", 1, "pending", 0)
    assert "503" in first.last_error
    clock.advance(minutes=2)
    tick(rt, clock)
    tick(rt, clock)
    assert fake_taskrouter.activity_changes() == [(MARIA, BREAK_ACTIVITY)] * 2 + [(MARIA, AVAILABLE_ACTIVITY)]
    assert [c.state for c in commands(rt) if c.action == "set_activity"] == ["done", "done"]

    fake_taskrouter.fail["create"] = [404]
    post_event(event_for(clock, "ag_2", **{"interaction.case_id": "case_gone",
                                          "interaction.signals": ["vulnerable_customer"]}))
    tick(rt, clock)
    [dead] = [c for c in commands(rt) if c.action == "create_task"]
    assert dead.state == "dead" and "404" in dead.last_error


def _signed(client, form: dict, *, signature: str | None = None):
    from twilio.request_validator import RequestValidator

    path = "/webhooks/taskrouter/events"
    sig = signature if signature is not None else RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path,
                                                                                                   form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": sig})


def test_taskrouter_events_start_the_break_when_the_task_completes(fake_taskrouter, client, post_event, rt, clock):
    sign_in(post_event, clock, 6)
    post_event(event_for(clock, "ag_1", **ABUSIVE))
    clock.advance(minutes=1)
    resp = _signed(client, {"EventType": "reservation.completed", "WorkerSid": MARIA,
                            "Timestamp": str(int(clock.now.timestamp()))})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["agent"]["break"]["state"] == "on_break"
    tick(rt, clock)
    assert fake_taskrouter.activity_changes() == [(MARIA, BREAK_ACTIVITY)]
    echo = _signed(client, {"EventType": "worker.activity.update", "WorkerSid": MARIA,
                            "WorkerActivitySid": BREAK_ACTIVITY, "Timestamp": str(int(clock.now.timestamp()))})
    assert echo.get_json()["agent"]["state"] == "on_break"
    clock.advance(minutes=2)
    back = _signed(client, {"EventType": "worker.activity.update", "WorkerSid": MARIA,
                            "WorkerActivitySid": AVAILABLE_ACTIVITY, "Timestamp": str(int(clock.now.timestamp()))})
    ended = back.get_json()["agent"]
    assert ended["state"] == "available" and ended["break"] is None
    unknown = _signed(client, {"EventType": "reservation.wrapup", "WorkerSid": "WKstranger"})
    assert unknown.status_code == 200 and unknown.get_json() == {"agent": None, "item": None}


def test_taskrouter_task_completed_closes_our_item(fake_taskrouter, client, post_event, rt, clock):
    post_event(event_for(clock, "ag_7", **{"interaction.signals": ["vulnerable_customer"]}))
    tick(rt, clock)
    [task] = fake_taskrouter.tasks.values()
    resp = _signed(client, {"EventType": "task.completed", "TaskSid": task["sid"],
                            "TaskAttributes": task["attributes"]})
    item_id = json.loads(task["attributes"])["aftercare_item_id"]
    assert resp.get_json()["item"] == {"id": item_id, "state": "done"}
    with rt.db.session() as session:
        assert session.get(QueueItem, item_id).state == "done"


@pytest.mark.parametrize("signature", ["", "forged=="])
def test_taskrouter_events_need_a_valid_signature(fake_taskrouter, client, rt, signature):
    before = row_counts(rt)
    assert_problem(_signed(client, {"EventType": "reservation.wrapup", "WorkerSid": MARIA}, signature=signature),
                   403)
    assert row_counts(rt) == before


def test_taskrouter_events_are_404_with_the_builtin_queue(client):
    assert_problem(client.post("/webhooks/taskrouter/events", data={"EventType": "x"}), 404)


@pytest.mark.parametrize("stamp", ["²", "9" * 30, "99999999999", "-1", ""])
def test_taskrouter_timestamps_out_of_range_or_not_ascii_digits_are_ignored(fake_taskrouter, client, post_event,
                                                                          clock, stamp):
    """int("²") raises although "²".isdigit(), and 30 nines overflowed datetime: both were a 500."""
    sign_in(post_event, clock, 1)
    resp = _signed(client, {"EventType": "worker.activity.update", "WorkerSid": MARIA,
                            "WorkerActivitySid": AVAILABLE_ACTIVITY, "Timestamp": stamp})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["agent"]["state"] == "available"
