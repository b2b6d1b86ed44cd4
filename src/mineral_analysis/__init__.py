"""mineral-analysis: briefs on US critical-minerals diplomacy and financing, from curated records.

Typical use in a notebook::

    from mineral_analysis import load_financing, load_membership, funding_summary
    financing = load_financing()

Plotting helpers live in ``mineral_analysis.plots`` and ``mineral_analysis.maps``; they (and the
heavier modules) are imported on first use so that ``import mineral_analysis`` stays quick.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "load_financing": "data",
    "load_membership": "data",
    "load_metadata": "data",
    "build_processed": "clean.pipeline",
    "load_raw": "clean.pipeline",
    "DataValidationError": "errors",
    "parse_amount": "clean.amounts",
    "format_usd": "usd",
    "resolve_country": "clean.countries",
    "resolve_countries": "clean.countries",
    "country_name": "clean.countries",
    "funding_summary": "analysis",
    "explode_countries": "analysis",
    "explode_minerals": "analysis",
    "roles_by_country": "analysis",
    "plot_participation_map": "maps",
    "plot_funding_map": "maps",
    "plot_funding_by": "plots",
    "plot_timeline": "plots",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mineral_analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
