"""schemathesis against /openapi.json (SPEC §7, §8): every documented operation, with valid credentials (an API key
holding every scope, the CRM HMAC, Twilio's and SendGrid's signatures) and with forged ones. No 5xx, and every
answer matches its documented status code, content type, headers and schema.

Seeded data (a sent check-in with a reopened case, a scheduled one, a dead letter) gives generated requests real
ids, signed webhook bodies are nudged towards validity so they reach the handlers, and examples are bounded and
derandomized so CI is deterministic. AFTERCARE_SCHEMATHESIS_EXAMPLES raises the bound for a deeper local run.
"""
from __future__ import annotations

import copy
import json
import os
import tempfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from followup.crm.models import CrmDelivery
from followup.models import CheckIn
from tests.support.desks import CASES as DESK_CASES
from tests.support.factories import TEST_SECRET, TestClock as ManualClock, interaction_event, make_key
from tests.support.reopen import reopen_via_reply
from tests.support.signing import (
    INBOUND_DOMAIN,
    configure_providers,
    crm_headers,
    enable_taskrouter,
    event_request,
    inbound_headers,
    twilio_request,
)

EXAMPLES = int(os.environ.get("AFTERCARE_SCHEMATHESIS_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
HTTP_METHODS = ("get", "put", "post", "patch", "delete")
SEEDED_PHONE = "+447700900123"
VARIANTS = ("valid", "known-ids", "invalid", "forged")


def _spec() -> dict:
    """The spec as the app serves it, read once at collection so each operation is a test of its own."""
    from aftercare.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"database": {"url": f"sqlite:///{tmp}/spec.db"}, "crm": {"webhook_secret": TEST_SECRET},
                          "server": {"instance_dir": tmp}, "scheduler": {"enabled": False},
                          "logging": {"json": False, "level": "WARNING"}})
        spec = app.test_client().get("/openapi.json").get_json()
        app.extensions["aftercare"].db.dispose()
    return spec


def _params() -> list:
    spec, params = _spec(), []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            label = f"{method.upper()} {path}"
            requirements = operation.get("security") or []
            for variant in VARIANTS:
                if variant == "known-ids" and "{" not in path:
                    continue
                if variant == "forged" and (not requirements or {} in requirements):
                    continue
                params.append(pytest.param(label, variant, id=f"{label} [{variant}]"))
    return params


# Operations served only with another adapter configured run against an app configured so.
CONFIGURE = {"/webhooks/taskrouter/events": ("taskrouter", enable_taskrouter)}


@dataclass
class World:
    """Apps sharing one seeded database for the whole module (seeding per example would dominate the run)."""

    apps: dict
    schemas: dict
    clock: ManualClock
    event_key: object
    seeded: dict


@pytest.fixture(scope="module")
def world(database_url, tmp_path_factory):
    from aftercare.app import create_app
    from aftercare.model_registry import metadata

    overrides = {"database": {"url": database_url}, "crm": {"webhook_secret": TEST_SECRET},
                 "server": {"instance_dir": str(tmp_path_factory.mktemp("instance"))},
                 "scheduler": {"enabled": False}, "logging": {"json": False, "level": "WARNING"}}
    event_key = configure_providers(overrides)
    clock = ManualClock(datetime(2026, 11, 25, 14, 10, tzinfo=timezone.utc))
    apps = {"default": create_app(overrides)}
    for name, configure in CONFIGURE.values():
        configured = copy.deepcopy(overrides)
        configure(configured)
        apps[name] = create_app(configured)
    for app in apps.values():
        app.config["TESTING"] = True
        app.extensions["aftercare"].clock = clock
    with apps["default"].extensions["aftercare"].db.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    seeded = _seed(apps["default"], clock)
    yield World(apps=apps, schemas={name: schemathesis.openapi.from_wsgi("/openapi.json", app)
                                    for name, app in apps.items()},
                clock=clock, event_key=event_key, seeded=seeded)
    for app in apps.values():
        app.extensions["aftercare"].db.dispose()


def _seed(app, clock) -> dict:
    """Real rows for generated requests to find: ids per path parameter name."""
    client, rt = app.test_client(), app.extensions["aftercare"]

    def post_event(event):
        body = json.dumps(event).encode()
        return client.post("/webhooks/crm", data=body, headers=crm_headers(body, clock.now))

    key = make_key(app, "crm", "agent", "manager", "read")
    reopened = reopen_via_reply(client, post_event, rt, clock, {"Authorization": f"Bearer {key}"})
    scheduled = post_event(interaction_event(**{"interaction.case_id": "case_88", "customer.id": "cus_8",
                                                "customer.phone": "+447700900888"})).get_json()["checkin"]["id"]
    with rt.db.session() as session:
        delivery = session.scalars(select(CrmDelivery)).one()
        delivery.state, delivery.last_error = "dead", "seeded dead letter"
        token = session.get(CheckIn, reopened["checkin_id"]).reply_token
        session.commit()
        delivery_id = delivery.id
    return {"key": key, "token": token,
            "ids": {"checkin_id": [reopened["checkin_id"], scheduled], "case_id": ["case_77", "case_88"],
                    "delivery_id": [delivery_id], "token": [token], "agent_id": ["ag_1"], "team": ["billing-emea"]}}


def _even(value) -> bool:
    """A deterministic coin: the same generated request always takes the same branch."""
    return zlib.crc32(repr(value).encode()) % 2 == 0


def _form(data) -> dict[str, str]:
    """A generated form as the server reads it (`request.form.to_dict()`): one string per key."""
    if not isinstance(data, dict):
        return {}
    out = {}
    for name, value in data.items():
        value = value[0] if isinstance(value, list) and value else value
        out[str(name)] = value if isinstance(value, str) else json.dumps(value)
    return out


def _deepen_crm(body):
    """Nudge a generated CRM event past field validation some of the time, so the handlers run too."""
    if not isinstance(body, dict):
        return body
    if isinstance(body.get("interaction"), dict):
        body["type"] = "interaction.closed"
    elif isinstance(body.get("case"), dict) and not isinstance(body.get("customer"), dict):
        body["type"] = "case.updated"
    customer = body.get("customer")
    if isinstance(customer, dict) and _even(body):
        customer["timezone"] = "Europe/London"
        if "phone" in customer:
            customer["phone"] = SEEDED_PHONE
        if "email" in customer:
            customer["email"] = "sam@example.com"
    return body


class Sender:
    """Sends a schemathesis case through the test client, signed as its real sender would sign it."""

    def __init__(self, client, clock, event_key, seeded) -> None:
        self.client, self.clock, self.event_key, self.seeded = client, clock, event_key, seeded

    def send(self, case, *, credentials: bool, deep: bool):
        kw = case.as_transport_kwargs()
        headers = dict(kw.pop("headers"))
        body = {name: kw.pop(name) for name in ("json", "data") if name in kw}
        path = case.operation.path
        security = json.dumps(case.operation.definition.raw.get("security") or [])
        if path == "/webhooks/crm":
            payload = _deepen_crm(body["json"]) if deep and "json" in body else body.get("json")
            raw = json.dumps(payload).encode() if "json" in body else _raw(body.get("data"))
            if credentials:
                headers.update(crm_headers(raw, self.clock.now))
            body = {"data": raw}
        elif "twilioSignature" in security:
            form = _form(body.get("data"))
            if deep and "From" in form and _even(form):
                form["From"] = SEEDED_PHONE
            raw, signed = twilio_request(kw["path"], form, kw.get("query_string"))
            headers.update(signed if credentials else {"Content-Type": signed["Content-Type"]})
            body = {"data": raw}
        elif "sendgridInbound" in security:
            data = body.get("data")
            if deep and isinstance(data, dict) and _even(data):
                data["to"] = [f"Care <reply+{self.seeded['token']}@{INBOUND_DOMAIN}>"]
            if credentials:
                headers.update(inbound_headers())
        elif "sendgridEventSignature" in security:
            events = body.get("json")
            if deep and isinstance(events, list):
                for event in events[::2]:
                    if isinstance(event, dict):
                        event["checkin_id"] = self.seeded["ids"]["checkin_id"][0]
            raw, signed = (event_request(self.event_key, events, now=self.clock.now) if "json" in body
                           else (_raw(body.get("data")), {}))
            headers.update(signed if credentials else {"Content-Type": "application/json"})
            body = {"data": raw}
        elif path.startswith("/webhooks/") and path.rsplit("/", 1)[1] in DESK_CASES:
            desk = DESK_CASES[path.rsplit("/", 1)[1]]
            payload = body.get("json")
            if deep and _even(payload):
                payload = desk.payload()  # a real delivery: mapping and the (failing) contact look-up run too
            raw = json.dumps(payload).encode() if "json" in body or payload is not None else _raw(body.get("data"))
            headers.update(desk.headers(raw, self.clock.now) if credentials else {"Content-Type": "application/json"})
            body = {"data": raw}
        elif "bearerAuth" in security and credentials:
            headers["Authorization"] = f"Bearer {self.seeded['key']}"
        return self.client.open(**kw, headers=headers, **body)


def _raw(data) -> bytes:
    if isinstance(data, bytes):
        return data
    return data.encode("utf-8", "surrogatepass") if isinstance(data, str) else b""


def _strategy(operation, variant: str, ids: dict):
    if variant == "invalid":
        return operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE)
    if variant != "known-ids":
        return operation.as_strategy()
    names = [p.name for p in operation.path_parameters]
    unknown = [name for name in names if name not in ids]
    if unknown:
        pytest.skip(f"no seeded ids for {', '.join(unknown)}: generated ids cover it in [valid]")
    return st.fixed_dictionaries({name: st.sampled_from(ids[name]) for name in names}).flatmap(
        lambda fixed: operation.as_strategy(path_parameters=fixed))


@pytest.mark.parametrize("label,variant", _params())
def test_operation_conforms_and_never_fails(world, label, variant):
    name = CONFIGURE.get(label.split(" ", 1)[1], ("default",))[0]
    operation = world.schemas[name].find_operation_by_label(label)
    assert operation is not None, f"{label} is no longer in /openapi.json"
    sender = Sender(world.apps[name].test_client(), world.clock, world.event_key, world.seeded)
    credentials = variant != "forged"

    @given(case=_strategy(operation, variant, world.seeded["ids"]))
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    def run(case):
        response = sender.send(case, credentials=credentials, deep=credentials)
        case.validate_response(response, checks=CHECKS)
        if not credentials:
            assert response.status_code in (401, 403), (label, response.status_code, response.get_data()[:300])

    try:
        run()
    except Unsatisfiable:
        if variant != "invalid":
            raise
        pytest.skip("nothing about this operation can be made invalid")


# -- what the runs above found, pinned so it stays fixed -------------------------------------------------------------

@pytest.mark.parametrize("guard", ["max_deferral_minutes", "min_minutes_between_breaks", "max_breaks_per_shift"])
def test_absurd_rule_guards_are_refused_before_they_can_break_intake(client, manager_headers, guard):
    """Once accepted, 10**20 minutes overflowed timedelta in the planner: every interaction.closed was a 500."""
    rules = client.get("/api/v1/break-rules", headers=manager_headers).get_json()["rules"]
    rules["guards"][guard] = 10**20
    resp = client.put("/api/v1/break-rules", json={"rule_set": rules, "reason": "fuzz"}, headers=manager_headers)
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == f"rule_set.guards.{guard}"


def test_rollback_to_a_version_beyond_any_integer_column_is_a_422(client, manager_headers):
    resp = client.post("/api/v1/break-rules/rollback", json={"version": 2**70}, headers=manager_headers)
    assert resp.status_code == 422, resp.get_data(as_text=True)

