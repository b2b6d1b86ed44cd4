"""Former home of the catalogue of briefs, kept for existing imports: see ``mineral_analysis.publish.catalogue``."""

from .briefing import KINDS  # noqa: F401
from .publish.catalogue import (  # noqa: F401
    Brief,
    all_briefs,
    data_slices,
    select_briefs,
    validate_parameters,
)
