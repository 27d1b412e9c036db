"""Security (SPEC §7, §8): every route × every caller, from the app's own url_map, against an explicit table of who
may call what; webhooks accept no API key and refuse unsigned posts; secrets are compared in constant time and
odd credentials never cause a 500; PII stays out of error bodies and logs; /metrics and /docs access is
configurable; API answers carry nosniff and no-store.

A route missing from EXPECTED fails `test_every_route_is_in_the_table`: decide who may call it, then add a row."""
from __future__ import annotations

import base64
import json
import logging
import random
import re
import string
import tempfile
from pathlib import Path

import pytest

from aftercare.core.logs import JsonFormatter, MaskingFormatter
from tests.support.factories import interaction_event, make_key

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("crm", "agent", "manager", "read")
UNKNOWN = ("no key", "bad key", "revoked key")  # a revoked manager key must be as good as none
CALLERS = (*KEYS, *UNKNOWN)
PUBLIC, SIGNED, SESSION = "public", "signed", "session"
SIGNED_OR_CRM_KEY = "signed, or an API key with the crm scope"  # POST /webhooks/crm (SPEC §10)
R, A, M = "read", "agent", "manager"

# Who may call what: a set of API-key scopes (a key holding any of them gets in; `manager` is listed where the
# code's scope implication lets a manager in), or PUBLIC (anyone), SIGNED (the sender's signature, never an API
# key), SESSION (a signed-in manager on the dashboard).
EXPECTED: dict[tuple[str, str], object] = {
    ("GET", "/api/v1/checkins"): {R, M},
    ("GET", "/api/v1/checkins/{checkin_id}"): {R, M},
    ("POST", "/api/v1/checkins/{checkin_id}/send-now"): {M},
    ("POST", "/api/v1/checkins/{checkin_id}/simulate-reply"): {M},
    ("GET", "/api/v1/cases/{case_id}"): {R, M},
    ("GET", "/api/v1/replies"): {R, M},
    ("GET", "/api/v1/crm/dead-letters"): {R, M},
    ("POST", "/api/v1/crm/dead-letters/{delivery_id}/retry"): {M},
    ("GET", "/api/v1/crm/events"): {R, M},
    ("GET", "/api/v1/crm/events/{event_id}"): {"crm", R, M},
    ("POST", "/api/v1/crm/events/{event_id}/retry"): {M},
    ("GET", "/api/v1/metrics/outcomes"): {R, M},
    ("GET", "/api/v1/insights/reopen-reasons"): {R, M},
    ("GET", "/api/v1/problems"): {R, M},
    ("GET", "/api/v1/problems/{problem_id}"): {R, M},
    ("POST", "/api/v1/problems"): {M},
    ("POST", "/api/v1/problems/{problem_id}/resolve"): {M},
    ("GET", "/api/v1/routing/queue"): {R, A, M},
    ("GET", "/api/v1/agents/{agent_id}/load"): {R, A, M},
    ("GET", "/api/v1/teams/{team}/load"): {R, M},
    ("PUT", "/api/v1/agents/{agent_id}/state"): {A, M},
    ("GET", "/api/v1/agents/{agent_id}/next"): {A, M},
    ("GET", "/api/v1/agents/{agent_id}/breaks"): {R, A, M},
    ("POST", "/api/v1/agents/{agent_id}/breaks/{break_id}/end"): {A, M},
    ("POST", "/api/v1/agents/{agent_id}/rattled"): {A, M},  # an agent-bound key only for its own agent
    ("POST", "/api/v1/agents/{agent_id}/rattled/{report_id}/seen"): {M},
    ("GET", "/api/v1/break-rules"): {M},
    ("PUT", "/api/v1/break-rules"): {M},
    ("GET", "/api/v1/break-rules/history"): {M},
    ("POST", "/api/v1/break-rules/rollback"): {M},
    ("POST", "/api/v1/break-rules/simulate"): {M},
    ("POST", "/webhooks/crm"): SIGNED_OR_CRM_KEY,
    ("POST", "/webhooks/zendesk"): SIGNED,
    ("POST", "/webhooks/chatwoot"): SIGNED,
    ("POST", "/webhooks/intercom"): SIGNED,
    ("POST", "/webhooks/zammad"): SIGNED,
    ("POST", "/webhooks/freshdesk"): SIGNED,
    ("POST", "/webhooks/twilio/sms"): SIGNED,
    ("POST", "/webhooks/twilio/whatsapp"): SIGNED,
    ("POST", "/webhooks/twilio/status"): SIGNED,
    ("POST", "/webhooks/sendgrid/inbound"): SIGNED,
    ("POST", "/webhooks/sendgrid/events"): SIGNED,
    ("POST", "/webhooks/taskrouter/events"): SIGNED,
    ("GET", "/unsubscribe/{token}"): PUBLIC,  # the unguessable token is the capability
    ("POST", "/unsubscribe/{token}"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # server.metrics_access = "public" (default); see the token/off tests below
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/static/{filename}"): PUBLIC,
    ("GET", "/static/swagger-ui/{filename}"): PUBLIC,
    ("GET", "/dashboard/static/{filename}"): PUBLIC,
    ("GET", "/dashboard/sign-in"): PUBLIC,
    ("POST", "/dashboard/sign-in"): PUBLIC,
    ("POST", "/dashboard/sign-out"): SESSION,
    ("GET", "/dashboard/"): SESSION,
    ("GET", "/dashboard/agents/{agent_id}"): SESSION,
    ("POST", "/dashboard/agents/{agent_id}/rattled/{report_id}/seen"): SESSION,
    ("GET", "/dashboard/breaks"): SESSION,
    ("GET", "/dashboard/inbox"): SESSION,
    ("GET", "/dashboard/load"): SESSION,
    ("GET", "/dashboard/load/live"): SESSION,
    ("GET", "/dashboard/outcomes"): SESSION,
    ("GET", "/dashboard/outcomes.csv"): SESSION,
    ("GET", "/dashboard/insights"): SESSION,
    ("GET", "/dashboard/problems"): SESSION,
    ("POST", "/dashboard/problems"): SESSION,
    ("GET", "/dashboard/problems/{problem_id}"): SESSION,
    ("POST", "/dashboard/problems/{problem_id}/resolve"): SESSION,
    ("GET", "/dashboard/rules"): SESSION,
    ("POST", "/dashboard/rules"): SESSION,
    ("POST", "/dashboard/rules/preview"): SESSION,
    ("GET", "/dashboard/rules/history"): SESSION,
    ("POST", "/dashboard/rules/rollback"): SESSION,
}
SIGNATURE_SCHEMES = {"crmSignature", "twilioSignature", "sendgridInbound", "sendgridEventSignature",
                     "zendeskSignature", "chatwootSignature", "hubSignature", "freshdeskBasic"}


def _app_routes() -> tuple[set[tuple[str, str]], dict]:
    """(method, path template) of every route the app serves, and its OpenAPI document."""
    from aftercare.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"database": {"url": f"sqlite:///{tmp}/routes.db"}, "crm": {"webhook_secret": "x"},
                          "server": {"instance_dir": tmp}, "scheduler": {"enabled": False},
                          "logging": {"json": False, "level": "WARNING"}})
        routes = {(method, re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule))
                  for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}
        spec = app.test_client().get("/openapi.json").get_json()
        app.extensions["aftercare"].db.dispose()
    return routes, spec


ROUTES, SPEC = _app_routes()


def test_every_route_is_in_the_table():
    missing = sorted(ROUTES - set(EXPECTED))
    assert not missing, f"routes with no access expectation (add them to EXPECTED): {missing}"


def test_the_table_names_no_route_that_is_gone():
    assert not sorted(set(EXPECTED) - ROUTES)


def test_openapi_documents_each_routes_access():
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            expected = EXPECTED[(method.upper(), path)]
            schemes = {name for requirement in operation.get("security") or [] for name in requirement}
            if isinstance(expected, set):
                assert schemes == {"bearerAuth"}, (method, path, schemes)
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
            elif expected == SIGNED:
                assert schemes and schemes <= SIGNATURE_SCHEMES, (method, path, schemes)
            elif expected == SIGNED_OR_CRM_KEY:
                assert schemes == {"crmSignature", "bearerAuth"}, (method, path, schemes)
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
            else:
                assert "bearerAuth" not in schemes, (method, path)


@pytest.fixture
def every_adapter(overrides):
    """Serve every route, including those only a configured adapter answers (the TaskRouter webhook)."""
    from tests.support.signing import configure_providers, enable_taskrouter

    configure_providers(overrides)
    enable_taskrouter(overrides)


@pytest.fixture
def callers(every_adapter, app, clock) -> dict[str, dict]:
    from aftercare.auth import revoke_api_key

    headers = {scope: {"Authorization": f"Bearer {make_key(app, scope)}"} for scope in KEYS}
    revoked = make_key(app, "manager")
    with app.extensions["aftercare"].db.session() as session:
        revoke_api_key(session, ref=revoked, now=clock.now)
    return {**headers, "no key": {}, "bad key": {"Authorization": "Bearer ak_" + "x" * 43},
            "revoked key": {"Authorization": f"Bearer {revoked}"}}


def _call(client, method: str, path: str, headers: dict):
    url = re.sub(r"\{[^}]+\}", "x", path)
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") and not path.startswith("/dashboard") else {}
    return client.open(url, method=method, headers=headers, **body)


@pytest.mark.parametrize("method,path", sorted(EXPECTED), ids=[f"{m} {p}" for m, p in sorted(EXPECTED)])
def test_access_matrix(method, path, callers, client):
    if (method, path) not in ROUTES:
        pytest.skip("not served by this build")
    expected = EXPECTED[(method, path)]
    for caller, headers in callers.items():
        resp = _call(client, method, path, headers)
        got = f"{caller}: {method} {path} → {resp.status_code} {resp.get_data(as_text=True)[:200]}"
        assert resp.status_code < 500, got
        if isinstance(expected, set):
            if caller in UNKNOWN:
                assert resp.status_code == 401 and resp.mimetype == "application/problem+json", got
                assert resp.headers["WWW-Authenticate"].startswith("Bearer"), got
            elif caller in expected:
                assert resp.status_code not in (401, 403), got
            else:
                assert resp.status_code == 403 and resp.mimetype == "application/problem+json", got
        elif expected == SIGNED:
            assert resp.status_code in (401, 403), got  # an API key is no signature
        elif expected == SIGNED_OR_CRM_KEY:
            if caller == "crm":
                assert resp.status_code == 422, got  # let in: the empty body is what is refused
            else:
                assert resp.status_code == (401 if caller in UNKNOWN else 403), got
        elif expected == SESSION:
            assert resp.status_code in (302, 303, 400, 401), got
            if resp.status_code in (302, 303):
                assert "/dashboard/sign-in" in resp.headers["Location"], got
        else:
            assert resp.status_code not in (401, 403), got


def test_signed_webhooks_accept_a_valid_signature(post_event):
    """The other side of SIGNED: the same route answers a correctly signed post (a forged one is refused above)."""
    assert post_event(interaction_event()).status_code == 202


# -- constant-time comparisons, and credentials that are odd rather than wrong ----------------------------------

SECRET_NAME = r"(?:secret|token|password|signature|api_key|key_hash|digest)"
COMPARISON = re.compile(rf"[\w.]*{SECRET_NAME}[\w.]*(?:\(\))?\s*[!=]=(?!=)|[!=]=\s*[\w.]*{SECRET_NAME}",
                        re.IGNORECASE)
# `==` inside a SQL filter is a lookup by an unguessable or hashed value, not a comparison in Python.
SQL_LOOKUP = re.compile(r"\b[A-Z]\w+\.\w+\s*==")


def test_secrets_are_compared_in_constant_time():
    offenders = []
    for package in ("aftercare", "followup", "wellbeing", "config"):
        for source in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#")[0]
                if COMPARISON.search(code) and not SQL_LOOKUP.search(code) and "def __eq__" not in code:
                    offenders.append(f"{source.relative_to(ROOT)}:{number}: {line.strip()}")
    allowed = {"config/settings.py"}  # Secret.__eq__ compares settings with settings, never with a request
    offenders = [o for o in offenders if o.split(":")[0] not in allowed]
    assert not offenders, "use hmac.compare_digest / aftercare.core.signing.safe_equals:\n" + "\n".join(offenders)


@pytest.fixture
def url_secret(overrides):
    from tests.support.signing import configure_providers

    configure_providers(overrides)
    overrides["sendgrid"]["inbound_url_secret"] = "url-secret"


@pytest.mark.parametrize("header", ["t=²,v1=ab", "t=1,v1=é", "t=" + "9" * 5000 + ",v1=ab", "t=,v1=", "v1=" + "a" * 64,
                                    "t=1795600000," + ",".join(["v1=ab"] * 500), "\x00"])
def test_odd_crm_signatures_are_refused_not_crashed(client, header):
    resp = client.post("/webhooks/crm", data=b"{}", headers={"Aftercare-Signature": header,
                                                              "Content-Type": "application/json"})
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json", resp.get_data(as_text=True)


@pytest.mark.parametrize("auth,query", [
    ("parsé:parse-pass", ""), ("parse:pässwörd", ""), (None, "?key=é"), (None, "?key=%C3%A9%00"),
    ("\udcff:x", ""), (None, "?key=url-secre"), ("parse:parse-pas", "?key=")])
def test_odd_inbound_credentials_are_refused_not_crashed(url_secret, client, auth, query):
    headers = {}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode("utf-8", "surrogateescape")).decode()
    resp = client.post("/webhooks/sendgrid/inbound" + query, data={"text": "hi"}, headers=headers)
    assert resp.status_code == 401, resp.get_data(as_text=True)


def test_inbound_url_secret_still_works(url_secret, client):
    assert client.post("/webhooks/sendgrid/inbound?key=url-secret", data={"text": "hi"}).status_code == 200


@pytest.mark.parametrize("value", ["Bearer é", "Bearer ", "Basic x", "Bearer " + "a" * 10_000, "bearer\x00"])
def test_odd_api_keys_are_refused_not_crashed(client, value):
    assert client.get("/api/v1/checkins", headers={"Authorization": value}).status_code == 401


# -- PII and secrets stay out of error bodies and logs --------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("customer.phone", "+44 7700 900999 12345"), ("customer.phone", "+999123456789"), ("customer.phone", "0770090"),
    ("customer.email", "sam.secret@example"), ("customer.email", "sam@@example.com")])
def test_validation_errors_name_the_field_without_echoing_contact_details(post_event, field, value):
    resp = post_event(interaction_event(**{field: value}))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and field in [e["field"] for e in resp.get_json()["errors"]], body
    assert value not in body and value.replace(" ", "") not in body


def test_signature_errors_say_nothing_about_the_secret(post_event):
    from tests.support.factories import TEST_SECRET

    body = post_event(interaction_event(), secret="wrong").get_data(as_text=True)
    assert TEST_SECRET not in body and "wrong" not in body


PHONE, EMAIL = "+447700900123", "sam@example.com"
OTHER_PHONE = "+15005550199"


def test_logs_mask_phones_and_emails_through_a_whole_loop(url_secret, client, post_event, rt, clock, caplog,
                                                          manager_headers):
    """A CRM event, a console send (which logs the message), an SMS from a stranger, an email reply, a status
    callback: every record, as the JSON and the plain formatter write it, carries no full phone or email."""
    from tests.support.reopen import sent_checkin
    from tests.support.signing import inbound_headers, twilio_request

    caplog.set_level(logging.DEBUG)
    sent_checkin(client, post_event, rt, clock, manager_headers)
    raw, headers = twilio_request("/webhooks/twilio/sms", {"From": OTHER_PHONE, "Body": f"I'm {EMAIL}, call me"})
    assert client.post("/webhooks/twilio/sms", data=raw, headers=headers).status_code == 200
    raw, headers = twilio_request("/webhooks/twilio/whatsapp", {"From": f"whatsapp:{OTHER_PHONE}", "Body": "hi",
                                                                "WaId": OTHER_PHONE[1:], "ButtonPayload": "reopen"})
    assert client.post("/webhooks/twilio/whatsapp", data=raw, headers=headers).status_code == 200
    raw, headers = twilio_request("/webhooks/twilio/status", {"MessageSid": "SMunknown", "To": PHONE, "From": PHONE})
    client.post("/webhooks/twilio/status", data=raw, headers=headers)
    client.post("/webhooks/sendgrid/inbound", headers=inbound_headers(),
                data={"from": f"Sam <{EMAIL}>", "text": f"still broken, ring {PHONE}"})
    logging.getLogger("aftercare.test").warning("customer %s at %s replied", EMAIL, PHONE, exc_info=ValueError(PHONE))
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for formatter in (JsonFormatter(), MaskingFormatter("%(message)s")):
        for record in caplog.records:
            line = formatter.format(record)
            for secret in (PHONE, OTHER_PHONE, EMAIL):
                assert secret not in line, line


def test_the_app_logs_through_a_masking_formatter():
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "_aftercare", False)]
    assert handlers and all(isinstance(h.formatter, (JsonFormatter, MaskingFormatter)) for h in handlers)


# -- /metrics and /docs access; API response headers ----------------------------------------------------------------

def _app_with(overrides, clock, **server):
    from aftercare.app import create_app

    overrides["server"].update(server)
    app = create_app(overrides)
    app.extensions["aftercare"].clock = clock
    return app


def test_metrics_public_by_default_with_reopen_latency_and_request_metrics(client):
    client.get("/healthz")
    resp = client.get("/metrics")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    assert "reopen_latency_seconds_bucket" in text
    assert 'http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "http_request_duration_seconds_bucket" in text


def test_request_metrics_label_by_route_template_not_raw_path(client, read_headers):
    client.get("/api/v1/checkins/chk_one", headers=read_headers)
    client.get("/no/such/thing/123")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'route="/api/v1/checkins/<checkin_id>"' in text and "chk_one" not in text
    assert 'route="unmatched"' in text and "/no/such/thing" not in text


def _request_series() -> int:
    from prometheus_client import REGISTRY

    return sum(len(metric.samples) for metric in REGISTRY.collect()
               if metric.name in ("http_requests", "http_request_duration_seconds"))


def test_random_methods_and_paths_add_no_metric_series(client):
    """Issue 11: 1,000 requests with random 4 KB method names grew /metrics to 69 MB. Labels come from closed sets:
    known methods or "other", route templates or "unmatched"."""
    rng = random.Random(11)

    def junk(size: int) -> str:
        return "".join(rng.choices(string.ascii_uppercase, k=size))

    def requests() -> None:
        for path in ("/healthz", "/api/v1/checkins/" + junk(12), "/" + junk(40)):
            client.open(path, method=junk(rng.choice((3, 40, 4096))))
            client.get(path)
    requests()
    before = _request_series()
    for _ in range(60):
        requests()
    assert _request_series() == before
    text = client.get("/metrics").get_data(as_text=True)
    assert 'method="other",route="unmatched",status="405"' in text and len(text) < 1_000_000


def test_metrics_token(overrides, clock):
    client = _app_with(overrides, clock, metrics_access="token", metrics_token="m-secret").test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer é"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer m-secret"}).status_code == 200


def test_metrics_off(overrides, clock):
    client = _app_with(overrides, clock, metrics_access="off").test_client()
    assert client.get("/metrics").status_code == 404
    assert "/metrics" not in client.get("/openapi.json").get_json()["paths"]


def test_docs_off(overrides, clock):
    client = _app_with(overrides, clock, docs_access="off").test_client()
    assert client.get("/openapi.json").status_code == 404 and client.get("/docs").status_code == 404
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("server", [{"metrics_access": "token"}, {"metrics_access": "private"},
                                    {"docs_access": "token"}])
def test_access_settings_are_checked_at_start(overrides, clock, server):
    from config.settings import SettingsError

    with pytest.raises(SettingsError):
        _app_with(overrides, clock, **server)


def test_api_answers_are_nosniff_and_not_cached(client, read_headers):
    for resp in (client.get("/api/v1/checkins", headers=read_headers), client.get("/api/v1/checkins"),
                 client.get("/api/v1/nothing-here", headers=read_headers)):
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Cache-Control"] == "no-store"


def test_nul_in_input_is_a_422_naming_the_field_on_every_database(client, manager_headers, post_event):
    resp = client.get("/api/v1/checkins?case_id=a%00b", headers=manager_headers)
    assert resp.status_code in (200, 422), resp.get_data(as_text=True)  # SQLite can store NUL; PostgreSQL cannot
    if resp.status_code == 422:
        assert [e["field"] for e in resp.get_json()["errors"]] == ["case_id"]
    event = interaction_event(**{"interaction.id": "int_\x00"})
    resp = post_event(event)
    assert resp.status_code in (202, 422)
    if resp.status_code == 422:
        assert "interaction.id" in json.dumps(resp.get_json()["errors"])


def test_an_agent_key_bound_to_one_agent_acts_only_for_that_agent(app, client, manager_headers):
    from aftercare.auth import create_api_key

    with app.extensions["aftercare"].db.session() as session:
        key = create_api_key(session=session, name="softphone ag_1", scopes=["agent"], agent_id="ag_1")
    mine = {"Authorization": f"Bearer {key}"}
    unbound = {"Authorization": f"Bearer {make_key(app, 'agent')}"}
    for agent in ("ag_1", "ag_2"):
        assert client.put(f"/api/v1/agents/{agent}/state", json={"state": "available"},
                          headers=unbound).status_code == 200  # a routing integration acts for everyone
        assert client.put(f"/api/v1/agents/{agent}/state", json={"state": "available", "team": "t"},
                          headers=unbound).status_code == 403  # but teams come from the CRM or a manager
    assert client.put("/api/v1/agents/ag_1/state", json={"state": "busy"}, headers=mine).status_code == 200
    for method, path in (("PUT", "/api/v1/agents/ag_2/state"), ("GET", "/api/v1/agents/ag_2/next"),
                         ("GET", "/api/v1/agents/ag_2/load"), ("GET", "/api/v1/agents/ag_2/breaks"),
                         ("POST", "/api/v1/agents/ag_2/breaks/brk_x/end")):
        resp = client.open(path, method=method, json={"state": "offline"} if method == "PUT" else None,
                           headers=mine)
        assert resp.status_code == 403 and "/api/v1/agents/ag_1/" in resp.get_json()["detail"], (method, path)
    assert client.get("/api/v1/agents/ag_1/load", headers=mine).status_code == 200
    assert client.get("/api/v1/routing/queue", headers=mine).status_code == 403  # every team's items: not its own
    assert client.get("/api/v1/agents/ag_2/load", headers=manager_headers).status_code == 200
    with app.extensions["aftercare"].db.session() as session:
        with pytest.raises(ValueError, match="agent scope alone"):
            create_api_key(session=session, name="x", scopes=["agent", "read"], agent_id="ag_1")

