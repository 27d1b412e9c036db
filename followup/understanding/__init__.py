"""Reply understanding: does a customer's reply to a check-in need a person? (pure; no Flask, no database)

How a reply is read (docs/reply-understanding.md has the figures):
1. normalised: quoted email, links, @handles and the agent's name dropped;
2. an ask to stop (any of our five languages) → opt_out; a bare YES/NO (1/2, 👍/👎, sí, non, nein…) → the
   answer to the check-in's question;
3. its language identified (en, es, fr, de, pt; another language goes to a person);
4. that language's reader finds the cues (negation, unresolved state, fixes, plans, thanks, questions…);
5. the cues add up to a verdict (a problem not followed by a fix reopens; a plan is an ack; thanks close…);
6. a small logistic model, calibrated on cross-validated scores, says how likely that verdict is right; a
   resolved/ack verdict below `min_confidence` goes to a person instead (reopen, "needs a person to read").
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from followup.understanding import answers, language, model
from followup.understanding.cues import Cues
from followup.understanding.english import read_english
from followup.understanding.lexicon_reader import read_lexicon

log = logging.getLogger(__name__)

INTENTS = ("reopen", "resolved", "ack", "opt_out")
NEEDS_READING = "needs a person to read"
MAX_CHARS = 2000  # a longer reply (after quoted email is dropped) is a letter: a person reads it

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@\w+")
_QUOTED_EMAIL = re.compile(r"^\s*(?:on\b.{0,120}\bwrote:|el .{0,120} escribi[oó]:|le .{0,120} a [eé]crit ?:|"
                           r"am .{0,120} schrieb|em .{0,120} escreveu:|-{2,} ?original message|from: .+@|"
                           r"sent from my \w+)", re.IGNORECASE | re.MULTILINE)
_EMOJI_MEANING = {"reopen": "👎😡😠🤬😤😞😢😭🙄🙃😒", "resolved": "🙏❤💜💗💙💚😍🥰🙌🎉😊☺🤩💯👍👌✅", "ack": "🆗"}


@dataclass(frozen=True)
class ReplyContext:
    """Hints from the check-in the customer is answering."""

    channel: str | None = None  # "sms" | "email" | "console"
    locale: str | None = None
    agent_name: str | None = None
    question: str | None = None  # the question the check-in asked; None means ours, "is it sorted now?"
    min_confidence: float = 0.0  # below it a resolved/ack verdict goes to a person instead


@dataclass(frozen=True)
class ReplyVerdict:
    """What the reply asks of us, how sure we are (calibrated), why, and the language it was read in."""

    intent: str
    confidence: float
    reasons: tuple[str, ...]
    language: str = "en"

    def as_dict(self) -> dict:
        return {"intent": self.intent, "confidence": round(self.confidence, 2), "reasons": list(self.reasons),
                "language": self.language}


def _verdict(intent: str, confidence: float, reasons: list[str], lang: str) -> ReplyVerdict:
    """A verdict an agent can scan: confidence clamped to 0..1, at most six distinct reasons."""
    unique = tuple(r if len(r) <= 90 else r[:88] + "…'" for r in dict.fromkeys(reasons))[:6]
    return ReplyVerdict(intent, round(max(0.0, min(1.0, confidence)), 4), unique, lang)


def normalise(text: str) -> tuple[str, bool]:
    """What the readers see: NFKC, straight apostrophes, no quoted email, links or @handles; and was a link sent."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    text = _QUOTED_EMAIL.split(text, maxsplit=1)[0]
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
    return _HANDLE.sub(" ", _URL.sub(" ", text)).strip(), bool(_URL.search(text))


def _without_agent_name(norm: str, context: ReplyContext | None) -> str:
    """Drop the agent's name, so "Thanks Will" or "Cheers Hope" is not read as "will…" or "hope…"."""
    names = re.findall(r"[^\W\d_]{2,}", (context.agent_name or "") if context else "")
    return re.sub(r"\b(?:%s)\b" % "|".join(map(re.escape, names)), " ", norm, flags=re.IGNORECASE) if names else norm


def read(norm: str, attached: bool, lang: str, question: str | None = None) -> Cues:
    """The cues of a reply in one of the supported languages, turned round when YES would mean "still broken"."""
    cues = read_english(norm, attached) if lang == "en" else read_lexicon(lang, norm, attached)
    if not answers.yes_means_sorted(question):
        for at, kind, reason in [c for c in cues.problem if c[1] == "answers_no"]:
            cues.problem.remove((at, kind, reason))
            cues.add_fixed(at, "fixed", f"{reason} to '{question}'")
        if cues.signals.pop("answers_yes", None):
            cues.add_problem(0, "unresolved", f"answers yes to '{question}'")
        cues.decide()
    return cues


def _emoji_only(norm: str) -> ReplyVerdict | None:
    """A reply of only emoji whose meaning is plain (🙏, 😡)."""
    for intent, emoji in _EMOJI_MEANING.items():
        if any(e in norm for e in emoji):
            return _verdict(intent, 0.6, [f"emoji-only reply: {norm[:10]}"], "und")
    return None


def _weigh(m: model.Model, cues: Cues, min_confidence: float) -> ReplyVerdict:
    """The cues' verdict with the model's calibrated confidence; a person reads it when that is too low."""
    lang, confidence = cues.language, m.confidence(cues)
    reasons = list(cues.rule_reasons)
    if lang != "en":
        reasons.append(f"read as {lang}: {cues.language_why}")
    if cues.rule != "reopen" and confidence < min_confidence:
        return _verdict("reopen", 1 - confidence, [
            NEEDS_READING, f"not sure enough: {cues.rule} at {confidence:.2f} < {min_confidence:.2f}"] + reasons, lang)
    return _verdict(cues.rule, confidence, reasons, lang)


def classify_reply(text: str, context: ReplyContext | None = None) -> ReplyVerdict:
    """Decide whether a customer's reply reopens the case; never raises, prefers reopen when unsure."""
    return classify_with(model.load(), text, context)


def classify_with(m: model.Model, text: str, context: ReplyContext | None = None) -> ReplyVerdict:
    """classify_reply with a given model (the bench scores models fitted on part of the data)."""
    context = context or ReplyContext()
    try:
        reading = read_reply(text, context)
        if isinstance(reading, ReplyVerdict):
            return reading
        return _weigh(m, reading, context.min_confidence)
    except Exception:  # noqa: BLE001 - the contract is "never raises": an odd reply goes to a person
        log.exception("classify_reply failed")
        return _verdict("reopen", 0.3, [NEEDS_READING, "internal error while reading the reply"], "und")


def read_reply(text: str, context: ReplyContext) -> ReplyVerdict | Cues:
    """Everything before the model: a verdict when no weighing is needed, else the cues for the model."""
    norm, attached = normalise((text if isinstance(text, str) else str(text or ""))[:20 * MAX_CHARS])
    if len(norm) > MAX_CHARS:
        return _verdict("reopen", 0.5, [NEEDS_READING, f"long reply ({len(norm)} characters)"], "und")
    norm = _without_agent_name(norm, context)
    if why := answers.opt_out(norm, sms=(context.channel or "").lower() == "sms"):
        return _verdict("opt_out", 0.99 if why.startswith("opt-out keyword") else 0.9, [why], "und")
    if closed := answers.closed_answer(norm, context.question):
        return _verdict(closed[0], 0.9, [closed[1]], language.identify(norm, context.locale)[0])
    if not any(c.isalpha() for c in norm):
        return _emoji_only(norm) or _verdict("reopen", 0.5, [NEEDS_READING, "empty or only symbols"], "und")
    lang, why = language.identify(norm, context.locale)
    if lang == language.OTHER:
        return _verdict("reopen", 0.5, [NEEDS_READING, why], lang)
    cues = read(norm, attached, lang, context.question)
    cues.language, cues.language_why = lang, why
    return cues
