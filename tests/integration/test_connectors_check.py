"""`flask connectors check [DESK]` against a local fake of each desk's API: it says what works (API credentials,
account, webhook secret) and what does not, prints what to paste, and exits 1 when something fails."""
from __future__ import annotations

import pytest

from tests.support.desks import CASES

ME = {"zendesk": ("/api/v2/users/me.json", {"user": {"id": 1, "email": "bot@acme.test", "role": "admin"}}),
      "chatwoot": ("/api/v1/profile", {"name": "Bot", "email": "bot@acme.test", "accounts": [{"id": 1}]}),
      "intercom": ("/me", {"type": "admin", "name": "Bot", "app": {"name": "Acme", "id_code": "lkqcyt9t"}}),
      "zammad": ("/api/v1/users/me", {"login": "bot@acme.test"}),
      "freshdesk": ("/api/v2/agents/me", {"id": 3, "contact": {"email": "bot@acme.test"}})}


@pytest.fixture(params=sorted(CASES))
def desk(request):
    return CASES[request.param]


@pytest.fixture
def overrides(overrides, httpserver, desk):
    overrides.update(desk.settings(httpserver.url_for("/").rstrip("/")))
    overrides["server"]["public_base_url"] = "https://aftercare.acme.test"
    return overrides


def test_a_working_desk_says_so_and_prints_what_to_paste(desk, app, httpserver):
    path, answer = ME[desk.name]
    httpserver.expect_request(path, method="GET").respond_with_json(answer)
    result = app.test_cli_runner().invoke(args=["connectors", "check", desk.name])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output and result.output.count("ok  ") >= 2
    assert f"https://aftercare.acme.test/webhooks/{desk.name}" in result.output


def test_refused_credentials_fail_the_check(desk, app, httpserver):
    path, _ = ME[desk.name]
    httpserver.expect_request(path, method="GET").respond_with_json({"error": "Couldn't authenticate you"}, status=401)
    result = app.test_cli_runner().invoke(args=["connectors", "check", desk.name])
    assert result.exit_code == 1 and "FAIL" in result.output and "401" in result.output, result.output
