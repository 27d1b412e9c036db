"""Hypothesis settings and strategies for text as it arrives from outside (any code point, JSON of any shape)."""
from __future__ import annotations

from hypothesis import HealthCheck, settings, strategies as st

FUZZ = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SLOW = settings(FUZZ, max_examples=40)

# text as it arrives: any code point, lone surrogates included (json.loads and form decoding can produce them)
any_text = st.text(st.characters(codec=None), max_size=300)
secret_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
header_text = st.text(st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=200)  # HTTP headers: latin-1
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4), max_leaves=20)
