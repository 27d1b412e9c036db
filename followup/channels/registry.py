"""Channel adapters are picked by name from config (`followup.channel_sms`, `followup.channel_email`,
`followup.channel_whatsapp`): each kind of channel has its own adapters."""
from __future__ import annotations

from followup.channels.base import Channel
from followup.channels.console import ConsoleChannel
from followup.channels.sendgrid_email import SendgridEmailChannel
from followup.channels.twilio_sms import TwilioSmsChannel
from followup.channels.twilio_whatsapp import TwilioWhatsappChannel

ADAPTERS: dict[str, dict[str, type]] = {
    "sms": {"console": ConsoleChannel, "twilio": TwilioSmsChannel},
    "email": {"console": ConsoleChannel, "sendgrid": SendgridEmailChannel},
    "whatsapp": {"console": ConsoleChannel, "twilio": TwilioWhatsappChannel},
}


def build_channels(settings) -> dict[str, Channel]:
    """{"sms": adapter, "email": adapter, "whatsapp": adapter}; one instance per adapter class, shared by the kinds
    that use it (the console keeps one outbox)."""
    built: dict[type, Channel] = {}
    by_kind: dict[str, Channel] = {}
    for kind, known in ADAPTERS.items():
        name = getattr(settings.followup, f"channel_{kind}")
        if name not in known:
            raise ValueError(f"unknown channel adapter {name!r} for {kind}; known: {', '.join(known)}")
        if known[name] not in built:
            built[known[name]] = known[name].from_config(settings)
        by_kind[kind] = built[known[name]]
    return by_kind
