"""Dev-only credentials kept under instance/ so that a restart of `make run` keeps the same ones."""
from __future__ import annotations

from flask import Flask

from aftercare.app import dev_credentials_path, load_dev_credentials, save_dev_credentials
from aftercare.auth import create_api_key


def ensure_dev_credentials(app: Flask) -> dict:
    rt = app.extensions["aftercare"]
    creds = load_dev_credentials(rt.settings)
    if "manager_api_key" not in creds:
        with rt.db.session() as session:
            creds["manager_api_key"] = create_api_key(session=session, name="dev manager", scopes=["manager"])
    creds.setdefault("crm_webhook_secret", rt.settings.crm.webhook_secret.reveal())
    save_dev_credentials(rt.settings, creds)
    return {**creds, "path": str(dev_credentials_path(rt.settings))}
