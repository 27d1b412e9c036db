"""The shell: health, readiness, OpenAPI, CLI commands and settings."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import Secret, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["migration"]


def test_readyz_reports_an_unmigrated_database(overrides, tmp_path):
    from aftercare.app import create_app

    overrides["database"]["url"] = f"sqlite:///{tmp_path / 'empty.db'}"
    resp = create_app(overrides).test_client().get("/readyz")
    assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
    assert "migrations not current" in resp.get_json()["detail"]


def test_openapi_lists_every_api_route_and_docs_render(app, client):
    spec = client.get("/openapi.json").get_json()
    documented = {path.replace("{", "<").replace("}", ">") for path in spec["paths"]}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/webhooks/")):
            assert rule.rule in documented, rule.rule
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"swagger-ui" in docs.data
    assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_request_id_is_echoed(client):
    assert client.get("/healthz", headers={"X-Request-Id": "abc123"}).headers["X-Request-Id"] == "abc123"
    uuid_id = "3f2b8c1e-9a4d-4c2e-8f1a-7b6d5e4c3b2a"
    assert client.get("/healthz", headers={"X-Request-Id": uuid_id}).headers["X-Request-Id"] == uuid_id


@pytest.mark.parametrize("sent", ["x" * 1_000_000, "a" * 65, "abc def", "abc\x00", "abc\u2028def", '{"level":"ERROR"}'],
                         ids=["1MB", "65 chars", "space", "NUL", "line separator", "JSON"])
def test_an_oversized_or_odd_request_id_is_replaced_not_echoed(client, sent):
    """Issue 11: the id is echoed and logged; a client must not make us echo 1 MB or write into the logs."""
    for resp in (client.get("/healthz", headers={"X-Request-Id": sent}),
                 client.get("/api/v1/checkins", headers={"X-Request-Id": sent})):
        echoed = resp.headers["X-Request-Id"]
        assert echoed != sent and re.fullmatch(r"[0-9a-f]{16}", echoed), echoed[:80]
    assert resp.get_json()["request_id"] == echoed  # the 401 problem quotes the id it was given


def _flask(args, env_extra, cwd):
    env = {**os.environ, **env_extra, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "flask", "--app", str(ROOT / "wsgi.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_upgrade_then_keys_create_prints_the_key_alone_last(tmp_path):
    env = {"AFTERCARE_DATABASE__URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "AFTERCARE_SERVER__INSTANCE_DIR": str(tmp_path / "instance")}
    assert _flask(["db", "upgrade"], env, tmp_path).returncode == 0
    out = _flask(["keys", "create", "--scope", "read", "--name", "ci"], env, tmp_path)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("ak_") and " " not in last
    bad = _flask(["keys", "create", "--scope", "root"], env, tmp_path)
    assert bad.returncode != 0 and "unknown scope" in bad.stderr
    bound = _flask(["keys", "create", "--scope", "agent", "--agent", "ag_1", "--name", "softphone"], env, tmp_path)
    assert bound.returncode == 0 and "bound to agent 'ag_1'" in bound.stderr
    assert bound.stdout.strip().splitlines()[-1].startswith("ak_")
    manager_bound = _flask(["keys", "create", "--scope", "manager", "--agent", "ag_1"], env, tmp_path)
    assert manager_bound.returncode != 0 and "agent scope alone" in manager_bound.stderr


def test_cli_demo_plays_the_story(tmp_path):
    out = _flask(["demo"], {"AFTERCARE_SERVER__INSTANCE_DIR": str(tmp_path / "instance"),
                            "AFTERCARE_DATABASE__URL": f"sqlite:///{tmp_path / 'unused.db'}"}, tmp_path)
    assert out.returncode == 0, out.stderr
    for step in ("triage:", "check-in", "dispatcher sent", "verdict: reopen", "case is now reopened",
                 "verdict: resolved", "case is now closed"):
        assert step in out.stdout


def test_cli_classify_reads_jsonl_from_stdin(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AFTERCARE_SERVER__INSTANCE_DIR": str(tmp_path)}
    texts = ("still broken", "thanks, all sorted", "ok", "Sigue sin funcionar", "Danke, jetzt geht es wieder")
    lines = "\n".join(json.dumps({"text": t}) for t in texts) + "\n{bad\n"
    out = subprocess.run([sys.executable, "-m", "flask", "--app", str(ROOT / "wsgi.py"), "followup", "classify", "-"],
                         input=lines, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    rows = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [r.get("intent") for r in rows[:5]] == ["reopen", "resolved", "ack", "reopen", "resolved"]
    assert all({"intent", "confidence", "reasons", "language"} <= set(r) for r in rows[:5])
    assert [r["language"] for r in rows[3:5]] == ["es", "de"]
    assert "error" in rows[5]


def test_settings_layering_and_secrets_never_print(tmp_path):
    override = tmp_path / "over.toml"
    override.write_text('[followup]\ncompany_name = "Globex"\nquiet_start = "22:00"\n')
    s = load_settings(environ={"AFTERCARE_CONFIG": str(override), "AFTERCARE_FOLLOWUP__QUIET_START": "20:30",
                               "AFTERCARE_SCHEDULER__ENABLED": "false", "AFTERCARE_TWILIO__AUTH_TOKEN": "tok_secret",
                               "AFTERCARE_FOLLOWUP__NO_SEND_DAYS": '["sun"]'})
    assert s.followup.company_name == "Globex" and s.followup.quiet_start == "20:30"
    assert s.scheduler.enabled is False and s.followup.no_send_days == ["sun"]
    assert isinstance(s.twilio.auth_token, Secret) and s.twilio.auth_token.reveal() == "tok_secret"
    assert "tok_secret" not in repr(s) and "tok_secret" not in str(s.twilio)


def test_an_entry_of_a_plain_table_set_by_environment_is_a_number():
    """`wellbeing.weights` is a table, not typed fields: an env value used to reach the load model as text."""
    s = load_settings(environ={"AFTERCARE_WELLBEING__WEIGHTS__BASE": "0.1", "AFTERCARE_SCHEDULER__BATCH_SIZE": "250"})
    assert s.wellbeing.weights["base"] == 0.1 and s.scheduler.batch_size == 250
    with pytest.raises(SettingsError, match="WEIGHTS__BASE"):
        load_settings(environ={"AFTERCARE_WELLBEING__WEIGHTS__BASE": "heavy"})


def test_settings_reject_bad_types_and_unknown_keys():
    import pytest

    from config.settings import SettingsError

    with pytest.raises(SettingsError, match="batch_size"):
        load_settings(environ={}, overrides={"scheduler": {"batch_size": "many"}})
    with pytest.raises(SettingsError, match="nonsense"):
        load_settings(environ={}, overrides={"followup": {"nonsense": 1}})


def test_logs_mask_phone_numbers_and_emails():
    from aftercare.core.logs import mask_pii

    masked = mask_pii("texted +447700900123 and mailed sam.carter@example.com at 2026-11-25 14:00:00")
    assert "+447700900123" not in masked and "sam.carter@" not in masked and "2026-11-25 14:00:00" in masked


def test_json_logs_carry_no_terminal_colours_from_the_access_log():
    """werkzeug styles the status code of its access lines; a JSON log line must stay plain text."""
    import json
    import logging

    from aftercare.core.logs import JsonFormatter

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                               ("127.0.0.1", "GET /healthz HTTP/1.1", "\x1b[1m\x1b[33m404\x1b[0m"), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == '127.0.0.1 - - "GET /healthz HTTP/1.1" 404' and "\x1b" not in line["msg"]


@pytest.mark.parametrize("written, shown", [
    ("call me on 07700 900123 after 5", "call me on ***** ****23 after 5"),
    ("office 020 7946 0018.", "office *** **** **18."),
    ("mobile 07700900123", "mobile *********23"),
    ("from France 0033 6 12 34 56 78", "from France **** * ** ** ** 78"),
    ("US (415) 555-0123 or 415-555-0199 or 415.555.0100", "US (***) ***-**23 or ***-***-**99 or ***.***.**00"),
    ("texted +447700900123.", "texted +**********23."),
    ("London +44 (0)20 7946 0018, (020) 7946 0019", "London +** (*)** **** **18, (***) **** **19"),
    ("dial +44-20-7946-0018 or +1 415 555 0123", "dial +**-**-****-**18 or +* *** *** **23"),
])
def test_logs_mask_national_phone_formats_customers_write(written, shown):
    from aftercare.core.logs import mask_pii

    assert mask_pii(written) == shown


@pytest.mark.parametrize("kept", [
    "due 2026-11-25T14:00:00+00:00", "t=1764115200", "took 0.25 s", "version 0006", "id chk_0123456789ab",
    "attempt 3 of 5; 1,234 sent; 2026-11-25 14:00", "order 1234567", "case_007700900",
    "load 1.0234567891234", "request 550e8400-e29b-41d4-a716-046655440000", "checkin chk_3f2a0c1d9e8b7a6f5e4d",
])
def test_log_masking_leaves_dates_counters_and_ids_alone(kept):
    from aftercare.core.logs import mask_pii

    assert mask_pii(kept) == kept
