"""SIMULATED providers for tests: local HTTP servers (pytest-httpserver) that answer like Twilio and SendGrid.

The real `twilio` and `sendgrid` clients talk to them over HTTP, so the real request code is exercised.
Each fake records what it accepted and can be told how to answer (202, 429 with Retry-After, 500, 400/21610).
"""
from __future__ import annotations

import json
import re
import threading
import uuid
from collections import Counter
from typing import Callable
from urllib.parse import parse_qs, urlparse

from werkzeug import Request, Response

Answer = tuple[int, dict, dict]  # status, JSON body, headers
Decide = Callable[[dict], "Answer | None"]


def twilio_error(status: int, code: int, message: str = "error", headers: dict | None = None) -> Answer:
    return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status}, headers or {}


class FakeTwilio:
    """Messages API: POST creates (unless `decide` returns an error), GET lists what was accepted."""

    def __init__(self, httpserver, account_sid: str = "ACtest") -> None:
        self.account_sid = account_sid
        self.accepted: list[dict] = []
        self.requests: list[Request] = []
        self.decide: Decide = lambda form: None
        self._lock = threading.Lock()
        path = re.compile(rf"^/2010-04-01/Accounts/{account_sid}/Messages\.json$")
        httpserver.expect_request(path, method="POST").respond_with_handler(self._create)
        httpserver.expect_request(path, method="GET").respond_with_handler(self._list)
        self.base_url = httpserver.url_for("/").rstrip("/")

    def _create(self, request: Request) -> Response:
        form = request.form.to_dict()
        with self._lock:
            self.requests.append(request)
            answer = self.decide(form)
            if answer is None:
                sid = "SM" + uuid.uuid4().hex
                self.accepted.append({**form, "sid": sid})
                answer = (201, {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body"),
                                "account_sid": self.account_sid}, {})
        status, body, headers = answer
        return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")

    def _list(self, request: Request) -> Response:
        to = request.args.get("To")
        rows = [{"sid": m["sid"], "to": m["To"], "body": m["Body"], "status": "sent"} for m in self.accepted
                if m.get("To") == to]
        return Response(json.dumps({"messages": rows, "next_page_uri": None, "page": 0, "page_size": 50}),
                        content_type="application/json")

    def sends_per_checkin(self) -> Counter:
        return Counter(parse_qs(urlparse(m["StatusCallback"]).query)["checkin"][0] for m in self.accepted)


class FakeSendgrid:
    """Mail Send: 202 with X-Message-Id unless `decide` says otherwise; records the JSON bodies accepted."""

    def __init__(self, httpserver) -> None:
        self.accepted: list[dict] = []
        self.requests: list[Request] = []
        self.decide: Decide = lambda body: None
        self._lock = threading.Lock()
        httpserver.expect_request("/v3/mail/send", method="POST").respond_with_handler(self._send)
        self.base_url = httpserver.url_for("/").rstrip("/")

    def _send(self, request: Request) -> Response:
        body = request.get_json()
        with self._lock:
            self.requests.append(request)
            answer = self.decide(body)
            if answer is None:
                message_id = uuid.uuid4().hex[:22]
                self.accepted.append({**body, "_message_id": message_id})
                return Response("", status=202, headers={"X-Message-Id": message_id})
        status, payload, headers = answer
        return Response(json.dumps(payload), status=status, headers=headers, content_type="application/json")
