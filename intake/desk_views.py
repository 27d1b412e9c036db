"""`POST /webhooks/<desk>`: each native connector's door, the same steps for every desk.

Verify the desk's own scheme (401 otherwise), read the JSON (400/422 problems), name the delivery and answer a
repeat with what the first delivery got, translate (an event we do not act on: `200 {"status": "ignored",
"reason"}`, nothing stored — desks retry anything but 2xx), then hand our event to the same intake as
`/webhooks/crm` (inline or queued). A contact look-up that fails is kept as a failed event (intake/desk_intake.py)
and answered 200 with the failure, so the desk does not retry it for days while a manager can.
"""
from __future__ import annotations

from flask import Blueprint as FlaskBlueprint, jsonify, request, url_for

from aftercare.core.bodies import Blueprint
from aftercare.core.problems import Problem
from aftercare.core.web import db_session, problem_doc, runtime
from intake.connectors import DESKS, Delivery, Ignored, LookupFailed, Refused
from intake.connectors.mapping import event_id as desk_event_id
from intake.desk_intake import store_lookup_failure
from intake.service import received
from intake.views import ingest, parse_object, replayed

blp = Blueprint("desks", __name__, description="Native help-desk webhooks: each desk's own payload and signature "
                                                "(docs/zendesk.md, chatwoot.md, intercom.md, zammad.md, freshdesk.md)")
SCHEMES = {"zendesk": "zendeskSignature", "chatwoot": "chatwootSignature", "intercom": "hubSignature",
           "zammad": "hubSignature", "freshdesk": "freshdeskBasic"}
DESCRIPTIONS = {
    "zendesk": "`X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(zendesk.webhook_signing_secret, "
               "`X-Zendesk-Webhook-Signature-Timestamp` + raw body)); event subscriptions and trigger bodies.",
    "chatwoot": "`X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(chatwoot.webhook_secret, \"{X-Chatwoot-Timestamp}."
                "{raw body}\")>`; `X-Chatwoot-Delivery` de-duplicates.",
    "intercom": "`X-Hub-Signature: sha1=<hex HMAC-SHA1(intercom.client_secret, raw body)>`; topics "
                "conversation.admin.closed, conversation.user.replied, conversation.admin.replied.",
    "zammad": "`X-Hub-Signature: sha1=<hex HMAC-SHA1(zammad.webhook_secret, raw body)>`; `X-Zammad-Delivery` "
              "de-duplicates; a trigger's {ticket, article}.",
    "freshdesk": "HTTP basic auth freshdesk.webhook_user / freshdesk.webhook_password (Freshdesk cannot sign); "
                 "an automation rule's JSON body.",
}


url_checks = FlaskBlueprint("desk_url_checks", __name__)


def url_check():
    """Intercom checks a webhook URL with a HEAD before it saves it: 200, nothing else (not an API operation)."""
    return "", 200


def _door(desk: str):
    def view():
        rt = runtime()
        connector = rt.services["desks"][desk]
        auth = request.authorization
        delivery = Delivery(headers=request.headers, body=request.get_data(cache=True),
                            basic_auth=(auth.username or "", auth.password or "") if auth and auth.type == "basic"
                            else None)
        try:
            connector.verify(delivery, now=rt.clock().timestamp())
        except Refused as exc:
            raise Problem(401, "Invalid signature", str(exc), kind="invalid-signature") from exc
        payload = parse_object(delivery.body)
        delivery_id = connector.delivery_id(delivery, payload)
        event_id = desk_event_id(desk, delivery_id)
        session = db_session()
        if (seen := received(session, event_id)) is not None:
            return replayed(seen)
        session.rollback()  # hold no transaction (on SQLite: no write lock) while the desk's API is asked
        try:
            event = connector.translate(payload, delivery_id=delivery_id, now=rt.clock())
        except LookupFailed as exc:
            row, stored = store_lookup_failure(session, desk=desk, event_id=event_id, delivery_id=delivery_id,
                                               payload=payload, reason=str(exc), now=rt.clock())
            if not stored:
                return replayed(row)
            return jsonify({**row.response, "links": {"self": url_for("crm.received_event", event_id=event_id)}})
        if isinstance(event, Ignored):
            return jsonify({"status": "ignored", "reason": event.reason, "event_id": event_id})
        return ingest(event)

    view.__name__ = f"{desk}_webhook"
    view.__doc__ = f"Receive {desk.title()}'s own webhook"
    return view


for _desk in DESKS:
    url_checks.add_url_rule(f"/webhooks/{_desk}", endpoint=f"{_desk}_url_check", view_func=url_check,
                            methods=["HEAD"])
    blp.route(f"/webhooks/{_desk}", methods=["POST"], endpoint=f"{_desk}_webhook")(blp.doc(
        summary=f"Receive a {_desk.title()} webhook", description=DESCRIPTIONS[_desk],
        security=[{SCHEMES[_desk]: []}],
        requestBody={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        responses={"202": {"description": "Acted on (inline) or stored for the workers (queued)",
                           "content": {"application/json": {"schema": {"type": "object"}}}},
                   "200": {"description": "Ignored (with the reason), a repeat of a delivery (its first answer), "
                                          "or a contact look-up that failed (kept as a failed event)",
                           "content": {"application/json": {"schema": {"type": "object"}}}},
                   "400": problem_doc("Body is not JSON"),
                   "401": problem_doc("Missing, forged or stale signature, or wrong credentials"),
                   "409": problem_doc("Interaction already recorded under another event"),
                   "422": problem_doc("A field the mapping needs is missing, or the mapped event is invalid")})(
        _door(_desk)))
