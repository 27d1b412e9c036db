"""500 check-ins through a fake Twilio that fails 30 % of calls with 500/429: all end delivered or failed with
a reason, and the fake never accepts the same check-in twice."""
from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from followup.dispatch import DispatchConfig, dispatch_due
from followup.models import CheckIn
from tests.support.factories import interaction_event
from tests.support.fakes import twilio_error

N = 500


def test_flaky_provider_every_checkin_ends_delivered_or_failed_once(fake_twilio, post_event, rt, clock, twilio_post):
    rng = random.Random(7)

    def flaky(form):
        roll = rng.random()
        if roll < 0.15:
            return twilio_error(500, 20500, "Internal Server Error")
        if roll < 0.30:
            return twilio_error(429, 20429, "Too Many Requests", {"Retry-After": "5"})
        return None

    fake_twilio.decide = flaky
    for i in range(N):
        resp = post_event(interaction_event(**{"interaction.case_id": f"case_{i}", "customer.id": f"cus_{i}",
                                               "customer.phone": f"+1415555{i:04d}"}))
        assert resp.status_code == 202
    with rt.db.session() as session:
        session.execute(CheckIn.__table__.update().values(due_at=clock.now))
        session.commit()
    config = DispatchConfig(batch_size=100, max_attempts=5, backoff_base_seconds=10)
    rounds = 0
    while True:
        report = dispatch_due(rt.db, rt.services["channels"], now=clock.now, worker="w1", config=config)
        assert not report.errors, report.errors
        with rt.db.session() as session:
            next_due = session.scalar(select(CheckIn.due_at).where(CheckIn.state.in_(("scheduled", "claimed")))
                                      .order_by(CheckIn.due_at).limit(1))
        if next_due is None:
            break
        clock.now = max(clock.now, next_due) + timedelta(seconds=30)
        rounds += 1
        assert rounds < 200
    for message in fake_twilio.accepted:
        checkin_id = message["StatusCallback"].split("checkin=")[1]
        resp = twilio_post(f"/webhooks/twilio/status?checkin={checkin_id}",
                           {"MessageSid": message["sid"], "MessageStatus": "delivered"})
        assert resp.status_code == 204
    with rt.db.session() as session:
        rows = session.scalars(select(CheckIn)).all()
        states = Counter(r.state for r in rows)
        assert len(rows) == N and set(states) <= {"delivered", "failed"}
        assert all(r.state_reason for r in rows if r.state == "failed")
        attempts = Counter(r.attempts for r in rows)
    sends = fake_twilio.sends_per_checkin()
    assert max(sends.values()) == 1 and sum(sends.values()) == states["delivered"]
    calls = len(fake_twilio.requests)
    print(f"\nfault test: {N} check-ins, {calls} provider calls ({calls - len(fake_twilio.accepted)} failed), "
          f"{rounds} dispatch rounds; delivered {states['delivered']}, failed {states['failed']}; "
          f"attempts histogram {dict(sorted(attempts.items()))}; max sends per check-in {max(sends.values())}")
