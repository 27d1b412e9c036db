"""Reopen in Chatwoot: the conversation goes back to `open`, gets a private note, and is assigned to the routed agent.

Chatwoot's Application API (`{base_url}/api/v1/accounts/{account_id}/…`, header `api_access_token`):
`POST …/conversations/{id}/toggle_status {"status": "open"}`, then `POST …/conversations/{id}/messages` with
`"private": true` (a note only agents see), then — when the case was routed to an agent we know by their Chatwoot
id (`chatwoot:<id>`) — `POST …/conversations/{id}/assignments {"assignee_id": id}`. The conversation id is the one
Chatwoot shows in its URLs (`display_id`), which is what its webhooks carry as `id`.
"""
from __future__ import annotations

import requests

from followup.crm.base import CrmDeliveryError, ReopenNotice, desk_agent_id, internal_note, require_settings
from followup.crm.http import call


class ChatwootCrm:
    name = "chatwoot"

    def __init__(self, *, base_url: str, account_id: str, api_access_token: str, timeout: float = 10.0,
                 http: requests.Session | None = None) -> None:
        self.base_url, self.account_id, self._token = base_url.rstrip("/"), account_id, api_access_token
        self.timeout, self.http = timeout, http or requests.Session()

    @classmethod
    def from_config(cls, settings) -> "ChatwootCrm":
        c = settings.chatwoot
        require_settings("chatwoot", c, "base_url", "account_id", "api_access_token")
        return cls(base_url=c.base_url, account_id=c.account_id, api_access_token=c.api_access_token.reveal(),
                   timeout=settings.crm.timeout_seconds)

    def case_reopened(self, notice: ReopenNotice) -> None:
        conversation = notice.native_id
        if not conversation.isdigit():
            raise CrmDeliveryError(f"{conversation!r} is not a Chatwoot conversation id", permanent=True)
        url = f"{self.base_url}/api/v1/accounts/{self.account_id}/conversations/{conversation}"
        what = f"Chatwoot conversation {conversation}"
        self._post(f"{url}/toggle_status", what, {"status": "open"})
        self._post(f"{url}/messages", what, {"content": internal_note(notice), "message_type": "outgoing",
                                             "private": True})
        agent = desk_agent_id(notice.routed_agent_id, self.name)
        if agent and agent.isdigit():
            self._post(f"{url}/assignments", what, {"assignee_id": int(agent)})

    def _post(self, url: str, what: str, body: dict) -> None:
        call(self.http, "POST", url, what=what, timeout=self.timeout, json=body,
             headers={"api_access_token": self._token})
