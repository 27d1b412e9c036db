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
    """Messages API: POST creates (unless `decide` returns an error), GET lists what was accepted. WhatsApp: a message
    sent as a Content template (`ContentSid` + `ContentVariables`, no `Body`) is stored with the template's text
    filled in, as Twilio does. Content API (`content.v1`, same server): create and list templates, fetch and request
    their WhatsApp approval (`approve` sets what a later fetch reports)."""

    def __init__(self, httpserver, account_sid: str = "ACtest") -> None:
        self.account_sid = account_sid
        self.accepted: list[dict] = []
        self.requests: list[Request] = []
        self.decide: Decide = lambda form: None
        self.contents: dict[str, dict] = {}
        self.approvals: dict[str, dict] = {}
        self.content_requests: list[tuple[str, str, dict | None]] = []  # (method, path, JSON body)
        self._lock = threading.Lock()
        path = re.compile(rf"^/2010-04-01/Accounts/{account_sid}/Messages\.json$")
        httpserver.expect_request(path, method="POST").respond_with_handler(self._create)
        httpserver.expect_request(path, method="GET").respond_with_handler(self._list)
        httpserver.expect_request("/v1/Content", method="POST").respond_with_handler(self._create_content)
        httpserver.expect_request("/v1/Content", method="GET").respond_with_handler(self._list_contents)
        approvals = re.compile(r"^/v1/Content/(HX\w+)/ApprovalRequests(/whatsapp)?$")
        httpserver.expect_request(approvals, method="GET").respond_with_handler(self._fetch_approval)
        httpserver.expect_request(approvals, method="POST").respond_with_handler(self._request_approval)
        self.base_url = httpserver.url_for("/").rstrip("/")

    def _create(self, request: Request) -> Response:
        form = request.form.to_dict()
        with self._lock:
            self.requests.append(request)
            answer = self.decide(form)
            if answer is None:
                sid = "SM" + uuid.uuid4().hex
                body = form.get("Body") if "ContentSid" not in form else self._filled(form)
                self.accepted.append({**form, "sid": sid, "body": body})
                answer = (201, {"sid": sid, "status": "queued", "to": form.get("To"), "body": body,
                                "account_sid": self.account_sid}, {})
        status, body, headers = answer
        return _json(body, status, headers)

    def _filled(self, form: dict) -> str | None:
        """The template's text with its variables, as Twilio stores a template message; None for an unknown SID."""
        content = self.contents.get(form["ContentSid"])
        if content is None:
            return None
        variables = json.loads(form.get("ContentVariables") or "{}")
        body = content["types"]["twilio/quick-reply"]["body"]
        return re.sub(r"\{\{(\d+)\}\}", lambda m: variables.get(m.group(1), m.group(0)), body)

    def _list(self, request: Request) -> Response:
        to = request.args.get("To")
        rows = [{"sid": m["sid"], "to": m["To"], "body": m["body"], "status": "sent"} for m in self.accepted
                if m.get("To") == to]
        return _json({"messages": rows, "next_page_uri": None, "page": 0, "page_size": 50})

    def sends_per_checkin(self) -> Counter:
        return Counter(parse_qs(urlparse(m["StatusCallback"]).query)["checkin"][0] for m in self.accepted)

    def _create_content(self, request: Request) -> Response:
        body = request.get_json()
        with self._lock:
            self.content_requests.append(("POST", request.path, body))
            sid = "HX" + uuid.uuid4().hex
            self.contents[sid] = {"sid": sid, "account_sid": self.account_sid, **body,
                                  "types": {k: v for k, v in body["types"].items() if v is not None}}
        return _json(self.contents[sid], 201)

    def _list_contents(self, request: Request) -> Response:
        self.content_requests.append(("GET", request.path, None))
        return _json({"contents": list(self.contents.values()),
                      "meta": {"page": 0, "page_size": 50, "key": "contents", "next_page_url": None,
                               "previous_page_url": None, "first_page_url": None, "url": None}})

    def _fetch_approval(self, request: Request) -> Response:
        sid = request.path.split("/")[3]
        self.content_requests.append(("GET", request.path, None))
        if sid not in self.contents:
            return _json({"code": 20404, "message": "not found", "status": 404}, 404)
        whatsapp = self.approvals.get(sid) or {"status": "unsubmitted"}
        return _json({"sid": sid, "account_sid": self.account_sid, "whatsapp": whatsapp})

    def _request_approval(self, request: Request) -> Response:
        sid, body = request.path.split("/")[3], request.get_json()
        self.content_requests.append(("POST", request.path, body))
        self.approvals[sid] = {"name": body["name"], "category": body["category"], "content_type": "twilio/quick-reply",
                               "status": "received", "rejection_reason": "", "allow_category_change": True}
        return _json(self.approvals[sid], 201)

    def approve(self, sid: str, status: str = "approved", rejection_reason: str = "") -> None:
        self.approvals[sid] = {**self.approvals.get(sid, {}), "status": status, "rejection_reason": rejection_reason}

    def content_sid(self, locale: str) -> str:
        return next(sid for sid, c in self.contents.items() if c["language"] == locale)


def _json(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


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
