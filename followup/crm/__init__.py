"""CRM adapters tell the help desk a case was reopened; picked by `crm.adapter`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ReopenNotice:
    case_id: str
    reply_text: str
    intent: str
    reasons: tuple[str, ...]
    routed_to: str


@runtime_checkable
class CrmAdapter(Protocol):
    name: str

    def case_reopened(self, notice: ReopenNotice) -> None:
        """Tell the CRM; raise on failure so the caller can retry or dead-letter."""


class BuiltinCrm:
    """Our own case table is the CRM: the case is already marked reopened, nothing to tell anyone else."""

    name = "builtin"

    @classmethod
    def from_config(cls, settings) -> "BuiltinCrm":
        return cls()

    def case_reopened(self, notice: ReopenNotice) -> None:
        return None


ADAPTERS: dict[str, type] = {"builtin": BuiltinCrm}


def build_crm_adapter(settings) -> CrmAdapter:
    name = settings.crm.adapter
    if name not in ADAPTERS:
        raise ValueError(f"unknown crm.adapter {name!r}; known: {', '.join(ADAPTERS)}")
    return ADAPTERS[name].from_config(settings)
