import pytest
from hypothesis import given, strategies as st

from followup.channels.smstext import (
    clip,
    first_name,
    fit_sms,
    is_gsm7,
    render_sms,
    segments,
    to_gsm7,
)

TEMPLATE = (
    "Hi {customer_first_name}, this is {agent_first_name} from {company}. Following up on {issue}: "
    "is everything working now? Just reply to this message. Reply STOP to opt out."
)
FIELDS = {
    "customer_first_name": "Sam",
    "agent_first_name": "Maria Lopez",
    "company": "Acme",
    "issue": "your refund",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, is it fixed? @ £ $ ¥ è é Ä ß", True),
        ("Curly braces {} and € count as extension characters", True),
        ("It’s fixed", False),
        ("Привет", False),
        ("Thanks 👍", False),
        ("", True),
    ],
)
def test_is_gsm7(text: str, expected: bool) -> None:
    assert is_gsm7(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
        ("😀" * 35, 1),
        ("😀" * 36, 2),
    ],
)
def test_segments_at_the_boundaries(text: str, expected: int) -> None:
    assert segments(text) == expected


def test_an_escape_pair_is_never_split_across_segments() -> None:
    assert segments("a" * 152 + "€" * 77) == 3


def test_a_surrogate_pair_is_never_split_across_segments() -> None:
    assert segments("ж" * 66 + "😀" * 34) == 3


def test_one_non_gsm_character_switches_the_whole_message_to_ucs2() -> None:
    assert segments("a" * 100) == 1
    assert segments("a" * 99 + "’") == 2


def test_to_gsm7_replaces_typographic_punctuation() -> None:
    text = "\u201cIt\u2019s fixed\u201d \u2013 thanks\u2014really\u2026\u00a0ok"
    assert to_gsm7(text) == "\"It's fixed\" - thanks-really... ok"
    assert is_gsm7(to_gsm7(text))


def test_to_gsm7_keeps_what_has_no_gsm_equivalent() -> None:
    assert to_gsm7("María 👍") == "María 👍"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Maria Lopez", "Maria"), ("  Maria  ", "Maria"), ("Mary Ann Smith", "Mary"), ("", "")],
)
def test_first_name(name: str, expected: str) -> None:
    assert first_name(name) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("hello world foo", 20, "hello world foo"),
        ("hello world foo", 14, "hello world..."),
        ("hello world foo", 13, "hello..."),
        ("one, two, three", 9, "one..."),
        ("abcdefghijkl", 6, "abc..."),
        ("hello world", 3, ""),
    ],
)
def test_clip_cuts_at_a_word_boundary(text: str, limit: int, expected: str) -> None:
    assert clip(text, limit) == expected


def test_render_sms_fills_the_template_with_first_names_only() -> None:
    text = render_sms(TEMPLATE, {**FIELDS, "customer_first_name": "Sam Carter"})
    assert text.startswith("Hi Sam, this is Maria from Acme. Following up on your refund: is everything")
    assert "Lopez" not in text and "Carter" not in text
    assert segments(text) == 1


def test_render_sms_normalises_punctuation_in_fields_and_template() -> None:
    text = render_sms("Hi {customer_first_name} \u2013 it\u2019s {agent_first_name}", {
        "customer_first_name": "Sam",
        "agent_first_name": "Maria",
    })
    assert text == "Hi Sam - it's Maria"


def test_render_sms_shortens_the_issue_before_anything_else() -> None:
    issue = "the \u201cdouble charge\u201d on your card and " + "the refund that never arrived " * 20
    text = render_sms(TEMPLATE, {**FIELDS, "issue": issue}, max_segments=2)
    assert segments(text) <= 2
    assert is_gsm7(text)
    assert 'Following up on the "double charge" on your card' in text
    assert "...: is everything working now?" in text
    assert text.endswith("Reply STOP to opt out.")


def test_render_sms_hard_truncates_when_the_template_alone_is_too_long() -> None:
    template = "Hi {customer_first_name}. " + "This template is far too long. " * 20 + "{issue}"
    text = render_sms(template, FIELDS, max_segments=1)
    assert segments(text) == 1
    assert text.startswith("Hi Sam. This template")
    assert text.endswith("too...")
    assert len(text) <= 160


def test_render_sms_keeps_accented_names_and_counts_them_as_ucs2() -> None:
    text = render_sms(TEMPLATE, {**FIELDS, "agent_first_name": "María López"}, max_segments=3)
    assert "María from Acme" in text
    assert segments(text) <= 3


def test_render_sms_rejects_a_placeholder_without_a_field() -> None:
    with pytest.raises(KeyError):
        render_sms("Hi {customer_first_name}, about {ticket}", FIELDS)


def test_max_segments_must_be_positive() -> None:
    with pytest.raises(ValueError):
        render_sms(TEMPLATE, FIELDS, max_segments=0)
    with pytest.raises(ValueError):
        fit_sms("hello", max_segments=0)


def test_fit_sms_leaves_short_text_alone_apart_from_punctuation() -> None:
    assert fit_sms("  It\u2019s fixed?  ") == "It's fixed?"


@given(text=st.text(), max_segments=st.integers(min_value=1, max_value=4))
def test_fit_sms_always_fits(text: str, max_segments: int) -> None:
    assert segments(fit_sms(text, max_segments=max_segments)) <= max_segments


@given(
    issue=st.text(),
    agent=st.text(),
    customer=st.text(),
    max_segments=st.integers(min_value=1, max_value=3),
)
def test_render_sms_always_fits(issue: str, agent: str, customer: str, max_segments: int) -> None:
    fields = {"issue": issue, "agent_first_name": agent, "customer_first_name": customer, "company": "Acme"}
    assert segments(render_sms(TEMPLATE, fields, max_segments=max_segments)) <= max_segments


@given(text=st.text(), limit=st.integers(min_value=0, max_value=200))
def test_clip_never_exceeds_the_limit(text: str, limit: int) -> None:
    assert len(clip(text, limit)) <= limit


@given(text=st.text())
def test_to_gsm7_is_idempotent(text: str) -> None:
    assert to_gsm7(to_gsm7(text)) == to_gsm7(text)
