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
    row = {"id": interaction.id, "case_id": case.id, "customer_id": case.customer_id,
           "category": interaction.category, "journey_stage": interaction.journey_stage,
           "ended_at": interaction.ended_at}
    return link_batch_to_open_problems(session, interactions=[row], now=now).get(interaction.id, [])


def link_batch_to_open_problems(session: Session, *, interactions: list[dict], now: datetime) -> dict[str, list[str]]:
    """Interaction rows (as the batched intake writes them; the per-event path passes one) join every open problem
    whose scope they are in: one query for the open problems of their categories, one for the links already made;
    interaction id → the problem ids it joined."""
    categories = {row["category"] for row in interactions if row.get("category")}
    if not categories:
        return {}
    problems = list(session.scalars(select(KnownProblem).where(KnownProblem.state == "open",
                                                               KnownProblem.category.in_(sorted(categories)))))
    if not problems:
        return {}
    case_ids = {row["case_id"] for row in interactions}
    linked = {tuple(pair) for pair in session.execute(select(ProblemCase.problem_id, ProblemCase.case_id).where(
        ProblemCase.problem_id.in_([p.id for p in problems]), ProblemCase.case_id.in_(sorted(case_ids))))}
    joined: dict[str, list[str]] = {}
    for row in interactions:
        for problem in problems:
            if (problem.id, row["case_id"]) in linked or not in_scope(
                    scope_of(problem), category=row.get("category"), journey_stage=row.get("journey_stage"),
                    ended_at=row["ended_at"]):
                continue
            linked.add((problem.id, row["case_id"]))
            session.add(ProblemCase(problem_id=problem.id, case_id=row["case_id"], customer_id=row["customer_id"],
                                    how="later", linked_at=now))
            joined.setdefault(row["id"], []).append(problem.id)
    session.flush()
    return joined
