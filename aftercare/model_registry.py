"""All tables in one metadata, for Alembic and for test set-up."""
import aftercare.managers  # noqa: F401
import aftercare.models  # noqa: F401
import followup.commitment_models  # noqa: F401
import followup.crm.models  # noqa: F401
import followup.models  # noqa: F401
import followup.outcome_models  # noqa: F401
import followup.problem_models  # noqa: F401
import intake.models  # noqa: F401
import wellbeing.models  # noqa: F401
from aftercare.core.db import Base

metadata = Base.metadata
