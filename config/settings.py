"""Typed settings, read once at start: default.toml, then AFTERCARE_CONFIG, then AFTERCARE_<SECTION>__<KEY>."""
from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, get_type_hints

DEFAULT_FILE = Path(__file__).with_name("default.toml")
ENV_PREFIX = "AFTERCARE_"


class Secret:
    """A string that never shows itself in reprs, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = str(value or "")

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    echo: bool = False


@dataclass(frozen=True)
class ServerSettings:
    public_base_url: str
    max_body_bytes: int = 1_048_576
    instance_dir: str = "instance"
    metrics_access: str = "public"
    metrics_token: Secret = Secret()
    docs_access: str = "public"
    spool_dir: str = ""
    outage_retry_after_seconds: int = 5


@dataclass(frozen=True)
class CrmSettings:
    webhook_secret: Secret
    replay_window_seconds: int = 300
    adapter: str = "builtin"
    webhook_url: str = ""
    webhook_signing_secret: Secret = Secret()
    timeout_seconds: float = 10.0
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    intake_mode: str = "inline"
    intake_batch_size: int = 100
    intake_max_attempts: int = 5
    intake_apply: str = "batched"


@dataclass(frozen=True)
class UnderstandingSettings:
    """Reply understanding: a resolved/ack verdict less sure than min_confidence goes to a person."""

    min_confidence: float = 0.5


@dataclass(frozen=True)
class FollowupSettings:
    channel_sms: str = "console"
    channel_email: str = "console"
    channel_whatsapp: str = "console"
    company_name: str = "Acme"
    default_delay_hours: float = 3
    late_cutoff: str = "17:00"
    next_morning_at: str = "09:30"
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    no_send_days: list = field(default_factory=list)
    max_per_customer_24h: int = 1
    max_per_customer_30d: int = 3
    control_group_fraction: float = 0.0
    postpone_on_case_update_minutes: int = 0
    default_locale: str = "en"
    category_delay_hours: dict = field(default_factory=dict)
    commitment_reminder_minutes: int = 30
    understanding: UnderstandingSettings = field(default_factory=UnderstandingSettings)


@dataclass(frozen=True)
class TriageSettings:
    low_threshold: float = 0.3
    high_threshold: float = 0.7
    moral_threshold: float = 0.7
    category_weights: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SchedulerSettings:
    enabled: bool = True
    tick_seconds: float = 1.0
    batch_size: int = 500
    lease_seconds: int = 120
    max_attempts: int = 5
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    reconcile_grace_seconds: int = 600
    outage_backoff_cap_seconds: float = 10.0


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str = ""
    auth_token: Secret = Secret()
    from_number: str = ""
    messaging_service_sid: str = ""
    api_base_url: str = "https://api.twilio.com"
    timeout_seconds: float = 10.0
    max_per_second: float = 1.0
    reply_acknowledgement: bool = True
    whatsapp_from: str = ""
    whatsapp_messaging_service_sid: str = ""
    content_base_url: str = "https://content.twilio.com"


@dataclass(frozen=True)
class WhatsappSettings:
    """WhatsApp check-ins: the approved Content template per locale (`templates.<locale>.checkin`, an `HX…` SID)."""

    template_name: str = "aftercare_checkin"
    max_per_second: float = 0.0
    templates: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SendgridSettings:
    api_key: Secret = Secret()
    from_email: str = ""
    inbound_domain: str = ""
    event_public_key: str = ""
    api_base_url: str = "https://api.sendgrid.com"
    inbound_user: str = ""
    inbound_password: Secret = Secret()
    inbound_url_secret: Secret = Secret()
    timeout_seconds: float = 10.0
    max_per_second: float = 0.0
    replay_window_seconds: int = 300


@dataclass(frozen=True)
class ZendeskSettings:
    base_url: str = ""
    email: str = ""
    api_token: Secret = Secret()
    webhook_signing_secret: Secret = Secret()


@dataclass(frozen=True)
class ChatwootSettings:
    base_url: str = ""
    account_id: str = ""
    api_access_token: Secret = Secret()
    webhook_secret: Secret = Secret()


@dataclass(frozen=True)
class IntercomSettings:
    api_base_url: str = "https://api.intercom.io"
    access_token: Secret = Secret()
    client_secret: Secret = Secret()
    admin_id: str = ""


@dataclass(frozen=True)
class ZammadSettings:
    base_url: str = ""
    api_token: Secret = Secret()
    webhook_secret: Secret = Secret()


@dataclass(frozen=True)
class FreshdeskSettings:
    base_url: str = ""
    api_key: Secret = Secret()
    webhook_user: str = ""
    webhook_password: Secret = Secret()


@dataclass(frozen=True)
class ConnectorsSettings:
    """How the native help-desk connectors map a desk's payload to our events (docs/connectors.md)."""

    default_timezone: str = "UTC"
    tag_signals: dict = field(default_factory=dict)
    sms_consent_attribute: str = "sms_consent"
    timezone_attribute: str = "timezone"
    root_cause_tag_prefix: str = "root_cause_"
    replay_window_seconds: int = 300
    lookup_cache_seconds: int = 600
    lookup_attempts: int = 3
    timeout_seconds: float = 5.0


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"
    json: bool = True


@dataclass(frozen=True)
class RetentionSettings:
    days: int = 365


@dataclass(frozen=True)
class DashboardSettings:
    secret_key: Secret = Secret()
    cookie_secure: str = "auto"
    session_hours: float = 12.0
    sign_in_max_failures: int = 5
    sign_in_window_minutes: int = 15
    refresh_seconds: int = 10


@dataclass(frozen=True)
class WellbeingSettings:
    load_threshold: float = 2.5
    traffic_window_minutes: int = 15
    signed_in_hours: float = 8.0
    weights: dict = field(default_factory=dict)
    category_norm_seconds: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InsightsSettings:
    """Why customers come back and known problems (docs/close-the-loop.md)."""

    window_days: int = 30
    repeat_window_days: int = 14
    root_causes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RoutingSettings:
    adapter: str = "builtin"
    taskrouter_base_url: str = "https://taskrouter.twilio.com"
    taskrouter_workspace_sid: str = ""
    taskrouter_workflow_sid: str = ""
    break_activity_sid: str = ""
    available_activity_sid: str = ""
    timeout_seconds: float = 10.0
    max_attempts: int = 5
    backoff_seconds: float = 15.0
    backoff_cap_seconds: float = 600.0
    taskrouter_workers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings
    server: ServerSettings
    crm: CrmSettings
    followup: FollowupSettings
    triage: TriageSettings
    scheduler: SchedulerSettings
    twilio: TwilioSettings
    whatsapp: WhatsappSettings
    sendgrid: SendgridSettings
    zendesk: ZendeskSettings
    chatwoot: ChatwootSettings
    intercom: IntercomSettings
    zammad: ZammadSettings
    freshdesk: FreshdeskSettings
    connectors: ConnectorsSettings
    logging: LoggingSettings
    dashboard: DashboardSettings
    retention: RetentionSettings
    wellbeing: WellbeingSettings
    routing: RoutingSettings
    insights: InsightsSettings = field(default_factory=InsightsSettings)

    def replace(self, section: str, **changes: Any) -> "Settings":
        """A copy with some keys of one section changed (tests and CLI overrides)."""
        current = getattr(self, section)
        return dataclasses.replace(self, **{section: _build(type(current), {**_as_raw(current), **changes})})


class SettingsError(ValueError):
    """A setting has the wrong type or an unknown name."""


def load_settings(overrides: Mapping[str, Mapping[str, Any]] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Merge defaults, the AFTERCARE_CONFIG file, environment variables and explicit overrides."""
    environ = os.environ if environ is None else environ
    raw = _read_toml(DEFAULT_FILE)
    extra = environ.get(ENV_PREFIX + "CONFIG")
    if extra:
        _merge(raw, _read_toml(Path(extra)))
    _merge(raw, _from_env(environ, raw))
    if overrides:
        _merge(raw, {k: dict(v) for k, v in overrides.items()})
    hints = get_type_hints(Settings)
    unknown = set(raw) - set(hints)
    if unknown:
        raise SettingsError(f"unknown settings section(s): {', '.join(sorted(unknown))}")
    return Settings(**{name: _build(hints[name], raw.get(name, {})) for name in hints})


def _read_toml(path: Path) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _merge(base: dict, extra: Mapping) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _from_env(environ: Mapping[str, str], raw: dict) -> dict:
    """AFTERCARE_SECTION__KEY=value; values are parsed by the type of the default."""
    found: dict = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("__")
        table, defaults = found.setdefault(section, {}), raw.get(section, {})
        if "__" in key:  # a nested table: AFTERCARE_FOLLOWUP__UNDERSTANDING__MIN_CONFIDENCE
            sub, _, key = key.partition("__")
            table, defaults = table.setdefault(sub, {}), defaults.get(sub, {})
        table[key] = _parse_env_value(value, defaults.get(key), name)
    return found


def _parse_env_value(value: str, default: Any, name: str) -> Any:
    """By the default's type: JSON for lists and tables, a number for a number (an entry of a plain table such as
    `wellbeing.weights` is not a typed field, so nothing later would turn the text into one)."""
    if isinstance(default, (list, dict)):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"expected JSON for a list/table setting, got {value!r}") from exc
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        try:
            return float(value) if isinstance(default, float) or "." in value else int(value)
        except ValueError as exc:
            raise SettingsError(f"{name} must be a number, got {value!r}") from exc
    return value


def _as_raw(section: Any) -> dict:
    return {f.name: (v.reveal() if isinstance(v := getattr(section, f.name), Secret) else v) for f in fields(section)}


def _build(cls: type, values: Mapping[str, Any]) -> Any:
    hints = get_type_hints(cls)
    unknown = set(values) - set(hints)
    if unknown:
        raise SettingsError(f"unknown setting(s) in [{cls.__name__}]: {', '.join(sorted(unknown))}")
    return cls(**{k: _coerce(hints[k], v, k) for k, v in values.items()})


def _coerce(kind: Any, value: Any, name: str) -> Any:
    try:
        if dataclasses.is_dataclass(kind):
            return value if isinstance(value, kind) else _build(kind, value)
        if kind is Secret:
            return value if isinstance(value, Secret) else Secret(value)
        if kind is bool:
            if isinstance(value, str):
                if value.strip().lower() in {"1", "true", "yes", "on"}:
                    return True
                if value.strip().lower() in {"0", "false", "no", "off", ""}:
                    return False
                raise ValueError(value)
            return bool(value)
        if kind in (int, float):
            return kind(value)
        if kind in (list, dict):
            if not isinstance(value, kind):
                raise ValueError(value)
            return value
        return str(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name!r} must be {getattr(kind, '__name__', kind)}") from exc
