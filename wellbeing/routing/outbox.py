"""The routing outbox: what the platform must be told is written in the use case's own transaction; the tick
delivers it.

So a slow or broken routing platform never holds up a CRM event or a reply, and a command survives crashes.
Commands that share a key (one queue item, one agent) are delivered in the order they were written: a task is
created before it is closed, and a worker's Break activity is set before its Available one. Every adapter gets
rows, `builtin` included (its calls are no-ops), so the table is one audit trail of what routing was told.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import and_, exists
from sqlalchemy.orm import Session, aliased

from aftercare.core.clock import Clock
from aftercare.core.db import Database
from aftercare.core.leased_queue import LeasedQueue, lease_free, worker_name
from aftercare.core.outbox import OutboxPolicy, OutboxReport, drain
from wellbeing.models import QueueItem, RoutingCommand
from wellbeing.routing.base import RoutingAdapter, RoutingError, TaskRequest

log = logging.getLogger("aftercare.routing")

CREATE_TASK = "create_task"
CLOSE_TASK = "close_task"
SET_ACTIVITY = "set_activity"


def policy_from_settings(settings) -> OutboxPolicy:
    """`[routing]`'s retries; a lease outlasts four call timeouts."""
    r = settings.routing
    return OutboxPolicy(max_attempts=r.max_attempts, backoff_seconds=r.backoff_seconds,
                        backoff_cap_seconds=r.backoff_cap_seconds, lease_seconds=max(30.0, 4 * r.timeout_seconds))


def record(session: Session, *, adapter: str, action: str, key: str, payload: dict, now: datetime) -> None:
    """Queue a command in the caller's transaction: it commits with the decision, or not at all."""
    session.add(RoutingCommand(adapter=adapter, action=action, key=key, payload=payload, state="pending",
                               attempts=0, next_attempt_at=now, created_at=now, updated_at=now))


def task_created(session: Session, *, adapter: str, task: TaskRequest, now: datetime) -> None:
    record(session, adapter=adapter, action=CREATE_TASK, key=f"item:{task.item_id}", payload=task.as_payload(),
           now=now)


def task_closed(session: Session, *, adapter: str, item_id: str, reason: str, now: datetime) -> None:
    record(session, adapter=adapter, action=CLOSE_TASK, key=f"item:{item_id}",
           payload={"item_id": item_id, "reason": reason}, now=now)


def activity_set(session: Session, *, adapter: str, agent_id: str, activity: str, now: datetime) -> None:
    record(session, adapter=adapter, action=SET_ACTIVITY, key=f"agent:{agent_id}",
           payload={"agent_id": agent_id, "activity": activity}, now=now)


def _first_in_line(now: datetime):
    """No earlier command for the same key is still pending: commands for one key go in the order written."""
    earlier = aliased(RoutingCommand)
    return ~exists().where(earlier.key == RoutingCommand.key, earlier.state == "pending", earlier.id < RoutingCommand.id)


QUEUE = LeasedQueue(
    RoutingCommand, order_by=(RoutingCommand.id,), attempts=RoutingCommand.attempts,
    ready=lambda now: [and_(RoutingCommand.state == "pending", RoutingCommand.next_attempt_at <= now,
                            lease_free(RoutingCommand, now), _first_in_line(now))])


def _perform(routing: RoutingAdapter, command: RoutingCommand, external_id: str | None) -> str | None:
    payload = command.payload
    if command.action == CREATE_TASK:
        return routing.create_task(TaskRequest.from_payload(payload))
    if command.action == CLOSE_TASK:
        if external_id:
            routing.close_task(external_id, reason=payload["reason"])
        return None
    if command.action == SET_ACTIVITY:
        routing.set_activity(payload["agent_id"], payload["activity"])
        return None
    raise RoutingError(f"unknown routing command {command.action!r}", permanent=True)


def deliver_pending(db: Database, routing: RoutingAdapter, *, now: datetime | None = None,
                    clock: Clock | None = None, policy: OutboxPolicy = OutboxPolicy(),
                    worker: str | None = None) -> OutboxReport:
    """One tick: lease what is due and first in line, then deliver it command by command while the lease lasts."""
    clock = clock or (lambda: now)

    def call(command_id: int) -> tuple[RoutingError | None, tuple[str | None, str | None]]:
        with db.session() as session:
            command = session.get(RoutingCommand, command_id)
            item_id = command.payload.get("item_id")
            item = session.get(QueueItem, item_id) if item_id else None
            external_id = item.external_id if item is not None else None
            session.expunge(command)
        try:
            return None, (item_id, _perform(routing, command, external_id))
        except RoutingError as exc:
            return exc, (item_id, None)
        except Exception as exc:  # noqa: BLE001 - retried, then kept as dead with the reason
            log.exception("routing adapter %s failed on command %s", routing.name, command_id)
            return RoutingError(f"{routing.name} adapter error: {type(exc).__name__}: {str(exc)[:200]}"), (item_id, None)

    def done(session, row: RoutingCommand, result: tuple[str | None, str | None]) -> None:
        """The platform's id for a task it created goes on our queue item, so closing it later can name it."""
        row.last_error = None
        item_id, created = result
        if created and item_id and (item := session.get(QueueItem, item_id)) is not None:
            item.external_id = created

    return drain(db, QUEUE, call, done_state="done", on_done=done, clock=clock, policy=policy,
                 worker=worker or worker_name(), filters=(RoutingCommand.adapter == routing.name,))
