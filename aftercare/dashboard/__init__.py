"""The managers' dashboard (server-rendered pages under /dashboard); the blueprint lives in `views`."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask.sessions import SecureCookieSessionInterface

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def cookie_secure(settings) -> bool:
    """`auto`: Secure cookies unless the service is reached over plain http on this machine."""
    choice = str(settings.dashboard.cookie_secure).strip().lower()
    if choice in ("true", "1", "yes", "on"):
        return True
    if choice in ("false", "0", "no", "off"):
        return False
    base = urlsplit(settings.server.public_base_url)
    return not (base.scheme == "http" and (base.hostname or "") in LOCAL_HOSTS)


def session_config(settings) -> dict:
    """Flask settings for the manager session cookie."""
    return {"SECRET_KEY": settings.dashboard.secret_key.reveal(), "SESSION_COOKIE_NAME": "aftercare_session",
            "SESSION_COOKIE_SECURE": cookie_secure(settings), "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "PERMANENT_SESSION_LIFETIME": timedelta(hours=settings.dashboard.session_hours)}


class CookieOnlyWhenSentSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus building the signer for requests that carry no session cookie.

    Webhooks and API calls never do, and Flask makes a fresh serializer per request before it looks; a
    request without the cookie gets the same empty session Flask would give it.
    """

    def open_session(self, app, request):
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)
