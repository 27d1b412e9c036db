"""Key and manager lifecycle through Flask's CLI runner: `keys list | revoke`, `managers reset-password`.

A revoked key is a 401 everywhere; nothing the commands print holds a key, a key's hash or a password."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from aftercare.auth import hash_key
from aftercare.models import ApiKey
from tests.support.factories import make_key

PASSWORD, NEW_PASSWORD = "correct horse battery", "another long secret"


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _create(runner, *args: str) -> str:
    result = runner.invoke(args=["keys", "create", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _stored(rt, key: str) -> ApiKey:
    with rt.db.session() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).one()
        session.expunge(row)
        return row


def test_keys_list_shows_each_key_without_the_key_or_its_hash(runner, rt, client, clock):
    manager = _create(runner, "--scope", "manager", "--name", "ops laptop")
    agent = _create(runner, "--scope", "agent", "--agent", "ag_1", "--name", "softphone")
    assert client.get("/api/v1/checkins", headers={"Authorization": f"Bearer {manager}"}).status_code == 200
    listed = runner.invoke(args=["keys", "list"])
    assert listed.exit_code == 0, listed.output
    header, *lines = listed.output.strip().splitlines()
    assert header.split()[:5] == ["id", "prefix", "name", "scopes", "agent"]
    mine = next(line for line in lines if "ops laptop" in line)
    theirs = next(line for line in lines if "softphone" in line)
    assert _stored(rt, manager).id in mine and "manager" in mine and clock.now.strftime("%Y-%m-%d %H:%M") in mine
    assert "ag_1" in theirs and theirs.rstrip().endswith("-")  # never used, never revoked
    for key in (manager, agent):
        assert key not in listed.output and hash_key(key) not in listed.output
        assert key[10:20] not in listed.output  # nothing beyond the stored 10-character prefix


def test_a_revoked_key_gets_401_and_revoking_again_changes_nothing(runner, rt, client, clock):
    key = _create(runner, "--scope", "manager")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/checkins", headers=headers).status_code == 200
    row = _stored(rt, key)
    revoked = runner.invoke(args=["keys", "revoke", row.prefix])
    assert revoked.exit_code == 0 and f"key {row.id}" in revoked.output and key not in revoked.output
    for method, path in (("GET", "/api/v1/checkins"), ("GET", "/api/v1/routing/queue"),
                         ("PUT", "/api/v1/agents/ag_1/state"), ("GET", "/api/v1/metrics/outcomes")):
        resp = client.open(path, method=method, headers=headers, json={"state": "busy"} if method == "PUT" else None)
        assert resp.status_code == 401 and resp.mimetype == "application/problem+json", (method, path)
    first = _stored(rt, key).revoked_at
    assert first == clock.now
    clock.advance(hours=1)
    again = runner.invoke(args=["keys", "revoke", row.id])
    assert again.exit_code == 0 and "already revoked" in again.output
    assert _stored(rt, key).revoked_at == first
    assert "revoked" in runner.invoke(args=["keys", "list"]).output


def test_a_leaked_key_can_be_revoked_as_found(runner, rt, client):
    key = _create(runner, "--scope", "read")
    assert runner.invoke(args=["keys", "revoke", key]).exit_code == 0
    assert client.get("/api/v1/checkins", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_revoking_an_unknown_or_ambiguous_key_fails_and_revokes_nothing(app, runner, rt):
    keys = [make_key(app, "read"), make_key(app, "read")]
    with rt.db.session() as session:
        for row in session.scalars(select(ApiKey)):
            row.prefix = "ak_same123"
        session.commit()
    for ref, message in (("key_nope", "no API key"), ("ak_same123", "several keys"), ("", "no API key")):
        result = runner.invoke(args=["keys", "revoke", ref])
        assert result.exit_code == 1 and message in result.output, result.output
    assert all(_stored(rt, key).revoked_at is None for key in keys)


def test_last_used_is_kept_to_the_hour(app, rt, client, clock):
    key = make_key(app, "read")
    headers = {"Authorization": f"Bearer {key}"}
    assert _stored(rt, key).last_used_at is None
    client.get("/api/v1/checkins", headers=headers)
    first = clock.now
    clock.advance(minutes=59)
    client.get("/api/v1/checkins", headers=headers)
    assert _stored(rt, key).last_used_at == first
    clock.advance(minutes=2)
    client.get("/api/v1/routing/queue", headers=headers)  # a 403 (no agent scope) is still a use
    assert _stored(rt, key).last_used_at == first + timedelta(minutes=61)


@pytest.fixture
def dana(app, clock):
    from aftercare.managers import create_manager

    with app.extensions["aftercare"].db.session() as session:
        return create_manager(session=session, username="dana", password=PASSWORD, now=clock.now)


def _sign_in(rt, clock, password: str, ip: str = "10.0.0.1"):
    from aftercare.managers import sign_in

    with rt.db.session() as session:
        return sign_in(session=session, username="dana", password=password, ip=ip, now=clock.now)


def test_managers_reset_password(runner, rt, clock, dana):
    from aftercare.managers import SignInError, SignInThrottled, current_manager

    before = _sign_in(rt, clock, PASSWORD, ip="10.0.0.2")
    for _ in range(5):
        with pytest.raises(SignInError):
            _sign_in(rt, clock, "wrong password!")
    with pytest.raises(SignInThrottled):
        _sign_in(rt, clock, PASSWORD)
    result = runner.invoke(args=["managers", "reset-password", "--username", "DANA", "--password-stdin"],
                           input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0 and "'dana'" in result.output and NEW_PASSWORD not in result.output
    assert _sign_in(rt, clock, NEW_PASSWORD).username == "dana"  # the lockout on her name is lifted by the reset
    with rt.db.session() as session:
        assert current_manager(session, before.id, before.session_nonce) is None  # older sessions are signed out
    with pytest.raises(SignInError):
        _sign_in(rt, clock, PASSWORD)
    prompted = runner.invoke(args=["managers", "reset-password", "--username", "dana"],
                             input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert _sign_in(rt, clock, PASSWORD).username == "dana"


@pytest.mark.parametrize("username,password,message", [("dana", "short", "at least 10"),
                                                        ("nobody", NEW_PASSWORD, "no manager 'nobody'")])
def test_managers_reset_password_refuses_and_changes_nothing(runner, rt, clock, dana, username, password, message):
    result = runner.invoke(args=["managers", "reset-password", "--username", username, "--password-stdin"],
                           input=password + "\n")
    assert result.exit_code == 1 and message in result.output, result.output
    assert _sign_in(rt, clock, PASSWORD).username == "dana"
