"""The settings and routing adapter wellbeing's services run with, carried by the app's database sessions.

`followup` and the shell call wellbeing's services with a session only (their signatures are a contract), so
the app binds its wellbeing context to its session factory once (`bind`) and every session it makes carries it
in `session.info`. A session without one (a bare script, a unit test) gets the defaults and the builtin queue.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from wellbeing.load import DEFAULT_WEIGHTS, LoadWeights
from wellbeing.routing.builtin import BuiltinRouting
from aftercare.core.outbox import OutboxPolicy
from wellbeing.routing.outbox import policy_from_settings as outbox_policy
from wellbeing.rules import DEFAULT_LOAD_THRESHOLD

INFO_KEY = "wellbeing"


@dataclass(frozen=True)
class WellbeingConfig:
    """The `[wellbeing]` settings as the domain wants them."""

    weights: LoadWeights = DEFAULT_WEIGHTS
    load_threshold: float = DEFAULT_LOAD_THRESHOLD
    traffic_window: timedelta = timedelta(minutes=15)
    signed_in_window: timedelta = timedelta(hours=8)
    category_norm_seconds: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "category_norm_seconds", MappingProxyType(dict(self.category_norm_seconds)))

    @classmethod
    def from_settings(cls, settings) -> WellbeingConfig:
        w = settings.wellbeing
        return cls(weights=LoadWeights.from_mapping(w.weights), load_threshold=float(w.load_threshold),
                   traffic_window=timedelta(minutes=w.traffic_window_minutes),
                   signed_in_window=timedelta(hours=w.signed_in_hours),
                   category_norm_seconds={k: float(v) for k, v in w.category_norm_seconds.items()})


@dataclass(frozen=True)
class WellbeingContext:
    config: WellbeingConfig
    routing: Any
    outbox: OutboxPolicy = OutboxPolicy()


def bind(sessions: sessionmaker, settings, *, routing: Any) -> None:
    """Make every session from `sessions` carry this app's wellbeing config and routing adapter."""
    info = dict(sessions.kw.get("info") or {})
    info[INFO_KEY] = WellbeingContext(config=WellbeingConfig.from_settings(settings), routing=routing,
                                      outbox=outbox_policy(settings))
    sessions.configure(info=info)


def context_of(session: Session) -> WellbeingContext:
    found = session.info.get(INFO_KEY)
    if found is None:
        found = WellbeingContext(config=WellbeingConfig(), routing=BuiltinRouting())
    return found
