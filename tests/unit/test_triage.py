"""The automation matrix as a pure function: decisions and their reasons."""
from followup.triage import AUTOMATED_CHECKIN, HUMAN_CALLBACK, NONE, InteractionFacts, TriagePolicy, triage


def test_routine_resolved_needs_nothing():
    d = triage(InteractionFacts(sentiment=0.5, resolution="resolved"))
    assert d.decision == NONE and not d.important
    assert "routine" in d.reasons[0]


def test_angry_unresolved_gets_an_automated_checkin_with_reasons():
    d = triage(InteractionFacts(sentiment=-0.7, signals=("abusive_language",), resolution="unresolved"))
    assert d.decision == AUTOMATED_CHECKIN and d.important
    emotional = next(r for r in d.reasons if r.startswith("emotional load"))
    assert "high" in emotional and "sentiment −0.7" in emotional and "abusive language" in emotional


def test_vulnerable_customer_needs_a_person():
    d = triage(InteractionFacts(sentiment=0.1, signals=("vulnerable_customer",), resolution="resolved"))
    assert d.decision == HUMAN_CALLBACK and "vulnerable" in d.reasons[0]


def test_high_emotion_with_irreversible_consequences_needs_a_person():
    d = triage(InteractionFacts(sentiment=-0.8, signals=("threatened_churn",), irreversible_action=True))
    assert d.decision == HUMAN_CALLBACK and "irreversible" in d.reasons[0]


def test_irreversible_but_calm_is_automated():
    d = triage(InteractionFacts(sentiment=0.3, irreversible_action=True, resolution="resolved"))
    assert d.decision == AUTOMATED_CHECKIN


def test_moral_tradeoff_needs_a_person():
    d = triage(InteractionFacts(refund_or_credit_decision=True, signals=("vulnerable_customer",)))
    assert d.decision == HUMAN_CALLBACK


def test_category_weight_raises_ambiguity_and_thresholds_are_configurable():
    facts = InteractionFacts(sentiment=0.2, resolution="resolved", category="fraud")
    assert triage(facts).decision == NONE
    assert triage(facts, TriagePolicy(category_weights={"fraud": 1.0})).decision == AUTOMATED_CHECKIN
    assert triage(InteractionFacts(sentiment=-0.5), TriagePolicy(high_threshold=0.4)).important


def test_scores_stay_in_range():
    d = triage(InteractionFacts(sentiment=-1, signals=("abusive_language", "threatened_churn", "vulnerable_customer"),
                                repeat_contact_count=50, escalated_from_bot=True, refund_or_credit_decision=True,
                                irreversible_action=True, category="x"), TriagePolicy(category_weights={"x": 5}))
    assert all(0.0 <= v <= 1.0 for v in d.scores.values())
