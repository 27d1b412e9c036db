"""SMS keywords (Twilio/carrier conventions): opt-out, opt-in and help, read before classifying a reply."""

import re
import unicodedata
from enum import StrEnum


class KeywordAction(StrEnum):
    """What an inbound SMS keyword asks for; a StrEnum so it compares equal to "opt_out" etc."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# Opt-out words that mean "stop contacting me" on any channel, and the carrier SMS keywords that do only as an
# SMS keyword: in an email, "cancel" or "end" is more likely talk about the product than an opt-out.
# Our five languages' own words are honoured too, whatever the carrier does with them (BAJA, ARRÊT, STOPP, PARAR).
ANY_CHANNEL_OPT_OUT_KEYWORDS = frozenset({
    "stop", "stopall", "unsubscribe", "optout",
    "baja", "parar", "detener",
    "arrêt", "arret", "arrêter", "arreter", "désabonner", "desabonner", "désinscrire", "desinscrire",
    "stopp", "abmelden", "abbestellen",
    "pare", "sair", "descadastrar",
})
OPT_OUT_KEYWORDS = ANY_CHANNEL_OPT_OUT_KEYWORDS | frozenset({"cancel", "end", "quit", "revoke"})
OPT_IN_KEYWORDS = frozenset({"start", "unstop", "yes"})
HELP_KEYWORDS = frozenset({"help", "info"})

MAX_OPT_OUT_WORDS = 4
LEADING_WORDS = frozenset({"please", "pls", "plz", "kindly", "just", "por", "favor", "bitte", "svp"})
OPT_OUT_TRAILING_WORDS = LEADING_WORDS | OPT_OUT_KEYWORDS | frozenset(
    {
        "thanks", "thank", "you", "thx", "ty", "gracias", "merci", "danke", "obrigado", "obrigada",
        "me", "us", "now", "asap", "immediately", "already", "sms",
        "text", "texts", "texting", "message", "messages", "messaging", "msgs",
        "sending", "contacting", "calling", "emailing", "emails",
        "mensajes", "mensagens", "nachrichten", "más", "mais", "plus", "mehr",
    }
)

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_OPT_OUT_PHRASE = re.compile(r"\bopt[\s-]*out\b")


def _words(text: str) -> list[str]:
    """Case-folded words with punctuation dropped; "opt out" / "opt-out" read as the OPTOUT keyword."""
    normal = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    return _WORD.findall(_OPT_OUT_PHRASE.sub("optout", normal))


def _is_short_opt_out(words: list[str], keywords: frozenset[str]) -> bool:
    """A short message that starts with an opt-out keyword and otherwise only says whom, what or please."""
    if not words or len(words) > MAX_OPT_OUT_WORDS:
        return False
    rest = words[next((i for i, word in enumerate(words) if word not in LEADING_WORDS), len(words)) :]
    return bool(rest) and rest[0] in keywords and all(w in OPT_OUT_TRAILING_WORDS for w in rest[1:])


def keyword_action(text: str | None, opted_out: bool = False, carrier: bool = True) -> KeywordAction | None:
    """The keyword action an inbound SMS (or WhatsApp message: `carrier=False`) asks for, or None for an ordinary
    reply. The carrier SMS keywords CANCEL, END, QUIT and REVOKE count only on SMS: on WhatsApp, as in an email,
    "cancel" is more likely talk about an order than an opt-out.

    Carriers honour only the exact keyword; we match case-insensitively with surrounding whitespace and
    punctuation ignored ("Stop.", " stop! ", "STOP!!!"), and are more protective for opt-out: a message of
    at most four words whose first word (after "please"/"just") is an opt-out keyword and whose other words
    only name the contact or add politeness ("stop please", "please stop", "Stop texting me") opts out, while
    "stop charging me twice" or "cancel my order" is a complaint (None) for the reply classifier. Opt-in
    and help need the exact keyword. "YES" opts in only when the number is opted out; from a subscribed
    number "yes" is an ordinary reply (None).
    """
    words = _words(text or "")
    if len(words) == 1:
        word = words[0]
        if word in HELP_KEYWORDS:
            return KeywordAction.HELP
        if word in OPT_IN_KEYWORDS and (word != "yes" or opted_out):
            return KeywordAction.OPT_IN
    keywords = OPT_OUT_KEYWORDS if carrier else ANY_CHANNEL_OPT_OUT_KEYWORDS
    return KeywordAction.OPT_OUT if _is_short_opt_out(words, keywords) else None
