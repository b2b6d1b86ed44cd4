"""Former home of the catalogue of briefs, kept for existing imports: see ``mineral_analysis.publish.catalogue``
(briefs, specs, slugs, slices) and ``mineral_analysis.briefing`` (a brief's parameter and records)."""

from __future__ import annotations

from pathlib import Path

from .briefing import KINDS, Tables
from .publish.catalogue import (  # noqa: F401
    Brief,
    all_briefs,
    data_slices,
    key_parameter,
    select_briefs,
    validate_parameters,
)


def valid_keys(processed_dir: Path | None = None) -> dict[str, list[str]]:
    """The values each kind of brief but the overview accepts (``briefing.Tables.valid_keys``)."""
    keys = Tables.load(processed_dir).valid_keys()
    return {kind: values for kind, values in keys.items() if kind != "overview"}


def __getattr__(name: str):
    if name == "PARAMETER":  # kind -> the notebook parameter naming its subject, read from the notebooks
        return {kind: key_parameter(kind) for kind in KINDS if key_parameter(kind)}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
