"""What the rule set document's fields are, read off the marshmallow schema that validates it.

The dashboard builds its rule editor from this description, so a condition or guard added to
`wellbeing.rule_schema` appears in the editor without touching the dashboard, and the editor's input limits
(`min`, `max`, choices) are the validator's own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import ValidationError, fields, missing, validate

from wellbeing.rule_schema import GuardsSchema, RuleSchema, ThenSchema, WhenSchema, dump_rule_set, load_rule_set

TEXT, NAMES, NUMBER, INTEGER, BOOLEAN, CHOICE, GROUP = ("text", "names", "number", "integer", "boolean", "choice",
                                                        "group")


@dataclass(frozen=True)
class FieldSpec:
    """One field of the document: `kind` picks the input; `children` only for a GROUP (nested schema)."""

    name: str
    kind: str
    required: bool = False
    default: object = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False
    children: tuple["FieldSpec", ...] = field(default=())


def _limits(validators) -> tuple[float | None, float | None, tuple[str, ...]]:
    low = high = None
    choices: tuple[str, ...] = ()
    for validator in validators:
        if isinstance(validator, validate.Range):
            low, high = validator.min, validator.max
        elif isinstance(validator, validate.OneOf):
            choices = tuple(str(choice) for choice in validator.choices)
    return low, high, choices


def _kind(item: fields.Field) -> str:
    if isinstance(item, fields.Nested):
        return GROUP
    if isinstance(item, fields.List):
        return NAMES
    if isinstance(item, fields.Boolean):
        return BOOLEAN
    if isinstance(item, fields.Integer):
        return INTEGER
    if isinstance(item, fields.Number):
        return NUMBER
    return TEXT


def _default(item: fields.Field) -> object:
    value = item.load_default
    if value is missing:
        return None
    if callable(value):  # a dataclass factory such as ServiceLevelGuard: the group is on by default
        return {}
    return value


def describe(schema) -> tuple[FieldSpec, ...]:
    """The fields of a marshmallow schema (class or instance), in declaration order."""
    instance = schema() if isinstance(schema, type) else schema
    out = []
    for name, item in instance.fields.items():
        low, high, choices = _limits(item.validators)
        kind = CHOICE if choices and _kind(item) == TEXT else _kind(item)
        children = describe(item.schema) if kind == GROUP else ()
        out.append(FieldSpec(name=name, kind=kind, required=item.required, default=_default(item), minimum=low,
                             maximum=high, choices=choices, nullable=item.allow_none and kind == GROUP,
                             children=children))
    return tuple(out)


def rule_form_spec() -> dict[str, tuple[FieldSpec, ...]]:
    """The editor's sections: a rule's own fields, its conditions (`when`), its action (`then`), the guards."""
    own = tuple(spec for spec in describe(RuleSchema) if spec.kind != GROUP)
    return {"rule": own, "when": describe(WhenSchema), "then": describe(ThenSchema),
            "guards": describe(GuardsSchema)}


def canonical_rule_document(document: object) -> dict | None:
    """The document as it would be stored (defaults written out, numbers as the schema dumps them), or None
    when it does not validate. Two documents that mean the same rules have the same canonical form."""
    try:
        return dump_rule_set(load_rule_set(document))
    except ValidationError:
        return None
