"""The service tier: use cases driven directly, with a FakeUnitOfWork and recording adapters, without HTTP."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

import wellbeing.services as wellbeing
from config.settings import load_settings
from followup import services as followup
from tests.support.factories import TestClock
from tests.support.unit_of_work import FakeUnitOfWork, RecordingChannel, RecordingCrm, RecordingRouting


@pytest.fixture
def settings(tmp_path):
    return load_settings(environ={}, overrides={"server": {"instance_dir": str(tmp_path)}})


@pytest.fixture
def routing():
    return RecordingRouting()


@pytest.fixture
def uow(tmp_path, settings, routing):
    db = FakeUnitOfWork.new_database(tmp_path / "service.db")
    wellbeing.bind(db.sessions, settings, routing=routing)  # as the app does: its sessions carry wellbeing's context
    unit = FakeUnitOfWork(db)
    yield unit
    unit.close()


@pytest.fixture
def ctx(settings):
    return followup.FollowupContext(settings)


@pytest.fixture
def crm():
    return RecordingCrm()


@pytest.fixture
def channels():
    return {"sms": RecordingChannel(name="sms"), "email": RecordingChannel(name="email")}


@pytest.fixture
def clock():
    return TestClock(datetime(2026, 11, 25, 14, 10, tzinfo=timezone.utc))
