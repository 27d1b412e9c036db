"""`flask --app wsgi demo --days N`: a realistic N-day history in the CONFIGURED database, through the real paths.

Signed CRM webhooks go through the app's own intake, check-ins are sent by the real scheduler tick on the
console channel, replies of every intent go through reply understanding, and break rules are published through
wellbeing. Only the clock is simulated: it walks from N days ago to now. Ids carry a per-run prefix, so a
second run adds to the history instead of colliding with the first.
"""
from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from flask import Flask
from sqlalchemy import event

import wellbeing.services as wellbeing
from aftercare import migrate, scheduler
from aftercare.auth import create_api_key
from aftercare.core.signing import sign
from followup import services as followup

CONTROL_FRACTION = 0.25
TEAMS = {
    "billing-emea": [("ag_maria", "Maria Lopez"), ("ag_tom", "Tom Becker"), ("ag_aisha", "Aisha Khan"),
                     ("ag_lukas", "Lukas Novak")],
    "tech-support": [("ag_jonas", "Jonas Berg"), ("ag_mei", "Mei Chen"), ("ag_carlos", "Carlos Diaz"),
                     ("ag_nora", "Nora Quinn")],
    "retention": [("ag_priya", "Priya Nair"), ("ag_sam", "Sam Okafor"), ("ag_elena", "Elena Rossi")],
}
STAGES = {  # journey stage: (team, categories, weight)
    "onboarding": ("tech-support", ("account_setup", "password_reset"), 2),
    "billing": ("billing-emea", ("double_charge", "refund", "invoice_question"), 4),
    "delivery": ("billing-emea", ("late_delivery", "damaged_item"), 2),
    "technical": ("tech-support", ("outage", "app_crash"), 3),
    "cancellation": ("retention", ("cancel_request", "price_increase"), 2),
}
FIRST = ("Sam", "Priya", "Alex", "Jordan", "Chris", "Lena", "Omar", "Ines", "Kai", "Ruth", "Marco", "Yuki", "Ana",
         "Ben", "Zoe", "Ivan", "Leila", "Noah", "Ella", "Hugo")
LAST = ("Carter", "Shah", "Morgan", "Lee", "Evans", "Fischer", "Haddad", "Garcia", "Tanaka", "Cohen", "Rossi",
        "Silva", "Nowak", "Dubois", "Okoro", "Brown")
ZONES = (("Europe/London", "en-GB"), ("Europe/London", "en-GB"), ("Europe/Madrid", "es-ES"),
         ("Europe/Paris", "fr-FR"), ("America/New_York", "en-US"))
REPLIES = {
    "resolved": ("All sorted now, thank you!", "Yes it's fixed, thanks for checking in.",
                 "The refund arrived this morning, thank you so much.", "Works perfectly now, great help."),
    "reopen": ("No, it's still charging me twice.", "Thanks for nothing, it's still broken.",
               "Still waiting for the refund. When will it arrive?", "Not really, the app keeps crashing.",
               "No. Nobody called me back like you promised.", "Can I speak to a real person, please?",
               "The refund came, but now there is another problem with my invoice."),
    "ack": ("ok", "Thanks for the message.", "Noted."),
    "opt_out": ("STOP", "Please stop texting me."),
}
# Close the loop: a known problem is declared by the CRM a third of the way in and fixed two thirds of the way in;
# agents give a root cause on most closes (None: not given).
PROBLEM = {"title": "Card gateway charged some customers twice", "category": "double_charge",
           "journey_stage": "billing"}
ROOT_CAUSES = ("billing_bug", "billing_bug", "agent_error", "policy", "product_defect", "cache not cleared", None)
UNMATCHED = ("Who is this?", "Is this about my order 4471?", "wrong number", "Can someone call me about my bill?")
RULE_VERSIONS = [  # (day, team, reason, change to the default rule set)
    (0.2, "billing-emea", "Billing starts from the company default", None),
    (0.3, "tech-support", "Outages are draining: a short break after any abusive call", {"after abuse": 7}),
    (4.5, "billing-emea", "Threats to leave hit hard in billing: 5 minutes after them",
     {"add": {"name": "after churn threat", "when": {"signals_any": ["threatened_churn"]},
              "then": {"break_minutes": 5, "start": "after_current"}}}),
    (9.0, "billing-emea", "Heavy load rule fires earlier (team feedback)", {"heavy load": 2.2}),
]


@dataclass
class Seeder:
    app: Flask
    rng: random.Random
    run: str
    start: datetime
    end: datetime
    say: Callable[[str], None]
    queue: list = field(default_factory=list)
    counter: itertools.count = field(default_factory=itertools.count)
    recent: list = field(default_factory=list)
    churn_planned: set = field(default_factory=set)
    sim_now: list = field(default_factory=list)
    ticks: set = field(default_factory=set)
    client: object = None
    key: dict = field(default_factory=dict)
    stats: dict = field(default_factory=lambda: {"interactions": 0, "replies": {}, "churned": 0, "contacted": 0,
                                                  "unmatched": 0, "rule_versions": 0, "closed_by_agent": 0,
                                                  "problem": {}})

    @property
    def rt(self):
        return self.app.extensions["aftercare"]

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        if when <= self.end:
            heapq.heappush(self.queue, (when, next(self.counter), action))

    def post(self, event: dict) -> dict:
        body = json.dumps(event).encode()
        secret = self.rt.settings.crm.webhook_secret.reveal().split(",")[0]
        resp = self.client.post("/webhooks/crm", data=body, headers={
            "Aftercare-Signature": sign(secret, body, int(self.rt.clock().timestamp())),
            "Content-Type": "application/json"})
        if resp.status_code not in (200, 202):
            raise RuntimeError(f"webhook {event['type']} answered {resp.status_code}: {resp.get_data(as_text=True)}")
        return resp.get_json()

    def event(self, kind: str, **body) -> dict:
        return {"event_id": f"evt_{self.run}_{next(self.counter)}", "type": kind,
                "occurred_at": self.rt.clock().isoformat(), **body}

    # --- what happens --------------------------------------------------------------------------------

    def customer(self, n: int) -> dict:
        zone, locale = ZONES[n % len(ZONES)]
        first, last = FIRST[n % len(FIRST)], LAST[(n * 7) % len(LAST)]
        return {"id": f"cus_{self.run}_{n}", "name": f"{first} {last}", "phone": f"+447700900{n % 1000:03d}",
                "email": f"{first.lower()}.{last.lower()}{n}@example.com", "timezone": zone, "locale": locale,
                "consent": {"sms": n % 5 != 0, "email": True, "whatsapp": n % 3 == 0}}

    def interaction(self, *, rough: float = 0.45, stage: str | None = None, agent: tuple | None = None) -> None:
        now, rng = self.rt.clock(), self.rng
        again = [r for r in self.recent if now - r["at"] < timedelta(days=7)]
        if stage:
            n, category = rng.randrange(900), rng.choice(STAGES[stage][1])
            case_id = f"case_{self.run}_{next(self.counter)}"
        elif again and rng.random() < 0.25:
            prior = rng.choice(again)
            n, stage, category = prior["n"], prior["stage"], prior["category"]
            case_id = prior["case_id"] if rng.random() < 0.5 else f"case_{self.run}_{next(self.counter)}"
        else:
            n = rng.randrange(min(900, 40 * max(1, (self.end - self.start).days)))
            stage = rng.choices(list(STAGES), weights=[w for _, _, w in STAGES.values()])[0]
            category, case_id = rng.choice(STAGES[stage][1]), f"case_{self.run}_{next(self.counter)}"
            if stage == PROBLEM["journey_stage"] and self.in_surge(now) and rng.random() < 0.6:
                category = PROBLEM["category"]  # the gateway bug: half of billing contacts are double charges
        team = STAGES[stage][0]
        agent_id, agent_name = agent or rng.choice(TEAMS[team])
        repeats = sum(1 for r in again if r["n"] == n and r["category"] == category)
        is_rough = rng.random() < rough
        channel = rng.choices(("chat", "voice", "email", "sms", "whatsapp", "bot"), weights=(26, 20, 12, 8, 8, 26))[0]
        escalated = rng.random() < (0.45 if channel == "bot" else 0.04)
        if channel == "bot" and escalated:
            channel = "chat"
        signals = [s for s, p in (("abusive_language", 0.18), ("threatened_churn", 0.35 if stage == "cancellation"
                                                                else 0.15), ("vulnerable_customer", 0.04))
                   if is_rough and rng.random() < p]
        minutes = rng.uniform(3, 40)
        interaction = {
            "id": f"int_{self.run}_{next(self.counter)}", "case_id": case_id, "channel": channel,
            "journey_stage": stage, "category": category,
            "started_at": (now - timedelta(minutes=minutes)).isoformat(), "ended_at": now.isoformat(),
            "escalated_from_bot": escalated,
            "resolution": rng.choices(("resolved", "workaround", "unresolved", "unknown"),
                                      weights=(15, 35, 40, 10) if is_rough else (75, 15, 5, 5))[0],
            "customer_sentiment": round(rng.uniform(-0.95, -0.35) if is_rough else rng.uniform(-0.2, 0.8), 2),
            "signals": signals, "repeat_contact_count": repeats,
            "refund_or_credit_decision": category in ("refund", "double_charge") and rng.random() < 0.4}
        bot_only = channel == "bot"
        result = self.post(self.event("interaction.closed", interaction=interaction, customer=self.customer(n),
                                      agent=None if bot_only else {"id": agent_id, "name": agent_name, "team": team}))
        self.stats["interactions"] += 1
        self.recent.append({"at": now, "n": n, "stage": stage, "category": category, "case_id": case_id})
        if not bot_only:
            who = {"id": agent_id, "name": agent_name, "team": team}
            self.at(now + timedelta(minutes=1), lambda: self.agent_status(who, "available"))
        self.after_interaction(result, interaction, n, stage, category, case_id)

    def after_interaction(self, result: dict, interaction: dict, n: int, stage: str, category: str,
                          case_id: str) -> None:
        now, rng = self.rt.clock(), self.rng
        checkin = result.get("checkin")
        if checkin:
            due = datetime.fromisoformat(checkin["due_at"])
            self.tick_at(due)
            if rng.random() < 0.7:
                self.at(due + timedelta(minutes=rng.uniform(8, 300)), lambda: self.reply(checkin["id"], tries=3))
        if rng.random() < 0.07:
            self.at(now + timedelta(hours=rng.uniform(2, 60)), lambda: self.contacted(n, stage, category, case_id))
        self.maybe_churn(result, n)

    def maybe_churn(self, result: dict, n: int) -> None:
        """Churn is likelier after friction, and likelier still for the control group nobody followed up."""
        triage = result.get("triage") or {}
        friction = triage.get("important") or (triage.get("scores") or {}).get("emotional_load", 0) >= 0.7
        held_out = any(reason.startswith("held out") for reason in result.get("schedule_reasons") or ())
        chance = (0.34 if held_out else 0.12 if triage.get("decision") == "automated_checkin" else 0.16) \
            if friction else 0.03
        if n not in self.churn_planned and self.rng.random() < chance:
            self.churn_planned.add(n)
            self.at(self.rt.clock() + timedelta(days=self.rng.uniform(0.5, 12)), lambda: self.churn(n))

    def reply(self, checkin_id: str, *, tries: int) -> None:
        """The customer answers on the console channel, through the API a tester would use (simulate-reply)."""
        rt, rng = self.rt, self.rng
        state = self.client.get(f"/api/v1/checkins/{checkin_id}", headers=self.key).get_json()["state"]
        if state in ("scheduled", "claimed"):
            if tries:
                self.at(rt.clock() + timedelta(hours=2), lambda: self.reply(checkin_id, tries=tries - 1))
            return
        if state not in ("sent", "delivered"):
            return
        intent = rng.choices(list(REPLIES), weights=(42, 33, 20, 5))[0]
        outcome = self.client.post(f"/api/v1/checkins/{checkin_id}/simulate-reply", headers=self.key,
                                   json={"text": rng.choice(REPLIES[intent])}).get_json()
        got = outcome["verdict"]["intent"]
        self.stats["replies"][got] = self.stats["replies"].get(got, 0) + 1
        if outcome["action"].startswith("reopened") and rng.random() < 0.8:
            case_id = outcome["case_id"]
            self.at(rt.clock() + timedelta(hours=rng.uniform(1, 30)), lambda: self.agent_closes(case_id))

    def agent_closes(self, case_id: str) -> None:
        cause = self.rng.choice(ROOT_CAUSES)
        self.post(self.event("case.updated", case={"id": case_id, "status": "closed",
                                                   **({"root_cause": cause} if cause else {})}))
        self.stats["closed_by_agent"] += 1

    def agent_status(self, agent: dict, status: str) -> None:
        """The routing platform reports the agent free (or taking a break): a granted break then starts."""
        result = self.post(self.event("agent.status", agent=agent, status=status))
        brk = (result.get("agent") or {}).get("break") or {}
        if status == "available" and brk.get("state") == "due":
            self.at(self.rt.clock() + timedelta(minutes=1), lambda: self.agent_status(agent, "on_break"))
        elif status == "on_break" and brk.get("state") == "on_break":
            self.at(self.rt.clock() + timedelta(minutes=brk.get("minutes") or 5),
                    lambda: self.agent_status(agent, "available"))

    def contacted(self, n: int, stage: str, category: str, case_id: str) -> None:
        self.post(self.event("customer.contacted", customer={"id": f"cus_{self.run}_{n}"}, case={"id": case_id},
                             journey_stage=stage, category=category))
        self.stats["contacted"] += 1

    def churn(self, n: int) -> None:
        self.post(self.event("customer.churned", customer={"id": f"cus_{self.run}_{n}"},
                             reason=self.rng.choice(("cancelled subscription", "moved to a competitor",
                                                     "closed account"))))
        self.stats["churned"] += 1

    def unmatched(self) -> None:
        with self.rt.db.session() as session:
            followup.receive_reply(session, text=self.rng.choice(UNMATCHED), channel="sms", now=self.rt.clock(),
                          crm=self.rt.services["crm"], from_address=f"+447700901{self.rng.randrange(1000):03d}")
            session.commit()
        self.stats["unmatched"] += 1

    def publish(self, team: str, reason: str, change) -> None:
        document = wellbeing.dump_rule_set(wellbeing.DEFAULT_RULE_SET)
        for rule in document["rules"]:
            if isinstance(change, dict) and rule["name"] in change:
                key = "load_at_least" if "load_at_least" in rule["when"] else None
                if key:
                    rule["when"][key] = change[rule["name"]]
                else:
                    rule["then"]["break_minutes"] = change[rule["name"]]
        if isinstance(change, dict) and "add" in change:
            document["rules"].insert(1, change["add"])
        document["scope"] = {"team": team}
        with self.rt.db.session() as session:
            wellbeing.publish_rule_set(session, team=team, data=document, author="dana.manager", reason=reason,
                                       now=self.rt.clock())
            session.commit()
        self.stats["rule_versions"] += 1

    def in_surge(self, now: datetime) -> bool:
        """The known problem makes its own contacts: from a quarter of the way in until it is fixed."""
        span = self.end - self.start
        return self.start + span * 0.25 <= now < self.start + span * 0.7

    def problem_opened(self) -> None:
        """The CRM declares the known problem (problem.opened): its cases so far, and later ones, are linked."""
        result = self.post(self.event("problem.opened", problem={
            "id": f"INC-{self.run}", **PROBLEM, "from": self.start.isoformat()}))
        self.stats["problem"] = {"id": f"INC-{self.run}", "affected when declared": result["problem"]["affected"]}

    def problem_fixed(self) -> None:
        """A manager resolves it: every affected customer who may be told gets a fix notice; some reply."""
        resp = self.client.post(f"/api/v1/problems/INC-{self.run}/resolve", headers=self.key,
                                json={"message": "Any extra charge has been refunded to your card."})
        detail = resp.get_json()
        for notice in detail["pending"]:
            due = datetime.fromisoformat(notice["due_at"])
            self.tick_at(due)
            if self.rng.random() < 0.6:
                cid = notice["checkin_id"]
                self.at(due + timedelta(minutes=self.rng.uniform(10, 240)), lambda c=cid: self.reply(c, tries=3))
        self.stats["problem"].update(affected=detail["affected"], notices=len(detail["pending"]),
                                     not_told=detail["skipped_by_reason"])

    def problem_declared(self) -> None:
        """A manager declares a second problem near the end; it is still open when the history ends."""
        self.client.post("/api/v1/problems", headers=self.key, json={
            "title": "App crashes on start after the 5.2 update", "category": "app_crash",
            "journey_stage": "technical", "from": (self.rt.clock() - timedelta(days=1)).isoformat()})

    def tick(self) -> None:
        scheduler.tick(self.app, "demo-seed")

    def tick_at(self, when: datetime) -> None:
        """The scheduler tick when a check-in falls due (a real worker ticks every second)."""
        slot = when.replace(second=0) + timedelta(minutes=5 - when.minute % 5)
        if slot not in self.ticks:
            self.ticks.add(slot)
            self.at(slot, self.tick)

    # --- the plan ------------------------------------------------------------------------------------

    def plan(self) -> None:
        rng, days = self.rng, (self.end - self.start).days
        for day in range(days + 1):
            midnight = (self.start + timedelta(days=day)).replace(hour=0, minute=0, second=0)
            weekend = midnight.weekday() >= 5
            for _ in range(rng.randint(12, 18) if weekend else rng.randint(30, 42)):
                self.at(midnight + timedelta(hours=rng.uniform(7.5, 19.5)), self.interaction)
            for _ in range(rng.randint(0, 2)):
                self.at(midnight + timedelta(hours=rng.uniform(8, 22)), self.unmatched)
        t = self.start
        while t <= self.end:  # hourly for everything else the tick does (CRM outbox, commitments, breaks)
            self.tick_at(t)
            t += timedelta(hours=1)
        for _ in range(10):  # a busy last hour and a half, so "team load now" has something to show
            self.at(self.end - timedelta(minutes=rng.uniform(1, 90)), lambda: self.interaction(rough=0.8))
        for minutes in (50, 35, 20, 8):  # and one billing agent having a rough run right now
            self.at(self.end - timedelta(minutes=minutes),
                    lambda: self.interaction(rough=1.0, stage="billing", agent=TEAMS["billing-emea"][0]))
        span = self.end - self.start
        self.at(self.start + span * 0.35, self.problem_opened)
        self.at(self.start + span * 0.7, self.problem_fixed)
        self.at(self.start + span * 0.85, self.problem_declared)
        for day, team, reason, change in RULE_VERSIONS:
            if day < days:
                self.at(self.start + timedelta(days=day), lambda t=team, r=reason, c=change: self.publish(t, r, c))

    def play(self) -> None:
        self.client = self.app.test_client()
        with self.rt.db.session() as session:
            self.key = {"Authorization": "Bearer " + create_api_key(session=session, name=f"demo seeder {self.run}",
                                                                    scopes=["manager"])}
        self.plan()
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            self.sim_now[0] = when
            action()
        self.sim_now[0] = self.end
        self.tick()


def _relax_sqlite_sync(db) -> Callable[[], None]:
    """SQLite in WAL mode with synchronous=NORMAL while seeding: thousands of commits without an fsync each
    (safe against corruption; only the last commits could be lost on a power cut). Returns the undo."""
    if not db.is_sqlite:
        return lambda: None

    def normal(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    event.listen(db.engine, "connect", normal)
    db.engine.dispose()

    def undo() -> None:
        event.remove(db.engine, "connect", normal)
        db.engine.dispose()

    return undo


def seed_history(app: Flask, *, days: int, say: Callable[[str], None], seed: int | None = None,
                 now: datetime | None = None) -> dict:
    """Fill the app's configured database with `days` of history ending now; returns what it made."""
    rt = app.extensions["aftercare"]
    migrate.upgrade(rt.settings.database.url)
    rng = random.Random(seed)
    end = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    seeder = Seeder(app=app, rng=rng, run=f"{rng.getrandbits(24):06x}", start=end - timedelta(days=days), end=end,
                    say=say)
    seeder.sim_now.append(seeder.start)
    saved_clock, saved_settings = rt.clock, rt.settings
    console = logging.getLogger("aftercare.console_channel")
    saved_level = console.level
    rt.clock = lambda: seeder.sim_now[0]
    rt.settings = rt.settings.replace("followup", control_group_fraction=CONTROL_FRACTION)
    console.setLevel(logging.WARNING)
    relaxed = _relax_sqlite_sync(rt.db)
    say(f"seeding {days} days of history into {rt.db.engine.url.render_as_string(hide_password=True)} "
        f"(run {seeder.run}; control group {CONTROL_FRACTION:.0%})…")
    try:
        seeder.play()
    finally:
        rt.clock, rt.settings = saved_clock, saved_settings
        console.setLevel(saved_level)
        relaxed()
    s = seeder.stats
    say(f"{s['interactions']} interactions; replies by intent {s['replies']}; {s['closed_by_agent']} reopened cases "
        f"closed by agents; {s['contacted']} customers came back by themselves; {s['churned']} churned; "
        f"{s['unmatched']} unmatched replies; {s['rule_versions']} rule versions published; known problem "
        f"{s['problem'] or 'none'}.")
    say("Look at it: `make run`, create a manager with `flask --app wsgi managers create --username you`, then open "
        "http://127.0.0.1:5000/dashboard/")
    return s
