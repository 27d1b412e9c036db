"""CRM adapters tell the help desk a case was reopened; picked by `crm.adapter`, delivered through the outbox."""
from __future__ import annotations

from followup.crm.base import CrmAdapter, CrmDeliveryError, ReopenNotice
from followup.crm.webhook import WebhookCrm
from followup.crm.zendesk import ZendeskCrm

__all__ = ["ADAPTERS", "BuiltinCrm", "CrmAdapter", "CrmDeliveryError", "ReopenNotice", "WebhookCrm", "ZendeskCrm",
           "build_crm_adapter"]


class BuiltinCrm:
    """Our own case table is the CRM: the case is already marked reopened, nothing to tell anyone else."""

    name = "builtin"

    @classmethod
    def from_config(cls, settings) -> "BuiltinCrm":
        return cls()

    def case_reopened(self, notice: ReopenNotice) -> None:
        return None


ADAPTERS: dict[str, type] = {"builtin": BuiltinCrm, "webhook": WebhookCrm, "zendesk": ZendeskCrm}


def build_crm_adapter(settings) -> CrmAdapter:
    name = settings.crm.adapter
    if name not in ADAPTERS:
        raise ValueError(f"unknown crm.adapter {name!r}; known: {', '.join(ADAPTERS)}")
    return ADAPTERS[name].from_config(settings)
