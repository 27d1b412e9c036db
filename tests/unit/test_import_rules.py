"""Decisions are plain Python: importing them must not pull in the web stack or the database layer."""
from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["followup.triage", "followup.understanding", "followup.policy",
                                    "wellbeing.planner", "wellbeing.rules", "wellbeing.load", "wellbeing.erlang"])
def test_a_decision_module_loads_neither_flask_nor_sqlalchemy(module):
    probe = (f"import sys, {module}; heavy = sorted({{m.split('.')[0] for m in sys.modules}} & "
             "{'flask', 'flask_smorest', 'sqlalchemy', 'marshmallow', 'werkzeug'}); print(','.join(heavy))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"importing {module} loaded {loaded}"


def test_importing_a_model_does_not_load_the_web_stack():
    probe = "import sys, followup.models, wellbeing.models, intake.models; print('flask' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
