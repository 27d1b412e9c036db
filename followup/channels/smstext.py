"""SMS text conventions: GSM-7 vs UCS-2, segment counting, and fitting a check-in into few segments.

Design choice for fitting: `render_sms(template, fields)` fills the template, and when the result is too
long it shortens the `{issue}` field first (cut at a word boundary, ending in "..."), because the issue
description is the only free-length part; only if the message is still too long with the issue cut to its
shortest ("a...") does it hard-truncate the whole message at a word boundary (`fit_sms`). Templates should
stay well within the limit so the hard truncate, which may cut the closing line, never happens in practice.
Names are not transliterated ("María" stays, and makes the message UCS-2): a person's name matters more.
"""

import re
from collections.abc import Callable, Iterable, Mapping

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

ELLIPSIS = "..."

_GSM7_REPLACEMENTS = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
        "\u2212": "-",
        "\u2026": ELLIPSIS,
        "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2007": " ", "\u2009": " ", "\u202f": " ",
        "\t": " ",
        "\u200b": None, "\u200d": None, "\u2060": None, "\ufeff": None, "\u00ad": None,
    }
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_NAME_FIELDS = ("agent_first_name", "customer_first_name")
_MIN_ISSUE = len(ELLIPSIS) + 1
_TRAILING_PUNCTUATION = re.compile(r"[\s,;:.-]+$")


def is_gsm7(text: str) -> bool:
    """Whether the text can be sent in the 7-bit GSM alphabet, which fits 160 rather than 70 characters."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _gsm7_weights(text: str) -> list[int]:
    """Septets per character: extension characters need an escape septet before them."""
    return [2 if ch in GSM7_EXTENSION else 1 for ch in text]


def _ucs2_weights(text: str) -> list[int]:
    """UTF-16 code units per character: characters outside the BMP take a surrogate pair."""
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(weights: Iterable[int], part_size: int) -> int:
    """Parts needed when no character (escape pair or surrogate pair) may be split across parts."""
    parts, used = 1, 0
    for weight in weights:
        if used + weight > part_size:
            parts, used = parts + 1, 0
        used += weight
    return parts


def segments(text: str) -> int:
    """Number of SMS segments the text is billed and sent as (0 for an empty text)."""
    if not text:
        return 0
    if is_gsm7(text):
        weights, single, part = _gsm7_weights(text), GSM7_SINGLE, GSM7_PART
    else:
        weights, single, part = _ucs2_weights(text), UCS2_SINGLE, UCS2_PART
    return 1 if sum(weights) <= single else _pack(weights, part)


def to_gsm7(text: str) -> str:
    """Replace typographic punctuation with GSM look-alikes so one smart quote doesn't halve the length."""
    return text.translate(_GSM7_REPLACEMENTS)


def first_name(full_name: str) -> str:
    """The first word of a name: check-ins name the agent by first name only ("Maria Lopez" → "Maria")."""
    words = full_name.split()
    return words[0] if words else ""


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary and marked with "..." when anything was cut."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ""
    body, rest = text[: limit - len(ELLIPSIS)], text[limit - len(ELLIPSIS) :]
    if not rest[0].isspace() and re.search(r"\s", body.strip()):
        body = body.rsplit(None, 1)[0]
    return (_TRAILING_PUNCTUATION.sub("", body) or body) + ELLIPSIS


def _longest_fitting(candidate: Callable[[int], str], low: int, high: int, max_segments: int) -> str | None:
    """The candidate with the largest budget in [low, high] that fits, by bisection (length is monotonic)."""
    best = None
    while low <= high:
        middle = (low + high) // 2
        text = candidate(middle)
        if segments(text) <= max_segments:
            best, low = text, middle + 1
        else:
            high = middle - 1
    return best


def fit_sms(text: str, max_segments: int = 2) -> str:
    """Normalise to GSM-7 where possible and hard-truncate at a word boundary to at most `max_segments`."""
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    text = to_gsm7(text).strip()
    if segments(text) <= max_segments:
        return text
    return _longest_fitting(lambda budget: clip(text, budget), 1, len(text), max_segments) or ""


def fill(template: str, fields: Mapping[str, str]) -> str:
    """Substitute `{name}` placeholders; a placeholder with no field is a template bug and raises KeyError."""
    return _PLACEHOLDER.sub(lambda match: str(fields[match.group(1)]), template)


def _sms_fields(fields: Mapping[str, str], *, reduce_names: bool = True) -> dict[str, str]:
    """Field values as they go into an SMS: GSM-7 punctuation, trimmed, people named by first name only."""
    values = {key: to_gsm7(str(value)).strip() for key, value in fields.items()}
    for key in _NAME_FIELDS if reduce_names else ():
        if key in values:
            values[key] = first_name(values[key])
    return values


def _fill_sms(template: str, values: Mapping[str, str]) -> str:
    """The filled template as it would be sent: GSM-7 punctuation, no surrounding whitespace."""
    return to_gsm7(fill(template, values)).strip()


def render_sms(template: str, fields: Mapping[str, str], max_segments: int = 2, *, reduce_names: bool = True) -> str:
    """Fill a check-in template within `max_segments`, shortening `{issue}` before cutting anything else.

    `reduce_names=False` when the caller already chose what to call people: a fallback such as "the support team"
    must not be cut to its first word."""
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    values = _sms_fields(fields, reduce_names=reduce_names)
    text = _fill_sms(template, values)
    if segments(text) <= max_segments:
        return text
    issue = values.get("issue", "")
    if issue and "{issue}" in template:
        shortened = _longest_fitting(
            lambda budget: _fill_sms(template, {**values, "issue": clip(issue, budget)}),
            _MIN_ISSUE,
            len(issue) - 1,
            max_segments,
        )
        if shortened is not None:
            return shortened
    return fit_sms(text, max_segments=max_segments)
