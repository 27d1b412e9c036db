"""`flask --app wsgi demo --days N` fills the configured database through the real paths."""
from __future__ import annotations

from sqlalchemy import func, select

from followup.models import CheckIn, Interaction, Reply


def test_demo_days_seeds_a_history_the_dashboard_can_show(app, rt, clock):
    settings, test_clock = rt.settings, rt.clock
    result = app.test_cli_runner().invoke(args=["demo", "--days", "2", "--seed", "11"])
    assert result.exit_code == 0, result.output
    assert "interactions" in result.output and "/dashboard/" in result.output
    assert rt.settings is settings and rt.clock is test_clock  # the simulated clock and control group are undone
    with rt.db.session() as session:
        interactions = session.scalar(select(func.count()).select_from(Interaction))
        sent = session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.sent_at.is_not(None)))
        held_out = session.scalar(select(func.count()).select_from(Interaction).where(Interaction.held_out))
        intents = set(session.scalars(select(Reply.intent).distinct()))
        teams = set(session.scalars(select(Interaction.team).distinct())) - {None}
    assert interactions >= 40 and sent >= 5 and held_out >= 1
    assert {"resolved", "reopen"} <= intents
    assert teams == {"billing-emea", "tech-support", "retention"}
    import wellbeing.services as wellbeing

    with rt.db.session() as session:
        assert [v["version"] for v in wellbeing.rule_history(session, team="billing-emea")] == [1]
        assert wellbeing.team_load(session, team="billing-emea", now=clock.now)


def test_demo_without_days_still_plays_the_story(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Story 1" in result.output and "demo database discarded" in result.output
