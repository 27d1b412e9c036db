"""Routing adapters behind one Protocol, picked by `routing.adapter`; commands reach them through the outbox."""
from __future__ import annotations

from wellbeing.routing.base import AVAILABLE, BREAK, RoutingAdapter, RoutingError, TaskRequest
from wellbeing.routing.builtin import BuiltinRouting
from wellbeing.routing.taskrouter import TaskRouterRouting

__all__ = ["ADAPTERS", "AVAILABLE", "BREAK", "BuiltinRouting", "RoutingAdapter", "RoutingError", "TaskRequest",
           "TaskRouterRouting", "build_routing_adapter"]

ADAPTERS: dict[str, type] = {"builtin": BuiltinRouting, "taskrouter": TaskRouterRouting}


def build_routing_adapter(settings) -> RoutingAdapter:
    name = settings.routing.adapter
    if name not in ADAPTERS:
        raise ValueError(f"unknown routing.adapter {name!r}; known: {', '.join(ADAPTERS)}")
    return ADAPTERS[name].from_config(settings)
