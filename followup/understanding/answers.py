"""Answers to the question we asked, and asks to stop: read before anything else, in all five languages.

The check-in asks a closed question ("is it sorted now? Reply YES if it is…"), so YES/NO, 1/2 and 👍/👎 are
answers to it. Whether YES means "sorted" depends on the question: to "is it sorted?" YES closes the loop, to
"is it still happening?" YES reopens.
"""
from __future__ import annotations

import re
from functools import lru_cache

from followup.keywords import ANY_CHANNEL_OPT_OUT_KEYWORDS, OPT_OUT_KEYWORDS
from followup.understanding.lexicons import OPT_OUT_PHRASES

DEFAULT_QUESTION = "is it sorted now?"
YES = frozenset("yes y yep yeah yup ya yea yess sí si claro oui ouais ja jep jawohl sim 1 👍 ✅ ✔ ✔️ 👌".split())
NO = frozenset("no n nope nah non nein nö nee não nao 2 👎 ❌ ✖ ✖️".split())
_POLITE = frozenset("please pls plz just now thanks thank you thx ok okay por favor gracias merci svp danke bitte "
                    "obrigado obrigada".split())
# Questions to which YES means the problem is still there (the opposite of our check-in's question).
_STILL_QUESTION = re.compile(r"\b(?:still|anything else|any other|again|todav[ií]a|sigue|a[uú]n|encore|toujours|"
                             r"autre chose|noch|immer noch|sonst noch|ainda|continua|mais alguma)\b", re.IGNORECASE)
_ANSWER = re.compile(r"[^\W_]+|[👍👎✅❌✔✖👌]")
_EN_OPT_OUT = [
    r"\b(?:stop|quit|cease)\s+(?:all\s+)?(?:texting|messaging|e-?mailing|contacting|calling|sending|spamming|"
    r"bothering|pinging)\b",
    r"\b(?:don'?t|do not|never)\s+(?:ever\s+)?(?:text|message|e-?mail|contact|call|bother|ping)\s+(?:me|us)\b",
    r"\b(?:unsubscribe|remove|take)\s+(?:me|us)\s+(?:from|off)\s+(?:\w+\s+){0,3}(?:text|sms|message|messag|e-?mail|"
    r"mail|call|contact|survey|follow[- ]?up|check[- ]?in|notification|list|mailing)",
    r"\bno\s+more\s+(?:text|sms|message|messag|e-?mail|mail|call|contact|survey|follow[- ]?up|check[- ]?in|"
    r"notification)\w*",
    r"\bopt me out\b|\bopt(?:ing)?[\s-]*out of (?:these|this|the|your|all|any)\b|"
    r"\bi (?:want|wish|would like|'d like) to opt[\s-]*out\b|^opt[\s-]*out\b|\bleave me alone\b",
]


def yes_means_sorted(question: str | None) -> bool:
    """Whether YES to this question says the problem is gone (our check-in's question: it does)."""
    return not _STILL_QUESTION.search(question or DEFAULT_QUESTION)


def closed_answer(norm: str, question: str | None) -> tuple[str, str] | None:
    """(intent, reason) when the whole reply is YES or NO to the question, in any of our languages."""
    words = [w for w in _ANSWER.findall(norm.lower()) if w not in _POLITE]
    if len(words) != 1 or not (words[0] in YES or words[0] in NO):
        return None
    yes = words[0] in YES
    sorted_ = yes == yes_means_sorted(question)
    asked = question or DEFAULT_QUESTION
    return ("resolved" if sorted_ else "reopen"), f"answers {'YES' if yes else 'NO'} to '{asked}'"


@lru_cache(maxsize=1)
def _phrases() -> list[re.Pattern[str]]:
    return [re.compile(p) for p in _EN_OPT_OUT + list(OPT_OUT_PHRASES.values())]


def opt_out(norm: str, sms: bool) -> str | None:
    """Why this reply asks to stop being contacted (a keyword in any of our languages, or a plain ask), or None.

    Carrier keywords such as CANCEL or END count only by SMS: in an email they are talk about the product.
    """
    low = norm.lower().replace("’", "'")
    key = " ".join(w for w in re.findall(r"[^\W\d_]+", low) if w not in _POLITE).replace("opt out", "optout")
    if key in ANY_CHANNEL_OPT_OUT_KEYWORDS or key in {"stop all", "opt out"} or (sms and key in OPT_OUT_KEYWORDS):
        return f"opt-out keyword: {key.upper()}"
    for pattern in _phrases():
        if m := pattern.search(low):
            return f"asks not to be contacted: '{m.group(0).strip()}'"
    return None
