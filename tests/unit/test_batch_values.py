"""The pure steps the per-event and the batched intake share: what a customer, a case and an agent's load become
after one event, and the set-based writes both databases run the same way."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.orm import Session

from aftercare.core.bulk import insert_rows, upsert_rows
from followup.checkins import closed_case_values, customer_values
from wellbeing.agents import InteractionLoadInput, load_signals, loaded
from wellbeing.context import WellbeingConfig
from wellbeing.load import AgentLoad

NOW = datetime(2026, 11, 25, 14, 10, tzinfo=timezone.utc)


def test_a_customer_keeps_what_the_event_leaves_out_and_takes_what_it_says():
    old = {"name": "Sam", "phone": "+447700900123", "email": "sam@example.com", "timezone": "Europe/London",
           "locale": "en-GB", "consent_sms": True, "consent_email": False, "consent_whatsapp": True}
    new = customer_values(old, {"id": "cus_5", "timezone": "Europe/Paris", "email": "s@example.org",
                                "consent": {"email": True}})
    assert new == {"id": "cus_5", "name": "Sam", "phone": "+447700900123", "email": "s@example.org",
                   "timezone": "Europe/Paris", "locale": "en-GB", "consent_sms": True, "consent_email": True,
                   "consent_whatsapp": True}
    first = customer_values(None, {"id": "cus_6", "timezone": "UTC", "consent": {"sms": False}})
    assert (first["consent_sms"], first["consent_email"], first["name"]) == (False, False, None)


def test_a_closed_case_takes_the_agent_and_stage_and_keeps_what_the_event_leaves_out():
    old = {"agent_id": "ag_1", "agent_name": "Maria", "team": "t", "journey_stage": "billing", "category": "x",
           "state": "reopened", "closed_at": None}
    kept = closed_case_values(old, interaction={"category": "y"}, agent={}, now=NOW)
    assert kept == {"state": "closed", "closed_at": NOW, "agent_id": "ag_1", "agent_name": "Maria", "team": "t",
                    "journey_stage": "billing", "category": "y"}
    moved = closed_case_values(old, interaction={}, agent={"id": "ag_2"}, now=NOW)
    assert (moved["agent_id"], moved["agent_name"]) == ("ag_2", "Maria")


def test_an_interactions_weight_is_added_to_the_decayed_load_and_a_rough_one_extends_the_streak():
    config = WellbeingConfig()
    rough = InteractionLoadInput(interaction_id="i1", at=NOW, sentiment=-0.9, signals=("abusive_language",))
    calm = InteractionLoadInput(interaction_id="i2", at=NOW, sentiment=0.6, resolution="resolved")
    before = AgentLoad(2.0, NOW - timedelta(minutes=60), "working")  # one half-life ago: 1.0 now
    step = loaded(before, 2, load_signals(rough, config), NOW, config)
    assert step.consecutive_negative == 3 and step.breakdown.total > 0
    assert abs(step.after.value - (1.0 + step.breakdown.total)) < 1e-9
    assert loaded(before, 2, load_signals(calm, config), NOW, config).consecutive_negative == 0


def test_set_based_writes_insert_and_upsert_many_rows_in_one_statement():
    engine = create_engine("sqlite://")
    table = Table("t", MetaData(), Column("id", String, primary_key=True), Column("n", Integer),
                  Column("note", String))
    table.metadata.create_all(engine)
    statements = []
    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with Session(engine) as session:
        insert_rows(session, table, [{"id": f"r{i}", "n": i, "note": "new"} for i in range(5)])
        upsert_rows(session, table, [{"id": "r1", "n": 10, "note": "changed"}, {"id": "r9", "n": 9, "note": "x"}],
                    update=("n",), where=table.c.n < 100)
        session.commit()
        rows = dict(session.execute(select(table.c.id, table.c.n)).all())
        notes = dict(session.execute(select(table.c.id, table.c.note)).all())
    assert rows == {"r0": 0, "r1": 10, "r2": 2, "r3": 3, "r4": 4, "r9": 9}
    assert notes["r1"] == "new"  # only the `update` columns change on a conflict
    assert len([s for s in statements if s.lstrip().upper().startswith("INSERT")]) == 2


def test_the_batch_leaves_callbacks_commitments_and_fields_it_does_not_know_to_the_per_event_path():
    from config.settings import load_settings
    from followup.checkins import FollowupContext
    from followup.intake_batch import needs_single_handling

    ctx = FollowupContext(load_settings())
    routine = {"id": "i", "case_id": "c", "channel": "chat", "customer_sentiment": -0.7, "resolution": "workaround",
               "signals": ["threatened_churn"], "category": "double_charge"}
    assert not needs_single_handling(routine, ctx)
    assert needs_single_handling({**routine, "root_cause": "bug 42"}, ctx)  # a field added for a later feature
    assert needs_single_handling({**routine, "commitment": {"text": "by 3 pm", "due_at": NOW}}, ctx)
    assert needs_single_handling({**routine, "signals": ["vulnerable_customer"], "irreversible_action": True,
                                  "customer_sentiment": -0.9}, ctx)  # a human callback
