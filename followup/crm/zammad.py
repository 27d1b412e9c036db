"""Reopen in Zammad: the ticket's state goes back to `open` with an internal note article, in one call.

Zammad REST API (`Authorization: Token token={api_token}`): `PUT {base_url}/api/v1/tickets/{id}` with
`{"state": "open", "article": {"body", "type": "note", "internal": true, "content_type": "text/plain"}}`.
"""
from __future__ import annotations

import requests

from followup.crm.base import CrmDeliveryError, ReopenNotice, internal_note, require_settings
from followup.crm.http import call


class ZammadCrm:
    name = "zammad"

    def __init__(self, *, base_url: str, api_token: str, timeout: float = 10.0,
                 http: requests.Session | None = None) -> None:
        self.base_url, self._token, self.timeout = base_url.rstrip("/"), api_token, timeout
        self.http = http or requests.Session()

    @classmethod
    def from_config(cls, settings) -> "ZammadCrm":
        z = settings.zammad
        require_settings("zammad", z, "base_url", "api_token")
        return cls(base_url=z.base_url, api_token=z.api_token.reveal(), timeout=settings.crm.timeout_seconds)

    def case_reopened(self, notice: ReopenNotice) -> None:
        ticket = notice.native_id
        if not ticket.isdigit():
            raise CrmDeliveryError(f"{ticket!r} is not a Zammad ticket id", permanent=True)
        call(self.http, "PUT", f"{self.base_url}/api/v1/tickets/{ticket}", what=f"Zammad ticket {ticket}",
             timeout=self.timeout, headers={"Authorization": f"Token token={self._token}"},
             json={"state": "open", "article": {"subject": "Reopened by Aftercare", "body": internal_note(notice),
                                                "type": "note", "internal": True, "content_type": "text/plain"}})
