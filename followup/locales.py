"""The per-locale wording files (config/templates/<locale>.toml): a locale, then its language, then `en`."""
from __future__ import annotations

import functools
import tomllib
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "config" / "templates"


@functools.lru_cache(maxsize=64)
def templates_for(locale: str | None) -> dict[str, str]:
    """en-GB → en-GB.toml, then en.toml; a missing key falls back to en."""
    base = _read("en")
    for candidate in locale_candidates(locale):
        found = _read(candidate)
        if found:
            return {**base, **found}
    return base


def locale_candidates(locale: str | None) -> list[str]:
    """en-GB → ["en-GB", "en"]: the locale, then its language."""
    if not locale:
        return []
    norm = locale.replace("_", "-")
    return [norm, norm.split("-")[0].lower()]


def _read(name: str) -> dict[str, str]:
    path = TEMPLATES / f"{name}.toml"
    if not path.is_file() or not name.replace("-", "").isalnum():
        return {}
    with open(path, "rb") as fh:
        return tomllib.load(fh)
