import pytest

from followup.keywords import KeywordAction, keyword_action


@pytest.mark.parametrize(
    "text",
    [
        "STOP", "Stop.", " stop! ", "STOP!!!", "stop please", "please stop", "Stop texting me",
        "Stop texting me!", "UnSubscribe", "STOPALL", "cancel", "End", "quit", "OptOut", "opt-out",
        "Opt out please", "revoke", "Stop, thanks", "please stop messaging me", "\uff33\uff34\uff2f\uff30",
    ],
)
def test_opt_out(text: str) -> None:
    assert keyword_action(text) == "opt_out"
    assert keyword_action(text, opted_out=True) == KeywordAction.OPT_OUT


@pytest.mark.parametrize("text", ["Start", "START", "unstop", " start. "])
def test_opt_in(text: str) -> None:
    assert keyword_action(text) == "opt_in"


@pytest.mark.parametrize("text", ["HELP", "help?", "Info", "  info.  "])
def test_help(text: str) -> None:
    assert keyword_action(text) == "help"


def test_yes_opts_in_only_an_opted_out_number() -> None:
    assert keyword_action("Yes!", opted_out=True) == "opt_in"
    assert keyword_action("yes", opted_out=False) is None
    assert keyword_action("YES") is None


@pytest.mark.parametrize(
    "text",
    [
        "please don't stop helping me",
        "stop charging me twice",
        "cancel my order",
        "yes it's fixed",
        "the end",
        "Stop texting me and call me instead please",
        "help me",
        "start again tomorrow",
        "it stopped working",
        "",
        "   ",
        "!!!",
        None,
    ],
)
def test_ordinary_replies_are_not_keywords(text: str | None) -> None:
    assert keyword_action(text) is None
    assert keyword_action(text, opted_out=True) is None


def test_the_action_is_a_plain_string() -> None:
    assert KeywordAction.OPT_OUT == "opt_out"
    assert isinstance(keyword_action("STOP"), str)


@pytest.mark.parametrize("text", ["BAJA", "baja por favor", "ARRÊT", "Arret", "STOPP", "stopp bitte", "PARAR",
                                  "Parar mensagens", "DESABONNER"])
def test_our_languages_opt_out_words_are_honoured(text: str) -> None:
    assert keyword_action(text) == "opt_out"


@pytest.mark.parametrize("text", ["parar de cobrar en mi tarjeta", "la baja del servicio no llegó", "Sí"])
def test_foreign_words_in_an_ordinary_reply_are_not_keywords(text: str) -> None:
    assert keyword_action(text) is None
