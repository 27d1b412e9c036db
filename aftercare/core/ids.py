"""Ids for stored rows."""
from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    """Readable, unguessable ids ("chk_3f2a…") that say what they name."""
    return f"{prefix}_{uuid.uuid4().hex}"
