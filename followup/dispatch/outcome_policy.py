"""What a provider's answer means for a check-in: sent, try again later, or give up (pure)."""
from __future__ import annotations

from dataclasses import dataclass

from aftercare.core.retry import give_up_reason, retry_delay
from followup.channels import PermanentSendError, SendResult, TransientSendError
from followup.dispatch.config import DispatchConfig

SENT, RETRY, FAILED = "sent", "retry", "failed"


@dataclass(frozen=True)
class SendOutcome:
    kind: str  # sent | retry | failed
    reason: str | None = None
    retry_in_seconds: float | None = None
    opt_out: bool = False  # the provider says the address unsubscribed (Twilio 21610)


def judge(outcome: SendResult | TransientSendError | PermanentSendError, *, attempts: int,
          config: DispatchConfig) -> SendOutcome:
    """Transient errors back off (honouring Retry-After) until `max_attempts`; permanent ones fail at once."""
    if isinstance(outcome, SendResult):
        return SendOutcome(SENT)
    permanent = isinstance(outcome, PermanentSendError)
    delay = retry_delay(attempts=attempts, max_attempts=config.max_attempts, permanent=permanent,
                        base=config.backoff_base_seconds, cap=config.backoff_cap_seconds,
                        retry_after=None if permanent else outcome.retry_after)
    if delay is not None:
        return SendOutcome(RETRY, reason=f"retrying: {outcome.reason}", retry_in_seconds=delay)
    return SendOutcome(FAILED, reason=give_up_reason(outcome.reason, permanent=permanent, attempts=attempts),
                       opt_out=permanent and outcome.opt_out)
