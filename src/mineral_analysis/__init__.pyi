"""Types of the package's lazy attributes (see __init__.py, which imports each on first use)."""

from typing import Any

from . import analysis, briefing, config, data, display, maps, plots, style, usd, vocab
from .analysis import explode_countries, explode_minerals, funding_summary, roles_by_country
from .briefing import BriefData, open_brief
from .clean.amounts import parse_amount
from .clean.pipeline import build_processed, load_raw
from .countries import country_name, resolve_countries, resolve_country
from .data import load_financing, load_membership, load_metadata
from .errors import DataValidationError, ParameterError
from .maps import plot_funding_map, plot_locator_map, plot_participation_map
from .plots import plot_funding_by, plot_timeline
from .usd import format_usd

__version__: str
__all__ = [
    "BriefData",
    "DataValidationError",
    "ParameterError",
    "__version__",
    "analysis",
    "briefing",
    "build_processed",
    "config",
    "country_name",
    "data",
    "display",
    "explode_countries",
    "explode_minerals",
    "format_usd",
    "funding_summary",
    "load_financing",
    "load_membership",
    "load_metadata",
    "load_raw",
    "maps",
    "open_brief",
    "parse_amount",
    "plot_funding_by",
    "plot_funding_map",
    "plot_locator_map",
    "plot_participation_map",
    "plot_timeline",
    "plots",
    "resolve_countries",
    "resolve_country",
    "roles_by_country",
    "style",
    "usd",
    "vocab",
]

def __getattr__(name: str) -> Any: ...
def __dir__() -> list[str]: ...
