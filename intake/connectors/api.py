"""A desk's REST API as the connectors read it: GET one JSON document, retried, and the answers cached.

Contacts a payload lacks (Zendesk requesters, Intercom contacts, Freshdesk contacts, Zammad and Chatwoot users)
are fetched here. Timeouts, connection errors, 429 and 5xx are retried (`connectors.lookup_attempts`, short
exponential waits: the webhook is waiting); other answers are final. Successful answers are kept for
`connectors.lookup_cache_seconds`, so a burst of closes for one customer asks once. Anything that still fails is a
`LookupFailed` with the reason, which the intake records on the event.
"""
from __future__ import annotations

import threading

import requests
from cachetools import TTLCache
from tenacity import RetryError, retry, retry_if_exception, stop_after_attempt, wait_exponential

from typing import Callable

from intake.connectors.base import CheckLine, LookupFailed

USER_AGENT = "Aftercare/0.1 (+https://aftercare.dev)"


class _Transient(Exception):
    """Worth another try: no answer, 429 or 5xx."""


class DeskApi:
    def __init__(self, *, desk: str, base_url: str, headers: dict | None = None, auth: tuple | None = None,
                 timeout: float = 5.0, attempts: int = 3, cache_seconds: float = 600, wait_seconds: float = 0.2,
                 http: requests.Session | None = None) -> None:
        self.desk, self.base_url = desk, base_url.rstrip("/")
        self._headers, self._auth, self.timeout = {"User-Agent": USER_AGENT, "Accept": "application/json",
                                                   **(headers or {})}, auth, timeout
        self.attempts, self.wait_seconds = max(1, attempts), wait_seconds
        self.http = http or requests.Session()
        self._cache: TTLCache = TTLCache(maxsize=10_000, ttl=max(cache_seconds, 0.001))
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.base_url)

    def get(self, path: str, *, what: str, cached: bool = True) -> dict:
        """The JSON object at `path`, or LookupFailed naming `what` and why."""
        if not self.configured:
            raise LookupFailed(f"{what}: the {self.desk} API is not configured ({self.desk}.* settings)")
        if cached:
            with self._lock:
                if path in self._cache:
                    return self._cache[path]
        caller = retry(stop=stop_after_attempt(self.attempts), reraise=False,
                       wait=wait_exponential(multiplier=self.wait_seconds, max=2),
                       retry=retry_if_exception(lambda exc: isinstance(exc, _Transient)))(self._get_once)
        try:
            document = caller(path, what)
        except RetryError as exc:
            raise LookupFailed(f"{what}: {exc.last_attempt.exception()} (after {self.attempts} tries)") from exc
        if cached:
            with self._lock:
                self._cache[path] = document
        return document

    def _get_once(self, path: str, what: str) -> dict:
        try:
            response = self.http.get(self.base_url + path, headers=self._headers, auth=self._auth,
                                     timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise _Transient(f"{self.desk} unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Transient(f"{self.desk} answered {status}")
        if status != 200:
            raise LookupFailed(f"{what}: {self.desk} answered {status}: {response.text[:200].strip()}")
        try:
            document = response.json()
        except ValueError as exc:
            raise LookupFailed(f"{what}: {self.desk} answered something that is not JSON") from exc
        if not isinstance(document, dict):
            raise LookupFailed(f"{what}: {self.desk} answered JSON that is not an object")
        return document


def credentials_check(*, secret_set: bool, secret_names: str, api: DeskApi, api_names: str, purpose: str,
                      probe: str, credential: str, describe: Callable[[dict], list[CheckLine]]) -> list[CheckLine]:
    """What `flask connectors check` says for every desk: is the webhook secret set, are the API settings there,
    and does the desk accept the credentials (`probe` is a cheap GET that needs them)."""
    lines = [CheckLine(True, f"{secret_names} set") if secret_set else
             CheckLine(False, f"{secret_names} empty: every delivery gets 401")]
    if not api.configured:
        return [*lines, CheckLine(False, f"{api_names} are needed to {purpose}")]
    try:
        return [*lines, *describe(api.get(probe, what=f"the {credential}", cached=False))]
    except LookupFailed as exc:
        return [*lines, CheckLine(False, f"{credential} refused: {exc}")]
