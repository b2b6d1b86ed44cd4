"""Former home of the build, kept for existing imports: the code is in ``mineral_analysis.publish``
(``build``, ``brief``, ``pool``, ``kernels``, ``fingerprint``, ``record``); see docs/building.md."""

from .publish.brief import BriefOutcome, export_brief, run_brief  # noqa: F401
from .publish.build import CACHE, LOCK, BuildLockedError, BuildResult, build_briefs  # noqa: F401
from .publish.fingerprint import (  # noqa: F401
    brief_fingerprint,
    data_fingerprint,
    dataset_version,
    library_fingerprint,
)
from .publish.record import MANIFEST, SUMS  # noqa: F401
from .publish.signals import BuildInterrupted  # noqa: F401
