"""Driving the dashboard as a manager does: the sign-in form, CSRF tokens, pages and form posts."""
from __future__ import annotations

import re

PASSWORD = "correct horse battery"


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, username="dana", password=PASSWORD, *, next_url="", **kwargs):
    token = csrf(client.get("/dashboard/sign-in").get_data(as_text=True))
    return client.post("/dashboard/sign-in", data={"csrf_token": token, "username": username, "password": password,
                                                   "next": next_url}, **kwargs)


def page(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:500])
    return resp.get_data(as_text=True)


def post_form(client, url: str, data: dict, *, form_page: str | None = None):
    token = csrf(page(client, form_page or url))
    return client.post(url, data={"csrf_token": token, **data})
