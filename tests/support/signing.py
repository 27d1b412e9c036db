"""Sign requests the way each sender does (CRM HMAC, Twilio, SendGrid basic auth and ECDSA), for tests that
generate requests to every endpoint: the schemathesis run and the security matrix."""
from __future__ import annotations

import base64
import json
from datetime import datetime
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from aftercare.core.signing import sign
from tests.support.desks import configure_desks
from tests.support.factories import PUBLIC_BASE, TEST_SECRET, TWILIO_TOKEN

INBOUND_USER, INBOUND_PASSWORD = "parse", "parse-pass"
INBOUND_DOMAIN = "in.acme.example"
FORM = "application/x-www-form-urlencoded"


def configure_providers(overrides: dict) -> ec.EllipticCurvePrivateKey:
    """Give every provider and help-desk webhook a secret to check (channels stay console; desk APIs point at a
    closed port); returns the SendGrid event key."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    overrides["twilio"] = {**overrides.get("twilio", {}), "auth_token": TWILIO_TOKEN}
    overrides["sendgrid"] = {**overrides.get("sendgrid", {}), "inbound_user": INBOUND_USER,
                             "inbound_password": INBOUND_PASSWORD, "inbound_domain": INBOUND_DOMAIN,
                             "event_public_key": base64.b64encode(public).decode()}
    overrides["server"]["public_base_url"] = PUBLIC_BASE
    configure_desks(overrides)
    overrides["connectors"] = {**overrides.get("connectors", {}), "lookup_attempts": 1}
    return key


def enable_taskrouter(overrides: dict) -> None:
    """The TaskRouter routing adapter, so its webhook is served (commands go to the outbox; nothing is called)."""
    overrides["twilio"] = {**overrides.get("twilio", {}), "account_sid": "ACtest"}
    overrides["routing"] = {"adapter": "taskrouter", "taskrouter_base_url": "http://127.0.0.1:9",
                            "taskrouter_workspace_sid": "WStest", "taskrouter_workflow_sid": "WWtest",
                            "break_activity_sid": "WAbreak", "available_activity_sid": "WAavailable",
                            "taskrouter_workers": {"ag_1": "WKmaria"}}


def crm_headers(body: bytes, now: datetime) -> dict:
    return {"Aftercare-Signature": sign(TEST_SECRET, body, int(now.timestamp())), "Content-Type": "application/json"}


def server_full_path(path: str, query_string=None) -> str:
    """The path and query exactly as Flask will see them (what Twilio's signature covers)."""
    return Request(EnvironBuilder(path=path, query_string=query_string).get_environ()).full_path.rstrip("?")


def twilio_request(path: str, form: dict, query_string=None) -> tuple[bytes, dict]:
    """A form body and the headers Twilio would send for it."""
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_BASE + server_full_path(path, query_string),
                                                                 form)
    return urlencode(form).encode(), {"X-Twilio-Signature": signature, "Content-Type": FORM}


def inbound_headers() -> dict:
    token = base64.b64encode(f"{INBOUND_USER}:{INBOUND_PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def event_request(key: ec.EllipticCurvePrivateKey, events, *, now: datetime) -> tuple[bytes, dict]:
    """An Event Webhook batch signed as SendGrid signs it, at `now` (the app's clock: the window is checked)."""
    raw, timestamp = json.dumps(events), str(int(now.timestamp()))
    signature = key.sign((timestamp + raw).encode(), ec.ECDSA(hashes.SHA256()))
    return raw.encode(), {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                          "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
                          "Content-Type": "application/json"}
