"""General reading rules added after the held-out check (our own sentences, none taken from any data set)."""
import pytest

from followup.understanding import ReplyContext, classify_reply


def intent(text: str, locale: str | None = None) -> str:
    return classify_reply(text, ReplyContext(locale=locale)).intent


@pytest.mark.parametrize("text", [
    "It worked fine until yesterday's update",
    "It was working fine a week ago",
    "That did the trick once I rolled it back to 2.0",
    "Great, another update that breaks everything",
    "I already did that twice",
    "Same problem here. But the export works fine",
    "Okay, understood, so why have I been charged after the free months",
    "Ok i send you a mail",
    "Thank you @support. As requested I'm using version 3.5.7",
    "Thanks, I'm on version 2.4.1 on a Pixel 6",
])
def test_still_open(text):
    assert intent(text) == "reopen"


@pytest.mark.parametrize("text", [
    "The issue has been resolved, just received the key after trying again",
    "Version 4.9.3 is okay now!",
    "4.9.3 fixes the issue for me.",
    "Looks like that did it",
    "Yes the charge was reversed",
    "The second charge is gone from my statement",
    "I can log in now",
    "No more double charges since the fix",
    "I no longer get charged twice",
    "No, everything works fine now",
    "Nope, all good!",
    "Not any more, thanks",
    "Never mind, I found it",
    "I just tried again and don't get the error anymore. Closing this for now.",
    "It is nothing, I'll be closing it then!",
    "Thanks! I'll let you know if it happens again",
    "Wow, you're fast ;) Nice work.",
    "I recreated the account and now it is working. Strange!",
    "It didn't work at first but after reinstalling it works",
])
def test_fixed(text):
    assert intent(text) == "resolved"


@pytest.mark.parametrize("text", [
    "Haven't had time to test yet",
    "Many thanks, I'll try the update tomorrow. Glad it's not something I did wrong.",
    "Right, I will close this if the account has been unlocked",
    "No rush, I'm away this week",
    "No frustrations here, and great news you might have a fix. If you need a tester, just shout!",
])
def test_nothing_to_do_now(text):
    assert intent(text) == "ack"


def test_a_past_intention_is_no_plan():
    assert intent("Thanks, I forgot to get back to you.") == "resolved"


@pytest.mark.parametrize("text, lang", [
    ("Gracias a tu ayuda pude solventar este problema", "es"),
    ("Hola, ¿qué tal? Ayer entré y todo okey, muchas gracias", "es"),
    ("Le formulaire est de nouveau accessible pour moi. Merci.", "fr"),
    ("C'est re-bon, je le mets en prod", "fr"),
    ("Olá, tudo certo? O problema foi solucionado", "pt"),
    ("Mit der Version 2.1 funktionieren meine Geräte wieder wie vorgesehen", "de"),
])
def test_fixed_in_other_languages(text, lang):
    verdict = classify_reply(text)
    assert (verdict.intent, verdict.language) == ("resolved", lang)


@pytest.mark.parametrize("text, lang", [
    ("Nach dem Downgrade auf 3.2 läuft es wieder super.", "de"),
    ("Muchas gracias. Te he enviado la solicitud por correo.", "es"),
    ("Gracias Ana, estoy usando la versión 2.3 de la librería.", "es"),
    ("Merci beaucoup. Il manque simplement le bouton pour exporter.", "fr"),
    ("Au temps pour moi ! Par contre, j'ai une question sur l'export.", "fr"),
    ("J'ai le même souci. Par contre l'import fonctionne bien.", "fr"),
    ("Consegui resolver essa rejeição aplicando a configuração antes de transmitir, porém agora está rejeitando "
     "por causa da URL", "pt"),
])
def test_still_open_in_other_languages(text, lang):
    verdict = classify_reply(text)
    assert (verdict.intent, verdict.language) == ("reopen", lang)


@pytest.mark.parametrize("text, lang", [
    ("Muchas gracias, quedo atento", "es"),
    ("Verifico mañana y comento", "es"),
    ("Valeu, aguardo seu retorno", "pt"),
])
def test_nothing_to_do_now_in_other_languages(text, lang):
    verdict = classify_reply(text, ReplyContext(locale=lang))
    assert verdict.intent == "ack"
