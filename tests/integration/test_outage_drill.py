"""The outage drill (SPEC §8 "Outage"), on PostgreSQL: the production shape — gunicorn and two `flask worker`
processes — loses its database for 20 s in the middle of a run, and nobody restarts anything.

Traffic during the run (45 s): signed CRM webhooks from a client that retries on 503 (after Retry-After) and on no
answer, as help desks do; inbound SMS from a sender that never retries (Twilio); SendGrid Inbound Parse posts that
are retried on 5xx (SendGrid); 2,000 check-ins falling due all along, sent to a fake Twilio that counts. At the
end: every event acted on once, every reply stored once, every check-in sent exactly once, zero 500s; the time from
the database's return to the first webhook accepted again is printed.

Two kinds of outage, the same drill:
- `proxy`: a TCP fault proxy between the service and PostgreSQL drops every connection and refuses new ones
  (queued intake: the door's own psycopg connection and the queue workers);
- `restart`: a real PostgreSQL restart (`pg_ctl stop -m fast`, 20 s, `pg_ctl start`) of a throwaway cluster the
  test makes with `initdb` as the `postgres` user on a free port (inline intake).
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from tests.support.factories import PUBLIC_BASE, TEST_SECRET, TWILIO_TOKEN, interaction_event
from tests.support.outage import FaultProxy, free_port, inbound_parse_form, sms_form
from tests.support.processes import Gunicorn, count_states, empty_tables
from tests.support.signing import INBOUND_DOMAIN, INBOUND_PASSWORD, INBOUND_USER, twilio_request

PG_BIN = Path("/usr/lib/postgresql/15/bin")
N_CHECKINS = int(os.environ.get("AFTERCARE_DRILL_CHECKINS", "2000"))
N_EVENTS, N_SMS, N_EMAILS = 160, 80, 40
OUTAGE_AT, OUTAGE_SECONDS, TRAFFIC_SECONDS = 10.0, 20.0, 45.0
RETRY_AFTER = 1
SEEDED = text("checkins.id LIKE 'chk_drill%'")  # the check-ins seeded below (the events' are chk_<hex>)

pytestmark = pytest.mark.skipif(
    not os.environ.get("AFTERCARE_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="the drill cuts a PostgreSQL server off from the service (SQLite has no server to lose)")


# ---------------------------------------------------------------- the two kinds of outage

class ThrowawayCluster:
    """A PostgreSQL 15 cluster of its own (initdb, pg_ctl as `postgres`), so that restarting it disturbs nobody."""

    def __init__(self, base: Path) -> None:
        self.base, self.data, self.log, self.port = base, base / "data", base / "postgres.log", free_port()

    def _run(self, *argv: str) -> None:
        as_postgres = [] if pwd.getpwuid(os.geteuid()).pw_name == "postgres" else ["runuser", "-u", "postgres", "--"]
        subprocess.run(as_postgres + list(argv), check=True, capture_output=True, timeout=120)

    def create(self) -> "ThrowawayCluster":
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        self.start()
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base}"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@dataclass
class Setup:
    url: str  # what the service connects to
    direct_url: str  # what the test reads the results through
    outage: Callable[[], tuple[float, float]]  # cut the database off; returns (cut, back) on the monotonic clock
    intake_mode: str


@pytest.fixture
def proxy_outage(database_url):
    proxy = FaultProxy().start()

    def outage() -> tuple[float, float]:
        cut = time.monotonic()
        proxy.cut()
        time.sleep(OUTAGE_SECONDS)
        proxy.restore()
        return cut, time.monotonic()

    yield Setup(proxy.proxied(database_url), database_url, outage, "queued")
    proxy.stop()


@pytest.fixture
def restart_outage():
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 binaries not at {PG_BIN}")
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != "postgres":
        pytest.skip("a throwaway cluster is made as the postgres user: run as root or postgres")
    base = Path(tempfile.mkdtemp(prefix="aftercare-drill-pg-"))
    shutil.chown(base, "postgres", "postgres")
    cluster = ThrowawayCluster(base).create()
    try:
        admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE drill"))
        admin.dispose()
        from aftercare import migrate

        migrate.upgrade(cluster.url("drill"))

        def outage() -> tuple[float, float]:
            cluster.stop("fast")  # every connection terminated; when it returns, nothing listens on the port
            cut = time.monotonic()
            time.sleep(OUTAGE_SECONDS)
            cluster.start()  # returns once it accepts connections again
            return cut, time.monotonic()

        yield Setup(cluster.url("drill"), cluster.url("drill"), outage, "inline")
    finally:
        try:
            cluster.stop("immediate")
        except subprocess.SubprocessError:
            pass
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- traffic

@dataclass
class Traffic:
    """Every answer the service gave, per stream, with when it came."""

    answers: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: {
        "crm": [], "sms": [], "email": [], "readyz": [], "healthz": []})
    events: dict[str, dict] = field(default_factory=dict)  # event_id -> the final answer's body
    emails: dict[str, dict] = field(default_factory=dict)  # Message-ID -> the final answer's body
    no_answer: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, stream: str, status: int) -> None:
        with self.lock:
            self.answers[stream].append((time.monotonic(), status))

    def statuses(self, stream: str) -> Counter:
        return Counter(status for _, status in self.answers[stream])


def _paced(start: float, index: int, total: int) -> None:
    """Item `index` of `total` goes out at its share of the traffic window (later if the sender fell behind)."""
    time.sleep(max(0.0, start + TRAFFIC_SECONDS * index / total - time.monotonic()))


def _crm_client(base: str, events: list[dict], start: float, offset: int, traffic: Traffic) -> None:
    """A help desk: retries on 503 after Retry-After, and on no answer; anything else is its final answer."""
    from aftercare.core.signing import sign

    for n, event in enumerate(events):
        _paced(start, offset + n * 4, N_EVENTS)
        body = json.dumps(event).encode()
        while True:
            try:
                resp = requests.post(f"{base}/webhooks/crm", data=body, timeout=10, headers={
                    "Aftercare-Signature": sign(TEST_SECRET, body), "Content-Type": "application/json"})
            except requests.RequestException:
                traffic.no_answer["crm"] += 1
                time.sleep(RETRY_AFTER)
                continue
            traffic.saw("crm", resp.status_code)
            if resp.status_code == 503:
                time.sleep(float(resp.headers.get("Retry-After", RETRY_AFTER)))
                continue
            traffic.events[event["event_id"]] = resp.json()
            break


def _twilio_sender(base: str, start: float, traffic: Traffic) -> None:
    """Twilio: one try per inbound SMS, never a retry."""
    for n in range(N_SMS):
        _paced(start, n, N_SMS)
        body, headers = twilio_request("/webhooks/twilio/sms", sms_form(f"SMdrill{n:04d}", sender=f"+1666{n:07d}"))
        try:
            traffic.saw("sms", requests.post(f"{base}/webhooks/twilio/sms", data=body, headers=headers,
                                             timeout=15).status_code)
        except requests.RequestException:
            traffic.no_answer["sms"] += 1


def _sendgrid_sender(base: str, start: float, traffic: Traffic) -> None:
    """SendGrid Inbound Parse: multipart, basic auth, retried on 5xx or no answer."""
    for n in range(N_EMAILS):
        _paced(start, n, N_EMAILS)
        form = inbound_parse_form(f"<drill-{n}@mail.example>", sender=f"cus{n}@example.com")
        while True:
            try:
                resp = requests.post(f"{base}/webhooks/sendgrid/inbound", files={k: (None, v) for k, v in form.items()},
                                     auth=(INBOUND_USER, INBOUND_PASSWORD), timeout=15)
            except requests.RequestException:
                traffic.no_answer["email"] += 1
                time.sleep(1)
                continue
            traffic.saw("email", resp.status_code)
            if resp.status_code < 500:
                traffic.emails[f"<drill-{n}@mail.example>"] = resp.json()
                break
            time.sleep(1)


def _prober(base: str, done: threading.Event, traffic: Traffic) -> None:
    while not done.wait(0.5):
        for path in ("readyz", "healthz"):
            try:
                traffic.saw(path, requests.get(f"{base}/{path}", timeout=5).status_code)
            except requests.RequestException:
                traffic.no_answer[path] += 1


def _events(now: datetime) -> list[dict]:
    return [interaction_event(**{
        "event_id": f"evt_drill_{i}", "interaction.id": f"int_drill_{i}", "interaction.case_id": f"case_drill_{i}",
        "customer.id": f"cus_drill_{i}", "customer.phone": f"+1415555{i:04d}", "occurred_at": now.isoformat(),
        "interaction.ended_at": now.isoformat(), "interaction.started_at": (now - timedelta(minutes=20)).isoformat()})
        for i in range(N_EVENTS)]


# ---------------------------------------------------------------- the drill


@pytest.mark.parametrize("kind", ["proxy", "restart"])
def test_outage_drill(kind, request, threaded_twilio, tmp_path):
    from bench._common import FLASK, Proc, seed_checkins, worker_env
    from followup.models import CheckIn, Interaction, Reply
    from intake.models import WebhookEvent

    setup: Setup = request.getfixturevalue(f"{kind}_outage")
    fake, fake_server = threaded_twilio
    engine = create_engine(setup.direct_url, pool_pre_ping=True)  # the test's own connections live through it too
    empty_tables(engine)
    seeded_at = datetime.now(timezone.utc)
    checkin_ids = []
    for step in range(8):  # falling due all along the run: before, during and after the outage
        checkin_ids += seed_checkins(engine, N_CHECKINS // 8, due_at=seeded_at + timedelta(seconds=4 + 4 * step),
                                     start=step * (N_CHECKINS // 8), provider="twilio", prefix="drill")
    env = worker_env(setup.url, tmp_path, crm__webhook_secret=TEST_SECRET, crm__intake_mode=setup.intake_mode,
                     crm__intake_batch_size=25, followup__channel_sms="twilio", twilio__account_sid=fake.account_sid,
                     twilio__auth_token=TWILIO_TOKEN, twilio__from_number="+15005550006",
                     twilio__api_base_url=fake.base_url, twilio__max_per_second=0, server__public_base_url=PUBLIC_BASE,
                     sendgrid__inbound_user=INBOUND_USER, sendgrid__inbound_password=INBOUND_PASSWORD,
                     sendgrid__inbound_domain=INBOUND_DOMAIN, server__outage_retry_after_seconds=RETRY_AFTER,
                     scheduler__enabled="false", scheduler__tick_seconds=0.2, scheduler__batch_size=200,
                     scheduler__lease_seconds=5, scheduler__reconcile_grace_seconds=3,
                     scheduler__outage_backoff_cap_seconds=3)
    server = Gunicorn(env, free_port(), tmp_path / "gunicorn.log")
    server.start()
    workers = [Proc([FLASK, "--app", "wsgi", "worker"], env, tmp_path / f"worker{i}.log") for i in range(2)]
    traffic, done = Traffic(), threading.Event()
    events = _events(datetime.now(timezone.utc))
    start = time.monotonic()
    threads = [threading.Thread(target=_crm_client, args=(server.url, events[k::4], start, k, traffic))
               for k in range(4)]
    threads += [threading.Thread(target=_twilio_sender, args=(server.url, start, traffic)),
                threading.Thread(target=_sendgrid_sender, args=(server.url, start, traffic)),
                threading.Thread(target=_prober, args=(server.url, done, traffic))]
    try:
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, start + OUTAGE_AT - time.monotonic()))
        cut, back = setup.outage()
        for thread in threads[:-1]:
            thread.join(TRAFFIC_SECONDS + 60)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _settled(engine, tmp_path):
            time.sleep(0.5)
        done.set()
        threads[-1].join(5)
        alive = [server.alive()] + [w.alive() for w in workers]
    finally:
        done.set()
        server_code = server.stop()
        codes = [w.stop() for w in workers]
    elapsed = time.monotonic() - start

    with engine.connect() as conn:
        replies = Counter(conn.execute(select(Reply.provider_message_id)).scalars())
        interactions = conn.execute(select(func.count()).select_from(Interaction).where(
            Interaction.id.like("int_drill_%"))).scalar()
        event_states = count_states(engine, WebhookEvent)
        per_interaction = Counter(conn.execute(select(CheckIn.interaction_id).where(
            CheckIn.interaction_id.like("int_drill_%"))).scalars())
        seeded = dict(conn.execute(select(CheckIn.id, CheckIn.state).where(SEEDED)).all())
        recorded = dict(conn.execute(select(CheckIn.id, CheckIn.provider_message_id).where(SEEDED)).all())
        second_try = conn.execute(select(func.count()).select_from(CheckIn).where(SEEDED, CheckIn.attempts > 1)).scalar()
    engine.dispose()
    sends = fake.sends_per_checkin()
    reconciliations = sum(1 for req, _ in fake_server.log if req.method == "GET")
    accepted = {m["StatusCallback"].split("checkin=")[1]: m["sid"] for m in fake.accepted}
    statuses = {stream: traffic.statuses(stream) for stream in traffic.answers}
    server_errors = sum(n for stream in statuses.values() for status, n in stream.items()
                        if status >= 500 and status != 503)
    accepted_again = [t for t, status in traffic.answers["crm"] if t >= back and status in (200, 202)]
    recovery = (min(accepted_again) - back) if accepted_again else float("nan")
    during = [status for t, status in traffic.answers["readyz"] if cut + 1 < t < back - 1]
    spooled = sum(1 for body in traffic.emails.values() if body.get("status") == "spooled")
    print(f"\noutage drill ({kind}, {setup.intake_mode} intake): {OUTAGE_SECONDS:.0f} s outage {cut - start:.1f} s "
          f"into a {elapsed:.0f} s run; events {len(traffic.events)}/{N_EVENTS} accepted, {interactions} acted on "
          f"({statuses['crm'][503]} answers 503, {traffic.no_answer['crm']} unanswered, all retried); replies "
          f"{sum(1 for r in replies if r and r.startswith('SMdrill'))}/{N_SMS} SMS + "
          f"{sum(1 for r in replies if r and r.startswith('<drill-'))}/{N_EMAILS} email stored ({spooled} email "
          f"answered 'spooled'); check-ins {sum(1 for s in seeded.values() if s == 'sent')}/{N_CHECKINS} sent, "
          f"max sends per check-in {max(sends.values()) if sends else 0} ({second_try} on a second attempt, "
          f"{reconciliations} asked the provider first); 500s {server_errors}; database back -> "
          f"first webhook accepted in {recovery:.2f} s")

    assert server_errors == 0, statuses
    assert all(alive), alive  # nobody crashed or was restarted
    assert server_code == 0 and codes == [0, 0], (server_code, codes)
    # every event acted on once
    assert interactions == N_EVENTS and len(per_interaction) == N_EVENTS and set(per_interaction.values()) == {1}
    assert event_states == {"processed": N_EVENTS}, event_states
    assert set(traffic.events) == {event["event_id"] for event in events}  # each accepted in the end (200/202)
    assert set(statuses["crm"]) <= {200, 202, 503}, statuses["crm"]
    # every reply stored once: SMS answered 200 at the first and only try, emails at most retried
    assert statuses["sms"] == {200: N_SMS} and traffic.no_answer["sms"] == 0, (statuses["sms"], traffic.no_answer)
    assert set(statuses["email"]) == {200}, statuses["email"]
    expected = {f"SMdrill{n:04d}" for n in range(N_SMS)} | {f"<drill-{n}@mail.example>" for n in range(N_EMAILS)}
    assert {r for r in replies if r in expected} == expected and all(replies[r] == 1 for r in expected)
    assert not (tmp_path / "instance" / "spool" / "entries.jsonl").exists()
    # every check-in sent exactly once, and the id we stored is the message the provider holds
    assert set(seeded.values()) == {"sent"}, Counter(seeded.values())
    assert set(sends) == set(checkin_ids) and max(sends.values()) == 1, sends.most_common(3)
    assert recorded == accepted
    # what the callers saw while it was away
    assert during and set(during) == {503}, during
    assert set(statuses["healthz"]) == {200}, statuses["healthz"]
    assert statuses["crm"][503] > 0 and accepted_again  # the outage was felt, and the service came back
    for worker in workers:  # one line when it began, one when it ended, and no traceback per item or per tick
        log = worker.log_path.read_text()
        assert "outage started" in log and "outage ended" in log and "Traceback" not in log, worker.tail()
    assert "Traceback" not in server.log.read_text()


def _settled(engine, tmp_path: Path) -> bool:
    from followup.models import CheckIn, Reply
    from intake.models import WebhookEvent

    with engine.connect() as conn:
        unsent = conn.execute(select(func.count()).select_from(CheckIn).where(
            SEEDED, CheckIn.state != "sent")).scalar()
        queued = conn.execute(select(func.count()).select_from(WebhookEvent).where(
            WebhookEvent.state == "queued")).scalar()
        replies = conn.execute(select(func.count()).select_from(Reply)).scalar()
    spool_empty = not (tmp_path / "instance" / "spool" / "entries.jsonl").exists()
    return unsent == 0 and queued == 0 and replies >= N_SMS + N_EMAILS and spool_empty
