"""mineral-analysis: briefs on US critical-minerals diplomacy and financing, from curated records.

Typical use in a notebook:

>>> import mineral_analysis as ma
>>> financing = ma.load_financing()  # one row per item; sum ``counted_usd`` for totals
>>> by_agency = ma.funding_summary(financing, by="agency")
>>> brief = ma.open_brief("agency", "DFC")  # the records one brief draws on
>>> brief.key
'DFC'
>>> fig = ma.plots.plot_funding_by(brief.rows, "mineral")  # a matplotlib figure; ma.maps draws the maps

Every name below is an attribute of the package, imported on first use (``import mineral_analysis`` stays quick
and pulls no plotting or build dependency): the functions in :data:`_LAZY` and the modules in :data:`_MODULES`.
Type checkers and editors read their types from ``__init__.pyi`` (the same names, imported for real).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Function or class -> the module that defines it.
_LAZY = {
    "load_financing": "data",
    "load_membership": "data",
    "load_metadata": "data",
    "build_processed": "clean.pipeline",
    "load_raw": "clean.pipeline",
    "DataValidationError": "errors",
    "ParameterError": "errors",
    "parse_amount": "clean.amounts",
    "format_usd": "usd",
    "resolve_country": "countries",
    "resolve_countries": "countries",
    "country_name": "countries",
    "funding_summary": "analysis",
    "explode_countries": "analysis",
    "explode_minerals": "analysis",
    "roles_by_country": "analysis",
    "open_brief": "briefing",
    "BriefData": "briefing",
    "plot_participation_map": "maps",
    "plot_funding_map": "maps",
    "plot_locator_map": "maps",
    "plot_funding_by": "plots",
    "plot_timeline": "plots",
}
# The modules an analyst reaches through the package (``ma.plots.plot_timeline``).
_MODULES = ("analysis", "briefing", "config", "data", "display", "maps", "plots", "style", "usd", "vocab")

__all__ = ["__version__", *_LAZY, *_MODULES]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'mineral_analysis' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
