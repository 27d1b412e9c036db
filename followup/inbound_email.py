"""Reading an inbound email reply: the new text only (no quoted history or signature), its reply token, its
sender, and whether that sender may act on a case."""

import functools
import re
from collections import Counter
from dataclasses import dataclass
from email.utils import getaddresses
from html.parser import HTMLParser

from publicsuffixlist import PublicSuffixList

from aftercare.core.strict_json import parse_json

_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\b.+\bwrote\s*:"
    r"|Le\b.+\ba\s+écrit\s*:"
    r"|Am\b.+\bschrieb\b.*:"
    r"|El\b.+\bescribió\s*:"
    r"|Op\b.+\bschreef\b.*:"
    r"|Il\b.+\bha\s+scritto\s*:"
    r"|Em\b.+\bescreveu\s*:"
    r")\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original)\s*-{2,}"
    r"|_{10,})\s*$",
    re.IGNORECASE,
)
_HEADER = re.compile(
    r"^\s*\**(From|Sent|Date|To|Cc|Subject|De|Envoyé|À|Objet|Von|Gesendet|An|Betreff)\s*\**\s*:",
    re.IGNORECASE,
)
_HEADER_START = re.compile(r"^\s*\**(From|De|Von)\s*\**\s*:", re.IGNORECASE)
_SIGNATURE = re.compile(
    r"^\s*(?:--"
    r"|Sent from my \S.{0,40}"
    r"|Sent from (?:Mail for Windows|Outlook|Yahoo Mail|AOL Mobile Mail|Proton Mail|ProtonMail)\b.{0,30}"
    r"|Get Outlook for \S.{0,30}"
    r"|Envoyé de mon \S.{0,40}"
    r"|Von meinem \S.{0,40} gesendet"
    r"|Gesendet von \S.{0,40}"
    r")\s*$",
    re.IGNORECASE,
)
_INVISIBLE = str.maketrans({"\ufeff": None, "\u200b": None, "\u00a0": " "})
_TOKEN_ADDRESS = re.compile(r"^reply\+([A-Za-z0-9_-]+)@(.+)$", re.IGNORECASE)
_HEADER_WINDOW = 6
_WHITESPACE = re.compile(r"\s+")
_UNKNOWN_MARKED_SECTION = re.compile(r"<!\[(?!(?:if|else|endif|temp|cdata|ignore|include|rcdata)\b)", re.IGNORECASE)
_BROKEN_CHARREF = re.compile(r"&#(?!(?:[0-9]+|[xX][0-9a-fA-F]+)[^0-9a-fA-F])")


def _is_header_block(lines: list[str], start: int) -> bool:
    """A reply header block ("From: … Sent: … To: … Subject:"), not a body line that starts with "From:"."""
    if not _HEADER_START.match(lines[start]):
        return False
    window = lines[start + 1 : start + _HEADER_WINDOW]
    return sum(1 for line in window if _HEADER.match(line)) >= 2


def _attribution_length(lines: list[str], start: int) -> int:
    """Lines taken by an "On … wrote:" line (clients wrap it over two), or 0 when there is none."""
    if _ATTRIBUTION.match(lines[start]):
        return 1
    if start + 1 >= len(lines) or not lines[start].strip() or _ATTRIBUTION.match(lines[start + 1]):
        return 0
    return 2 if _ATTRIBUTION.match(f"{lines[start]} {lines[start + 1]}") else 0


def _next_text_line(lines: list[str], start: int) -> str:
    """The next non-blank line from `start`, or "" at the end."""
    return next((line for line in lines[start:] if line.strip()), "")


def strip_quoted(text: str) -> str:
    """Only what the customer wrote: drop quoted history, reply headers and signatures.

    ">"-quoted lines are dropped wherever they are, so an answer written below or between quotes survives;
    an attribution line ("On … wrote:") followed by ">" quotes is dropped with them, while one followed by
    unquoted history, an Outlook separator or header block, or a signature ends the new text.
    """
    lines = text.translate(_INVISIBLE).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        attribution = _attribution_length(lines, index)
        if attribution:
            if not _next_text_line(lines, index + attribution).lstrip().startswith(">"):
                break
            index += attribution
            continue
        if _SEPARATOR.match(line) or _SIGNATURE.match(line) or _is_header_block(lines, index):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
        index += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


class _TextExtractor(HTMLParser):
    """Collects visible text, skipping quoted history (blockquote, Gmail/Yahoo/Thunderbird quote blocks).

    Every tag costs constant work (amortised): counts of open elements by name and of open hiding elements
    stand in for scanning the stack, which made a page of unclosed tags quadratic.
    """

    SKIP_TAGS = frozenset({"blockquote", "script", "style", "head", "title"})
    SKIP_CLASSES = frozenset({"gmail_quote", "gmail_signature", "yahoo_quoted", "moz-cite-prefix"})
    BLOCK_TAGS = frozenset(
        {"p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ul", "ol", "pre"}
    )
    VOID_TAGS = frozenset(
        {"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source", "track", "embed"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.open_by_name: Counter[str] = Counter()
        self.open_hiding = 0
        self.parts: list[str] = []

    def skipping(self) -> bool:
        """Whether the parser is inside quoted history or non-visible content."""
        return self.open_hiding > 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an element, remembering whether it hides quoted history."""
        if tag == "br" and not self.skipping():
            self.parts.append("\n")
        elif tag in self.BLOCK_TAGS:
            self.line_break()
        if tag not in self.VOID_TAGS:
            hides = tag in self.SKIP_TAGS or self.hiding_class(attrs)
            self.stack.append((tag, hides))
            self.open_by_name[tag] += 1
            self.open_hiding += hides

    def hiding_class(self, attrs: list[tuple[str, str | None]]) -> bool:
        """Whether a class attribute marks the element as a mail client's quote or signature block."""
        return any(name == "class" and not self.SKIP_CLASSES.isdisjoint((value or "").split())
                   for name, value in attrs)

    def handle_endtag(self, tag: str) -> None:
        """Close up to the matching element, tolerating the unclosed tags mail HTML is full of."""
        if self.open_by_name[tag]:
            while self.stack:
                name, hides = self.stack.pop()
                self.open_by_name[name] -= 1
                self.open_hiding -= hides
                if name == tag:
                    break
        if tag in self.BLOCK_TAGS:
            self.line_break()

    def line_break(self) -> None:
        """End the current line once: nested blocks (Gmail's div per line) must not stack blank lines."""
        if not self.skipping() and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        """Keep visible text with HTML whitespace collapsed; source indentation between blocks is not text.

        A non-breaking space counts as text: Outlook writes blank lines as `<p>&nbsp;</p>`.
        """
        at_line_start = not self.parts or self.parts[-1].endswith("\n")
        if not self.skipping() and (data.strip(" \t\r\n\f") or not at_line_start):
            self.parts.append(_WHITESPACE.sub(" ", data))

    def text(self) -> str:
        """The collected text, one line per block, at most one blank line in a row."""
        lines = (line.strip() for line in "".join(self.parts).replace("\xa0", " ").split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """Plain text of an HTML-only reply, without the blockquotes mail clients put quoted history in.

    Linear in the size of the HTML. `feed` stops at the first tag, comment or declaration that is still open at
    the end of the document; HTML5 shows nothing from there on, and letting `close()` re-read that tail from
    every "<" in it is quadratic (python/cpython#135462, CVE-2025-6069, on the Pythons that predate its fix),
    so the tail is dropped instead.
    Two constructs stay text so the parser never stops early for them: a marked section other than the ones
    mail clients write (the parser would raise) and an "&#" that starts no character reference (the parser
    would give up on the markup after it).
    """
    parser = _TextExtractor()
    parser.feed(_BROKEN_CHARREF.sub("&amp;#", _UNKNOWN_MARKED_SECTION.sub("&lt;![", html)))
    if not parser.rawdata.startswith("<"):
        parser.close()
    return parser.text()


def extract_reply(text: str | None, html: str | None) -> str:
    """The customer's new words from an Inbound Parse post: text part preferred, HTML as fallback."""
    body = text if text and text.strip() else html_to_text(html or "")
    return strip_quoted(body)


def _envelope(envelope_json: str | None) -> dict:
    """SendGrid's `envelope` field; a malformed envelope is empty rather than an error."""
    try:
        envelope = parse_json(envelope_json or "{}")
    except ValueError:
        return {}
    return envelope if isinstance(envelope, dict) else {}


def _envelope_recipients(envelope_json: str | None) -> list[str]:
    """Recipients from SendGrid's `envelope` field (`to` is a one-element list)."""
    recipients = _envelope(envelope_json).get("to") or []
    return [recipients] if isinstance(recipients, str) else [str(r) for r in recipients]


def _addresses(headers: list[str]) -> list[tuple[str, str]]:
    """`email.utils.getaddresses`, except that a header nesting comments past the recursion limit (the stdlib
    parser recurses once per "(") yields no address rather than an error."""
    try:
        return getaddresses(headers)
    except RecursionError:
        return []


def reply_token_from_addresses(to: str | None, envelope_json: str | None, inbound_domain: str) -> str | None:
    """The check-in token from `reply+<token>@<inbound_domain>`, which threads a reply to its check-in.

    The SMTP envelope is read first because it is where the mail was actually delivered (it survives Bcc
    and rewritten headers); the `To` header is the fallback.
    """
    domain = inbound_domain.strip().lstrip("@").casefold()
    candidates = _envelope_recipients(envelope_json) + ([to] if to else [])
    for _, address in _addresses(candidates):
        match = _TOKEN_ADDRESS.match(address.strip())
        if match and match.group(2).casefold() == domain:
            return match.group(1)
    return None


def reply_sender(from_header: str | None, envelope_json: str | None) -> str:
    """The address a reply claims to come from: the `From` header, else the envelope sender (lower case)."""
    address = next((address for _, address in _addresses([from_header or ""])), "")
    if not address:
        sender = _envelope(envelope_json).get("from")
        address = sender if isinstance(sender, str) else ""
    return address.strip().lower()


@dataclass(frozen=True)
class ReplyTrust:
    """Whether an email reply may act on a case (close, reopen, opt out), and why; the reason is shown to the
    person who reads a reply that may not."""

    trusted: bool
    reason: str


TOKEN_TRUST = ReplyTrust(True, "valid reply token")
_DKIM_ENTRY = re.compile(r"\s*@([^\s:@{},]+)\s*:\s*([A-Za-z]+)")
_SHOWN_SIGNATURES = 3


def dkim_results(dkim: str | None) -> list[tuple[str, str]]:
    """(domain, result) pairs from SendGrid's `dkim` field, e.g. "{@a.example : pass, @b.example : fail}".

    "none" (no signature) gives none; entries of another shape (SendGrid has posted verifier errors there)
    are left out, so they never count as a pass.
    """
    body = (dkim or "").strip().removeprefix("{").removesuffix("}")
    entries = (_DKIM_ENTRY.fullmatch(entry.split("(")[0].rstrip()) for entry in body.split(","))
    return [(domain, m.group(2).lower()) for m in entries if m and (domain := _ascii_domain(m.group(1)))]


def _ascii_domain(domain: str | None) -> str | None:
    """A domain as DNS and DKIM write it (A-labels, lower case, no trailing dot), or None if it is not one."""
    domain = (domain or "").strip().rstrip(".")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    return ascii_domain if "." in ascii_domain else None


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def domains_aligned(authenticated: str, sender: str) -> bool:
    """DMARC's relaxed alignment (RFC 7489 §3.1): the same organisational domain, so a signature by
    mail.club.example vouches for club.example, and one by gappssmtp.com or sendgrid.net does not."""
    if authenticated == sender:
        return True
    organisation = _public_suffixes().privatesuffix(sender)
    return organisation is not None and organisation == _public_suffixes().privatesuffix(authenticated)


def sender_trust(from_header: str | None, *, spf: str | None, dkim: str | None,
                 envelope_json: str | None) -> ReplyTrust:
    """Whether SendGrid's own checks vouch for the `From` domain: a DKIM pass for it, or an SPF pass for an
    envelope sender in it (SPF checks the envelope, not the header). The header alone is whatever the sender
    typed. A header naming several addresses (or an address as its display name) is never vouched for: which
    one a mail client shows is not which one the signature covers.
    """
    addresses = [address for _, address in _addresses([from_header or ""]) if address]
    if (from_header or "").count("@") != 1 or len(addresses) != 1:
        return ReplyTrust(False, "the From header does not name exactly one address")
    domain = _ascii_domain(reply_sender(from_header, None).rpartition("@")[2])
    if domain is None:
        return ReplyTrust(False, "the From address has no usable domain")
    signatures = dkim_results(dkim)
    for signer, result in signatures:
        if result == "pass" and domains_aligned(signer, domain):
            return ReplyTrust(True, f"DKIM pass for {signer}")
    spf_result = ((spf or "").split() or ["none"])[0].lower()
    envelope_sender = _envelope(envelope_json).get("from")
    envelope_domain = _ascii_domain(envelope_sender.rpartition("@")[2]) if isinstance(envelope_sender, str) else None
    if spf_result == "pass" and envelope_domain and domains_aligned(envelope_domain, domain):
        return ReplyTrust(True, f"SPF pass for {envelope_domain}")
    seen = ", ".join(f"{signer} {result}" for signer, result in signatures[:_SHOWN_SIGNATURES]) or "none"
    return ReplyTrust(False, f"sender not verified: no DKIM or SPF pass for {domain} "
                             f"(DKIM: {seen}; SPF: {spf_result} for {envelope_domain or 'no envelope sender'})")


def reply_trust(*, token_matched: bool, from_header: str | None, spf: str | None, dkim: str | None,
                envelope_json: str | None) -> ReplyTrust:
    """SPEC §8: an email reply acts on a case only with a valid reply token (sent only to the customer's
    address) or when SendGrid's SPF/DKIM verdicts vouch for the sender's domain; anything else is read by a
    person."""
    if token_matched:
        return TOKEN_TRUST
    return sender_trust(from_header, spf=spf, dkim=dkim, envelope_json=envelope_json)
