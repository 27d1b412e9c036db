"""Reopen in Freshdesk: the ticket goes back to Open (status 2) and gets a private note.

Freshdesk API v2, basic auth `{api_key}:X`: `PUT {base_url}/api/v2/tickets/{id} {"status": 2}`, then
`POST {base_url}/api/v2/tickets/{id}/notes {"body": <html>, "private": true}`.
"""
from __future__ import annotations

import requests

from followup.crm.base import CrmDeliveryError, ReopenNotice, html_note, require_settings
from followup.crm.http import call

OPEN = 2


class FreshdeskCrm:
    name = "freshdesk"

    def __init__(self, *, base_url: str, api_key: str, timeout: float = 10.0,
                 http: requests.Session | None = None) -> None:
        self.base_url, self._key, self.timeout = base_url.rstrip("/"), api_key, timeout
        self.http = http or requests.Session()

    @classmethod
    def from_config(cls, settings) -> "FreshdeskCrm":
        f = settings.freshdesk
        require_settings("freshdesk", f, "base_url", "api_key")
        return cls(base_url=f.base_url, api_key=f.api_key.reveal(), timeout=settings.crm.timeout_seconds)

    def case_reopened(self, notice: ReopenNotice) -> None:
        ticket = notice.native_id
        if not ticket.isdigit():
            raise CrmDeliveryError(f"{ticket!r} is not a Freshdesk ticket id", permanent=True)
        what, url = f"Freshdesk ticket {ticket}", f"{self.base_url}/api/v2/tickets/{ticket}"
        call(self.http, "PUT", url, what=what, timeout=self.timeout, auth=(self._key, "X"), json={"status": OPEN})
        call(self.http, "POST", f"{url}/notes", what=what, timeout=self.timeout, auth=(self._key, "X"),
             json={"body": html_note(notice), "private": True})
