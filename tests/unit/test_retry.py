"""The retry timing every outbound call shares (providers, CRM outbox, routing outbox)."""
from aftercare.core.retry import backoff_delay, give_up_reason, retry_after_seconds, retry_delay


def test_backoff_doubles_with_jitter_up_to_the_cap():
    def delay(n, **kw):
        return backoff_delay(n, base=30, cap=3600, **kw)

    assert [delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]
    assert delay(1, rng=lambda: 0.0) == 15
    assert delay(1, retry_after=600, rng=lambda: 1.0) == 600


def test_retry_delay_gives_up_on_permanent_errors_and_exhausted_attempts():
    common = dict(max_attempts=3, base=10, cap=100, rng=lambda: 1.0)
    assert retry_delay(attempts=1, permanent=False, **common) == 10
    assert retry_delay(attempts=2, permanent=False, retry_after=50, **common) == 50
    assert retry_delay(attempts=3, permanent=False, **common) is None
    assert retry_delay(attempts=1, permanent=True, **common) is None


def test_give_up_reason_says_how_many_tries_only_when_they_ran_out():
    assert give_up_reason("server error (500)", permanent=False, attempts=5) == "server error (500) (after 5 attempts)"
    assert give_up_reason("invalid number", permanent=True, attempts=1) == "invalid number"


def test_retry_after_is_seconds_or_an_http_date():
    assert retry_after_seconds("120") == 120.0 and retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None
