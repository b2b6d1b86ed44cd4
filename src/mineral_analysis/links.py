"""Names and links between briefs: a country's printed name, a brief's file name, Markdown links to briefs."""

from __future__ import annotations

import hashlib
import re

import pandas as pd

from .display import esc
from .vocab import NOT_STATED


def display_name(iso3: str, name: object = None) -> str:
    """A country's name as the briefs print it (``EUU``: the European Commission, the body the sources name)."""
    from .countries import CountryError, country_name
    from .vocab import SUPRANATIONAL

    if iso3 in SUPRANATIONAL:
        return SUPRANATIONAL[iso3]
    if isinstance(name, str) and name.strip() and name.strip().upper() != iso3:  # a code standing in is no name
        return name.strip()
    try:
        return country_name(iso3)
    except CountryError:  # an unknown code shows as itself
        return iso3


_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")
_SLUG_MAX = 80


def brief_slug(kind: str, key: str = "") -> str:
    """A brief's output file stem: lower-case letters, digits and dashes only, so it can never leave reports/.

    Never empty and at most 80 characters: a stem that would be empty or longer ends in a hash of the text.
    """
    text = kind if kind == "overview" else f"{kind}-{key}"
    slug = _SLUG_UNSAFE.sub("-", text.lower()).strip("-")
    if not slug or len(slug) > _SLUG_MAX:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        slug = f"{slug[: _SLUG_MAX - 13].strip('-')}-{digest}".strip("-")
    return slug


def brief_href(kind: str, key: str = "") -> str:
    """The relative file name of a brief's HTML page."""
    return f"{brief_slug(kind, key)}.html"


def link(kind: str, key: str, text: str) -> str:
    """A Markdown link to another brief, its text escaped."""
    return f"[{esc(text)}]({brief_href(kind, key)})"


def mineral_links(financing: pd.DataFrame) -> str:
    """Markdown: every mineral the items name, each linking to its brief."""
    return ", ".join(link("mineral", m, m) for m in named_minerals(financing))


def named_minerals(financing: pd.DataFrame) -> list[str]:
    """The minerals the items name, sorted (``not stated`` left out)."""
    return sorted({m for value in financing["minerals"] for m in str(value).split(";") if m and m != NOT_STATED})
