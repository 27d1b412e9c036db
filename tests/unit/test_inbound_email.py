import _markupbase
import html.parser as html_parser
import json
import re
import sys

import pytest
from hypothesis import given, strategies as st

from followup.inbound_email import (
    extract_reply,
    html_to_text,
    reply_token_from_addresses,
    strip_quoted,
)

DOMAIN = "in.example.com"

GMAIL_TEXT = """\
Hi Maria,

No, it's still not working. The refund hasn't shown up on my card and the app
still says "pending".

Thanks,
Sam

--
Sam Carter
Carter & Sons Plumbing
+44 20 7946 0000

On Tue, 24 Nov 2026 at 10:02, Maria Lopez <reply+ck_8f3a2b@in.example.com>
wrote:

> Hi Sam,
>
> Following up on your refund for the double charge: is everything sorted
> now? Just reply to this email.
>
> Maria
> Acme Support
>
"""

OUTLOOK_TEXT = """\
Hello,\r
\r
Yes that's fixed now, thank you for checking in.\r
\r
Kind regards\r
Priya Shah\r
Finance Manager | Northwind Ltd\r
T: 020 7946 0123\r
\r
________________________________\r
From: Acme Support <reply+ck_1234@in.example.com>\r
Sent: Tuesday, November 24, 2026 10:02 AM\r
To: Priya Shah <priya@northwind.example>\r
Subject: Following up on your ticket #4821\r
\r
Hi Priya,\r
\r
Following up on the invoice correction. Is everything as it should be now?\r
\r
Maria\r
Acme Support\r
"""

OUTLOOK_ORIGINAL_MESSAGE = """\
Still no invoice. Can someone call me?

Priya

-----Original Message-----
From: Acme Support [mailto:reply+ck_1234@in.example.com]
Sent: Tuesday, November 24, 2026 10:02 AM
To: Priya Shah
Subject: Following up on your ticket #4821

Hi Priya, following up on the invoice correction.
"""

APPLE_IPHONE_TEXT = """\
Still waiting for the replacement. Nobody has called me back.

Sent from my iPhone

> On 24 Nov 2026, at 10:02, Maria Lopez <reply+ck_77@in.example.com> wrote:
> \n> \ufeffHi Sam,
> \n> Following up on your replacement order. Is everything OK now?
> \n> Maria
> Acme Support
"""

GMAIL_HTML = (
    '<div dir="ltr">Thanks Maria, that&#39;s sorted now &amp; the refund arrived.<div><br></div>'
    "<div>Sam</div></div><br>"
    '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">'
    'On Tue, 24 Nov 2026 at 10:02, Maria Lopez &lt;<a href="mailto:reply+ck@in.example.com">'
    "reply+ck@in.example.com</a>&gt; wrote:<br></div>"
    '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204)">'
    "<div>Hi Sam, following up on your refund. Is everything sorted?</div></blockquote></div>"
)

APPLE_HTML = """\
<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>
<body dir="auto">
Still not fixed, the app crashes when I open it.<br><br>
<div dir="ltr">Sent from my iPhone</div>
<div dir="ltr"><br><blockquote type="cite">On 24 Nov 2026, at 10:02, Maria Lopez
&lt;reply+ck@in.example.com&gt; wrote:<br><br></blockquote></div>
<blockquote type="cite"><div dir="ltr">\ufeffHi Sam,<div>Following up on your app problem.</div></div>
</blockquote></body></html>
"""

OUTLOOK_HTML = """\
<html><head><style>p { margin: 0 }</style></head><body>
<div style="font-family: Calibri"><p>It works now, thanks.</p><p>&nbsp;</p><p>Priya</p></div>
<hr style="display:inline-block;width:98%" tabindex="-1">
<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> Acme Support
&lt;reply+ck_1234@in.example.com&gt;<br><b>Sent:</b> Tuesday, November 24, 2026 10:02 AM<br>
<b>To:</b> Priya Shah &lt;priya@northwind.example&gt;<br><b>Subject:</b> Following up</font>
<div>&nbsp;</div></div>
<div><p>Hi Priya, following up on the invoice correction.</p></div>
</body></html>
"""


def test_gmail_reply_with_signature_and_wrapped_attribution() -> None:
    assert strip_quoted(GMAIL_TEXT) == (
        "Hi Maria,\n\nNo, it's still not working. The refund hasn't shown up on my card and the app\n"
        'still says "pending".\n\nThanks,\nSam'
    )


def test_outlook_desktop_reply_below_an_underscore_separator() -> None:
    reply = strip_quoted(OUTLOOK_TEXT)
    assert reply.startswith("Hello,\n\nYes that's fixed now, thank you for checking in.")
    assert "From:" not in reply and "Following up" not in reply and "____" not in reply
    assert "\r" not in reply


def test_outlook_original_message_separator() -> None:
    assert strip_quoted(OUTLOOK_ORIGINAL_MESSAGE) == "Still no invoice. Can someone call me?\n\nPriya"


def test_outlook_header_block_without_separator() -> None:
    text = (
        "Thanks, all good.\n\nFrom: Acme Support <reply+ck@in.example.com>\nDate: Tuesday, 24 November 2026\n"
        "To: Priya Shah <priya@northwind.example>\nSubject: Following up\n\nHi Priya"
    )
    assert strip_quoted(text) == "Thanks, all good."


def test_a_body_line_starting_with_from_is_kept() -> None:
    text = "From: what I can see the charge is still there.\nCan you check?"
    assert strip_quoted(text) == text


def test_apple_mail_iphone_reply() -> None:
    assert strip_quoted(APPLE_IPHONE_TEXT) == "Still waiting for the replacement. Nobody has called me back."


def test_apple_mail_macos_unquoted_attribution() -> None:
    text = (
        "Fixed, thank you!\n\nOn 24 Nov 2026, at 10:02, Maria Lopez <reply+ck@in.example.com> wrote:\n\n"
        "Hi Sam, following up on your order."
    )
    assert strip_quoted(text) == "Fixed, thank you!"


@pytest.mark.parametrize(
    "signature",
    [
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Sent from my Android",
        "Get Outlook for iOS",
        "Get Outlook for Android",
        "Sent from Mail for Windows",
        "-- ",
        "--",
    ],
)
def test_mobile_signatures_and_delimiter_end_the_reply(signature: str) -> None:
    assert strip_quoted(f"Still broken.\n\n{signature}\nJane Doe\n") == "Still broken."


@pytest.mark.parametrize(
    "attribution",
    [
        "Le mar. 24 nov. 2026 à 10:02, Maria Lopez <reply+ck@in.example.com> a écrit :",
        "Am Di., 24. Nov. 2026 um 10:02 Uhr schrieb Maria Lopez <reply+ck@in.example.com>:",
        "El mar, 24 nov 2026 a las 10:02, Maria Lopez (<reply+ck@in.example.com>) escribió:",
    ],
)
def test_localized_attributions(attribution: str) -> None:
    text = f"Toujours en panne.\n\n{attribution}\n> Bonjour Sam,\n> Est-ce réglé ?\n"
    assert strip_quoted(text) == "Toujours en panne."


def test_an_answer_written_below_the_quote_survives() -> None:
    text = (
        "On Tue, 24 Nov 2026 at 10:02, Maria <reply+ck@in.example.com> wrote:\n"
        "> Is it sorted?\n\nNo, it is not."
    )
    assert strip_quoted(text) == "No, it is not."


def test_a_line_before_an_attribution_is_not_taken_for_its_first_half() -> None:
    text = "On it, thanks!\nOn Tue, 24 Nov 2026 at 10:02, Maria <reply+ck@in.example.com> wrote:\n> Sorted?"
    assert strip_quoted(text) == "On it, thanks!"


def test_inline_answers_between_quotes_survive() -> None:
    text = "> Did the refund arrive?\nNo.\n> Is the app working?\nYes, since yesterday."
    assert strip_quoted(text) == "No.\nYes, since yesterday."


def test_ordinary_text_mentioning_sent_from_or_on_is_kept() -> None:
    text = "On Monday I tried again.\nI sent from my work account too, still nothing."
    assert strip_quoted(text) == text


def test_html_gmail_drops_the_quote_block() -> None:
    assert html_to_text(GMAIL_HTML) == "Thanks Maria, that's sorted now & the refund arrived.\n\nSam"


def test_html_apple_drops_blockquotes() -> None:
    text = html_to_text(APPLE_HTML)
    assert "Hi Sam" not in text and "wrote:" not in text
    assert text.startswith("Still not fixed, the app crashes when I open it.")


def test_html_drops_style_and_keeps_paragraphs() -> None:
    assert html_to_text(OUTLOOK_HTML).startswith("It works now, thanks.\n\nPriya\n")
    assert "margin" not in html_to_text(OUTLOOK_HTML)


def test_html_tolerates_unclosed_tags() -> None:
    assert html_to_text("<p>Still broken<p>Help<blockquote>quoted") == "Still broken\nHelp"


@given(st.text())
def test_arbitrary_input_never_raises(text: str) -> None:
    assert isinstance(strip_quoted(text), str)
    assert isinstance(html_to_text(text), str)
    assert isinstance(reply_token_from_addresses(text, text, DOMAIN), str | None)


class _CountingPattern:
    """Stands in for one of the HTML parser's compiled patterns and adds up how far each call reads."""

    def __init__(self, pattern: re.Pattern, tally: list[int]) -> None:
        self.pattern, self.tally = pattern, tally

    def __getattr__(self, name: str):
        return getattr(self.pattern, name)

    def match(self, string: str, pos: int = 0, *rest):
        found = self.pattern.match(string, pos, *rest)
        self.tally[0] += found.end() - pos if found else 1
        return found

    def search(self, string: str, pos: int = 0, *rest):
        found = self.pattern.search(string, pos, *rest)
        self.tally[0] += (found.end() if found else len(string)) - pos
        return found


def html_to_text_work(markup: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Operations one `html_to_text` call performs: every Python line run (our extractor and html.parser's
    loop) plus every character the parser's patterns read (where its rescans happen, in C)."""
    tally = [0]
    with monkeypatch.context() as patched:
        for module in (html_parser, _markupbase):
            for name, value in vars(module).items():
                if isinstance(value, re.Pattern):
                    patched.setattr(module, name, _CountingPattern(value, tally))

        def count_lines(frame, event, arg):
            tally[0] += 1
            return count_lines

        sys.settrace(count_lines)
        try:
            html_to_text(markup)
        finally:
            sys.settrace(None)
    return tally[0]


@pytest.mark.parametrize("unit", [
    "<p>x",                 # the reproduction: unclosed paragraphs
    "<b>x</i>",             # end tags that match nothing open
    "<blockquote>x",        # hidden quoted history, nested
    "<div>",                # deep nesting
    "<table><tr><td>x",
    "<a ", '<a b="', "<!--", "<!--x>", "</", "<?", "<!", "<![if x", "<![", "&#;<a ", "&#12a<a ",  # never closed
])
def test_html_to_text_work_grows_linearly(unit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four times the input, about four times the work: quadratic work would be sixteen times."""
    small, large = (html_to_text_work(unit * n, monkeypatch) for n in (500, 2000))
    assert large / small < 6, (small, large)


@pytest.mark.parametrize(("html", "expected"), [
    ("<![<![<![", "<![<![<!["), ("<![foo[ x", "<![foo[ x"), ("a <![if !supportLists]>- <![endif]>b", "a - b"),
])
def test_marked_sections_never_raise(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize("tail", ["<!-- never closed <p>hidden", "<b never closed", "</p never closed",
                                  "<?php never closed", "<!doctype never closed"])
def test_a_construct_still_open_at_the_end_shows_nothing_after_it(tail: str) -> None:
    """As HTML5 (and a browser, so the customer) sees it."""
    assert html_to_text(f"<p>Still broken</p>{tail}") == "Still broken"


def test_a_broken_character_reference_does_not_end_the_markup() -> None:
    assert html_to_text("<p>a &# b</p><p>c &#12a <b>d</b></p>") == "a &# b\nc &#12a d"


def test_extract_reply_prefers_the_text_part() -> None:
    assert extract_reply(GMAIL_TEXT, GMAIL_HTML).startswith("Hi Maria,\n\nNo, it's still not working.")


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (GMAIL_HTML, "Thanks Maria, that's sorted now & the refund arrived.\n\nSam"),
        (APPLE_HTML, "Still not fixed, the app crashes when I open it."),
        (OUTLOOK_HTML, "It works now, thanks.\n\nPriya"),
    ],
)
def test_extract_reply_from_html_only(html: str, expected: str) -> None:
    assert extract_reply(None, html) == expected
    assert extract_reply("  \n", html) == expected


def test_extract_reply_with_nothing() -> None:
    assert extract_reply(None, None) == ""



@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ('"Acme Support" <reply+abc123@in.example.com>, other@x.com', "abc123"),
        ("other@x.com, Acme <reply+ck_8f-3A@IN.Example.COM>", "ck_8f-3A"),
        ("reply+abc@in.example.com", "abc"),
        ("support@in.example.com", None),
        ("reply+abc@in.example.com.evil.test", None),
        ("reply+abc@other.example.com", None),
        ("reply+a.b@in.example.com", None),
        ("reply+@in.example.com", None),
        ("", None),
        (None, None),
    ],
)
def test_token_from_the_to_header(to: str | None, expected: str | None) -> None:
    assert reply_token_from_addresses(to, None, DOMAIN) == expected


def test_token_from_the_envelope() -> None:
    envelope = json.dumps({"to": ["reply+xyz@in.example.com"], "from": "sam@example.net"})
    assert reply_token_from_addresses("Acme <support@acme.example>", envelope, DOMAIN) == "xyz"


def test_the_envelope_wins_over_the_to_header() -> None:
    envelope = json.dumps({"to": ["reply+delivered@in.example.com"], "from": "sam@example.net"})
    assert reply_token_from_addresses("reply+header@in.example.com", envelope, DOMAIN) == "delivered"


@pytest.mark.parametrize("envelope", ["not json", "[]", '{"to": null}', '{"to": "reply+abc@other.test"}'])
def test_an_unusable_envelope_falls_back_to_the_header(envelope: str) -> None:
    assert reply_token_from_addresses("reply+abc@in.example.com", envelope, DOMAIN) == "abc"


def test_the_domain_setting_may_carry_an_at_sign_and_capitals() -> None:
    assert reply_token_from_addresses("reply+abc@in.example.com", None, "@IN.example.com") == "abc"
