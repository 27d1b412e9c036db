"""Twilio TaskRouter through the real `twilio` client: queue items become Tasks, breaks become worker activities.

An agent id maps to a worker SID through `routing.taskrouter_workers`; an agent not listed is taken to be its
own worker SID (help desks wired to TaskRouter often use the worker SID as the agent id).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from aftercare.core.fields import from_unix_time
from aftercare.core.strict_json import parse_json
from wellbeing.routing.base import AVAILABLE, BREAK, RoutingError, TaskRequest

OPEN_TASK_STATUSES = {"pending": "canceled", "reserved": "canceled", "assigned": "completed",
                      "wrapping": "completed"}
RESERVATION_STATES = {"reservation.accepted": "busy", "reservation.wrapup": "wrap_up",
                      "reservation.completed": "wrap_up"}
TASK_ENDINGS = {"task.completed": "done", "task.canceled": "cancelled", "task.deleted": "cancelled"}


@dataclass(frozen=True)
class PlatformEvent:
    """A TaskRouter event callback as wellbeing understands it: an agent's state, or one of our tasks ending."""

    agent_id: str | None = None
    state: str | None = None
    item_id: str | None = None
    item_state: str | None = None
    at: datetime | None = None


class TaskRouterRouting:
    name = "taskrouter"
    assigns_work = True

    def __init__(self, *, client: Client, workspace_sid: str, workflow_sid: str, break_activity_sid: str,
                 available_activity_sid: str, workers: Mapping[str, str] | None = None) -> None:
        missing = [name for name, value in (("taskrouter_workspace_sid", workspace_sid),
                                            ("taskrouter_workflow_sid", workflow_sid),
                                            ("break_activity_sid", break_activity_sid),
                                            ("available_activity_sid", available_activity_sid)) if not value]
        if missing:
            raise ValueError(f"routing.adapter = 'taskrouter' needs routing.{', routing.'.join(missing)}")
        self.client, self.workspace_sid, self.workflow_sid = client, workspace_sid, workflow_sid
        self.activities = {BREAK: break_activity_sid, "available": available_activity_sid}
        self.workers = dict(workers or {})
        self.agents = {sid: agent for agent, sid in self.workers.items()}

    @classmethod
    def from_config(cls, settings) -> TaskRouterRouting:
        t, r = settings.twilio, settings.routing
        client = Client(t.account_sid, t.auth_token.reveal(), http_client=TwilioHttpClient(timeout=r.timeout_seconds))
        client.taskrouter.base_url = r.taskrouter_base_url.rstrip("/")
        return cls(client=client, workspace_sid=r.taskrouter_workspace_sid, workflow_sid=r.taskrouter_workflow_sid,
                   break_activity_sid=r.break_activity_sid, available_activity_sid=r.available_activity_sid,
                   workers=r.taskrouter_workers)

    def worker_sid(self, agent_id: str) -> str:
        return self.workers.get(agent_id, agent_id)

    def agent_id(self, worker_sid: str) -> str:
        return self.agents.get(worker_sid, worker_sid)

    @property
    def _workspace(self):
        return self.client.taskrouter.v1.workspaces(self.workspace_sid)

    def create_task(self, task: TaskRequest) -> str | None:
        attributes = {"type": task.kind, "aftercare_item_id": task.item_id, "title": task.title,
                      "case_id": task.case_id, "team": task.team, "preferred_agent_id": task.preferred_agent_id,
                      "preferred_worker_sid": self.worker_sid(task.preferred_agent_id)
                      if task.preferred_agent_id else None,
                      "routing_reason": task.routing_reason, "details": task.details}
        created = _call(lambda: self._workspace.tasks.create(
            attributes=json.dumps(attributes), workflow_sid=self.workflow_sid, priority=task.priority))
        return created.sid

    def close_task(self, external_id: str, *, reason: str) -> None:
        """Cancel a task nobody has yet, complete one a worker holds; a finished task is left alone."""
        context = self._workspace.tasks(external_id)
        status = _call(context.fetch).assignment_status
        target = OPEN_TASK_STATUSES.get(status)
        if target is not None:
            _call(lambda: context.update(assignment_status=target, reason=reason[:200]))

    def read_event(self, form: Mapping[str, str]) -> PlatformEvent:
        """Reservation events say where the worker's current task is (its completion lets an after_current
        break start); activity updates say they went on a break, came back or signed out."""
        kind, worker = form.get("EventType", ""), form.get("WorkerSid")
        state = RESERVATION_STATES.get(kind)
        if kind == "worker.activity.update":
            by_sid = {self.activities[BREAK]: "on_break", self.activities[AVAILABLE]: "available"}
            state = by_sid.get(form.get("WorkerActivitySid", ""))
            if state is None and (form.get("WorkerActivityName") or "").lower() == "offline":
                state = "offline"
        item_id, item_state = None, TASK_ENDINGS.get(kind)
        if item_state is not None:
            item_id = _attributes(form.get("TaskAttributes")).get("aftercare_item_id")
        stamp = form.get("Timestamp", "")
        return PlatformEvent(agent_id=self.agent_id(worker) if worker and state else None, state=state,
                             item_id=item_id, item_state=item_state if item_id else None,
                             at=from_unix_time(stamp))

    def set_activity(self, agent_id: str, activity: str) -> None:
        sid = self.activities[activity]
        _call(lambda: self._workspace.workers(self.worker_sid(agent_id)).update(activity_sid=sid))


def _attributes(raw: str | None) -> dict:
    try:
        found = parse_json(raw or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _call(action):
    """TaskRouter's answers as RoutingErrors: 429, 5xx and network trouble retry; other 4xx cannot succeed."""
    try:
        return action()
    except TwilioRestException as exc:
        transient = exc.status == 429 or exc.status >= 500
        raise RoutingError(f"TaskRouter {exc.status} (code {exc.code}): {exc.msg}", permanent=not transient) from exc
    except requests.RequestException as exc:
        raise RoutingError(f"TaskRouter unreachable: {type(exc).__name__}") from exc
