"""The service tier's fakes: a unit of work that counts commits, over a throwaway database built from the models
(no migrations, no HTTP), and adapters that record what they were asked to do (cosmicpython's FakeUnitOfWork and
fake notifications). Each fake is checked against its Protocol in tests/service/test_fakes.py."""
from __future__ import annotations

from dataclasses import dataclass, field

from aftercare.core.db import Database
from aftercare.model_registry import metadata
from followup.channels import OutboundMessage, SendResult
from followup.crm import ReopenNotice
from wellbeing.routing.base import TaskRequest


class FakeUnitOfWork:
    """`session` is a real SQLAlchemy session (our queries are the repository); `commits` and `rollbacks` count
    what the use case did with it, so a test can say "one use case, one commit"."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.session = db.sessions()
        self.commits = self.rollbacks = 0

    @staticmethod
    def new_database(path) -> Database:
        """A throwaway SQLite file with every table, made from the models (no migrations)."""
        db = Database(f"sqlite:///{path}")
        metadata.create_all(db.engine)
        return db

    def commit(self) -> None:
        self.session.commit()
        self.commits += 1

    def rollback(self) -> None:
        self.session.rollback()
        self.rollbacks += 1

    def close(self) -> None:
        self.session.close()
        self.db.dispose()


@dataclass
class RecordingChannel:
    """A channel (SMS or email) that accepts every message and keeps it: FAKE, for tests only."""

    name: str = "recording"
    sender: str = ""
    max_per_second: float = 0.0
    sent: list[OutboundMessage] = field(default_factory=list)

    def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(f"fake-{len(self.sent)}")

    def find_sent(self, message: OutboundMessage) -> SendResult | None:
        matches = [n for n, sent in enumerate(self.sent, 1) if sent.checkin_id == message.checkin_id]
        return SendResult(f"fake-{matches[0]}") if matches else None


@dataclass
class RecordingCrm:
    """A CRM that takes every reopen notice and keeps it: FAKE, for tests only."""

    name: str = "recording"
    notices: list[ReopenNotice] = field(default_factory=list)

    def case_reopened(self, notice: ReopenNotice) -> None:
        self.notices.append(notice)


@dataclass
class RecordingRouting:
    """A routing platform that records tasks and activities: FAKE, for tests only."""

    name: str = "recording"
    assigns_work: bool = False
    tasks: list[TaskRequest] = field(default_factory=list)
    activities: list[tuple[str, str]] = field(default_factory=list)

    def create_task(self, task: TaskRequest) -> str | None:
        self.tasks.append(task)
        return f"task-{len(self.tasks)}"

    def close_task(self, external_id: str, *, reason: str) -> None:
        return None

    def set_activity(self, agent_id: str, activity: str) -> None:
        self.activities.append((agent_id, activity))
