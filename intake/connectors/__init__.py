"""Native help-desk connectors, one module per desk, picked by the path they are posted to (`/webhooks/<name>`).

Each implements `DeskConnector` (intake/connectors/base.py): verify the desk's own scheme, name the delivery, map
the desk's payload to one SPEC §3 event. The intake (intake/desk_views.py) does the rest the same way for every
desk: de-duplication, the contact look-up failure record, inline or queued intake.
"""
from __future__ import annotations

from intake.connectors.base import CheckLine, Delivery, DeskConnector, Ignored, LookupFailed, Refused
from intake.connectors.chatwoot import ChatwootConnector
from intake.connectors.freshdesk import FreshdeskConnector
from intake.connectors.intercom import IntercomConnector
from intake.connectors.zammad import ZammadConnector
from intake.connectors.zendesk import ZendeskConnector

__all__ = ["CONNECTORS", "DESKS", "CheckLine", "Delivery", "DeskConnector", "Ignored", "LookupFailed", "Refused",
           "build_connectors"]

CONNECTORS: dict[str, type] = {cls.name: cls for cls in (ZendeskConnector, ChatwootConnector, IntercomConnector,
                                                           ZammadConnector, FreshdeskConnector)}
DESKS = tuple(CONNECTORS)


def build_connectors(settings) -> dict[str, DeskConnector]:
    """Every desk's connector, built once per app (their look-up caches live as long as the process)."""
    return {name: cls.from_config(settings) for name, cls in CONNECTORS.items()}
