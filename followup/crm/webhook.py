"""`crm.adapter = "webhook"`: an HMAC-signed POST of the reopen to your own endpoint.

Signed like our inbound CRM webhook: `Aftercare-Signature: t=<unix>,v1=<hex hmac-sha256(secret, "<t>.<raw body>")>`
over the exact bytes sent. `Aftercare-Delivery` (also `delivery_id` in the body) is the same on every retry, so a
receiver can drop duplicates. Retries and dead letters are the outbox's job; this only makes one attempt.
"""
from __future__ import annotations

import json

import requests

from aftercare.core.signing import sign
from followup.crm.base import ReopenNotice
from followup.crm.http import call


class WebhookCrm:
    name = "webhook"

    def __init__(self, *, url: str, secret: str, timeout: float = 10.0, http: requests.Session | None = None) -> None:
        self.url, self._secret, self.timeout = url, secret, timeout
        self.http = http or requests.Session()

    @classmethod
    def from_config(cls, settings) -> "WebhookCrm":
        crm = settings.crm
        if not crm.webhook_url or not crm.webhook_signing_secret:
            raise ValueError("crm.adapter = 'webhook' needs crm.webhook_url and crm.webhook_signing_secret")
        return cls(url=crm.webhook_url, secret=crm.webhook_signing_secret.reveal(), timeout=crm.timeout_seconds)

    def case_reopened(self, notice: ReopenNotice) -> None:
        body = json.dumps(notice.as_payload(), separators=(",", ":"), ensure_ascii=False).encode()
        call(self.http, "POST", self.url, what="CRM webhook", timeout=self.timeout, data=body,
             headers={"Content-Type": "application/json", "Aftercare-Signature": sign(self._secret, body),
                      "Aftercare-Delivery": notice.delivery_id})
