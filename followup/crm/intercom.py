"""Reopen in Intercom: the conversation is opened again and gets an admin note.

Intercom REST API (`Authorization: Bearer {access_token}`, `Intercom-Version: 2.11`), acting as
`intercom.admin_id`: `POST /conversations/{id}/parts {"message_type": "open", "admin_id"}` (a part that reopens
it), then `POST /conversations/{id}/reply {"message_type": "note", "type": "admin", "admin_id", "body"}` (a note
only teammates see).
"""
from __future__ import annotations

import requests

from followup.crm.base import CrmDeliveryError, ReopenNotice, html_note, require_settings
from followup.crm.http import call

API_VERSION = "2.11"


class IntercomCrm:
    name = "intercom"

    def __init__(self, *, api_base_url: str, access_token: str, admin_id: str, timeout: float = 10.0,
                 http: requests.Session | None = None) -> None:
        self.base_url, self._token, self.admin_id = api_base_url.rstrip("/"), access_token, admin_id
        self.timeout, self.http = timeout, http or requests.Session()

    @classmethod
    def from_config(cls, settings) -> "IntercomCrm":
        i = settings.intercom
        require_settings("intercom", i, "api_base_url", "access_token", "admin_id")
        return cls(api_base_url=i.api_base_url, access_token=i.access_token.reveal(), admin_id=i.admin_id,
                   timeout=settings.crm.timeout_seconds)

    def case_reopened(self, notice: ReopenNotice) -> None:
        conversation = notice.native_id
        if not conversation.isdigit():
            raise CrmDeliveryError(f"{conversation!r} is not an Intercom conversation id", permanent=True)
        url, what = f"{self.base_url}/conversations/{conversation}", f"Intercom conversation {conversation}"
        self._post(f"{url}/parts", what, {"message_type": "open", "admin_id": self.admin_id})
        self._post(f"{url}/reply", what, {"message_type": "note", "type": "admin", "admin_id": self.admin_id,
                                          "body": html_note(notice)})

    def _post(self, url: str, what: str, body: dict) -> None:
        call(self.http, "POST", url, what=what, timeout=self.timeout, json=body,
             headers={"Authorization": f"Bearer {self._token}", "Intercom-Version": API_VERSION,
                      "Accept": "application/json"})
