"""`crm.adapter = "zendesk"`: reopen the ticket and add an internal note, via the Zendesk Tickets API.

The case id in our events is the Zendesk ticket id (what a Zendesk trigger sends as `{{ticket.id}}`), so
`PUT {base_url}/api/v2/tickets/{case_id}.json` sets `status: open` and adds a private comment with the
customer's reply, our verdict and its reasons. Auth is an API token: basic `{email}/token:{api_token}`.
"""
from __future__ import annotations

import requests

from followup.crm.base import CrmDeliveryError, ReopenNotice
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
        if not (z.base_url and z.email and z.api_token):
            raise ValueError("crm.adapter = 'zendesk' needs zendesk.base_url, zendesk.email and zendesk.api_token")
        return cls(base_url=z.base_url, email=z.email, api_token=z.api_token.reveal(),
                   timeout=settings.crm.timeout_seconds)

    def case_reopened(self, notice: ReopenNotice) -> None:
        if not notice.case_id.isdigit():
            raise CrmDeliveryError(f"case id {notice.case_id!r} is not a Zendesk ticket id (ticket ids are numbers)",
                                   permanent=True)
        call(self.http, "PUT", f"{self.base_url}/api/v2/tickets/{notice.case_id}.json",
             what=f"Zendesk ticket {notice.case_id}", timeout=self.timeout, auth=(f"{self.email}/token", self._token),
             json={"ticket": {"status": "open", "comment": {"body": internal_note(notice), "public": False}}})


def internal_note(notice: ReopenNotice) -> str:
    """What the agent reads on the ticket: the reply in the customer's words, then why we reopened it."""
    reasons = "\n".join(f"- {reason}" for reason in notice.reasons) or "- (none given)"
    quoted = "\n".join(f"> {line}" for line in notice.reply_text.splitlines() or [""])
    return (f"Aftercare reopened this ticket: the customer's reply to the follow-up needs a person.\n\n"
            f"Customer reply:\n{quoted}\n\n"
            f"Verdict: {notice.intent} (confidence {notice.confidence:.2f})\n"
            f"Reasons:\n{reasons}\n\n"
            f"Routed to {notice.routed_to}: {notice.routing_reason}")
