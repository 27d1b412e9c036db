"""docs/configuration.md documents every key of config/default.toml with the file's own default, so the two
cannot drift: a key added to (or dropped from) the file without the page, or a default changed on one side
only, fails here."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = ROOT / "config" / "default.toml"
PAGE = ROOT / "docs" / "configuration.md"
HEADER = ["key", "default", "meaning"]
ONE_CODE_SPAN = re.compile(r"^`([^`]+)`$")


def documented_rows(markdown: str) -> list[tuple[str, str]]:
    """(key, default as written) for every row of every `| key | default | meaning |` table on the page."""
    rows, in_table = [], False
    for line in markdown.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells == HEADER:
            in_table = True
        elif in_table and not set("".join(cells)) <= set("-: "):
            assert len(cells) == 3, f"a row needs key, default and meaning: {line}"
            key, default = (ONE_CODE_SPAN.match(cell) for cell in cells[:2])
            assert key and default, f"key and default must each be one `code span`: {line}"
            rows.append((key.group(1), default.group(1)))
    return rows


def flatten(table: dict, documented: set[str], prefix: str = "") -> dict[str, object]:
    """`section.key` → value. A table is one key when it is empty or the page documents it whole (a map such
    as `triage.category_weights`); otherwise each of its entries is a key of its own."""
    flat: dict[str, object] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and value and key not in documented:
            flat.update(flatten(value, documented, f"{key}."))
        else:
            flat[key] = value
    return flat


def toml_value(literal: str) -> object:
    return tomllib.loads(f"value = {literal}")["value"]


def same(a: object, b: object) -> bool:
    """Equal and of the same TOML type (`1` is not `1.0`, `true` is not `1`)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def test_flatten_names_every_leaf_and_keeps_empty_or_documented_tables_whole():
    table = {"a": {"x": 1, "empty": {}, "map": {"k": 2}, "nested": {"y": "z"}}}
    assert flatten(table, {"a.map"}) == {"a.x": 1, "a.empty": {}, "a.map": {"k": 2}, "a.nested.y": "z"}
    assert flatten(table, set()) == {"a.x": 1, "a.empty": {}, "a.map.k": 2, "a.nested.y": "z"}


def test_rows_are_read_only_from_key_default_meaning_tables():
    page = "\n".join(["| setting | default |", "|---|---|", "| `x.y` | `1` |", "",
                      "| key | default | meaning |", "|---|---|---|", "| `a.b` | `\"c\"` | what it does |", "",
                      "| `not.a.row` | `2` | after the table |"])
    assert documented_rows(page) == [("a.b", '"c"')]


def test_every_key_of_default_toml_is_documented_with_its_default():
    rows = documented_rows(PAGE.read_text(encoding="utf-8"))
    keys = [key for key, _ in rows]
    assert len(keys) == len(set(keys)), f"documented twice: {sorted({k for k in keys if keys.count(k) > 1})}"
    with open(DEFAULTS, "rb") as fh:
        defaults = flatten(tomllib.load(fh), set(keys))
    assert sorted(set(defaults) - set(keys)) == [], "in config/default.toml but not in docs/configuration.md"
    assert sorted(set(keys) - set(defaults)) == [], "in docs/configuration.md but not in config/default.toml"
    wrong = {key: (written, defaults[key]) for key, written in rows if not same(toml_value(written), defaults[key])}
    assert wrong == {}, "documented default (as written) differs from config/default.toml (as parsed)"
