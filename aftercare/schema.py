"""All tables in one metadata, for Alembic and for test set-up."""
import aftercare.models  # noqa: F401
import followup.models  # noqa: F401
import wellbeing.models  # noqa: F401
from aftercare.db import Base

metadata = Base.metadata
