"""`POST /webhooks/crm` with `Authorization: Bearer <key>` (SPEC §10): a desk that cannot sign posts our format
with a crm-scoped key. A wrong or revoked key is 401, a key without `crm` 403, and neither stores anything; a
repeated event_id is answered as a repeat; `origin` (which desk a case lives in) is a connector's to say."""
from __future__ import annotations

import pytest

from tests.support.factories import interaction_event, make_key
from tests.support.reopen import assert_problem, snapshot


@pytest.fixture
def crm_key(app):
    return {"Authorization": f"Bearer {make_key(app, 'crm')}"}


@pytest.mark.parametrize("mode", ["inline", "queued"])
def test_a_crm_key_is_enough_to_post_our_format(mode, rt, client, crm_key, clock):
    rt.settings = rt.settings.replace("crm", intake_mode=mode)
    event = interaction_event()
    resp = client.post("/webhooks/crm", json=event, headers=crm_key)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    again = client.post("/webhooks/crm", json=event, headers=crm_key)
    assert again.status_code == 200 and again.headers["Aftercare-Duplicate"] == "true"


def test_a_wrong_key_is_401_and_a_key_without_crm_is_403_and_nothing_is_stored(app, rt, client, clock):
    from aftercare.auth import revoke_api_key

    revoked = make_key(app, "crm")
    with rt.db.session() as session:
        revoke_api_key(session, ref=revoked, now=clock.now)
    before = snapshot(rt)
    for key in ("ak_" + "x" * 43, revoked):
        resp = client.post("/webhooks/crm", json=interaction_event(), headers={"Authorization": f"Bearer {key}"})
        assert_problem(resp, 401)
    for scope in ("manager", "read", "agent"):
        resp = client.post("/webhooks/crm", json=interaction_event(),
                           headers={"Authorization": f"Bearer {make_key(app, scope)}"})
        assert_problem(resp, 403)
    assert snapshot(rt) == before


def test_a_signature_still_wins_over_a_key(client, crm_key):
    """A post that carries an Aftercare-Signature is judged by it: a forged one is not rescued by a key."""
    resp = client.post("/webhooks/crm", json=interaction_event(), headers={**crm_key, "Aftercare-Signature": "t=1,v1=ab"})
    assert_problem(resp, 401)


def test_our_format_cannot_say_which_desk_a_case_lives_in(client, crm_key, manager_headers):
    """crm.adapter decides for cases in our own format: an `origin` sent here is dropped."""
    event = interaction_event(**{"interaction.case_id": "4321"})
    event["origin"] = {"desk": "chatwoot", "ref": "99"}
    assert client.post("/webhooks/crm", json=event, headers=crm_key).status_code == 202
    case = client.get("/api/v1/cases/4321", headers=manager_headers).get_json()
    assert case["desk"] is None and case["desk_ref"] is None
