"""Security headers for the HTML pages the service serves: the dashboard and the public unsubscribe page."""
from __future__ import annotations

from flask import Response

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def protect_page(response: Response, *, cacheable: bool = False) -> Response:
    """No inline script, no framing (clickjacking), no type sniffing, no full URLs (tokens) in Referer;
    pages are not cached (they show a person's data or act on a token) unless `cacheable` (static files)."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if not cacheable:
        response.headers["Cache-Control"] = "no-store"
    return response
