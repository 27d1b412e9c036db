"""Structured JSON logs with request ids; phone numbers and email addresses are masked, and database errors
keep no values (the engine hides bound parameters; `without_row_values` drops what the server quotes back)."""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

import psycopg
from sqlalchemy.exc import DBAPIError

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Every digit but the last two becomes "*"; the separators stay, so a reader still sees a phone number.
# International: "+" then 7–16 digits with spaces, dots, dashes or brackets between ("+447700900123",
# "+44 (0)20 7946 0018", "+1-415-555-0123"). National, as customers write them in replies and notes: a trunk
# 0 or 00 prefix with 9+ digits ("07700 900123", "(020) 7946 0018", "0033 6 12 34 56 78"), or North American
# groups ("(415) 555-0123", "415-555-0123", "415.555.0123"). Not after a word character and a dot or dash,
# so decimals ("1.0234567891234") and id segments ("…-a716-046655440000") stay readable, as do dates,
# times and plain counters, which have none of these shapes.
PHONE = re.compile(
    r"(?<![\w/+*])\+\d(?:[ .()-]{0,3}\d){6,15}(?![\w*])"
    r"|(?<![\w+*])(?<!\w[.-])(?:0\d(?:[ .-]?\d){7,12}|\(0\d{1,4}\)[ .-]?\d(?:[ .-]?\d){5,9}"
    r"|\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}([.-])\d{3}\1\d{4})(?![\w*])")


# Terminal colours: werkzeug's access log styles the status code when it thinks it writes to a terminal.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _keep_last_two_digits(match: re.Match) -> str:
    text = match.group(0)
    cut = [i for i, ch in enumerate(text) if ch.isdigit()][-2]
    return re.sub(r"\d", "*", text[:cut]) + text[cut:]


def mask_pii(text: str) -> str:
    """sam@example.com → s***@example.com; +447700900123 → +**********23; 07700 900123 → ***** ****23."""
    text = EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return PHONE.sub(_keep_last_two_digits, text)


def error_chain(error: BaseException | None):
    """The error, then what it was raised from or while handling, each once."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def without_row_values(text: str, error: BaseException | None) -> str:
    """`text` with each database error in `error`'s chain cut to its first line: PostgreSQL quotes values back
    in the lines after it ("DETAIL:  Key (address)=(…) already exists", "Failing row contains (…)", CONTEXT)."""
    for found in error_chain(error):
        driver_error = found.orig if isinstance(found, DBAPIError) else found
        if isinstance(driver_error, psycopg.Error):
            full = str(driver_error)
            first = full.split("\n", 1)[0]
            if full != first:
                text = text.replace(full, f"{first} [details withheld: they may quote row values]")
    return text


def error_summary(error: BaseException) -> str:
    """`Type: message` for storing or showing, with no values from the database in it."""
    return f"{type(error).__name__}: {without_row_values(str(error), error)}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                   "level": record.levelname, "logger": record.name,
                   "msg": mask_pii(ANSI.sub("", record.getMessage()))}
        for key in ("request_id", "checkin_id", "case_id", "event_id", "worker"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["exc"] = mask_pii(without_row_values(self.formatException(record.exc_info), record.exc_info[1]))
        return json.dumps(payload, ensure_ascii=False)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return mask_pii(without_row_values(text, record.exc_info[1]) if record.exc_info else text)


def configure_logging(level: str = "INFO", as_json: bool = True) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_aftercare", False) for h in root.handlers):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._aftercare = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if as_json else MaskingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
