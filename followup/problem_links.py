"""Cases joining known problems: those in a problem's category and window when it is declared, and every later one
while it is open (SPEC §12). Kept apart from followup.problems so check-in recording can call it without a cycle."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.models import Case, Interaction
from followup.problem_models import KnownProblem, ProblemCase
from followup.problem_rules import ProblemScope, in_scope


def scope_of(problem: KnownProblem) -> ProblemScope:
    return ProblemScope(category=problem.category, journey_stage=problem.journey_stage, start=problem.window_from,
                        end=problem.window_to)


def link(session: Session, *, problem: KnownProblem, case: Case, how: str, now: datetime) -> bool:
    """Take the case in (once); True when it was new to the problem."""
    if session.get(ProblemCase, (problem.id, case.id)) is not None:
        return False
    session.add(ProblemCase(problem_id=problem.id, case_id=case.id, customer_id=case.customer_id, how=how,
                            linked_at=now))
    return True


def link_to_open_problems(session: Session, *, case: Case, interaction: Interaction, now: datetime) -> list[str]:
    """A newly recorded interaction joins every open problem whose scope it is in; the ids it joined."""
    if not interaction.category:
        return []
    joined = []
    for problem in session.scalars(select(KnownProblem).where(KnownProblem.state == "open",
                                                              KnownProblem.category == interaction.category)):
        if in_scope(scope_of(problem), category=interaction.category, journey_stage=interaction.journey_stage,
                    ended_at=interaction.ended_at) and link(session, problem=problem, case=case, how="later", now=now):
            joined.append(problem.id)
    return joined
