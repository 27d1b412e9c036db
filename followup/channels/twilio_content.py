"""The WhatsApp check-in templates as code: Twilio's Content API (`content.v1`) creates one per locale from
config/templates (a body with variables and two quick-reply buttons) and asks WhatsApp to approve it.

A template whose name exists already is not created again: its approval is fetched, and requested if it never was.
WhatsApp does not let an approved template change, so new wording needs a new `whatsapp.template_name`."""
from __future__ import annotations

from dataclasses import dataclass

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentInstance, ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

from followup.channels.twilio_sms import twilio_client
from followup.whatsapp_content import CATEGORY, CheckinContent, checkin_content, template_locales

NOT_REQUESTED = ("", "unsubmitted")


class ContentSyncError(Exception):
    """Twilio could not be asked, or refused; the message says which template and why."""


@dataclass(frozen=True)
class SyncedTemplate:
    locale: str
    name: str
    sid: str
    created: bool  # False: it existed already
    approval: str  # WhatsApp's approval status as Twilio reports it (received, pending, approved, rejected…)
    note: str = ""  # a rejection reason, or that the wording in Twilio differs from config/templates


def sync_from_settings(settings, locales: list[str] | None = None) -> list[SyncedTemplate]:
    """`flask --app wsgi whatsapp templates sync`: the configured account, `whatsapp.template_name` as the prefix."""
    t = settings.twilio
    if not (t.account_sid and t.auth_token):
        raise ContentSyncError("twilio.account_sid and twilio.auth_token must be set")
    client, _ = twilio_client(t)
    client.content.base_url = t.content_base_url.rstrip("/")
    return sync_checkin_templates(client, name_prefix=settings.whatsapp.template_name, locales=locales)


def sync_checkin_templates(client: Client, *, name_prefix: str,
                           locales: list[str] | None = None) -> list[SyncedTemplate]:
    """Create what is missing and request approval of what never was requested; report every template."""
    wanted = [checkin_content(locale, name_prefix) for locale in (locales or template_locales())]
    try:
        existing = {c.friendly_name: c for c in client.content.v1.contents.list()}
        return [_sync(client, content, existing.get(content.name)) for content in wanted]
    except (TwilioException, requests.RequestException) as exc:
        raise ContentSyncError(f"Twilio's Content API: {exc}") from exc


def _sync(client: Client, content: CheckinContent, found) -> SyncedTemplate:
    if found is None:
        sid, note, status, reason = _create(client, content), "", "", ""
    else:
        sid = found.sid
        note = "" if _wording(found) == content.body else \
            "the wording in Twilio differs from config/templates; set a new whatsapp.template_name to change it"
        status, reason = _approval(client, sid)
    if status in NOT_REQUESTED:
        requested = client.content.v1.contents(sid).approval_create.create(ApprovalCreateList.ContentApprovalRequest(
            {"name": content.name, "category": CATEGORY}))
        status, reason = requested.status or "received", requested.rejection_reason or ""
    return SyncedTemplate(locale=content.locale, name=content.name, sid=sid, created=found is None, approval=status,
                          note=reason or note)


def _approval(client: Client, sid: str) -> tuple[str, str]:
    """WhatsApp's approval of a template: (status, rejection reason); ("", "") when it was never requested."""
    try:
        whatsapp = client.content.v1.contents(sid).approval_fetch().fetch().whatsapp or {}
    except TwilioRestException as exc:
        if exc.status == 404:
            return "", ""
        raise
    return whatsapp.get("status") or "", whatsapp.get("rejection_reason") or ""


def _create(client: Client, content: CheckinContent) -> str:
    actions = [{"type": ContentInstance.QuickReplyActionType.QUICK_REPLY, "id": button_id, "title": title}
               for button_id, title in content.buttons]
    created = client.content.v1.contents.create(ContentList.ContentCreateRequest({
        "friendly_name": content.name, "language": content.locale, "variables": content.variables,
        "types": {"twilio/quick-reply": {"body": content.body, "actions": actions}}}))
    return created.sid


def _wording(found) -> str | None:
    return ((found.types or {}).get("twilio/quick-reply") or {}).get("body")
