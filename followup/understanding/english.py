"""Reply understanding: does a customer's reply to a check-in need a person? (pure; no Flask, no database)."""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from followup.keywords import ANY_CHANNEL_OPT_OUT_KEYWORDS, OPT_OUT_KEYWORDS

log = logging.getLogger(__name__)

INTENTS = ("reopen", "resolved", "ack", "opt_out")
NEEDS_READING = "needs a person to read"
MAX_CHARS = 2000  # a longer reply (after quoted email is dropped) is a letter: a person reads it
SENTIMENT_CHARS = 600  # VADER's time grows with the square of the length


@dataclass(frozen=True)
class ReplyContext:
    """Optional hints from the check-in the customer is answering."""

    channel: str | None = None  # "sms" | "email" | "console"
    locale: str | None = None
    agent_name: str | None = None


@dataclass(frozen=True)
class ReplyVerdict:
    """What the reply asks of us, how sure we are, and why (the reasons are shown to an agent)."""

    intent: str
    confidence: float
    reasons: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"intent": self.intent, "confidence": round(self.confidence, 2), "reasons": list(self.reasons)}


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    """Built on first use (it reads its lexicons from disk), then shared."""
    return SentimentIntensityAnalyzer()


def _rx(pattern: str) -> re.Pattern[str]:
    """Rules read lower-cased text (case-insensitive matching is several times slower)."""
    return re.compile(pattern)


# --- words and phrases: how people write, not rows of any data set ---------------------------------
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = _rx(r"(?<!\w)@\w+")
_QUOTED_EMAIL = re.compile(r"^\s*(?:on\b.{0,120}\bwrote:|-{2,} ?original message|from: .+@|sent from my \w+)",
                           re.IGNORECASE | re.MULTILINE)
_TOKEN = _rx(r"[a-z0-9]+(?:'[a-z]+)?")
_CHUNK = _rx(r"[^.!?;\n…]+[.!?;\n…]*")
_CONTRAST = _rx(r"\b(?:but|however|though|although|except|yet)\b")

_OPT_OUT_WORDS = ANY_CHANNEL_OPT_OUT_KEYWORDS | {"opt out", "stop all"}
_SMS_OPT_OUT_WORDS = OPT_OUT_KEYWORDS - ANY_CHANNEL_OPT_OUT_KEYWORDS  # carrier keywords: by SMS only
_POLITE = {"please", "pls", "plz", "just", "now", "thanks", "thank", "you", "thx", "asap"}
_CONTACT = r"(?:text|sms|message|messag|e-?mail|mail|call|contact|survey|follow[- ]?up|check[- ]?in|notification)\w*"
_OPT_OUT = [
    _rx(r"\b(?:stop|quit|cease)\s+(?:all\s+)?(?:texting|messaging|e-?mailing|contacting|calling|sending|spamming|"
        r"bothering|pinging)\b"),
    _rx(r"\b(?:don'?t|do not|never)\s+(?:ever\s+)?(?:text|message|e-?mail|contact|call|bother|ping)\s+(?:me|us)\b"),
    _rx(rf"\b(?:unsubscribe|remove|take)\s+(?:me|us)\s+(?:from|off)\s+(?:\w+\s+){{0,3}}(?:{_CONTACT}|list|mailing)"),
    _rx(rf"\bno\s+more\s+{_CONTACT}"),
    _rx(r"\bopt me out\b|\bopt(?:ing)?[\s-]*out of (?:these|this|the|your|all|any)\b|"
        r"\bi (?:want|wish|would like|'d like) to opt[\s-]*out\b|^opt[\s-]*out\b|\bleave me alone\b"),
]
_CHURN = _rx(r"\b(?:cancel+(?:ing|ed)?|unsubscrib\w*|leaving|quitting|switch\w*|going back to|moving to|done with)\b"
             r"[^.!?]*\b(?:subscription|premium|account|plan|family|spotify|apple music|tidal|deezer|youtube|amazon)\b"
             r"|\bi'?m\s+unsubscribing\b|#timetoswitch")

_NEGATORS = {"not", "no", "never", "nothing", "neither", "nor", "none", "nobody", "cannot", "without", "cant",
             "dont", "doesnt", "didnt", "wont", "isnt", "wasnt", "arent", "werent", "havent", "hasnt", "couldnt",
             "wouldnt", "aint", "nope", "nah"}
_FUNCTION = set(
    "work works worked working fix fixed fixes help helped helps helping helpful resolve resolved solve solved "
    "play plays played playing load loads loaded loading connect connects connected sync synced download "
    "downloaded downloading open opens opened show shows showing appear appears start starts started respond "
    "responding change changed changes find found see seen log login sign hear read listen answer reply stream "
    "arrive arrived came come deliver delivered receive received get got refund refunded "
    "streaming luck avail difference improvement solution sound audio option".split())
_NO_WORRIES = {"worries", "worry", "problem", "problems", "prob", "probs", "issues", "need"}  # "no" that is not a no
_FIXED_WORDS = {"works", "worked", "working", "fixed", "sorted", "solved", "resolved", "helped", "helps", "helpful"}
_FUTURE = {"hope", "hopefully", "wish", "once", "until", "when", "if", "will", "would", "should", "could", "need",
           "want", "get", "gets", "getting", "might", "may", "to"}
_COMPARE = {"on", "with", "w", "without", "from", "in", "for", "when", "if", "through", "via", "elsewhere",
            "everywhere", "except", "apart", "outside", "other"}
_FIXED_PHRASE = _rx(r"\b(?:all (?:good|set|sorted|fixed|working)|did the trick|does the trick|back to normal|"
                    r"up and running|(?:much|way|lot|loads) better|better now|good now|fine now|just what i needed|"
                    r"problem solved|got it (?:to )?work\w*|(?:more )?stable now|sorted now|improv(?:ed|ing)|"
                    r"worked a treat|(?:is|are|'re|'s|its) back(?: now)?|back now|figured it out|found it|"
                    r"worked it out|never ?mind|all is (?:well|good|fine)|(?:a|just a) (?:fluke|one[- ]off)|"
                    r"(?:problem|issue|error|bug)s? (?:is |are |has |have )?(?:now )?"
                    r"(?:gone|fixed|resolved|solved|sorted)|"
                    r"(?:shows|showing) up (?:now|fine|again)|(?:is|are) (?:all )?showing (?:up|correctly|properly))\b")
_TEMPORARY = _rx(r"\b(?:for now|for a (?:bit|while|little while|few \w+|day)|briefly|temporar\w*|at first|no longer|"
                 r"at least|sort of|kind of|partly|partially|technically|intermittent\w*|some issues|sometimes|"
                 r"for (?:\d+|one|a) (?:day|hour|minute)s?)\b")

_UNRESOLVED = _rx(r"\bstill\b|\bpersist\w*|\bsame (?:issue|problem|error|thing|result|bug|message|songs?|again)\b|"
                  r"\b(?:is|it'?s|was|all) the same\b|\bkeeps \w+ing\b|\bkept \w+ing\b|\bused to\b|"
                  r"\bany (?:news|update|updates|progress|word)\b|\bnot yet\b|\bwaiting (?:for|on)\b|\bevery ?time\b|"
                  r"\bnow (?:it )?(?:doesn'?t|does not|won'?t)\b|\bstopped (?:working|playing)\b|\bdon'?t think so\b|"
                  r"\bwhat'?s the status\b|\balways happening\b|\b(?:does|did|do|doing) nothing\b|"
                  r"\bnothing (?:happens|happened|changed|works|loads|plays)\b|"
                  r"\b(?:tried|done|did) (?:all|everything|every)\b|"
                  r"\bnothing (?:\w+ ){0,2}(?:can|will|could) (?:be )?do(?:ne)?\b|\bnothing to be done\b|"
                  r"\b(?:been|keeps?) (?:going on|happening)\b|\bgoing on for\b")
_AGAIN = _rx(r"\bagain\b")
_TROUBLE = _rx(r"\b(?:not|no|never|error|issue|problem|crash\w*|broke\w*|stopp?\w*|fail\w*|happen\w*|same|wrong|"
               r"stuck|bug\w*|glitch\w*|skip\w*|freez\w*|froze\w*|gone|lost|missing)\b|n't\b")
_CONDITIONAL = _rx(r"\b(?:if|in case|whenever|should)\b[^.!?,;]*")
_PROBLEM_STATE = _rx(r"\b(?:broken|wrong|missing|gone|stuck|frozen|freez\w+|crash(?:es|ed|ing)?|glitch\w*|lag\w*|"
                     r"skipp?(?:s|ing)|fail(?:s|ed|ing|ure)?|unable|impossible|unavailable|unstable|wonky|buggy|"
                     r"(?:super|very|so|too) slow|disappear\w*|lost|weird|strange|greyed out|grayed out|cuts? out)\b|"
                     r"\b(?:issue|problem|bug|error)s? "
                     r"(?:is|are|affects?|occurs?|happens?|remains?|exists?|persists?)\b")
_COMPLAINT = _rx(r"\b(?:useless|pointless|terrible|awful|horrible|crap\w*|shit\w*|shoddy|ridiculous|joke|lame|"
                 r"frustrat\w*|disgust\w*|worst|pathetic|bogus|garbage|rubbish|trash|wtf|argh+|ugh+|fed up|sick of|"
                 r"annoy\w*|disappoint\w*|unacceptable|waste|scam|bot|robot|automated|canned|parody|madness|vague|"
                 r"unfortunately|sadly|afraid|no one|nobody|nowhere|not a (?:solution|fix|answer)|makes? no sense|"
                 r"doesn'?t make sense|slap in the face|sad|unhappy|angry|upset|hate|ignor\w+|nonsense|excuses|"
                 r"stinks|sucks|urgent|betrayed|leaking)\b")
_SARCASM = _rx(r"\b(?:thanks|thank you|thx|ty|cheers)\s+(?:a lot\s+)?for (?:nothing|nothin|absolutely nothing|"
               r"wasting|the (?:useless|canned|copy))|\byeah,? right\b|\boh,? great\b|\bsure,? but\b|/s\b|#thanks\b")
_SARCASM_EMOJI = "🙃🙄😒😑"
_SAD_EMOJI = "😞😟😢😭😡😠🤬😤😕😐☹🙁😩😫💔👎😔😣😖🤦"
_IDIOMS = re.compile(r"\b(?:can'?t|cannot) (?:wait|thank you enough|complain)\b|\bcouldn'?t be happier\b|"
                     r"\bno (?:worries|problem)\b", re.IGNORECASE)  # VADER reads these as negative
_NEG_EMOJI = re.compile(f"[{_SARCASM_EMOJI}{_SAD_EMOJI}]")
_HAPPY_EMOJI = "♥🙏❤💜💗💙💚💛🧡😍🥰🙌🎉😊☺🤩💯👍👌😁😀😃😄🙂😘✨🔥"
_EMOTICON_SAD = _rx(r"(?:^|\s)(?::-?\(|:'\(|:-?/(?!/)|\):|\)\)|d:|;_;|:-?\[|>:\()")
_DM = _rx(r"(?:^|\b(?:i|i'?ve|i have|we|we'?ve|just|already|have|has|ok|okay|and)\s+)(?:just\s+|already\s+)?"
          r"(?:dm'?d|dm'?ed|dmed|pm'?d|sent|replied|e-?mailed|messaged|submitted|forwarded)\b(?! me\b| us\b)|"
          r"\b(?:dm|it|e-?mail|message|details|info) (?:is|was|has been|have been) sent\b|\bshot it off\b|"
          r"\b(?:check (?:your |my |the )?(?:dms?|inbox|messages?|e-?mail)|"
          r"(?:in|to) (?:your|the) (?:dms?|inbox|mailbox)|"
          r"i can dm|i'?ll dm|will dm)\b")
_DM_IF = _rx(r"\bdm\b[^.!?]*\bif\b")
_QUESTION = _rx(r"\?|^(?:how|why|what|where|who|which)\b[^.!]*$|"
                r"\b(?:any (?:idea|help|ideas|suggestions)|is there (?:a|any)|how (?:do|can|come)|"
                r"what (?:do|should|can))\b")
_REQUEST = _rx(r"(?<!to )\bhelp me\b|\b(?:please(?! do\b)|pls|plz|asap|i need|we need|i want|i would like|i'?d like|"
               r"tell me|show me|let me know|you should|you need to|should (?:allow|let|have|be able)|can you|can u|"
               r"could you|would you|i wish|"
               r"fix (?:it|this|that)|would make|"
               r"would be (?:nice|great|good|better|awesome|helpful|easier) (?:if|to))\b|"
               r"^(?:(?:so|just|then|pls|please) )?(?:add|make|fix|bring|give|allow|change|remove|put|update|enable)\b"
               r"(?! (?:it|that|this) a (?:go|try|shot)\b)")
_NO_START = _rx(r"^(?:no|nope|nah|nop|not|negative|never)\b(?!\s+(?:worries|worry|problem|probs?|need|stress)\b)")
_YES_START = _rx(r"^(?:yes|yeah|yep|yup|yea|ya)\b")
_GRATITUDE = _rx(r"\b(?:thanks?|thank(?:s| you| u| ya|youu+)?|thx|thnx|thnks|thks|thanx|tnx|tks|ty|cheers|"
                 r"appreciate\w*|grateful|kudos|much obliged)\b|thank\s*you")
_CLOSURE_THANKS = _rx(r"\b(?:thanks?|thank you|thx|appreciate)\b[^.!?]{0,20}\b(?:the|your|all the|all your) "
                      r"(?:help|time|support|assistance|answer|response|responsiveness|information|info)\b|"
                      r"\b(?:thanks?|thank you|thx)\b[^.!?]{0,20}\b(?:getting back|replying|responding|"
                      r"the (?:quick |fast |speedy )?(?:reply|response))\b")
_PRAISE = _rx(r"\b(?:amazing|awesome|brilliant|perfect|great|excellent|fantastic|wonderful|legend\w*|rock|rocks|"
              r"superb|splendid|the best|love (?:you|u|it|this)|you'?re the best|star|champ|lifesaver|life saver|"
              r"well done|well played|nailed it|nailed|nicely done|good job|nice one|cutest|sweetest)\b")
_WEAK_ACK = _rx(r"(?:^|[.!?,]\s*)sure\b|\b(?:ok|okay|okie\w*|okk+|k|kk|alright|all right|got it|i see|understood|"
                r"noted|roger|fair enough|makes sense)\b")
_ACK = _rx(r"(?:^|[.!?,]\s*|\b(?:i|ok|okay|sure|yes|yep)\s+)will do\b|(?:^|[.!?,]\s*)(?:done|added|on it)\b|"
           r"\b(?:sounds good|please do|"
           r"(?:i'?ll|i will|will) (?:try|give|do|check|test|keep|update|report|follow|perform|get back|monitor|"
           r"look (?:into|at|for|out)|see (?:if|how|what|whether))|let you know|"
           r"give (?:it|that|this) a (?:go|try|shot)|"
           r"let me(?! know)|doing (?:it|that|this) now|trying (?:it|that|this) now|keep me posted|just did|"
           r"did that|done that|i have now|i did it|i'?m (?:gonna|going to)|i'?ll just|"
           r"(?:^|[.!?,]\s*)no (?:problem|worries|probs?)(?! (?:on|with|in|when|from|since)\b)|"
           r"(?:^|[.!?,]\s*)have done\b(?! all| every)|done so|have a (?:go|try|look)|"
           r"(?:haven'?t|have not|not) (?:had a chance|got round|gotten around|tried (?:it |that |this )?yet)|"
           r"(?:i (?:really )?|i'?m )?hop(?:e|ing)(?! (?:that|this)\b| it helps)|hopefully|fingers crossed)\b")
_DETAIL = _rx(r"\b(?:iphone|ipad|ipod|android|ios|macos|osx|mac|macbook|imac|windows|win ?10|pc|laptop|desktop|"
              r"computer|phone|mobile|tablet|chromebook|samsung|pixel|galaxy|huawei|xiaomi|oneplus|sonos|alexa|echo|"
              r"google home|chromecast|roku|playstation|ps4|xbox|tv|car|carplay|watch|web ?player|browser|chrome|"
              r"firefox|safari|version|update[ds]?|os|wi-?fi|4g|lte|3g|5g|mobile data|bluetooth|headphones?|earpods|"
              r"earbuds|airpods|speakers?|router|vpn|network|cache|sd card|storage|gb|mb|region|country|app|device|"
              r"devices|username|user name|password|e-?mail|login|tried|restart\w*|reboot\w*|re-?install\w*|"
              r"uninstall\w*|re-?download\w*|"
              r"logg?(?:ed|ing) (?:out|in)|signed (?:in|out)|clear\w*|delet\w*|reset|unlink\w*|re-?link\w*|"
              r"screenshots?|screen shot|attached|here you go|here it is|here'?s|here is|for example|it says|"
              r"says|shows|message|issue|problem|bug|both|neither|either|only|facebook|account|"
              r"hope (?:that|this) helps)\b"
              r"|\d+(?:\.\d+)+")
_SHORT = {
    "reopen": {"no", "n", "nope", "nah", "nop", "not really", "no luck", "not yet", "negative", "still no",
               "nope still",
               "no it didn't", "didn't work", "didnt work", "not working", "still broken", "still not working",
               "doesn't work", "no change", "same", "same thing", "same issue", "nothing", "help", "why", "hello",
               "anyone", "hello?"},
    "resolved": {"yes", "y", "yep", "yeah", "yup", "ya", "yea", "thanks", "thank you", "thx", "ty", "tysm", "cheers",
                 "thanks so much", "thank you so much", "many thanks", "perfect", "great", "awesome", "brilliant",
                 "excellent", "it works", "works now", "working now", "fixed", "sorted", "all good", "all sorted",
                 "solved", "resolved", "all fixed", "yes thanks", "yes thank you", "amazing", "lovely", "cool thanks",
                 "great thanks", "perfect thanks", "much appreciated", "appreciated", "thank u", "thanks a lot"},
    "ack": {"ok", "okay", "k", "kk", "okie", "okies", "alright", "will do", "i'll try that", "ill try that",
            "i will try that", "will try", "i'll try", "done", "sure", "got it", "noted", "understood", "roger",
            "on it", "sounds good", "fine", "ok thanks", "okay thanks", "ok thank you", "okay thank you",
            "ok will do", "will try that", "i'll give it a go", "just did", "did it", "i see", "you too", "same to you",
            "likewise"},
}
_SHORT_EMOJI = {"reopen": "👎😡😠🤬😤😞😢😭🙄🙃😒", "resolved": "🙏❤💜💗💙💚😍🥰🙌🎉😊☺🤩💯", "ack": "👍👌🆗✅"}

_EN = set(  # common English words that are not also common in the languages below
    "the is it i you to and of not that this my on for with but have was be do can just thanks thank are we your "
    "its it's i'm i've don't didn't still again works worked work fixed help what how why when yes ok okay please "
    "now app phone song songs there here they he she our from at all any get got one".split())
_FOREIGN = set(
    "el la los las que de y en es por para con una mi mis tu su lo del al como pero porque muy gracias hola ya "
    "sigue sin funciona está estoy tengo puedo hay también todavía nada le les et est pas ne je vous merci pour "
    "avec dans sur mais rien mon ça c'est toujours marche der die das und ist nicht ich bitte aber kann mein meine "
    "danke mit ein eine auf funktioniert noch immer geht não obrigado obrigada ainda você isso meu minha il non "
    "grazie è che ancora funziona mio het een niet nog werkt bedankt ik tack så mycket inte och jag tidak terima "
    "kasih saya belum sudah masih teşekkürler değil hala".split()) - {"die", "me", "no", "a", "in", "so", "an"}


_CHECKS = ((_UNRESOLVED, "unresolved"), (_PROBLEM_STATE, "problem"), (_COMPLAINT, "complaint"),
           (_SARCASM, "sarcasm"), (_CHURN, "churn talk, not an opt-out"), (_QUESTION, "question"),
           (_REQUEST, "request"))


def _sentiment(text: str) -> float:
    """VADER compound score, idioms it misreads made plain; a neutral 0.0 if the model chokes on odd input."""
    try:
        return float(_analyzer().polarity_scores(_IDIOMS.sub(" great ", text[:SENTIMENT_CHARS]))["compound"])
    except Exception:  # noqa: BLE001 - a broken score must not hide the reply from a person
        log.warning("sentiment model failed on a reply", exc_info=True)
        return 0.0


def _normalise(text: str) -> tuple[str, bool]:
    """What the rules read: NFKC, straight apostrophes, no quoted email, links or @handles; and was a link sent."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    text = _QUOTED_EMAIL.split(text, maxsplit=1)[0]
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
    return _HANDLE.sub(" ", _URL.sub(" ", text)).strip(), bool(_URL.search(text))


def _without_agent_name(norm: str, context: ReplyContext | None) -> str:
    """Drop the agent's name, so "Thanks Will" or "Cheers Hope" is not read as "will…" or "hope…"."""
    names = re.findall(r"[^\W\d_]{2,}", (context.agent_name or "") if context else "")
    return re.sub(r"\b(?:%s)\b" % "|".join(map(re.escape, names)), " ", norm, flags=re.IGNORECASE) if names else norm


def _unreadable(norm: str, context: ReplyContext | None) -> str | None:
    """Why nobody here can read the reply automatically (empty, symbols, another script or language)."""
    letters = [c for c in norm if c.isalpha()]
    latin = sum(1 for c in letters if c.isascii() or unicodedata.name(c, "").startswith("LATIN"))
    if latin < 0.5 * len(letters):
        return "mostly non-Latin script"
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", norm.lower())
    foreign = sum(w in _FOREIGN for w in words)
    english = sum(w in _EN for w in words)
    locale_hint = bool(context and context.locale and not context.locale.lower().startswith("en"))
    if foreign > 2 * english and (foreign >= 2 or len(words) <= 2 or locale_hint):
        return "looks like another language"
    return None


def _opt_out(norm: str, context: ReplyContext | None) -> ReplyVerdict | None:
    """A bare opt-out keyword, or a plain ask to stop contacting them (not churn talk about the product)."""
    key = " ".join(w for w in re.findall(r"[a-z]+", norm.lower()) if w not in _POLITE)  # "stop please"
    sms = bool(context and (context.channel or "").lower() == "sms")
    if key in _OPT_OUT_WORDS or (sms and key in _SMS_OPT_OUT_WORDS):
        return ReplyVerdict("opt_out", 0.99, (f"opt-out keyword: {key.upper()}",))
    for pattern in _OPT_OUT:
        if m := pattern.search(norm.lower()):
            return ReplyVerdict("opt_out", 0.9, (f"asks not to be contacted: '{m.group(0).strip()}'",))
    return None


def _short_reply(norm: str) -> ReplyVerdict | None:
    """Very short replies ("no", "ok", "thanks!") carry no other cues, so a table reads them."""
    if any(e in norm for e in _SAD_EMOJI + _SARCASM_EMOJI):
        return None
    key = " ".join(_TOKEN.findall(norm.lower()))
    for intent, phrases in _SHORT.items():
        if key in phrases or key.replace("'", "") in phrases:
            confidence = 0.7 if key in {"yes", "yep", "yeah", "yup", "ya", "yea", "done", "sure"} else 0.85
            return ReplyVerdict(intent, confidence, (f"short reply: '{key}'",))
    return None


def _emoji_only(norm: str) -> ReplyVerdict | None:
    """A reply of only emoji whose meaning is plain (👍, 🙏, 👎)."""
    for intent, emoji in _SHORT_EMOJI.items():
        if any(e in norm for e in emoji):
            return ReplyVerdict(intent, 0.6, (f"emoji-only reply: {norm[:10]}",))
    return None


def _tokens(sentence: str) -> list[re.Match[str]]:
    """Words with their offsets, so cues can be put in reading order."""
    return list(_TOKEN.finditer(sentence))


def _words(tokens: list[re.Match[str]]) -> list[str]:
    """Bare words; people drop apostrophes as often as they type them."""
    return [t.group(0).replace("'", "") for t in tokens]  # "didn't" reads as "didnt"


def _negated(words: list[str], j: int) -> str | None:
    """The negator governing words[j] within three words before it ("didn't really work", "no luck")."""
    for k in range(max(0, j - 3), j):
        if words[k] in _NEGATORS and not (words[k] == "no" and k + 1 < len(words) and words[k + 1] in _NO_WORRIES):
            return words[k]
    return None


def _negated_before(text: str, start: int) -> bool:
    """One of the two words before text[start] is a negator."""
    return bool(set(_words(_tokens(text[max(0, start - 40):start]))[-2:]) & _NEGATORS)


def _fixed_cue(words: list[str], j: int) -> bool:
    """words[j] ("works", "fixed"…) states a fix: not negated, hoped for, or about another device."""
    before, after = words[max(0, j - 3):j], words[j + 1:j + 3]
    if _negated(words, j) or any(w in _FUTURE - {"to"} for w in before) or (before and before[-1] == "to"):
        return False
    return not (after and (after[0] in _COMPARE or (after[0] in {"fine", "ok", "okay", "well", "perfectly"}
                                                    and len(after) > 1 and after[1] in _COMPARE)))


def _word_cues(at: int, sentence: str, problem: list, fixed: list) -> list[tuple[int, int]]:
    """Negated actions ("didn't work") and stated fixes ("works now"); returns the spans of fix phrases."""
    tokens = _tokens(sentence)
    words = _words(tokens)
    temporary = _TEMPORARY.search(sentence)
    for j, word in enumerate(words):
        where = at + tokens[j].start()
        if word in _FUNCTION and (neg := _negated(words, j)):
            problem.append((where, f"negation: '{neg} … {word}'"))
        elif word.endswith("ing") and len(word) > 5 and j and words[j - 1] in {"not", "isnt", "arent", "wasnt"}:
            problem.append((where, f"negation: '{words[j - 1]} {word}'"))  # "just not populating"
        elif word in _FIXED_WORDS and _fixed_cue(words, j):
            (problem if temporary else fixed).append(
                (where, f"only a partial fix: '{temporary.group(0)}'" if temporary else f"fixed: '{word}'"))
    spans = []
    for m in _FIXED_PHRASE.finditer(sentence):
        if not _negated_before(sentence, m.start()):  # "haven't figured it out"
            (problem if temporary else fixed).append((at + m.start(), f"fixed: '{m.group(0)}'"))
            spans.append(m.span())
    return spans


def _sentence_cues(at: int, sentence: str, problem: list, fixed: list) -> None:
    """Problem cues (reopen) and fix cues (resolved) of one sentence, each with its offset in the reply."""
    spans = _word_cues(at, sentence, problem, fixed)
    factual = _CONDITIONAL.sub(lambda m: " " * len(m.group(0)), sentence)  # "if it breaks again" states nothing
    for pattern, label in _CHECKS:
        text = factual if label in ("unresolved", "problem") else sentence
        for m in pattern.finditer(text):
            if any(lo <= m.start() < hi for lo, hi in spans):  # "the problem is gone"
                continue
            if label != "problem" or not _negated_before(text, m.start()):  # "not skipping" is good news
                problem.append((at + m.start(), f"{label}: '{m.group(0).strip()}'"))
                break
    if (m := _AGAIN.search(factual)) and _TROUBLE.search(factual):
        problem.append((at + m.start(), "unresolved: 'again' + problem words"))
    if (m := _DM.search(sentence)) and not _DM_IF.search(sentence):
        problem.append((at + m.start(), f"sent details, waiting for the agent: '{m.group(0)}'"))
    if at == 0 and (m := _NO_START.search(sentence)):
        problem.append((0, f"answers '{m.group(0)}'"))
    for m in _NEG_EMOJI.finditer(sentence):
        e = m.group(0)
        problem.append((at + m.start(), f"{'sarcasm' if e in _SARCASM_EMOJI else 'negative emoji'}: {e}"))
    if m := _EMOTICON_SAD.search(sentence):
        problem.append((at + m.start(), f"negative emoticon: '{m.group(0).strip()}'"))


def _shouting(norm: str) -> bool:
    """Two or more ALL-CAPS words (not acronyms), or a whole short reply in caps."""
    words = re.findall(r"[A-Za-z']{3,}", norm)
    caps = [w for w in words if w.isupper() and w not in {"USA", "MP3", "LTE", "VPN", "FYI", "LOL", "OMG", "ASAP",
                                                           "DMS", "APP", "SMS", "CEO", "PIN", "MAC", "AND", "OSX"}]
    whole = norm.isupper() and len(norm.split()) >= 2  # "FIX IT"
    return whole or len(caps) >= 2 or (len(caps) == 1 and len(words) <= 2 and len(caps[0]) >= 4)


def _verdict(intent: str, confidence: float, reasons: list[str]) -> ReplyVerdict:
    """A verdict an agent can scan: confidence clamped to 0..1, at most six distinct reasons."""
    unique = tuple(r if len(r) <= 90 else r[:88] + "…'" for r in dict.fromkeys(reasons))[:6]
    return ReplyVerdict(intent, round(max(0.0, min(1.0, confidence)), 4), unique)


def _problem_verdict(low: str, problem: list, compound: float) -> ReplyVerdict:
    """Reopen, with the problem cues in reading order and a note when warm words wrap them."""
    reasons = [r for _, r in sorted(problem, key=lambda cue: (cue[0] < 0, cue[0]))]  # whole-reply cues last
    if (_PRAISE.search(low) or compound >= 0.5) and not any(r.startswith("contrast") for r in reasons):
        reasons.insert(0, "sarcasm or mixed: positive words with a negative fact")
    return _verdict("reopen", min(0.95, 0.55 + 0.1 * len(problem)), reasons)


def _calm_verdict(low: str, attached: bool, compound: float) -> ReplyVerdict:
    """No problem and no fix stated: thanks and praise close, acknowledgements wait, details keep it open."""
    thanks, praise = _GRATITUDE.search(low), _PRAISE.search(low)
    emoji = next((e for e in _HAPPY_EMOJI if e in low), None)
    if m := _CLOSURE_THANKS.search(low):
        return _verdict("resolved", 0.75, [f"thanks for the help: '{m.group(0)}'"])
    if m := _ACK.search(low):
        return _verdict("ack", 0.7, [f"acknowledgement: '{m.group(0).strip(' .,!?')}'"])
    details = list(_DETAIL.finditer(low))
    found = details[-1] if details else _YES_START.search(low) if len(_tokens(low)) > 2 and not thanks else None
    detail = found.group(0) if found else "a link or screenshot" if attached else None
    if (m := _WEAK_ACK.search(low)) and not detail:
        return _verdict("ack", 0.65, [f"acknowledgement: '{m.group(0).strip(' .,!?')}'"])
    if (praise and (not found or praise.start() > found.start())) or ((thanks or emoji) and not detail):
        word = (praise or thanks).group(0) if praise or thanks else emoji
        return _verdict("resolved", 0.75, [f"gratitude/praise: '{word}'"])
    if detail:
        return _verdict("reopen", 0.6, [f"troubleshooting details: '{detail}' (case still open)"])
    if compound >= 0.3 and len(_tokens(low)) <= 5:
        return _verdict("ack", 0.55, [f"short and positive, nothing asked (sentiment {compound:+.2f})"])
    return _verdict("reopen", 0.4, ["unsure: no clear cue, a person should look"])


def _decide(norm: str, attached: bool) -> ReplyVerdict:
    """Rules first, sentiment to break ties: a problem anywhere reopens unless it is followed by a fix."""
    low = norm.lower()
    compound = _sentiment(norm)
    problem: list[tuple[int, str]] = []
    fixed: list[tuple[int, str]] = []
    for chunk in _CHUNK.finditer(low):
        lead = len(chunk.group(0)) - len(chunk.group(0).lstrip())
        _sentence_cues(chunk.start() + lead, chunk.group(0).strip(), problem, fixed)
    if _shouting(norm) and compound < 0.3:
        problem.append((-1, "shouting (ALL CAPS)"))
    if compound <= -0.3:
        problem.append((-1, f"negative tone (sentiment {compound:+.2f})"))
    warm = _GRATITUDE.search(low) or _PRAISE.search(low)
    if warm and (but := _CONTRAST.search(low, warm.end(), warm.end() + 60)):
        problem.append((but.start(), f"contrast: '{warm.group(0)}, {but.group(0)}…'"))  # "thanks, but…"
    if fixed and max(fixed)[0] > max(problem, default=(-2, ""))[0]:
        earlier = [r for at, r in problem if at >= 0]
        reasons = [r for _, r in fixed] + ([f"said it's fixed after: {earlier[-1]}"] if earlier else [])
        return _verdict("resolved", 0.85 - 0.15 * bool(problem) + 0.05 * bool(warm), reasons)
    if problem:
        return _problem_verdict(low, problem, compound)
    return _calm_verdict(low, attached, compound)


def classify_reply(text: str, context: ReplyContext | None = None) -> ReplyVerdict:
    """Decide whether a customer's reply reopens the case; never raises, prefers reopen when unsure."""
    try:
        norm, attached = _normalise((text if isinstance(text, str) else str(text or ""))[:20 * MAX_CHARS])
        if len(norm) > MAX_CHARS:
            return _verdict("reopen", 0.5, [NEEDS_READING, f"long reply ({len(norm)} characters)"])
        if not any(c.isalpha() for c in norm):
            return _emoji_only(norm) or _verdict("reopen", 0.5, [NEEDS_READING, "empty or only symbols"])
        norm = _without_agent_name(norm, context)
        if verdict := _opt_out(norm, context):
            return verdict
        if verdict := _short_reply(norm):
            return verdict
        if why := _unreadable(norm, context):
            return _verdict("reopen", 0.5, [NEEDS_READING, why])
        return _decide(norm, attached)
    except Exception:  # noqa: BLE001 - the contract is "never raises": an odd reply goes to a person
        log.exception("classify_reply failed")
        return _verdict("reopen", 0.3, [NEEDS_READING, "internal error while reading the reply"])
