"""Channel adapters are picked by name from config (`followup.channel_sms`, `followup.channel_email`)."""
from __future__ import annotations

from followup.channels.base import Channel
from followup.channels.console import ConsoleChannel
from followup.channels.sendgrid_email import SendgridEmailChannel
from followup.channels.twilio_sms import TwilioSmsChannel

ADAPTERS: dict[str, type] = {"console": ConsoleChannel, "twilio": TwilioSmsChannel, "sendgrid": SendgridEmailChannel}


def build_channels(settings) -> dict[str, Channel]:
    """{"sms": adapter, "email": adapter}; one instance per adapter name, shared when both use it."""
    built: dict[str, Channel] = {}
    by_kind: dict[str, Channel] = {}
    for kind, name in (("sms", settings.followup.channel_sms), ("email", settings.followup.channel_email)):
        if name not in ADAPTERS:
            raise ValueError(f"unknown channel adapter {name!r} for {kind}; known: {', '.join(ADAPTERS)}")
        if name not in built:
            built[name] = ADAPTERS[name].from_config(settings)
        by_kind[kind] = built[name]
    return by_kind
