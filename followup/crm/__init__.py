"""CRM adapters tell the help desk a case was reopened, through the outbox.

`crm.adapter` picks the adapter for cases that came in our own format; a case a native connector brought in names
its desk (`cases.desk`), and its notice goes through that desk's adapter. `CrmAdapters` builds each adapter once,
when a notice first needs it.
"""
from __future__ import annotations

import threading

from followup.crm.base import CrmAdapter, CrmDeliveryError, ReopenNotice
from followup.crm.chatwoot import ChatwootCrm
from followup.crm.freshdesk import FreshdeskCrm
from followup.crm.intercom import IntercomCrm
from followup.crm.webhook import WebhookCrm
from followup.crm.zammad import ZammadCrm
from followup.crm.zendesk import ZendeskCrm

__all__ = ["ADAPTERS", "BuiltinCrm", "CrmAdapter", "CrmAdapters", "CrmDeliveryError", "ReopenNotice", "WebhookCrm",
           "ZendeskCrm", "build_crm_adapter"]


class BuiltinCrm:
    """Our own case table is the CRM: the case is already marked reopened, nothing to tell anyone else."""

    name = "builtin"

    @classmethod
    def from_config(cls, settings) -> "BuiltinCrm":
        return cls()

    def case_reopened(self, notice: ReopenNotice) -> None:
        return None


class UnconfiguredCrm:
    """A desk a case came from whose credentials are missing: each notice is a dead letter saying which."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason

    def case_reopened(self, notice: ReopenNotice) -> None:
        raise CrmDeliveryError(self.reason, permanent=True)


ADAPTERS: dict[str, type] = {"builtin": BuiltinCrm, "webhook": WebhookCrm, "zendesk": ZendeskCrm,
                             "chatwoot": ChatwootCrm, "freshdesk": FreshdeskCrm, "intercom": IntercomCrm,
                             "zammad": ZammadCrm}


def build_crm_adapter(settings) -> CrmAdapter:
    """The adapter `crm.adapter` names, checked at start (missing credentials refuse to start)."""
    name = settings.crm.adapter
    if name not in ADAPTERS:
        raise ValueError(f"unknown crm.adapter {name!r}; known: {', '.join(ADAPTERS)}")
    return ADAPTERS[name].from_config(settings)


class CrmAdapters:
    """Every adapter the outbox may need, by name: the configured default, and each desk's, built on first use."""

    def __init__(self, settings, default: CrmAdapter) -> None:
        self.settings, self.default = settings, default
        self._built: dict[str, CrmAdapter] = {default.name: default}
        self._lock = threading.Lock()

    def get(self, name: str) -> CrmAdapter:
        with self._lock:
            if name not in self._built:
                self._built[name] = self._build(name)
            return self._built[name]

    def _build(self, name: str) -> CrmAdapter:
        if name not in ADAPTERS:
            return UnconfiguredCrm(name, f"no CRM adapter is called {name!r}")
        try:
            return ADAPTERS[name].from_config(self.settings)
        except ValueError as exc:
            return UnconfiguredCrm(name, str(exc))
