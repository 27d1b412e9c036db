"""`crm.adapter = "zendesk"`: reopen the ticket and add an internal note, via the Zendesk Tickets API.

The ticket is the case's own Zendesk id when it came through `/webhooks/zendesk`; for a case in our own format the
case id is the Zendesk ticket id (what a Zendesk trigger sends as `{{ticket.id}}`). So
`PUT {base_url}/api/v2/tickets/{case_id}.json` sets `status: open` and adds a private comment with the
customer's reply, our verdict and its reasons. Auth is an API token: basic `{email}/token:{api_token}`.
"""
from __future__ import annotations

import requests

from followup.crm.base import CrmDeliveryError, ReopenNotice, internal_note, require_settings
from followup.crm.http import call


class ZendeskCrm:
    name = "zendesk"

    def __init__(self, *, base_url: str, email: str, api_token: str, timeout: float = 10.0,
                 http: requests.Session | None = None) -> None:
        self.base_url, self.email, self._token, self.timeout = base_url.rstrip("/"), email, api_token, timeout
        self.http = http or requests.Session()

    @classmethod
    def from_config(cls, settings) -> "ZendeskCrm":
        z = settings.zendesk
        require_settings("zendesk", z, "base_url", "email", "api_token")
        return cls(base_url=z.base_url, email=z.email, api_token=z.api_token.reveal(),
                   timeout=settings.crm.timeout_seconds)

    def case_reopened(self, notice: ReopenNotice) -> None:
        ticket = notice.native_id
        if not ticket.isdigit():
            raise CrmDeliveryError(f"case id {ticket!r} is not a Zendesk ticket id (ticket ids are numbers)",
                                   permanent=True)
        call(self.http, "PUT", f"{self.base_url}/api/v2/tickets/{ticket}.json", what=f"Zendesk ticket {ticket}",
             timeout=self.timeout, auth=(f"{self.email}/token", self._token),
             json={"ticket": {"status": "open", "comment": {"body": internal_note(notice), "public": False}}})

