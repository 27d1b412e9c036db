"""classify_reply: each linguistic case of the issue, with our own sentences (none copied from the data set)."""
import json

import pytest
from hypothesis import given, settings, strategies as st

from followup.understanding import INTENTS, NEEDS_READING, ReplyContext, ReplyVerdict, classify_reply
from followup.understanding.english import analyzer as _analyzer


def intent(text: str, context: ReplyContext | None = None) -> str:
    return classify_reply(text, context).intent


def reasons(text: str, context: ReplyContext | None = None) -> str:
    return " | ".join(classify_reply(text, context).reasons)


@pytest.mark.parametrize("text", [
    "It's not fixed",
    "No luck with the reinstall",
    "That didn't work either",
    "doesnt work for me",
    "Logging out and back in did not help at all",
    "Nothing has changed since yesterday",
])
def test_negation_reopens(text):
    assert intent(text) == "reopen"
    assert "negation" in reasons(text) or "answers" in reasons(text)


@pytest.mark.parametrize("text", [
    "Still can't get into my account",
    "The app crashed again this morning",
    "Same issue as last week",
    "Made no difference",
    "Reinstalled it, problem persists",
    "I keep getting logged out every few minutes",
])
def test_unresolved_state_reopens(text):
    assert intent(text) == "reopen"


@pytest.mark.parametrize("text", [
    "When will my refund show up?",
    "How do I move my playlists to the new account",
    "Can you call me back this afternoon",
    "Please send me the invoice for October",
    "Any update on this",
])
def test_questions_and_requests_reopen(text):
    assert intent(text) == "reopen"


@pytest.mark.parametrize("text", [
    "thanks for nothing",
    "Thx for nothing, genuinely",
    "Great, another copy-paste reply 🙄",
    "Oh great, it logged me out again 🙃",
    "Wow thanks, so helpful. Playlists are still gone",
])
def test_sarcasm_reopens(text):
    assert intent(text) == "reopen"


def test_thanks_for_nothing_is_sarcasm_even_though_vader_likes_it():
    assert _analyzer().polarity_scores("thanks for nothing")["compound"] > 0
    assert "sarcasm" in reasons("thanks for nothing")


def test_upside_down_face_is_sarcasm():
    assert intent("🙃") == "reopen"
    assert intent("Sure, love waiting on hold 🙃") == "reopen"
    assert "sarcasm: 🙃" in reasons("fantastic 🙃")


@pytest.mark.parametrize("text", [
    "thanks, but it's still broken",
    "Thank you for the steps, however the podcast tab is still blank",
    "Appreciate it, though the download button does nothing",
])
def test_polite_contrast_reopens(text):
    assert intent(text) == "reopen"
    assert "contrast" in reasons(text)


@pytest.mark.parametrize("text", [
    "sent you a DM",
    "I've DM'd you my account email",
    "Check your DMs, sent the screenshots",
    "Emailed the receipt to your support address",
])
def test_waiting_for_the_agent_reopens(text):
    assert intent(text) == "reopen"


@pytest.mark.parametrize("text", [
    "unsubscribe me from these texts",
    "stop texting me",
    "don't contact me again",
    "Please stop emailing me about this",
    "Take me off your mailing list",
    "no more messages please",
])
def test_opt_out_phrases(text):
    assert intent(text) == "opt_out"


@pytest.mark.parametrize("text", ["STOP", "stop", "Stop.", "UNSUBSCRIBE", " unsubscribe! "])
def test_bare_opt_out_keyword(text):
    verdict = classify_reply(text)
    assert verdict.intent == "opt_out"
    assert verdict.confidence > 0.9


def test_carrier_keywords_only_on_sms():
    assert intent("CANCEL", ReplyContext(channel="sms")) == "opt_out"
    assert intent("CANCEL", ReplyContext(channel="email")) == "reopen"


@pytest.mark.parametrize("text", [
    "I'm unsubscribing and going back to the other service",
    "cancelling my subscription",
    "Cancel my premium, I'm switching to a competitor",
    "Please stop charging me twice",
])
def test_churn_talk_is_not_an_opt_out(text):
    assert intent(text) == "reopen"


def test_churn_reason_says_so():
    assert "churn" in reasons("I'm unsubscribing and going back to my old provider")


@pytest.mark.parametrize("text", ["WHY IS THIS STILL NOT WORKING", "I NEED THIS SORTED TODAY", "FIX IT"])
def test_shouting_reopens(text):
    assert intent(text) == "reopen"
    assert "shouting" in reasons(text)


def test_excited_caps_thanks_is_not_anger():
    assert intent("THANK YOU SO MUCH") == "resolved"


@pytest.mark.parametrize("text,expected", [
    ("no", "reopen"), ("Nope", "reopen"), ("not really", "reopen"), ("nah.", "reopen"),
    ("yes!", "resolved"), ("thanks", "resolved"), ("thank you!", "resolved"), ("Cheers!", "resolved"),
    ("1", "resolved"), ("2", "reopen"), ("👍", "resolved"), ("👎", "reopen"),
    ("ok", "ack"), ("Okay.", "ack"), ("will do", "ack"), ("I'll try that", "ack"), ("done", "ack"),
])
def test_very_short_replies(text, expected):
    assert intent(text) == expected


@pytest.mark.parametrize("text", [
    "Thanks, all sorted",
    "works now, cheers",
    "That fixed it, thank you so much",
    "Restarting the router did the trick!",
    "It's working again after the update, thanks",
    "Tried it on my laptop and it works perfectly now",
])
def test_fixed_is_resolved(text):
    assert intent(text) == "resolved"


@pytest.mark.parametrize("text", [
    "Appreciate the quick help!",
    "You're the best, thank you",
    "Thank you for your patience with me",
])
def test_gratitude_only_is_resolved(text):
    assert intent(text) == "resolved"


@pytest.mark.parametrize("text", [
    "Works on desktop but not on my phone",
    "It worked for a bit then stopped again",
    "Hopefully it gets fixed soon, it still drops every song",
])
def test_partial_or_hoped_for_fix_is_not_resolved(text):
    assert intent(text) == "reopen"


def test_a_later_fix_wins_over_an_earlier_problem():
    assert intent("It kept crashing yesterday. Cleared the cache and it works now, thanks!") == "resolved"


@pytest.mark.parametrize("text", [
    "Will give that a go tonight",
    "I'll reinstall when I get home and let you know",
    "Ok, doing that now",
])
def test_neutral_acknowledgement_is_ack(text):
    assert intent(text) == "ack"


@pytest.mark.parametrize("text", [
    "Pixel 7 on Android 14, app version 8.9.2",
    "Windows 11 desktop app, latest version",
    "It's on my Galaxy tab, not the phone",
])
def test_troubleshooting_details_keep_the_case_open(text):
    assert intent(text) == "reopen"


@pytest.mark.parametrize("text", [
    "",
    "   ",
    "???",
    "🤷‍♂️",
    "まだ直っていません。助けてください",
    "Привет, приложение не работает",
    "Grazie mille, adesso funziona tutto perfettamente",
    "Het werkt nog steeds niet, kunnen jullie me terugbellen?",
])
def test_unreadable_or_other_language_needs_a_person(text):
    verdict = classify_reply(text)
    assert verdict.intent == "reopen"
    assert NEEDS_READING in verdict.reasons


def test_emoji_only_replies_with_a_plain_meaning():
    assert intent("🙏🙏") == "resolved"
    assert intent("😡") == "reopen"


def test_quoted_email_text_is_not_read_as_the_reply():
    text = ("Yes, all working now, thanks!\n\nOn Tue, 3 Jun 2025 at 10:02, Aftercare <help@example.com> wrote:\n"
            "> Is the problem still happening? Did it not work?")
    assert intent(text, ReplyContext(channel="email")) == "resolved"


def test_links_and_handles_are_ignored_but_an_attachment_counts_as_detail():
    assert intent("@SupportTeam works now, thanks https://t.co/abc123") == "resolved"
    assert intent("https://t.co/abc123") == "reopen"


def test_verdict_as_dict_is_json_ready():
    verdict = classify_reply("thanks, but it's still broken")
    data = verdict.as_dict()
    assert set(data) == {"intent", "confidence", "reasons", "language"}
    assert data["language"] == "en"
    assert isinstance(data["reasons"], list) and data["reasons"]
    assert data["confidence"] == round(verdict.confidence, 2)
    json.dumps(data)


def test_types_are_frozen_and_context_is_optional():
    verdict = classify_reply("ok", ReplyContext())
    assert isinstance(verdict, ReplyVerdict)
    with pytest.raises(AttributeError):
        verdict.intent = "reopen"  # type: ignore[misc]
    assert ReplyContext().channel is None and ReplyContext().locale is None and ReplyContext().agent_name is None


def test_sentiment_model_is_built_once():
    assert _analyzer() is _analyzer()


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_any_text(text):
    verdict = classify_reply(text)
    assert verdict.intent in INTENTS
    assert 0.0 <= verdict.confidence <= 1.0
    assert verdict.reasons and all(isinstance(r, str) and r for r in verdict.reasons)
    assert "internal error while reading the reply" not in verdict.reasons


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["still", "not", "thanks", "but", "works", "now", "?", "!", "🙃", "STOP", "me",
                                 "texting", "don't", "again", "ok", "DM", "https://t.co/x", "@x", "\n> q", "wrote:"]),
                max_size=12),
       st.sampled_from([None, ReplyContext(channel="sms"), ReplyContext(channel="email", locale="fr")]))
def test_never_raises_on_cue_soup(words, context):
    verdict = classify_reply(" ".join(words), context)
    assert verdict.intent in INTENTS and 0.0 <= verdict.confidence <= 1.0
    assert "internal error while reading the reply" not in verdict.reasons


def test_agent_name_is_not_read_as_a_word():
    assert intent("Cheers Hope, that sorted it", ReplyContext(agent_name="Hope")) == "resolved"
    assert intent("Thanks Will!", ReplyContext(agent_name="Will Turner")) == "resolved"
