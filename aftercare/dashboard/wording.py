"""Break rules and their simulation in a manager's words: field labels with units and help, each rule as a
sentence, a version's changes as sentences, simulation measures with plain labels.

Pure Python on plain dicts (the rule set document as JSON, the simulation's answer), so it is tested without
Flask. Every name it does not know gets a readable fallback from the field name itself: a condition or guard
added to the schema later reads sensibly before anyone writes its words here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

PERCENT, MINUTES, SECONDS, PLAIN = "percent", "minutes", "seconds", "plain"


@dataclass(frozen=True)
class Words:
    label: str          # what the input is called
    unit: str = ""      # shown after the input
    help: str = ""      # one line under it
    short: str = ""     # in change sentences ("break 12 → 8 minutes"); the label when empty
    style: str = PLAIN  # how values are written in sentences

    @property
    def name(self) -> str:
        return self.short or self.label[:1].lower() + self.label[1:]


FIELDS: dict[str, Words] = {
    "rule.name": Words("Name", help="A short name the team recognises, e.g. “after abuse”."),
    "when.signals_any": Words("Signals on the interaction, any of", help="Comma-separated, e.g. abusive_language, "
                              "threatened_churn. Leave empty when the rule does not look at signals.",
                              short="signals"),
    "when.load_at_least": Words("Agent's emotional load, at least", "load points",
                                "The load after the interaction; 2.5 is the usual threshold.", "load at least"),
    "when.consecutive_negative_at_least": Words(
        "Rough interactions in a row, at least", "interactions",
        "Negative sentiment, abuse, churn threats or a bad reply, one after another.", "rough interactions in a row"),
    "when.sentiment_at_most": Words("Customer sentiment, at most", "−1 to 1",
                                    "−1 is very negative, 0 neutral, 1 very positive.", "sentiment at most"),
    "when.category_in": Words("Interaction category, one of", help="Comma-separated, e.g. billing, refunds.",
                              short="categories"),
    "when.duration_over_norm_at_least": Words(
        "Length against the category's usual, at least", "× usual",
        "1.5 means half as long again as usual for its category.", "length against usual at least"),
    "when.agent_reported": Words("The agent said the interaction rattled them",
                                 help="Set when the agent presses “this rattled me”.", short="agent reported"),
    "then.break_minutes": Words("Break length", "minutes", "How long the agent is kept off the queue.", "break",
                                MINUTES),
    "then.start": Words("Break starts", help="Once the current interaction ends, or straight away.", short="start"),
    "guards.max_breaks_per_shift": Words("Breaks per shift, at most", "breaks per agent",
                                         "Requests beyond the cap are refused and recorded.", "breaks per shift"),
    "guards.min_minutes_between_breaks": Words("Time between two breaks, at least", "minutes",
                                               "Spacing between one agent's breaks.", "minutes between breaks",
                                               MINUTES),
    "guards.max_team_fraction_on_break": Words(
        "Share of the team on a break at once, at most", "0 to 1 (0.2 = 20 %)",
        "Keeps enough people answering; a break over the share waits.", "team share on break", PERCENT),
    "guards.service_level": Words("Service-level guard", help="Defers a break that would push the predicted "
                                  "service level below its target.", short="service-level guard"),
    "guards.service_level.target": Words("Service-level target", "0 to 1 (0.8 = 80 %)",
                                         "Share of calls to be answered within the answer time.",
                                         "service-level target", PERCENT),
    "guards.service_level.answer_within_seconds": Words("Answer time", "seconds",
                                                        "The “within N seconds” of the service-level target.",
                                                        "answer time", SECONDS),
    "guards.service_level.model": Words("Queue model", help="Erlang C assumes callers wait; Erlang A also "
                                        "counts callers who hang up.", short="queue model"),
    "guards.service_level.patience_seconds": Words("Callers' patience", "seconds", "Erlang A only: how long "
                                                   "callers wait on average before they hang up.",
                                                   "callers' patience", SECONDS),
    "guards.max_deferral_minutes": Words("Deferral, at most", "minutes", "After this long the break is granted "
                                         "anyway and escalated.", "longest deferral", MINUTES),
    "guards.escalate_to": Words("Escalate to", help="Who hears about a break granted past the service level.",
                                short="escalate to"),
}

CHOICES: dict[str, dict[str, str]] = {
    "then.start": {"after_current": "once the current interaction ends", "now": "straight away"},
    "guards.service_level.model": {"erlang_c": "Erlang C", "erlang_a": "Erlang A"},
}

SIGNALS = {"abusive_language": "abusive language", "threatened_churn": "a threat to leave"}

SUFFIX_UNITS = (("_seconds", "seconds", SECONDS), ("_minutes", "minutes", MINUTES), ("_fraction", "0 to 1", PERCENT))


def humanize(name: str) -> str:
    return name.replace("_", " ").strip()


def field_words(path: str) -> Words:
    """Words for a field path such as "when.load_at_least" or "guards.service_level.target" (no rule index)."""
    known = FIELDS.get(path)
    if known:
        return known
    last = path.rsplit(".", 1)[-1]
    for suffix, unit, style in SUFFIX_UNITS:
        if last.endswith(suffix):
            return Words(humanize(last).capitalize(), unit, style=style)
    return Words(humanize(last).capitalize())


def choice_label(path: str, value: object) -> str:
    return CHOICES.get(path, {}).get(str(value), humanize(str(value)))


def number(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}".replace("-", "−")
    return str(value).replace("-", "−") if isinstance(value, int) else str(value)


def value_text(path: str, value: object) -> str:
    """A value as a sentence writes it: "20 %", "45 minutes", "20 s", "abusive language or a threat to leave"."""
    if value is None:
        return "none"
    if path in CHOICES:
        return choice_label(path, value)
    if isinstance(value, (list, tuple)):
        return _either([SIGNALS.get(str(v), humanize(str(v))) for v in value])
    style = field_words(path).style
    if style == PERCENT and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value * 100:g} %"
    if style == MINUTES:
        return f"{number(value)} minute{'' if value == 1 else 's'}"
    if style == SECONDS:
        return f"{number(value)} s"
    return number(value)


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1] if words else "none"


# --- rules as sentences -------------------------------------------------------------------------------

def condition_phrase(name: str, value: object) -> str:
    """One condition as it reads inside a rule sentence ("after an interaction with abusive language"); a value
    of the wrong type (a document that does not validate yet) reads generically."""
    if name in ("signals_any", "category_in") and not isinstance(value, (list, tuple)):
        return f"when {field_words(f'when.{name}').name} is {value}"
    if name == "signals_any":
        return f"after an interaction with {value_text('when.signals_any', value)}"
    if name == "load_at_least":
        return f"when the agent's load is at least {number(value)}"
    if name == "consecutive_negative_at_least":
        return "after a rough interaction" if value == 1 else f"after {number(value)} rough interactions in a row"
    if name == "sentiment_at_most":
        return f"when the customer's sentiment is at most {number(value)}"
    if name == "category_in":
        return f"after an interaction about {_either([humanize(str(v)) for v in value])}"
    if name == "duration_over_norm_at_least":
        return f"when an interaction takes at least {number(value)}× its category's usual time"
    if name == "agent_reported":
        return "when the agent says an interaction rattled them" if value else \
            "when the agent has not said an interaction rattled them"
    words = field_words(f"when.{name}")
    return f"when {words.name} is {value_text(f'when.{name}', value)}"


def _article(minutes: object) -> str:
    text = str(minutes)
    return "an" if text.startswith("8") or text in ("11", "18") else "a"


def break_phrase(then: Mapping) -> str:
    minutes = then.get("break_minutes")
    start = choice_label("then.start", then.get("start") or "after_current")
    if minutes is None:
        return f"a break {start}"
    return f"{_article(minutes)} {number(minutes)}-minute break {start}"


def rule_sentence(rule: Mapping) -> str:
    """"After an interaction with abusive language, an 8-minute break once the current interaction ends"."""
    when, then = rule.get("when"), rule.get("then")
    when = when if isinstance(when, Mapping) else {}
    parts = [condition_phrase(str(name), value) for name, value in when.items() if value is not None]
    lead = " and ".join(parts) if parts else "with no condition"
    return f"{lead[:1].upper()}{lead[1:]}, {break_phrase(then if isinstance(then, Mapping) else {})}"


def guard_sentences(guards: Mapping) -> list[str]:
    """One sentence per guard, in the document's order."""
    out: list[str] = []
    if not isinstance(guards, Mapping):
        return out
    for name, value in guards.items():
        path = f"guards.{name}"
        if name == "max_breaks_per_shift":
            out.append(f"At most {number(value)} break{'' if value == 1 else 's'} per agent per shift")
        elif name == "min_minutes_between_breaks":
            out.append(f"At least {value_text(path, value)} between two breaks of one agent")
        elif name == "max_team_fraction_on_break":
            out.append(f"At most {value_text(path, value)} of the team on a break at once")
        elif name == "service_level" and (value is None or isinstance(value, Mapping)):
            out.extend(_service_level_sentences(value))
        elif name == "max_deferral_minutes":
            out.append(f"A break held back for the service level waits at most {value_text(path, value)}, "
                       "then is granted anyway and escalated")
        elif name == "escalate_to":
            out.append(f"Escalations go to {humanize(str(value))}")
        else:
            out.append(f"{field_words(path).label}: {value_text(path, value)}")
    return out


def _service_level_sentences(level: Mapping | None) -> list[str]:
    if not level:
        return ["No service-level guard: breaks are not held back for the queue"]
    target = value_text("guards.service_level.target", level.get("target"))
    within = value_text("guards.service_level.answer_within_seconds", level.get("answer_within_seconds"))
    out = [f"Keep the predicted service level at {target} of calls answered within {within}"]
    model = level.get("model")
    if model == "erlang_a":
        patience = level.get("patience_seconds")
        out.append("Service level modelled with Erlang A" + (
            f", callers' patience {value_text('guards.service_level.patience_seconds', patience)}"
            if patience is not None else ""))
    elif model is not None:
        out.append(f"Service level modelled with {choice_label('guards.service_level.model', model)}")
    for name, value in level.items():
        if name not in ("target", "answer_within_seconds", "model", "patience_seconds"):
            path = f"guards.service_level.{name}"
            out.append(f"{field_words(path).label}: {value_text(path, value)}")
    return out


# --- history: what changed, as sentences -------------------------------------------------------------

def _change(label: str, path: str, before: object, after: object) -> str:
    words = field_words(path)
    if words.style == MINUTES and before is not None and after is not None:
        return f"{label} {number(before)} → {number(after)} minutes"
    return f"{label} {value_text(path, before)} → {value_text(path, after)}"


def _rule_changes(name: str, old: Mapping, new: Mapping) -> list[str]:
    out = []
    old_when, new_when = old.get("when") or {}, new.get("when") or {}
    for key in dict.fromkeys([*old_when, *new_when]):
        a, b = old_when.get(key), new_when.get(key)
        if a == b:
            continue
        if a is None:
            out.append(f"{name}: added condition “{condition_phrase(key, b)}”")
        elif b is None:
            out.append(f"{name}: dropped condition “{condition_phrase(key, a)}”")
        else:
            out.append(f"{name}: {_change(field_words('when.' + key).name, 'when.' + key, a, b)}")
    old_then, new_then = old.get("then") or {}, new.get("then") or {}
    for key in dict.fromkeys([*old_then, *new_then]):
        a, b = old_then.get(key), new_then.get(key)
        if a != b:
            out.append(f"{name}: {_change(field_words('then.' + key).name, 'then.' + key, a, b)}")
    return out


def _guard_changes(old: Mapping, new: Mapping, prefix: str = "guards") -> list[str]:
    out = []
    for key in dict.fromkeys([*old, *new]):
        a, b, path = old.get(key), new.get(key), f"{prefix}.{key}"
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out.extend(_guard_changes(a, b, path))
        elif isinstance(a, Mapping) or isinstance(b, Mapping):  # a nested guard switched on or off as a whole
            out.append(f"{field_words(path).name} turned {'on' if isinstance(b, Mapping) else 'off'}")
        else:
            out.append(_change(field_words(path).name, path, a, b))
    return out


def change_sentences(before: Mapping | None, after: Mapping) -> list[str]:
    """What a version changed against the one before, one short sentence per rule and guard change."""
    before = before or {}
    old_rules = {r.get("name"): r for r in before.get("rules") or ()}
    new_rules = {r.get("name"): r for r in after.get("rules") or ()}
    out = []
    for name, rule in new_rules.items():
        if name not in old_rules:
            out.append(f"new rule “{name}”: {rule_sentence(rule)}")
        else:
            out.extend(_rule_changes(name, old_rules[name], rule))
    out.extend(f"removed rule “{name}”" for name in old_rules if name not in new_rules)
    kept_old = [n for n in old_rules if n in new_rules]
    kept_new = [n for n in new_rules if n in old_rules]
    if kept_old != kept_new:
        out.append(f"rule order: {', '.join(kept_old)} → {', '.join(kept_new)}")
    out.extend(_guard_changes(before.get("guards") or {}, after.get("guards") or {}))
    old_team, new_team = (before.get("scope") or {}).get("team"), (after.get("scope") or {}).get("team")
    if before and old_team != new_team:
        out.append(f"team {old_team or 'all'} → {new_team or 'all'}")
    return out


# --- simulation measures -----------------------------------------------------------------------------

MEASURES: dict[str, tuple[str, str]] = {
    "load_threshold": ("Load at which a break is wanted", "The lowest load any rule asks a break for."),
    "outcomes.requests": ("Breaks the rules asked for", "Every time a rule matched after an interaction."),
    "outcomes.granted": ("Breaks granted at once", "Allowed by every guard when asked."),
    "outcomes.deferred": ("Breaks held back at least once", "A guard made them wait (team share or service level)."),
    "outcomes.escalated": ("Breaks granted late and escalated", "Waited the longest deferral, then granted anyway."),
    "outcomes.refused": ("Breaks refused", "Over the shift cap or too soon after the last break."),
    "outcomes.still_deferred": ("Breaks still waiting when the window ended", ""),
    "total_minutes_off_queue": ("Minutes on a break, all agents together", "Time the team was off the queue."),
}


def measure_label(key: str) -> tuple[str, str]:
    """(label, help) of a simulation measure; unknown keys read as words ("outcomes.foo_bar" → "Foo bar
    (outcomes)")."""
    if key in MEASURES:
        return MEASURES[key]
    group, _, last = key.rpartition(".")
    label = humanize(last).capitalize()
    return (f"{label} ({humanize(group)})" if group else label), ""
