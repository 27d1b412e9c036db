"""Reading an inbound email reply: the new text only (no quoted history or signature) and its reply token."""

import re
from email.utils import getaddresses
from html.parser import HTMLParser

from aftercare.strict_json import parse_json

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
    """Collects visible text, skipping quoted history (blockquote, Gmail/Yahoo/Thunderbird quote blocks)."""

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
        self.parts: list[str] = []

    def skipping(self) -> bool:
        """Whether the parser is inside quoted history or non-visible content."""
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an element, remembering whether it hides quoted history."""
        classes = set((dict(attrs).get("class") or "").split())
        if tag == "br" and not self.skipping():
            self.parts.append("\n")
        elif tag in self.BLOCK_TAGS:
            self.line_break()
        if tag not in self.VOID_TAGS:
            self.stack.append((tag, tag in self.SKIP_TAGS or bool(classes & self.SKIP_CLASSES)))

    def handle_endtag(self, tag: str) -> None:
        """Close up to the matching element, tolerating the unclosed tags mail HTML is full of."""
        if any(name == tag for name, _ in self.stack):
            while self.stack and self.stack.pop()[0] != tag:
                pass
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
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        """The collected text, one line per block, at most one blank line in a row."""
        lines = (line.strip() for line in "".join(self.parts).replace("\xa0", " ").split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """Plain text of an HTML-only reply, without the blockquotes mail clients put quoted history in."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


def extract_reply(text: str | None, html: str | None) -> str:
    """The customer's new words from an Inbound Parse post: text part preferred, HTML as fallback."""
    body = text if text and text.strip() else html_to_text(html or "")
    return strip_quoted(body)


def _envelope_recipients(envelope_json: str | None) -> list[str]:
    """Recipients from SendGrid's `envelope` field; a malformed envelope yields none rather than an error."""
    try:
        recipients = parse_json(envelope_json or "{}").get("to") or []
    except (ValueError, AttributeError):
        return []
    return [recipients] if isinstance(recipients, str) else [str(r) for r in recipients]


def reply_token_from_addresses(to: str | None, envelope_json: str | None, inbound_domain: str) -> str | None:
    """The check-in token from `reply+<token>@<inbound_domain>`, which threads a reply to its check-in.

    The SMTP envelope is read first because it is where the mail was actually delivered (it survives Bcc
    and rewritten headers); the `To` header is the fallback.
    """
    domain = inbound_domain.strip().lstrip("@").casefold()
    candidates = _envelope_recipients(envelope_json) + ([to] if to else [])
    for _, address in getaddresses(candidates):
        match = _TOKEN_ADDRESS.match(address.strip())
        if match and match.group(2).casefold() == domain:
            return match.group(1)
    return None
