from followup.channels.base import (
           Channel,
           OutboundMessage,
           PermanentSendError,
           SendError,
           SendResult,
           TransientSendError,
)
from followup.channels.registry import build_channels

__all__ = ["Channel", "OutboundMessage", "PermanentSendError", "SendError", "SendResult", "TransientSendError",
           "build_channels"]
