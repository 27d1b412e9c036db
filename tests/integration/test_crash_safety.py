"""Crash safety (SPEC §8), on PostgreSQL: SIGKILLed workers and servers lose nothing and send nothing twice.

1. Four real `flask --app wsgi worker` processes dispatch 10,000 check-ins to a fake Twilio (the real client,
   over HTTP) while the test SIGKILLs one at random moments and starts a new one. A worker killed between
   the provider's accept and its own record leaves the check-in in doubt: the next worker finds it through
   Twilio's list API (or waits `reconcile_grace_seconds` for a callback) instead of sending it again.
2. A CRM client posts signed interaction.closed events to gunicorn and retries every one whose answer it
   did not see, while the test SIGKILLs the whole server (master and workers) and restarts it.
3. The same with `crm.intake_mode = "queued"`, SIGKILLing the worker processes that act on the queue too.
"""
from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest
import requests
from sqlalchemy import create_engine, func, select

from tests.support.factories import PUBLIC_BASE, TEST_SECRET, TWILIO_TOKEN, interaction_event
from tests.support.outage import free_port
from tests.support.processes import Gunicorn, count_states, empty_tables

N_CHECKINS = int(os.environ.get("AFTERCARE_CRASH_CHECKINS", "10000"))
N_EVENTS = 300
SERVER_CRASHES = 3

pytestmark = pytest.mark.skipif(
    not os.environ.get("AFTERCARE_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="crash safety runs several worker processes against one database: PostgreSQL only "
           "(SKIP LOCKED leases; SQLite serialises writers and has no server to share)")


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    empty_tables(engine)
    yield engine
    empty_tables(engine)
    engine.dispose()




def _env(database_url: str, tmp_path: Path, **settings: object) -> dict[str, str]:
    from bench._common import worker_env

    return worker_env(database_url, tmp_path, crm__webhook_secret=TEST_SECRET, **settings)


def test_sigkilled_workers_send_every_checkin_exactly_once(engine, database_url, threaded_twilio, tmp_path):
    from bench._common import seed_checkins
    from followup.models import CheckIn

    fake, server = threaded_twilio
    settings = dict(followup__channel_sms="twilio", twilio__account_sid=fake.account_sid,
                    twilio__auth_token=TWILIO_TOKEN, twilio__from_number="+15005550006",
                    twilio__api_base_url=fake.base_url, twilio__max_per_second=0,
                    server__public_base_url=PUBLIC_BASE, scheduler__tick_seconds=0.2, scheduler__batch_size=200,
                    scheduler__lease_seconds=5, scheduler__reconcile_grace_seconds=3)
    env = _env(database_url, tmp_path, **settings)
    ids = seed_checkins(engine, N_CHECKINS, due_at=datetime.now(timezone.utc) - timedelta(seconds=1),
                        provider="twilio")
    rng = random.Random(int(os.environ.get("AFTERCARE_CRASH_SEED", "7")))
    started = time.monotonic()
    workers = [_worker(env, tmp_path, f"w{i}") for i in range(4)]
    kills, generation = 0, 4
    try:
        while kills < 8 and time.monotonic() - started < 60:
            time.sleep(rng.uniform(1.0, 4.0))
            if count_states(engine, CheckIn).get("sent", 0) >= 0.9 * N_CHECKINS:
                break
            dispatching = [i for i, w in enumerate(workers) if "dispatching due check-ins" in w.log_path.read_text()]
            if not dispatching:
                continue
            victim = rng.choice(dispatching)
            workers[victim].kill()  # SIGKILL: no chance to record or release anything
            kills += 1
            workers[victim] = _worker(env, tmp_path, f"w{generation}")
            generation += 1
        deadline = time.monotonic() + 90
        while count_states(engine, CheckIn).get("sent", 0) < N_CHECKINS and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        codes = [w.stop() for w in workers]
    elapsed = time.monotonic() - started
    states = count_states(engine, CheckIn)
    sends = fake.sends_per_checkin()
    list_calls = sum(1 for request, _ in server.log if request.method == "GET")
    with engine.connect() as conn:
        recorded = dict(conn.execute(select(CheckIn.id, CheckIn.provider_message_id)).all())
        retried = conn.execute(select(func.count()).select_from(CheckIn).where(CheckIn.attempts > 1)).scalar()
    accepted = {m["StatusCallback"].split("checkin=")[1]: m["sid"] for m in fake.accepted}
    print(f"\ncrash test: {N_CHECKINS} check-ins, 4 workers, {kills} SIGKILLs, {elapsed:.1f} s; "
          f"provider accepted {len(fake.accepted)}, list (reconcile) calls {list_calls}, "
          f"check-ins sent in a second attempt {retried}; states {dict(states)}")
    assert states == {"sent": N_CHECKINS}, states
    assert set(sends) == set(ids) and max(sends.values()) == 1, sends.most_common(3)
    assert recorded == accepted  # the id we stored is the message the provider holds
    assert all(code == 0 for code in codes), codes  # graceful SIGTERM at the end


def _worker(env: dict, tmp_path: Path, name: str):
    from bench._common import FLASK, Proc

    return Proc([FLASK, "--app", "wsgi", "worker"], env, tmp_path / f"{name}.log")



# ---------------------------------------------------------------- webhook ingest


def _post_through_crashes(port: int, tasks: list[list[dict]], crash: Callable[[random.Random], None]) \
        -> tuple[dict[str, dict], Counter]:
    """Post each task's events in order (8 tasks at a time), retrying any whose answer was not seen, while
    `crash` SIGKILLs things SERVER_CRASHES times at random moments."""
    from aftercare.core.signing import sign

    answers: dict[str, dict] = {}
    attempts = Counter()
    done = threading.Event()

    def post(task: list[dict]) -> None:
        for event in task:
            body = json.dumps(event).encode()
            while True:
                attempts[event["event_id"]] += 1
                try:
                    resp = requests.post(f"http://127.0.0.1:{port}/webhooks/crm", data=body, timeout=5,
                                         headers={"Aftercare-Signature": sign(TEST_SECRET, body),
                                                  "Content-Type": "application/json"})
                except requests.RequestException:
                    time.sleep(0.2)  # no answer seen: the CRM retries
                    continue
                if resp.status_code >= 500:
                    time.sleep(0.2)
                    continue
                assert resp.status_code in (200, 202), resp.text
                answers[event["event_id"]] = resp.json()
                break

    def crasher() -> None:
        rng = random.Random(11)
        for _ in range(SERVER_CRASHES):
            if done.wait(rng.uniform(0.3, 1.2)):
                return
            crash(rng)

    killer = threading.Thread(target=crasher)
    try:
        killer.start()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(post, tasks))
    finally:
        done.set()
        killer.join()
    return answers, attempts


def _crash_events(n: int, **changes) -> list[dict]:
    return [interaction_event(**{"event_id": f"evt_crash_{i}", "interaction.id": f"int_crash_{i}",
                                 "interaction.case_id": f"case_crash_{i}", "customer.id": f"cus_crash_{i}",
                                 "customer.phone": f"+1415555{i:04d}", **changes}) for i in range(n)]


def test_retried_webhooks_across_server_crashes_record_each_event_once(engine, database_url, tmp_path):
    from followup.models import CheckIn, Interaction
    from intake.models import WebhookEvent

    env = _env(database_url, tmp_path, scheduler__enabled="false")
    server = Gunicorn(env, free_port(), tmp_path / "gunicorn.log")
    server.start()
    events = _crash_events(N_EVENTS)
    started = time.monotonic()
    try:
        answers, attempts = _post_through_crashes(server.port, [[e] for e in events],
                                                  lambda rng: (server.crash(), server.start()))
    finally:
        server.stop()
    with engine.connect() as conn:
        interactions = conn.execute(select(func.count()).select_from(Interaction)).scalar()
        stored_events = conn.execute(select(func.count()).select_from(WebhookEvent)).scalar()
        checkins = dict(conn.execute(select(CheckIn.interaction_id, CheckIn.id)).all())
    retried = sum(1 for n in attempts.values() if n > 1)
    print(f"\ningest crash test: {N_EVENTS} events, {retried} retried ({sum(attempts.values())} posts) across "
          f"{SERVER_CRASHES} server SIGKILLs, {time.monotonic() - started:.1f} s; {interactions} interactions, "
          f"{len(checkins)} check-ins")
    assert interactions == N_EVENTS and stored_events == N_EVENTS
    for event in events:
        answer = answers[event["event_id"]]
        expected = checkins.get(event["interaction"]["id"])
        assert (answer["checkin"] or {}).get("id") == expected  # a retry answers with the one check-in stored


def test_queued_intake_across_server_and_worker_crashes_acts_on_each_event_once_in_order(engine, database_url,
                                                                                        tmp_path):
    """crm.intake_mode = "queued": the server and the workers that act on the queue are SIGKILLed at random.

    Every third case also gets a case.updated right behind its interaction.closed (same poster, so the CRM's
    order): acted on in order, it cancels the check-in; out of order it would find no case and cancel nothing.
    """
    from followup.models import CheckIn, Interaction
    from intake.models import WebhookEvent

    env = _env(database_url, tmp_path, scheduler__enabled="false", crm__intake_mode="queued",
               scheduler__tick_seconds=0.2, scheduler__lease_seconds=5, crm__intake_batch_size=25)
    server = Gunicorn(env, free_port(), tmp_path / "gunicorn.log")
    server.start()
    workers = [_worker(env, tmp_path, f"q{i}") for i in range(2)]
    generation = [2]
    now = datetime.now(timezone.utc)
    events = _crash_events(N_EVENTS, **{  # ended just now: every check-in is hours away, none is sent meanwhile
        "occurred_at": now.isoformat(), "interaction.ended_at": now.isoformat(),
        "interaction.started_at": (now - timedelta(minutes=20)).isoformat()})
    tasks = [[e] + ([{"event_id": f"evt_upd_{i}", "type": "case.updated", "occurred_at": e["occurred_at"],
                      "case": {"id": e["interaction"]["case_id"], "status": "solved"}}] if i % 3 == 0 else [])
             for i, e in enumerate(events)]
    updated = {e["interaction"]["id"] for i, e in enumerate(events) if i % 3 == 0}

    def crash(rng: random.Random) -> None:
        server.crash()
        victim = rng.randrange(len(workers))
        workers[victim].kill()
        workers[victim] = _worker(env, tmp_path, f"q{generation[0]}")
        generation[0] += 1
        server.start()

    started = time.monotonic()
    try:
        answers, attempts = _post_through_crashes(server.port, tasks, crash)
        deadline = time.monotonic() + 120
        while count_states(engine, WebhookEvent).get("queued") and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        server.stop()
        codes = [w.stop() for w in workers]
    states = count_states(engine, WebhookEvent)
    with engine.connect() as conn:
        interactions = conn.execute(select(func.count()).select_from(Interaction)).scalar()
        checkins = {i: (c, s) for i, c, s in conn.execute(select(CheckIn.interaction_id, CheckIn.id, CheckIn.state))}
        results = dict(conn.execute(select(WebhookEvent.event_id, WebhookEvent.response)).all())
    print(f"\nqueued ingest crash test: {len(answers)} events, {sum(1 for n in attempts.values() if n > 1)} "
          f"retried, {SERVER_CRASHES} server + worker SIGKILLs, {time.monotonic() - started:.1f} s; states "
          f"{dict(states)}")
    assert states == {"processed": N_EVENTS + len(updated)}, states
    assert interactions == N_EVENTS
    for event in events:
        assert answers[event["event_id"]]["status"] in ("queued", "processed")
        checkin_id, state = checkins[event["interaction"]["id"]]
        assert results[event["event_id"]]["checkin"]["id"] == checkin_id  # acted on once: one check-in, its own
        assert state == ("cancelled" if event["interaction"]["id"] in updated else "scheduled"), event["event_id"]
    assert all(code == 0 for code in codes), codes
