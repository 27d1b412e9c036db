"""Aftercare's shell: app factory, database, auth, errors, health, scheduler, CLI and CRM event intake."""
from aftercare.app import create_app

__all__ = ["create_app"]
