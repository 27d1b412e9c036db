"""CRM adapters: each satisfies the Protocol, is picked by name, and the notice survives the outbox round trip."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from config.settings import load_settings
from followup.crm import ADAPTERS, CrmAdapter, CrmAdapters, ReopenNotice, build_crm_adapter
from followup.crm.base import html_note, internal_note

NOTICE = ReopenNotice(case_id="4321", reply_text="still broken\nand nobody called", intent="reopen", confidence=0.81,
                      reasons=("unresolved: “still broken”", "negative sentiment"), routed_agent_id=None,
                      routed_team="billing-emea", routing_reason="agent ag_1 is on break: routed to team billing-emea",
                      reopened_at=datetime(2026, 11, 25, 14, 10, tzinfo=timezone.utc), delivery_id="crm_1")
CONFIGURED = {"crm": {"webhook_secret": "x", "webhook_url": "https://crm.example.com/hook",
                      "webhook_signing_secret": "s"},
              "zendesk": {"base_url": "https://acme.zendesk.com/", "email": "a@acme.test", "api_token": "t"},
              "chatwoot": {"base_url": "https://chat.acme.test", "account_id": "1", "api_access_token": "t"},
              "freshdesk": {"base_url": "https://acme.freshdesk.com", "api_key": "k"},
              "intercom": {"access_token": "t", "admin_id": "7"},
              "zammad": {"base_url": "https://acme.zammad.com", "api_token": "t"}}


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_every_adapter_is_built_from_config_and_satisfies_the_protocol(name):
    settings = load_settings({**CONFIGURED, "crm": {**CONFIGURED["crm"], "adapter": name}}, environ={})
    adapter = build_crm_adapter(settings)
    assert isinstance(adapter, CrmAdapter) and adapter.name == name


def test_unknown_adapter_is_refused():
    with pytest.raises(ValueError, match="unknown crm.adapter 'salesforce'"):
        build_crm_adapter(load_settings({"crm": {"webhook_secret": "x", "adapter": "salesforce"}}, environ={}))


@pytest.mark.parametrize("desk,missing", [("zendesk", "zendesk.base_url"), ("chatwoot", "chatwoot.base_url"),
                                          ("freshdesk", "freshdesk.api_key"), ("intercom", "intercom.access_token"),
                                          ("zammad", "zammad.api_token")])
def test_each_desk_needs_its_credentials(desk, missing):
    with pytest.raises(ValueError, match=missing):
        build_crm_adapter(load_settings({"crm": {"webhook_secret": "x", "adapter": desk}}, environ={}))


def test_a_desk_without_credentials_is_built_as_one_that_dead_letters_each_notice():
    """A case came from Chatwoot, but chatwoot.* is not configured: its notices say so, permanently."""
    from followup.crm import CrmDeliveryError

    settings = load_settings({"crm": {"webhook_secret": "x"}}, environ={})
    adapters = CrmAdapters(settings, build_crm_adapter(settings))
    assert adapters.get("builtin") is adapters.default
    with pytest.raises(CrmDeliveryError, match="chatwoot.base_url") as refused:
        adapters.get("chatwoot").case_reopened(NOTICE)
    assert refused.value.permanent and adapters.get("chatwoot") is adapters.get("chatwoot")


def test_the_html_note_escapes_the_customer_reply():
    note = html_note(ReopenNotice(**{**NOTICE.__dict__, "reply_text": "<script>x</script> & co"}))
    assert "<script>" not in note and "&lt;script&gt;x&lt;/script&gt; &amp; co" in note


def test_secrets_never_print():
    settings = load_settings(CONFIGURED, environ={})
    assert "'s'" not in repr(settings.crm) and "'t'" not in repr(settings.zendesk)


def test_notice_round_trips_through_its_payload():
    payload = NOTICE.as_payload()
    assert payload["reopened_at"] == "2026-11-25T14:10:00Z" and payload["routed_to"]["agent_id"] is None
    assert ReopenNotice.from_payload(payload) == NOTICE


def test_internal_note_quotes_the_reply_and_lists_the_reasons():
    note = internal_note(NOTICE)
    assert "> still broken\n> and nobody called" in note
    assert "Verdict: reopen (confidence 0.81)" in note
    assert "- unresolved: “still broken”\n- negative sentiment" in note
    assert "Routed to team billing-emea: agent ag_1 is on break" in note
