"""One HTTP call to a CRM, its answer sorted into done, retry later, or give up (dead letter)."""
from __future__ import annotations

import requests

from aftercare.core.retry import retry_after_seconds
from followup.crm.base import CrmDeliveryError

RETRYABLE_4XX = frozenset({408, 409, 425, 429})
USER_AGENT = "Aftercare/0.1 (+https://aftercare.dev)"


def call(http: requests.Session, method: str, url: str, *, what: str, timeout: float, **kwargs) -> requests.Response:
    """Send; raise CrmDeliveryError for anything but 2xx (3xx and 4xx other than 408/409/425/429 are permanent)."""
    headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
    try:
        response = http.request(method, url, headers=headers, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.RequestException as exc:
        raise CrmDeliveryError(f"{what} unreachable: {type(exc).__name__}: {str(exc)[:200]}") from exc
    if 200 <= response.status_code < 300:
        return response
    status = response.status_code
    raise CrmDeliveryError(f"{what} answered {status}: {response.text[:300].strip() or response.reason}",
                           permanent=300 <= status < 500 and status not in RETRYABLE_4XX,
                           retry_after=retry_after_seconds(response.headers.get("Retry-After")))
