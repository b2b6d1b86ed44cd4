"""The catalogue of briefs: which notebook, with which parameters, under which output name, and which records.

A brief is one unit of work: a notebook, its parameters and its outputs. ``all_briefs()`` lists every brief the
data supports (the overview, one per agency, one per participant and project location, one per mineral);
``select_briefs()`` turns ``--only`` specs into briefs and refuses unknown or empty values, listing the valid
ones, before any kernel starts. A notebook's parameters are read from the notebook itself
(``papermill.inspect_notebook``); values are resolved by ``briefing.Tables.resolve``, the same code the notebooks
use; ``data_slices`` hashes the records ``briefing`` says each brief draws on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .. import config
from ..briefing import KINDS, Tables
from ..errors import ParameterError
from ..links import brief_slug
from ..vocab import AGENCIES

OVERVIEW_TITLE = "The 2026 Critical Minerals Ministerial at a glance"
SETTINGS = ("processed_dir",)  # notebook parameters that are settings of the run, not the brief's key


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
        """The output file stem (``links.brief_slug``: safe characters only, never empty, at most 80)."""
        return brief_slug(self.kind, self.key)

    @property
    def notebook(self) -> Path:
        return notebook_path(self.kind)


def notebook_path(kind: str, notebooks_dir: Path | None = None) -> Path:
    """``notebooks/<kind>.ipynb``."""
    return Path(notebooks_dir or config.NOTEBOOKS_DIR) / f"{kind}.ipynb"


@lru_cache(maxsize=32)
def _declared(path: Path, mtime_ns: int) -> tuple[str, ...]:
    import papermill

    return tuple(papermill.inspect_notebook(str(path)))


def declared_parameters(kind: str, notebooks_dir: Path | None = None) -> tuple[str, ...]:
    """The parameters the ``kind`` notebook declares in its ``parameters`` cell (papermill's own reading)."""
    path = notebook_path(kind, notebooks_dir)
    return _declared(path, path.stat().st_mtime_ns)


def key_parameter(kind: str, notebooks_dir: Path | None = None) -> str | None:
    """The parameter that names the brief's subject (``agency``, ``country``, ``mineral``); None for the overview."""
    names = [n for n in declared_parameters(kind, notebooks_dir) if n not in SETTINGS]
    if len(names) > 1:
        raise ParameterError(
            f"the {kind} notebook declares {', '.join(names)}: expected one parameter besides {', '.join(SETTINGS)}"
        )
    return names[0] if names else None


def brief_title(kind: str, key: str) -> str:
    """The title of the brief of ``kind`` on the canonical ``key``."""
    if kind == "overview":
        return OVERVIEW_TITLE
    if kind == "agency":
        return f"{AGENCIES[key].label} ({key})"
    if kind == "country":
        from ..links import display_name

        return display_name(key)  # EUU: the body the sources name
    return key.capitalize()


def make_brief(kind: str, key: str) -> Brief:
    """The brief of ``kind`` on the canonical ``key``, with its title and parameters."""
    if kind == "overview":
        return Brief("overview", "", OVERVIEW_TITLE)
    name = key_parameter(kind)
    return Brief(kind, key, brief_title(kind, key), {name: key} if name else {})


def all_briefs(processed_dir: Path | None = None, tables: Tables | None = None) -> list[Brief]:
    """Every brief the data supports, overview first, then agencies, countries and minerals."""
    keys = (tables or Tables.load(processed_dir)).valid_keys()
    return [make_brief(kind, key) for kind in KINDS for key in keys[kind]]


def select_briefs(
    only: list[str] | None, processed_dir: Path | None = None, tables: Tables | None = None
) -> list[Brief]:
    """Turn ``--only`` specs (``overview``, ``country``, ``agency:DFC``, ``country:South Korea``...) into briefs.

    Raises ParameterError naming the bad spec and listing the valid values; no notebook is touched.
    """
    tables = tables or Tables.load(processed_dir)
    everything = all_briefs(tables=tables)
    if not only:
        return everything
    chosen: list[Brief] = []
    for spec in only:
        kind, colon, value = spec.partition(":")
        kind = kind.strip().lower()
        if kind not in KINDS:
            raise ParameterError(f"unknown brief kind {kind!r} in {spec!r}; valid kinds: {', '.join(KINDS)}")
        if colon and not value.strip():
            raise ParameterError(
                f"empty value in brief spec {spec!r} (an unset variable?); valid: overview, "
                "agency:DFC, country:KOR, mineral:copper, or a kind alone for all of that kind"
            )
        if kind == "overview" and value:
            raise ParameterError(f"the overview takes no value, not {value!r} in {spec!r}; write `overview`")
        if kind == "overview" or not value:
            matches = [b for b in everything if b.kind == kind]
        else:
            key = tables.resolve(kind, value)
            matches = [b for b in everything if b.kind == kind and b.key == key]
        chosen += [b for b in matches if b not in chosen]
    return chosen


def check_planned_parameters(brief: Brief, notebooks_dir: Path | None = None) -> dict:
    """Refuse a brief that is not as planned (``make_brief``) before its kernel starts: a kind or a parameter name
    its notebook does not declare, or a key parameter other than the brief's canonical key (the build resolved it
    against the data it read; the notebook's ``open_brief`` checks it again). Return its parameters."""
    if brief.kind not in KINDS:
        raise ParameterError(f"unknown brief kind {brief.kind!r}; valid kinds: {', '.join(KINDS)}")
    allowed = set(declared_parameters(brief.kind, notebooks_dir))
    unknown = set(brief.parameters) - allowed
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(sorted(unknown))} for the {brief.kind} notebook; "
            f"valid: {', '.join(sorted(allowed))}"
        )
    name = key_parameter(brief.kind, notebooks_dir)
    if name in brief.parameters and brief.parameters[name] != brief.key:
        raise ParameterError(
            f"the {name} parameter {str(brief.parameters[name])[:80]!r} is not the brief's key {brief.key!r}: a "
            "brief's parameters come from its plan (catalogue.make_brief)"
        )
    return dict(brief.parameters)


def data_slices(
    briefs: list[Brief],
    processed_dir: Path | None = None,
    tables: Tables | None = None,
    sources: dict[str, bytes] | None = None,
) -> dict[str, str]:
    """For each brief (by slug), a hash of exactly the records it draws on (``briefing.Tables.record_positions``,
    the rows ``Tables.brief`` selects) and of the registry rows (``sources``, by source id: ``fingerprint.
    source_rows``) of the sources those records cite, which the brief lists. A brief is rebuilt when its slice
    changes, so editing one record, or one source's title, rebuilds only the briefs that show it. Internal:
    briefs print the dataset's version, not this hash.

    The hash is the one of the selected frames hashed on their own (column names, then
    ``pandas.util.hash_pandas_object`` of the rows); every row is hashed once and each brief's digest is made
    from its rows' hashes, so planning 2,000 briefs takes a second or two.
    """
    import numpy as np
    import pandas as pd

    tables = tables or Tables.load(processed_dir)
    frames = (tables.financing, tables.membership)
    columns = [",".join(map(str, frame.columns)).encode() for frame in frames]
    financing_rows, membership_rows = (pd.util.hash_pandas_object(f, index=False).to_numpy() for f in frames)
    no_rows = membership_rows[:0]
    financing_ids = np.empty(len(tables.financing), dtype=object)
    financing_ids[:] = _cited_ids(tables.financing)
    membership_ids = set().union(*_cited_ids(tables.membership)) if sources else set()
    slices: dict[str, str] = {}
    for brief in briefs:
        positions, all_membership = tables.record_positions(brief.kind, brief.key)
        digest = hashlib.sha256(brief.kind.encode() + b"\0" + brief.key.encode() + b"\0")
        digest.update(columns[0])
        digest.update(np.ascontiguousarray(financing_rows[positions]).tobytes())
        digest.update(columns[1])
        digest.update((membership_rows if all_membership else no_rows).tobytes())
        if sources:
            items = tables.item_positions(brief.kind, brief.key)
            cited = set().union(*financing_ids[items]) if len(items) else set()
            if all_membership:
                cited |= membership_ids
            for sid in sorted(cited):
                digest.update(sid.encode() + b"\0" + sources.get(sid, b"") + b"\0")
        slices[brief.slug] = digest.hexdigest()[:12]
    return slices


def _cited_ids(frame) -> list[frozenset[str]]:
    """Per row, the source ids its ``source`` column cites (``001 ¶12, ¶15; 000 ¶2`` -> {001, 000})."""
    column = frame["source"] if "source" in frame else [""] * len(frame)
    return [frozenset(part.strip().split(" ")[0] for part in str(text).split(";") if part.strip()) for text in column]
