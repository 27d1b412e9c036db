"""Twilio signs every webhook it sends the same way (inbound SMS and WhatsApp, status callbacks, TaskRouter
events): `X-Twilio-Signature` over the URL it called and the form it posted. One check serves the adapters of
both domains, so it sits in the kernel; it is the one place besides the adapters that imports the SDK."""
from __future__ import annotations

from flask import request
from twilio.request_validator import RequestValidator

from aftercare.core.problems import Problem


def verified_twilio_form(*, auth_token: str, public_base_url: str) -> dict:
    """The posted form, once its signature checks out for the public URL Twilio called (never `request.url`,
    which is what a proxy in front of us called); otherwise a 403 problem, before anything is read."""
    url = public_base_url.rstrip("/") + request.full_path.rstrip("?")
    form = request.form.to_dict()
    signature = request.headers.get("X-Twilio-Signature", "")
    if not auth_token or not signature or not RequestValidator(auth_token).validate(url, form, signature):
        raise Problem(403, "Forbidden", "X-Twilio-Signature missing or invalid for this URL.", kind="invalid-signature")
    return form
