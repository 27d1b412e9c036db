"""Aftercare's shell: the app factory, CLI, auth, health, metrics and the dashboard. Nothing is re-exported here, so
importing a model never loads the web stack."""
