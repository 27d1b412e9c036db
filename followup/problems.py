"""Known problems (SPEC §12): declare one, take in its cases, and when it is fixed tell every affected customer.

The fix notice is a check-in of kind `fix_notice` sent by the normal dispatcher, so quiet hours, caps, consent and
opt-outs hold as for any check-in (the rules are followup.problem_rules); a reply to it goes through reply
understanding like any other and "still broken" reopens the case. Public functions flush; the caller commits.
"""
from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from aftercare.core.ids import new_id
from aftercare.core.logs import mask_pii
from aftercare.core.problems import Problem
from followup import policy as pol
from followup.checkins import FollowupContext, opted_out_addresses, recent_message_times
from followup.messages import render_fix_notice
from followup.models import Case, CheckIn, Customer, Interaction, Reply
from followup.outcome_models import ContactEvent
from followup.problem_links import link
from followup.problem_models import KnownProblem, ProblemCase, ProblemNotice
from followup.problem_rules import SKIP_LABELS, plan_fix_notice
from followup.reasons import label as reason_label

TOLD_STATES = ("sent", "delivered", "replied")
PENDING_STATES = ("scheduled", "claimed")


def _not_found(problem_id: str) -> Problem:
    return Problem(404, "Not Found", f"No problem {problem_id!r}.", kind="not-found")


def get_problem(session: Session, problem_id: str) -> KnownProblem:
    problem = session.get(KnownProblem, problem_id)
    if problem is None:
        raise _not_found(problem_id)
    return problem


def open_problem(session: Session, *, title: str, category: str, start: datetime, now: datetime, source: str,
                 journey_stage: str | None = None, end: datetime | None = None, case_ids: list[str] | None = None,
                 problem_id: str | None = None) -> KnownProblem:
    """Declare a problem and take in its cases: explicit ids, and every case in its category and window."""
    if problem_id and session.get(KnownProblem, problem_id) is not None:
        raise Problem(409, "Conflict", f"Problem {problem_id!r} exists already.", kind="conflict")
    wanted = list(dict.fromkeys(case_ids or []))
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(wanted)))} if wanted else {}
    missing = [c for c in wanted if c not in cases]
    if missing:
        raise Problem(422, "Unprocessable Content", "Unknown case ids.", kind="validation",
                      errors=[{"field": "case_ids", "message": f"No case {c!r}."} for c in missing[:20]])
    problem = KnownProblem(id=problem_id or new_id("prb"), title=title, category=category, journey_stage=journey_stage,
                           window_from=start, window_to=end, state="open", source=source[:32], opened_at=now)
    session.add(problem)
    session.flush()
    for case in cases.values():
        link(session, problem=problem, case=case, how="explicit", now=now)
    stmt = select(Interaction.case_id).where(Interaction.category == category, Interaction.ended_at >= start)
    if end is not None:
        stmt = stmt.where(Interaction.ended_at <= end)
    if journey_stage:
        stmt = stmt.where(Interaction.journey_stage == journey_stage)
    for case_id in sorted(set(session.scalars(stmt))):
        link(session, problem=problem, case=session.get(Case, case_id), how="window", now=now)
    session.flush()
    return problem


def _affected(session: Session, problem_id: str) -> dict[str, list[Case]]:
    """Customer → the problem's cases of theirs, the most recent first."""
    rows = session.execute(select(ProblemCase, Case).join(Case, Case.id == ProblemCase.case_id)
                           .where(ProblemCase.problem_id == problem_id)).all()
    by_customer: dict[str, list[Case]] = defaultdict(list)
    for link_row, case in rows:
        by_customer[link_row.customer_id].append(case)
    for cases in by_customer.values():
        cases.sort(key=lambda c: (c.closed_at or c.created_at), reverse=True)
    return dict(by_customer)


def resolve_problem(session: Session, *, ctx: FollowupContext, problem_id: str, now: datetime, by: str,
                    message: str | None = None) -> KnownProblem:
    """The cause is fixed: plan a fix notice for every affected customer (or record why not)."""
    problem = get_problem(session, problem_id)
    # Resolved only if still open, decided by the database: two resolves at once (a double click, the CRM and a
    # manager) both read it open, and the second would plan every notice again; its UPDATE waits for the first
    # and then matches nothing, so it is the 409 a resolve after the first gets.
    resolved = session.execute(update(KnownProblem).where(KnownProblem.id == problem_id, KnownProblem.state == "open")
                               .values(state="resolved", resolved_at=now, resolved_by=by[:200],
                                       message=(message or "").strip() or None)).rowcount
    if not resolved:
        raise Problem(409, "Conflict", f"Problem {problem_id!r} was resolved already.", kind="conflict")
    session.refresh(problem)
    for customer_id, cases in sorted(_affected(session, problem.id).items()):
        _notice(session, ctx=ctx, problem=problem, customer_id=customer_id, cases=cases, now=now)
    session.flush()
    return problem


def _notice(session: Session, *, ctx: FollowupContext, problem: KnownProblem, customer_id: str, cases: list[Case],
            now: datetime) -> None:
    customer = session.get(Customer, customer_id)
    case = cases[0]
    interactions = list(session.scalars(select(Interaction).where(Interaction.case_id.in_([c.id for c in cases]))
                                        .order_by(Interaction.ended_at.desc())))
    # WhatsApp outside its 24-hour window needs an approved template of its own: fix notices go by SMS or email.
    contact = pol.Contact(timezone=customer.timezone, phone=customer.phone, email=customer.email,
                          consent_sms=customer.consent_sms, consent_email=customer.consent_email,
                          opted_out=opted_out_addresses(session, customer.phone, customer.email))
    used = next((i.channel for i in interactions if i.channel in ("sms", "email")), None)
    plan = plan_fix_notice(key=f"{problem.id}:{customer_id}", contact=contact, used_channel=used,
                           recent=recent_message_times(session, customer_id=customer_id, now=now),
                           held_out=any(i.held_out for i in interactions), case_reopened=case.state == "reopened",
                           policy=ctx.schedule_policy, now=now)
    notice = ProblemNotice(problem_id=problem.id, customer_id=customer_id, case_id=case.id, reasons=list(plan.reasons),
                           decided_at=now)
    if not plan.send:
        notice.skip_code, notice.skip_reason = plan.skip_code, "; ".join(plan.reasons)
        session.add(notice)
        return
    settings = ctx.settings.followup
    locale = customer.locale or settings.default_locale
    text = render_fix_notice(channel=plan.channel, locale=locale, customer_name=customer.name,
                             company=settings.company_name, category=problem.category, note=problem.message)
    checkin = CheckIn(id=new_id("chk"), case_id=case.id, interaction_id=None, customer_id=customer_id,
                      kind="fix_notice", problem_id=problem.id, channel=plan.channel,
                      provider=getattr(settings, f"channel_{plan.channel}"), address=plan.address, locale=locale,
                      subject=text.subject, body=text.body, state="scheduled", due_at=plan.due_at,
                      reply_token=secrets.token_urlsafe(18), state_reason=f"fix notice: {problem.title}"[:200],
                      created_at=now)
    session.add(checkin)
    notice.checkin_id = checkin.id
    session.add(notice)


def _contacts(session: Session, problem: KnownProblem, start: datetime, end: datetime,
              customers: set[str] | None = None) -> int:
    """Repeat contacts (customer.contacted) in the problem's category (and stage) in [start, end)."""
    stmt = select(func.count()).select_from(ContactEvent).where(
        ContactEvent.category == problem.category, ContactEvent.occurred_at >= start, ContactEvent.occurred_at < end)
    if problem.journey_stage:
        stmt = stmt.where(ContactEvent.journey_stage == problem.journey_stage)
    if customers is not None:
        if not customers:
            return 0
        stmt = stmt.where(ContactEvent.customer_id.in_(sorted(customers)))
    return int(session.scalar(stmt) or 0)


def _notices(session: Session, problem_id: str) -> list[tuple[ProblemNotice, CheckIn | None]]:
    rows = list(session.scalars(select(ProblemNotice).where(ProblemNotice.problem_id == problem_id)
                                .order_by(ProblemNotice.customer_id)))
    ids = [n.checkin_id for n in rows if n.checkin_id]
    checkins = {c.id: c for c in session.scalars(select(CheckIn).where(CheckIn.id.in_(ids)))} if ids else {}
    return [(n, checkins.get(n.checkin_id or "")) for n in rows]


def notice_status(notice: ProblemNotice, checkin: CheckIn | None) -> tuple[str, str | None, str | None]:
    """(notified | pending | skipped, skip code, reason): a notice that was never sent counts as skipped."""
    if checkin is None:
        return "skipped", notice.skip_code, notice.skip_reason
    if checkin.state in TOLD_STATES:
        return "notified", None, None
    if checkin.state in PENDING_STATES:
        return "pending", None, None
    return "skipped", "not_sent", f"fix notice {checkin.state}: {checkin.state_reason or ''}".strip(": ")


def summary(session: Session, problem: KnownProblem, *, now: datetime, repeat_days: int) -> dict:
    """What the list and the dashboard show: affected customers, and their repeat contacts since it started."""
    affected = _affected(session, problem.id)
    end = problem.resolved_at or now
    return {"id": problem.id, "title": problem.title, "category": problem.category,
            "journey_stage": problem.journey_stage, "state": problem.state, "source": problem.source,
            "from": problem.window_from, "to": problem.window_to, "opened_at": problem.opened_at,
            "resolved_at": problem.resolved_at, "affected": len(affected),
            "cases": sum(len(c) for c in affected.values()),
            "repeat_contacts": _contacts(session, problem, problem.window_from, max(end, problem.window_from),
                                         set(affected))}


def list_problems(session: Session, *, now: datetime, repeat_days: int, state: str | None = None) -> list[dict]:
    stmt = select(KnownProblem).order_by(KnownProblem.opened_at.desc())
    if state:
        stmt = stmt.where(KnownProblem.state == state)
    return [summary(session, p, now=now, repeat_days=repeat_days) for p in session.scalars(stmt)]


def problem_detail(session: Session, *, problem_id: str, now: datetime, repeat_days: int) -> dict:
    """SPEC §12: affected, notified, skipped (with reasons), replies, reopened, repeat contacts before vs after."""
    problem = get_problem(session, problem_id)
    detail = summary(session, problem, now=now, repeat_days=repeat_days)
    affected = _affected(session, problem.id)
    detail["message"] = problem.message
    detail["affected_customers"] = [{"customer_id": cid, "case_ids": [c.id for c in cases]}
                                    for cid, cases in sorted(affected.items())]
    notified, pending, skipped = [], [], []
    notices = _notices(session, problem.id)
    for notice, checkin in notices:
        status, code, reason = notice_status(notice, checkin)
        row = {"customer_id": notice.customer_id, "case_id": notice.case_id}
        if status == "notified":
            notified.append({**row, "checkin_id": checkin.id, "channel": checkin.channel, "sent_at": _iso(checkin.sent_at)})
        elif status == "pending":
            pending.append({**row, "checkin_id": checkin.id, "channel": checkin.channel, "due_at": _iso(checkin.due_at)})
        else:
            skipped.append({**row, "code": code, "label": SKIP_LABELS.get(code or "", code), "reason": reason})
    by_checkin = {c.id: n.customer_id for n, c in notices if c is not None}
    replies = list(session.scalars(select(Reply).where(Reply.checkin_id.in_(list(by_checkin)))
                                   .order_by(Reply.received_at))) if by_checkin else []
    detail.update(
        notified=notified, pending=pending, skipped=skipped,
        skipped_by_reason=dict(sorted(_count(s["code"] for s in skipped).items())),
        replies=[{"customer_id": by_checkin[r.checkin_id], "case_id": r.case_id, "received_at": _iso(r.received_at),
                  "text": mask_pii(r.text)[:300], "intent": r.intent, "reason": r.reason_category,
                  "reason_label": reason_label(r.reason_category) if r.reason_category else None, "action": r.action}
                 for r in replies],
        reopened=sum(1 for r in replies if (r.action or "").startswith("reopened")),
        repeat_contacts_in_category=_before_after(session, problem, now=now, days=repeat_days))
    return detail


def _iso(value: datetime | None) -> str | None:
    """Datetimes inside free-form objects go out as ISO 8601, like the documented fields."""
    return value.isoformat() if value is not None else None


def _count(codes) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for code in codes:
        out[code or "unknown"] += 1
    return dict(out)


def _before_after(session: Session, problem: KnownProblem, *, now: datetime, days: int) -> dict:
    """Repeat contacts in the category in the `days` before the fix and since it (up to `days`); open: none after."""
    window = timedelta(days=days)
    pivot = problem.resolved_at or now
    after_end = min(now, pivot + window) if problem.resolved_at else pivot
    return {"window_days": days, "pivot": _iso(pivot), "before": _contacts(session, problem, pivot - window, pivot),
            "after": _contacts(session, problem, pivot, after_end) if problem.resolved_at else None,
            "after_days_observed": round((after_end - pivot).total_seconds() / 86400, 1)
            if problem.resolved_at else 0.0}


def loop_outcomes(session: Session, *, start: datetime, end: datetime, now: datetime, repeat_days: int,
                  team: str | None = None, journey_stage: str | None = None) -> dict:
    """Outcomes page (SPEC §12): of the customers affected by problems resolved in the window, how many were told
    (close-the-loop rate); and how many came back in the category within `repeat_days` of the fix, told vs
    held out (the control group). With `team` or `journey_stage` (the outcomes page's filters), a customer
    counts when one of their affected cases is that team's or in that stage, so a team sees its own customers."""
    problems = list(session.scalars(select(KnownProblem).where(
        KnownProblem.state == "resolved", KnownProblem.resolved_at >= start, KnownProblem.resolved_at < end)))
    affected = told = 0
    groups = {"notified": [0, 0], "control": [0, 0]}
    counted_problems = 0
    for problem in problems:
        customers = {customer for customer, cases in _affected(session, problem.id).items()
                     if any((team is None or case.team == team) and
                            (journey_stage is None or case.journey_stage == journey_stage) for case in cases)}
        if not customers:
            continue
        counted_problems += 1
        affected += len(customers)
        horizon = min(now, problem.resolved_at + timedelta(days=repeat_days))
        for notice, checkin in _notices(session, problem.id):
            if notice.customer_id not in customers:
                continue
            status, code, _ = notice_status(notice, checkin)
            told += status == "notified"
            group = "notified" if status == "notified" else "control" if code == "control" else None
            if group:
                groups[group][0] += 1
                groups[group][1] += _contacts(session, problem, problem.resolved_at, horizon,
                                              {notice.customer_id}) > 0
    return {"problems_resolved": counted_problems, "affected": affected, "told": told,
            "close_the_loop_rate": round(told / affected, 4) if affected else None,
            "repeat_after_fix": {"window_days": repeat_days, **{
                name: {"customers": n, "came_back": back, "rate": round(back / n, 4) if n else None}
                for name, (n, back) in groups.items()}}}
