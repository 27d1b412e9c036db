"""SIMULATION: the console channel prints check-ins instead of sending them (embedded default, demos, tests)."""
from __future__ import annotations

import logging
import threading

from followup.channels.base import OutboundMessage, SendResult

log = logging.getLogger("aftercare.console_channel")


class ConsoleChannel:
    """Nothing leaves the machine: each message is logged as SIMULATED and kept in `outbox`.

    Replies are injected with `POST /api/v1/checkins/<id>/simulate-reply`.
    """

    name = "console"
    sender = ""
    max_per_second = 0.0

    def __init__(self) -> None:
        self.outbox: list[OutboundMessage] = []
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, settings) -> "ConsoleChannel":
        return cls()

    def send(self, message: OutboundMessage) -> SendResult:
        with self._lock:
            self.outbox.append(message)
        log.info("SIMULATED %s to %s (check-in %s): %s", message.channel, message.to, message.checkin_id,
                 message.body)
        return SendResult(provider_message_id=f"console-{message.checkin_id}", status="sent")

    def find_sent(self, message: OutboundMessage) -> SendResult | None:
        with self._lock:
            if any(m.checkin_id == message.checkin_id for m in self.outbox):
                return SendResult(provider_message_id=f"console-{message.checkin_id}", status="sent")
        return None
