"""Why a customer came back: the reason category of a reopen, from the reply's verdict and words (pure).

Reply understanding says *whether* a reply needs a person; this says *why*, so reopens can be counted by reason
(SPEC §12). The first rule that matches wins, most specific first: someone asking for a person, a complaint in so
many words (or sarcasm, churn talk, shouting), a new problem, waiting on us, another complaint, the old problem still
there, a question. A reply no rule can place (another language, too
long, no clear cue) is `unclear`: a person reads it, and it is not counted as a broken fix.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping

REASON_CATEGORIES = ("still_broken", "still_waiting", "new_problem", "complaint", "question", "wants_person",
                     "unclear")
LABELS = {"still_broken": "Still broken", "still_waiting": "Still waiting", "new_problem": "New problem",
          "complaint": "Complaint", "question": "Question", "wants_person": "Wants a person",
          "unclear": "Unclear: needs reading"}

_PERSON = re.compile(
    r"\b(?:speak|talk|chat) (?:to|with) (?:a |an |the |your |some)?(?:real |actual |live )?"
    r"(?:person|human|someone|somebody|one|manager|supervisor|agent|representative)\b|"
    r"\b(?:call|ring|phone) me\b|\breal person\b|\bhuman being\b|\ba human\b|\bsomeone (?:to )?call\b", re.I)
_NEW = re.compile(
    r"\b(?:another|a new|a different|new|other|second|separate|now a|also a)\s+(?:\w+\s+)?"
    r"(?:issue|problem|error|bug|fault|charge|question)\b|\bnow (?:there'?s|i have|i've got|i get|i'm getting)\b", re.I)
_WAITING = re.compile(
    r"\bwaiting\b|\bnot yet\b|\bany (?:news|update|updates|progress|word)\b|"
    r"\b(?:nobody|no one|no-one) (?:has )?(?:called|rang|replied|answered|got back|contacted|come back)\b|"
    r"\bhaven'?t (?:heard|received|got|had)\b|\bwhat'?s the status\b|\bwhen will\b|\bstill no\b", re.I)
_COMPLAINT_WORDS = re.compile(r"\b(?:ridiculous|unacceptable|disgrace\w*|appalling|terrible|awful|worst|useless|"
                              r"complain\w*|joke|pathetic|outrageous)\b", re.I)
# Reason prefixes reply understanding writes (followup.understanding: "<cue kind>: '<words>'").
_COMPLAINT_CUES = ("sarcasm", "churn", "shouting")  # "complaint" cues alone ("nobody…") may be waiting on us
_PROBLEM_CUES = ("negation", "unresolved", "problem", "answers", "only a partial fix", "worked only before",
                 "sent details", "contrast", "negative emoji", "negative emoticon", "button")
_QUESTION_CUES = ("question", "request")


def _has(reasons: Iterable[str], prefixes: tuple[str, ...]) -> bool:
    return any(r.lower().startswith(prefixes) for r in reasons)


def reason_category(*, intent: str, reasons: Iterable[str], text: str) -> str | None:
    """The reason category of a reply that reopened a case (None for a reply that did not ask for a person)."""
    if intent != "reopen":
        return None
    reasons = tuple(reasons)
    words = text or ""
    if _PERSON.search(words):
        return "wants_person"
    if _has(reasons, _COMPLAINT_CUES) or _COMPLAINT_WORDS.search(words):
        return "complaint"
    if _NEW.search(words):
        return "new_problem"
    if _WAITING.search(words):
        return "still_waiting"
    if _has(reasons, ("complaint",)):
        return "complaint"
    if _has(reasons, _PROBLEM_CUES):
        return "still_broken"
    if _has(reasons, _QUESTION_CUES) or "?" in words:
        return "question"
    return "unclear"


def label(category: str | None) -> str:
    return LABELS.get(category or "", category or "–")


def root_cause_value(raw: str | None, codes: Mapping[str, str]) -> str | None:
    """What an agent gave as root cause, stored as a configured code when it names one (the code itself, any case,
    spaces for underscores, or its label), else as their own words."""
    text = " ".join((raw or "").split())[:200]
    if not text:
        return None
    folded = text.lower().replace(" ", "_").replace("-", "_")
    for code, name in codes.items():
        if folded == code.lower() or text.lower() == str(name).lower():
            return code
    return text
