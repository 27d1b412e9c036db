"""Reader for Spanish, French, German and Portuguese replies: the same cue kinds as English, from word lists."""
from __future__ import annotations

import re
from functools import lru_cache

from followup.understanding.cues import Cues, demote_contrasted_fixes
from followup.understanding.english import CHUNK, HAPPY_EMOJI, SAD_EMOJI, SARCASM_EMOJI, contrast_after
from followup.understanding.lexicons import LEXICONS

_WORD = re.compile(r"[^\W_]+")
_PROBLEMS = ("negation", "unresolved", "problem", "complaint", "question", "request", "sent_details")
_SIGNALS = ("thanks", "closure_thanks", "thanks_for_news", "praise", "plan", "weak_ack", "detail")


@lru_cache(maxsize=8)
def _compiled(lang: str) -> dict[str, re.Pattern[str]]:
    return {kind: re.compile(pattern) for kind, pattern in LEXICONS[lang].items()}


def _overlaps(start: int, spans: list[tuple[int, int]]) -> bool:
    return any(lo <= start < hi for lo, hi in spans)


def read_lexicon(lang: str, norm: str, attached: bool) -> Cues:
    """All cues of a reply in `lang` (one of LEXICONS), and the rule verdict they add up to."""
    rx, low = _compiled(lang), norm.lower().replace("’", "'")
    low = rx["phatic"].sub(lambda m: m.group(0)[:-1] + " ", low)  # "¿qué tal?" greets, it asks nothing
    cues = Cues(tokens=len(_WORD.findall(low)))
    for chunk in CHUNK.finditer(low):
        at, sentence = chunk.start(), chunk.group(0)
        good = [m.span() for m in rx["good_news"].finditer(sentence)]
        for lo, hi in good:
            cues.add_fixed(at + lo, "good_news", f"a problem that no longer happens: '{sentence[lo:hi]}'")
        for m in rx["self_blame"].finditer(sentence):
            cues.add_fixed(at + m.start(), "self_blame", f"their own slip, not a complaint: '{m.group(0)}'")
        negated = [m.span() for m in rx["negation"].finditer(sentence) if not _overlaps(m.start(), good)]
        partial = rx["partial"].search(sentence)  # a workaround or a fix "for now"
        for m in rx["fixed"].finditer(sentence):
            if not any(lo <= m.start() < hi + 3 for lo, hi in negated) and not _overlaps(m.start(), good):
                if partial:
                    cues.add_problem(at + m.start(), "partial_fix", f"only a partial fix: '{partial.group(0)}'")
                else:
                    cues.add_fixed(at + m.start(), "fixed", f"fixed: '{m.group(0)}'")
                good.append(m.span())  # "funciona de nuevo": the "de nuevo" is part of the fix
        for kind in _PROBLEMS:
            for m in rx[kind].finditer(sentence):
                if not _overlaps(m.start(), good):
                    cues.add_problem(at + m.start(), kind, f"{kind}: '{m.group(0).strip()}'")
                    break
        if at == 0 and (m := rx["answers_no"].search(sentence.strip())) and not good:
            cues.add_problem(0, "answers_no", f"answers '{m.group(0)}'")
    for name in _SIGNALS:
        if m := rx[name].search(low):
            cues.signal(name, f"{name.replace('_', ' ')}: '{m.group(0).strip()}'")
    if cues.signals.get("weak_ack") and cues.signals.get("thanks") and not cues.signals.get("praise"):
        cues.signal("thanks_for_news", f"ok + thanks: {cues.why['weak_ack']}")  # "ok, danke"
    if m := rx["answers_yes"].search(low.strip()):
        cues.signal("answers_yes", f"answers '{m.group(0)}'")
    if "?" in low:
        cues.signal("question_mark", "a question mark")
    if attached:
        cues.signal("attached", "a link or screenshot")
        cues.signal("detail", "a link or screenshot")
    for i, ch in enumerate(low):
        if ch in SARCASM_EMOJI or ch in SAD_EMOJI:
            cues.add_problem(i, "negative_emoji", f"negative emoji: {ch}")
        elif ch in HAPPY_EMOJI:
            cues.signal("happy_emoji", f"gratitude/praise: {ch}")
    demote_contrasted_fixes(cues, low, rx["contrast"], rx["turned"])
    warm = [m.end() for m in (rx["thanks"].search(low), rx["praise"].search(low)) if m]
    for end in sorted(warm + [at + 1 for at, kind, _ in cues.fixed if kind in ("fixed", "self_blame")]):
        if but := contrast_after(rx["contrast"], low, end):
            cues.add_problem(but.start(), "contrast", f"contrast: '…{low[max(0, end - 12):end]}…, {but.group(0)}…'")
            break
    positive = sum(bool(cues.signals.get(k)) for k in ("thanks", "praise", "happy_emoji"))
    negative = sum(kind in ("complaint", "negative_emoji") for _, kind, _ in cues.problem)
    cues.sentiment = max(-1.0, min(1.0, 0.4 * (positive - negative)))
    cues.decide()
    return cues
