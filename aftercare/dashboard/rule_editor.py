"""The rule editor's form, generated from the rule schema's field description (`wellbeing.rule_form_spec`).

Form fields are named by their path in the document ("rules.0.then.break_minutes", "guards.service_level.target"),
which is also marshmallow's error path, so a validation error lands next to its input without a mapping table.
Values travel as the strings a form posts; `document_from_values` turns them into the JSON document (an entry it
cannot convert is passed on as typed, so the schema names the field), `values_from_document` goes back. Pure
Python: no Flask, tested without a request.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Mapping

from aftercare.dashboard.wording import choice_label, field_words

# the kinds of wellbeing.rule_fields.FieldSpec (repeated, not imported: the shell sees wellbeing's façade only)
NAMES, NUMBER, INTEGER, BOOLEAN, CHOICE, GROUP = "names", "number", "integer", "boolean", "choice", "group"
PREFIXES = ("rules.", "guards.")
MAX_RULES = 50
ON = "on"
_INTEGER = re.compile(r"[+-]?\d{1,12}")
_STRUCTURAL = re.compile(r"(remove|up|down)-(\d{1,3})")


# --- values (what the form posts) <-> document (the JSON the schema validates) ----------------------------

def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return "" if value is None else str(value)


def values_from_document(document: object) -> tuple[dict[str, str], int]:
    """The form's values and rule count for a document (anything unexpected is skipped, not guessed)."""
    values: dict[str, str] = {}
    if not isinstance(document, Mapping):
        return values, 0
    rules = document.get("rules") if isinstance(document.get("rules"), list) else []
    for index, rule in enumerate(rules[:MAX_RULES]):
        if not isinstance(rule, Mapping):
            continue
        values[f"rules.{index}.name"] = _text(rule.get("name"))
        for part in ("when", "then"):
            if isinstance(rule.get(part), Mapping):
                for key, value in rule[part].items():
                    values[f"rules.{index}.{part}.{key}"] = _text(value)
    guards = document.get("guards")
    if isinstance(guards, Mapping):
        _flatten(guards, "guards", values)
    return values, min(len(rules), MAX_RULES)


def _flatten(mapping: Mapping, prefix: str, out: dict[str, str]) -> None:
    for key, value in mapping.items():
        path = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            out[path] = ON
            _flatten(value, path, out)
        elif value is not None:
            out[path] = _text(value)


def convert(kind: str, raw: str) -> object:
    """A posted string as the JSON value its field expects; left as typed when it is not one (the schema then
    says "Not a valid number." on that field)."""
    if kind == NAMES:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if kind == INTEGER:
        return int(raw) if _INTEGER.fullmatch(raw) else raw
    if kind == NUMBER:
        if _INTEGER.fullmatch(raw):
            return int(raw)
        try:
            number = float(raw)
        except ValueError:
            return raw
        return number if math.isfinite(number) else raw
    if kind == BOOLEAN:
        return {"true": True, "false": False}.get(raw.lower(), raw)
    return raw


def _section(specs, values: Mapping[str, str], prefix: str) -> dict:
    out: dict = {}
    for spec in specs:
        path = f"{prefix}.{spec.name}"
        if spec.kind == GROUP:
            if spec.nullable and values.get(path) != ON:
                out[spec.name] = None
            else:
                out[spec.name] = _section(spec.children, values, path)
            continue
        raw = (values.get(path) or "").strip()
        if raw:
            out[spec.name] = convert(spec.kind, raw)
    return out


def document_from_values(values: Mapping[str, str], rule_count: int, spec: Mapping, *,
                         team: str | None = None) -> dict:
    """The rule set document the form describes. A blank condition is not part of its rule; a blank guard takes
    the schema's default."""
    rules = []
    for index in range(min(rule_count, MAX_RULES)):
        rule = {"name": (values.get(f"rules.{index}.name") or "").strip()}
        rule.update({name: value for name, value in _section(spec["rule"], values, f"rules.{index}").items()
                     if name != "name"})
        rule["when"] = _section(spec["when"], values, f"rules.{index}.when")
        rule["then"] = _section(spec["then"], values, f"rules.{index}.then")
        rules.append(rule)
    document: dict = {"rules": rules, "guards": _section(spec["guards"], values, "guards")}
    if team:
        document["scope"] = {"team": team}
    return document


# --- add, remove, reorder (submit buttons, so they work without JavaScript) ------------------------------

def _rule_blocks(values: Mapping[str, str], rule_count: int) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = [{} for _ in range(rule_count)]
    for key, value in values.items():
        parts = key.split(".", 2)
        if len(parts) == 3 and parts[0] == "rules" and parts[1].isdigit() and int(parts[1]) < rule_count:
            blocks[int(parts[1])][parts[2]] = value
    return blocks


def _unblock(values: Mapping[str, str], blocks: list[dict[str, str]]) -> dict[str, str]:
    out = {k: v for k, v in values.items() if not k.startswith("rules.")}
    for index, block in enumerate(blocks):
        out.update({f"rules.{index}.{key}": value for key, value in block.items()})
    return out


def new_rule_values(existing: list[dict[str, str]]) -> dict[str, str]:
    names = {block.get("name") for block in existing}
    number = len(existing) + 1
    while f"new rule {number}" in names:
        number += 1
    return {"name": f"new rule {number}", "then.break_minutes": "5", "then.start": "after_current"}


def is_structural(action: str) -> bool:
    return action == "add_rule" or bool(_STRUCTURAL.fullmatch(action))


def apply_structural(action: str, values: Mapping[str, str], rule_count: int) -> tuple[dict[str, str], int, str]:
    """Add, remove or move a rule; returns the new values, count and the id of the control to focus next."""
    blocks = _rule_blocks(values, rule_count)
    focus = ""
    if action == "add_rule" and rule_count < MAX_RULES:
        blocks.append(new_rule_values(blocks))
        focus = f"rules-{len(blocks) - 1}-name"
    match = _STRUCTURAL.fullmatch(action)
    if match:
        verb, index = match.group(1), int(match.group(2))
        if index < len(blocks):
            if verb == "remove":
                del blocks[index]
                focus = "add-rule" if not blocks else f"rules-{min(index, len(blocks) - 1)}-name"
            else:
                other = index - 1 if verb == "up" else index + 1
                if 0 <= other < len(blocks):
                    blocks[index], blocks[other] = blocks[other], blocks[index]
                    index = other
                focus = f"rule-{index}-{verb}"
    return _unblock(values, blocks), len(blocks), focus


# --- what the template draws ------------------------------------------------------------------------------

def dom_id(path: str) -> str:
    return path.replace(".", "-")


@dataclass
class Input:
    """One input of the editor with its label, unit, help, limits and errors."""

    path: str
    kind: str
    label: str
    value: str
    unit: str = ""
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    required: bool = False
    nullable: bool = False
    blank: str = ""  # the label of a select's empty choice ("" = no empty choice)
    placeholder: str = ""
    errors: list[str] = field(default_factory=list)
    children: list["Input"] = field(default_factory=list)

    @property
    def id(self) -> str:
        return dom_id(self.path)

    @property
    def step(self) -> str:
        return "1" if self.kind == INTEGER else "any"


def _input(spec, path: str, words_path: str, values: Mapping[str, str], errors: Mapping[str, list[str]]) -> Input:
    words = field_words(words_path)
    choices = [(c, choice_label(words_path, c)) for c in spec.choices]
    if spec.kind == BOOLEAN:
        choices = [("true", "yes"), ("false", "no")]
    default = spec.default if spec.default not in (None, {}) else None
    item = Input(path=path, kind=spec.kind, label=words.label, unit=words.unit, help=words.help,
                 value=values.get(path, ""), minimum=spec.minimum, maximum=spec.maximum, choices=choices,
                 required=spec.required, errors=list(errors.get(path, ())), nullable=spec.nullable,
                 blank="" if spec.required or default is not None else "not used" if ".when." in path else "default",
                 placeholder=f"default {_text(default)}" if default is not None else "")
    if spec.kind == GROUP:
        item.children = [_input(child, f"{path}.{child.name}", f"{words_path}.{child.name}", values, errors)
                         for child in spec.children]
        if not spec.nullable:
            item.value = ON
    return item


@dataclass
class RuleBlock:
    index: int
    own: list[Input]
    conditions: list[Input]
    action: list[Input]
    condition_errors: list[str]
    sentence: str

    @property
    def number(self) -> int:
        return self.index + 1


def editor_view(values: Mapping[str, str], rule_count: int, spec: Mapping, errors: Mapping[str, list[str]],
                sentences: list[str]) -> dict:
    """Rules (own fields, conditions, action, sentence) and guards as `Input`s, errors attached by path."""
    rules = []
    for index in range(rule_count):
        base = f"rules.{index}"
        rules.append(RuleBlock(
            index=index,
            own=[_input(s, f"{base}.{s.name}", f"rule.{s.name}", values, errors) for s in spec["rule"]],
            conditions=[_input(s, f"{base}.when.{s.name}", f"when.{s.name}", values, errors) for s in spec["when"]],
            action=[_input(s, f"{base}.then.{s.name}", f"then.{s.name}", values, errors) for s in spec["then"]],
            condition_errors=list(errors.get(f"{base}.when", ())),
            sentence=sentences[index] if index < len(sentences) else ""))
    guards = [_input(s, f"guards.{s.name}", f"guards.{s.name}", values, errors) for s in spec["guards"]]
    ids = {f"rules-{rule.index}-when" for rule in rules}
    for item in [i for rule in rules for i in (*rule.own, *rule.conditions, *rule.action)] + guards:
        ids.update({item.id, *(child.id for child in item.children)})
    return {"rules": rules, "guards": guards, "rule_count": rule_count, "ids": ids}


def error_target(path: str, ids: set[str]) -> str:
    """The id an error summary links to: its input, else the JSON view (a field the form has no input for)."""
    return dom_id(path) if dom_id(path) in ids else "document"


def error_location(path: str, document: object = None) -> str:
    """Where an error sits, in words: "Rule 1 “after abuse”, Break length"."""
    parts = path.split(".")
    if parts[0] == "rules" and len(parts) > 1 and parts[1].isdigit():
        index = int(parts[1])
        name = ""
        if isinstance(document, Mapping) and isinstance(document.get("rules"), list) \
                and index < len(document["rules"]) and isinstance(document["rules"][index], Mapping):
            name = str(document["rules"][index].get("name") or "")
        where = f"Rule {index + 1}" + (f" “{name}”" if name else "")
        rest = parts[2:]
        if not rest:
            return where
        if rest == ["when"]:
            return f"{where}, conditions"
        words_path = ".".join(rest) if rest[0] in ("when", "then") else f"rule.{'.'.join(rest)}"
        return f"{where}, {field_words(words_path).label}"
    if parts[0] == "guards" and len(parts) > 1:
        return f"Guards, {field_words(path).label}"
    return {"document": "Rule set", "reason": "Reason for the change", "window_days": "Simulation window",
            "rules": "Rules", "guards": "Guards"}.get(path, field_words(path).label)
