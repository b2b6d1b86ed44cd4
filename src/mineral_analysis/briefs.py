"""The catalogue of briefs: which notebook, with which parameters, under which output name.

A brief is one unit of work: a notebook, its parameters and its outputs. ``all_briefs()`` lists every brief
the data supports (the overview, one per agency, one per participant and project location, one per mineral);
``select_briefs()`` turns ``--only`` specs into briefs and refuses unknown values, listing the valid ones,
before any kernel starts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import config
from .errors import ParameterError
from .vocab import AGENCIES, MINERALS, NOT_STATED

KINDS = ("overview", "agency", "country", "mineral")
NOTEBOOKS = {kind: f"{kind}.ipynb" for kind in KINDS}
PARAMETER = {"agency": "agency", "country": "country", "mineral": "mineral"}
_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")
_SLUG_MAX = 80


@dataclass(frozen=True)
class Brief:
    """One brief: ``kind`` and ``key`` (agency code, ISO3 or mineral) with its notebook and parameters."""

    kind: str
    key: str
    title: str
    parameters: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def spec(self) -> str:
        """The name users pass to ``--only``: ``overview``, ``agency:DFC``, ``country:KOR``, ``mineral:copper``."""
        return self.kind if self.kind == "overview" else f"{self.kind}:{self.key}"

    @property
    def slug(self) -> str:
        """The output file stem: lower-case letters, digits and dashes only, so it can never leave reports/.

        Never empty and at most 80 characters: a stem that would be empty or longer ends in a hash of the text.
        """
        text = self.kind if self.kind == "overview" else f"{self.kind}-{self.key}"
        slug = _SLUG_UNSAFE.sub("-", text.lower()).strip("-")
        if not slug or len(slug) > _SLUG_MAX:
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            slug = f"{slug[:_SLUG_MAX - 13].strip('-')}-{digest}".strip("-")
        return slug

    @property
    def notebook(self) -> Path:
        return config.NOTEBOOKS_DIR / NOTEBOOKS[self.kind]


def _tables(processed_dir: Path | None):
    from .data import load_financing, load_membership

    return load_financing(processed_dir), load_membership(processed_dir)


def agency_brief(code: str) -> Brief:
    return Brief("agency", code, f"{AGENCIES[code].label} ({code})", {"agency": code})


def country_brief(iso3: str) -> Brief:
    from .countries import country_name

    return Brief("country", iso3, country_name(iso3), {"country": iso3})


def mineral_brief(mineral: str) -> Brief:
    return Brief("mineral", mineral, mineral.capitalize(), {"mineral": mineral})


def valid_keys(processed_dir: Path | None = None) -> dict[str, list[str]]:
    """The values each brief kind accepts, from the processed data (agencies, countries, minerals present)."""
    financing, membership = _tables(processed_dir)
    countries = set(membership["iso3"])
    for codes in financing["country_iso3"]:
        countries.update(c for c in codes.split(";") if c)
    minerals = {m for value in financing["minerals"] for m in value.split(";") if m != NOT_STATED}
    return {
        "agency": [code for code in AGENCIES if code in set(financing["agency"])],
        "country": sorted(countries),
        "mineral": [m for m in MINERALS if m in minerals],
    }


def all_briefs(processed_dir: Path | None = None) -> list[Brief]:
    """Every brief the data supports, overview first, then agencies, countries and minerals."""
    keys = valid_keys(processed_dir)
    return ([Brief("overview", "", "The 2026 Critical Minerals Ministerial at a glance")]
            + [agency_brief(code) for code in keys["agency"]]
            + [country_brief(code) for code in keys["country"]]
            + [mineral_brief(m) for m in keys["mineral"]])


def _resolve_key(kind: str, value: str, keys: dict[str, list[str]]) -> str:
    valid = keys[kind]
    if kind == "agency":
        candidate = value.strip().upper()
        if candidate not in valid:
            from .normalize import normalize_agency

            try:
                candidate = normalize_agency(value)
            except ValueError:
                pass
    elif kind == "country":
        from .countries import CountryError, resolve_country

        try:
            candidate = resolve_country(value)
        except CountryError as exc:
            raise ParameterError(f"country {value!r}: {exc}. Valid countries: {', '.join(valid)}") from None
    else:
        candidate = value.strip().lower().replace("_", " ").replace("-", " ")
    if candidate not in valid:
        raise ParameterError(f"unknown {kind} {value!r}; valid values: {', '.join(valid)}")
    return candidate


def select_briefs(only: list[str] | None, processed_dir: Path | None = None) -> list[Brief]:
    """Turn ``--only`` specs (``overview``, ``country``, ``agency:DFC``, ``country:Korea``...) into briefs.

    Raises ParameterError naming the bad spec and listing the valid values; no notebook is touched.
    """
    everything = all_briefs(processed_dir)
    if not only:
        return everything
    keys = valid_keys(processed_dir)
    chosen: list[Brief] = []
    for spec in only:
        kind, colon, value = spec.partition(":")
        kind = kind.strip().lower()
        if colon and not value.strip():
            raise ParameterError(f"empty value in brief spec {spec!r} (an unset variable?); valid: overview, "
                                 "agency:DFC, country:KOR, mineral:copper, or a kind alone for all of that kind")
        if kind not in KINDS:
            raise ParameterError(f"unknown brief kind {kind!r} in {spec!r}; valid kinds: {', '.join(KINDS)}")
        if kind == "overview" and value:
            raise ParameterError(f"the overview takes no value, not {value!r} in {spec!r}; write `overview`")
        if kind == "overview" or not value:
            matches = [b for b in everything if b.kind == kind]
        else:
            key = _resolve_key(kind, value, keys)
            matches = [b for b in everything if b.kind == kind and b.key == key]
        chosen += [b for b in matches if b not in chosen]
    return chosen


def validate_parameters(kind: str, parameters: dict, processed_dir: Path | None = None) -> dict:
    """Check a notebook's parameters before a kernel starts; return them with keys canonicalised.

    Unknown names and values not in the data are refused with the list of valid ones.
    """
    allowed = {PARAMETER[kind]} if kind in PARAMETER else set()
    allowed |= {"processed_dir"}
    unknown = set(parameters) - allowed
    if unknown:
        raise ParameterError(f"unknown parameter(s) {', '.join(sorted(unknown))} for the {kind} notebook; "
                             f"valid: {', '.join(sorted(allowed))}")
    checked = dict(parameters)
    if kind in PARAMETER and PARAMETER[kind] in parameters:
        value = parameters[PARAMETER[kind]]
        if not isinstance(value, str):
            raise ParameterError(f"{PARAMETER[kind]} must be text, not {type(value).__name__}")
        checked[PARAMETER[kind]] = _resolve_key(kind, value, valid_keys(processed_dir))
    return checked


def _frame_digest(frame, digest) -> None:
    import pandas as pd

    digest.update(",".join(frame.columns).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())


def data_slices(briefs: list[Brief], processed_dir: Path | None = None) -> dict[str, str]:
    """For each brief (by slug), a hash of exactly the records it draws on: its data version.

    overview: every financing and membership row; agency: that agency's items; country: the items located there
    and the membership table (its map shows every participant); mineral: the items naming the mineral and every
    item of the agencies that fund it (its headline states their not-stated share). A brief is rebuilt when its
    slice changes, so editing one record rebuilds only the briefs that show it.
    """
    import hashlib

    from .analysis import explode_countries, explode_minerals

    financing, membership = _tables(processed_dir)
    by_country = explode_countries(financing)
    by_mineral = explode_minerals(financing)
    slices: dict[str, str] = {}
    for brief in briefs:
        digest = hashlib.sha256(brief.kind.encode() + b"\0" + brief.key.encode() + b"\0")
        if brief.kind == "overview":
            _frame_digest(financing, digest)
            _frame_digest(membership, digest)
        elif brief.kind == "agency":
            _frame_digest(financing[financing["agency"] == brief.key], digest)
        elif brief.kind == "country":
            _frame_digest(by_country[by_country["country"] == brief.key], digest)
            _frame_digest(membership, digest)
        else:
            naming = by_mineral[by_mineral["mineral"] == brief.key]
            _frame_digest(naming, digest)
            _frame_digest(financing[financing["agency"].isin(set(naming["agency"]))], digest)
        slices[brief.slug] = digest.hexdigest()[:12]
    return slices
