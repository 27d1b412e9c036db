"""Issue 14: replies read right in any support domain and in five languages (our own sentences, none from data)."""
import re
from pathlib import Path

import pytest

from followup.understanding import NEEDS_READING, ReplyContext, classify_reply
from followup.understanding.answers import yes_means_sorted
from followup.understanding.language import identify

PACKAGE = Path(__file__).resolve().parents[2] / "followup" / "understanding"


def intent(text: str, context: ReplyContext | None = None) -> str:
    return classify_reply(text, context).intent


@pytest.mark.parametrize("text", [
    "No errors since the update, thank you",
    "Haven't seen it for months now",
    "Updated the driver yesterday, no more artifacts",
    "It hasn't happened again since the reset",
    "The printer is not jamming anymore",
])
def test_a_problem_said_to_be_gone_is_good_news(text):
    assert intent(text) == "resolved"


def test_no_answers_the_question_we_asked():
    assert intent("No") == "reopen"
    assert intent("No.") == "reopen"
    assert intent("No, haven't had it since") == "resolved"
    assert intent("No, it's been fine since Tuesday, no more errors") == "resolved"


def test_yes_but_reopens():
    assert intent("Yes") == "resolved"
    assert intent("Yes, but the export still fails") == "reopen"


def test_the_question_decides_what_yes_means():
    still = ReplyContext(question="Is the problem still happening?")
    assert not yes_means_sorted(still.question) and yes_means_sorted(None)
    assert intent("Yes", still) == "reopen"
    assert intent("No", still) == "resolved"
    assert "answers NO to 'Is the problem still happening?'" in classify_reply("no", still).reasons


@pytest.mark.parametrize("text", [
    "My mistake, I had the wrong account selected. All good now",
    "Sorry, I missed that email. Thanks!",
    "Oops, user error on my side - it works",
    "I apologise, it was my typo in the address. Thanks for fixing it",
])
def test_apologies_and_self_blame_are_not_complaints(text):
    assert intent(text) == "resolved"


@pytest.mark.parametrize("text", [
    "Thanks, I'll try it tonight",
    "Thanks for the update, will give it a go at the weekend",
    "Many thanks, I will test the new version tomorrow and report back",
    "Ok thanks, I'll have a look",
])
def test_thanks_plus_a_plan_is_an_acknowledgement(text):
    assert intent(text) == "ack"


@pytest.mark.parametrize("text", [
    "Works now, thanks! How do I export my invoices to CSV?",
    "The refund arrived, thank you. Could you also cancel the second order?",
    "Thanks, the key works. However, the receipt shows the wrong VAT number",
])
def test_a_new_question_after_a_fix_reopens(text):
    assert intent(text) == "reopen"


@pytest.mark.parametrize("text", [
    "Updated to 4.2.1 on my laptop and it works fine now",
    "Installed firmware 2.0.7 - everything looks good so far",
    "Reinstalled the app on my tablet, running smoothly now. Thanks",
])
def test_versions_and_devices_in_a_reply_that_says_it_works(text):
    assert intent(text) == "resolved"


def test_a_rollback_is_a_workaround_not_a_fix():
    assert intent("Rolled back to version 3.1 and it's working again") == "reopen"


BRANDS = ("spotify", "apple", "iphone", "android", "samsung", "google", "amazon", "tidal", "deezer", "youtube",
          "sonos", "alexa", "windows", "chromecast", "xbox", "playstation", "paypal", "netflix", "macbook")


@pytest.mark.parametrize("module", ["english.py", "lexicons.py", "lexicon_reader.py", "answers.py", "cues.py"])
def test_no_brand_or_product_names_in_the_rules(module):
    code = (PACKAGE / module).read_text(encoding="utf-8").lower()
    found = [b for b in BRANDS if re.search(rf"\b{b}\b", code)]
    assert not found, f"{module} names {found}"


@pytest.mark.parametrize("text,lang,expected", [
    ("Gracias, ya funciona perfectamente", "es", "resolved"),
    ("Sigue sin funcionar, el mismo error de antes", "es", "reopen"),
    ("Vale, lo pruebo mañana y te cuento", "es", "ack"),
    ("Merci, ça marche maintenant !", "fr", "resolved"),
    ("Toujours le même problème après la mise à jour", "fr", "reopen"),
    ("D'accord, je vais essayer ce soir", "fr", "ack"),
    ("Danke, jetzt funktioniert alles wieder", "de", "resolved"),
    ("Leider immer noch der gleiche Fehler", "de", "reopen"),
    ("Ok, ich werde es morgen testen", "de", "ack"),
    ("Obrigado, agora funciona", "pt", "resolved"),
    ("Ainda não funciona, continua dando erro", "pt", "reopen"),
    ("Beleza, vou testar amanhã", "pt", "ack"),
])
def test_five_languages(text, lang, expected):
    verdict = classify_reply(text)
    assert (verdict.language, verdict.intent) == (lang, expected), verdict.reasons


@pytest.mark.parametrize("text,locale", [
    ("Sí", "es"), ("SI", "es"), ("oui", "fr"), ("Ja", "de"), ("sim", "pt"), ("1", "pt"), ("👍", "fr"),
])
def test_yes_in_every_language(text, locale):
    assert intent(text, ReplyContext(locale=locale)) == "resolved"


@pytest.mark.parametrize("text,locale", [
    ("No", "es"), ("non", "fr"), ("Nein", "de"), ("não", "pt"), ("2", "de"), ("👎", "es"),
])
def test_no_in_every_language(text, locale):
    assert intent(text, ReplyContext(locale=locale)) == "reopen"


@pytest.mark.parametrize("text", ["BAJA", "ARRÊT", "arret", "STOPP", "PARAR", "Baja por favor",
                                  "No me envíen más mensajes", "Ne m'envoyez plus de messages",
                                  "Bitte keine Nachrichten mehr", "Parem de me enviar mensagens"])
def test_opt_out_in_every_language(text):
    assert intent(text, ReplyContext(channel="sms")) == "opt_out"
    assert intent(text, ReplyContext(channel="email")) == "opt_out"


def test_short_replies_take_the_check_ins_language():
    assert identify("ok", "pt-BR")[0] == "pt"
    assert identify("ok", None)[0] == "en"
    assert identify("Danke!", "en")[0] == "de"


def test_a_language_outside_the_five_goes_to_a_person():
    verdict = classify_reply("Dank je wel, het probleem is nu helemaal opgelost")
    assert verdict.intent == "reopen" and NEEDS_READING in verdict.reasons and verdict.language == "other"


def test_below_min_confidence_a_person_reads_it():
    sure = classify_reply("Thanks, all sorted")
    assert sure.intent == "resolved" and 0 < sure.confidence <= 1
    unsure = classify_reply("Thanks, all sorted", ReplyContext(min_confidence=0.999))
    assert unsure.intent == "reopen" and unsure.reasons[0] == NEEDS_READING
    assert "not sure enough: resolved" in unsure.reasons[1]
    assert classify_reply("still broken", ReplyContext(min_confidence=0.999)).intent == "reopen"


def test_confidence_is_higher_for_plain_replies_than_for_mixed_ones():
    plain = classify_reply("It works now, thank you so much!").confidence
    mixed = classify_reply("Thanks. I guess I will see how it goes with the router tonight").confidence
    assert plain > mixed
