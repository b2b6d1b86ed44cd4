"""What one brief is about: ``open_brief(kind, value)`` resolves and checks a brief's parameter and returns the
records the brief draws on. One definition, used by the notebooks (their data) and by the build (each brief's
fingerprint hashes exactly these records, so editing a record rebuilds only the briefs that show it).

    >>> from mineral_analysis import open_brief
    >>> brief = open_brief("country", "South Korea")
    >>> brief.key                            # the canonical parameter: the ISO3 code
    'KOR'
    >>> rows = brief.rows                    # the items it is about, one row per item and country

Which records a brief draws on:

=========  ==================================================  =================================================
kind       ``financing`` (``rows``: the items it is about)       ``membership``
=========  ==================================================  =================================================
overview   every record (``rows``: the same)                     every row
agency     that agency's records (``rows``: the same)            none
country    the records located there (``rows``: exploded,        every row (its map shows every participant)
           ``country`` == the ISO3)
mineral    every record of the agencies that fund it (their      none
           not-stated share is in its headline; ``rows``:
           exploded, ``mineral`` == the mineral)
=========  ==================================================  =================================================

What a brief is *about* (its CSV download, its "What changed"): ``items``, the records behind ``rows``, one row
each; ``roles``, the membership rows of its country (every row for the overview, none for the other kinds).

Only pandas and the project's data modules are imported (pandas when the tables are loaded): cheap enough for
the first cell of a notebook, and for a build that has nothing to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ParameterError
from .vocab import AGENCIES, MINERALS, NOT_STATED

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

KINDS = ("overview", "agency", "country", "mineral")


@dataclass(frozen=True)
class BriefData:
    """A brief's canonical parameter and the records it draws on (see the module docstring)."""

    kind: str
    key: str  # agency code, ISO3 code, mineral name; "" for the overview
    financing: pd.DataFrame
    membership: pd.DataFrame
    rows: pd.DataFrame

    @property
    def items(self) -> pd.DataFrame:
        """The financing records the brief is about, one row per record (``rows`` before any explosion)."""
        if self.rows is self.financing:
            return self.financing
        return self.financing[self.financing["record_id"].isin(set(self.rows["record_id"]))]

    @property
    def roles(self) -> pd.DataFrame:
        """The membership rows the brief is about: every row for the overview, the country's own for a country,
        none otherwise."""
        if self.kind == "country":
            return self.membership[self.membership["iso3"] == self.key]
        return self.membership


class Tables:
    """The processed tables, grouped once for every brief (``brief(kind, key)``, ``valid_keys()``)."""

    def __init__(self, financing: pd.DataFrame, membership: pd.DataFrame) -> None:
        from .frames import plain

        self.financing = plain(financing)
        self.membership = plain(membership)

    @classmethod
    def load(cls, processed_dir: Path | str | None = None) -> Tables:
        from .data import load_financing, load_membership

        folder = Path(processed_dir) if processed_dir else None
        return cls(load_financing(folder), load_membership(folder))

    @cached_property
    def by_country(self) -> pd.DataFrame:
        from .analysis import explode_countries

        return explode_countries(self.financing)

    @cached_property
    def by_mineral(self) -> pd.DataFrame:
        from .analysis import explode_minerals

        return explode_minerals(self.financing)

    @cached_property
    def _exploded_sources(self) -> dict[str, tuple]:
        """For the exploded tables (``by_country``, ``by_mineral``), each row's value and the position of the
        ``financing`` row it comes from, without copying a column: the same explode, run on the distinct values
        of the one column it splits, repeated for every record that holds each value."""
        import numpy as np
        import pandas as pd

        from .analysis import explode_countries, explode_minerals

        sources = {}
        for kind, explode, column in (
            ("country", explode_countries, "country_iso3"),
            ("mineral", explode_minerals, "minerals"),
        ):
            codes, distinct = pd.factorize(self.financing[column], use_na_sentinel=False)
            exploded = explode(pd.DataFrame({column: distinct, "_distinct": np.arange(len(distinct))}))
            counts = np.bincount(exploded["_distinct"].to_numpy(), minlength=len(distinct))
            lengths = counts[codes]  # exploded rows of each record, in record order (explode keeps the order)
            ends = np.cumsum(lengths)
            within = np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lengths, lengths)
            first = np.repeat((np.cumsum(counts) - counts)[codes], lengths)
            values = pd.Series(exploded[kind].to_numpy()[first + within], dtype=object)
            sources[kind] = (values, np.repeat(np.arange(len(codes)), lengths))
        return sources

    @cached_property
    def _groups(self) -> dict[str, dict]:
        """Row positions per value: in ``financing`` by agency, in the exploded tables by country and mineral."""
        return {
            "agency": self.financing.groupby("agency", sort=False).indices,
            **{
                kind: values.groupby(values, sort=False).indices for kind, (values, _) in self._exploded_sources.items()
            },
        }

    @cached_property
    def _codes(self) -> dict[str, object]:
        """``record_id`` and ``agency`` of every ``financing`` row as integer codes (``pandas.factorize``)."""
        import pandas as pd

        return {column: pd.factorize(self.financing[column])[0] for column in ("record_id", "agency")}

    def valid_keys(self) -> dict[str, list[str]]:
        """The values each kind of brief accepts: agencies, countries (participants and project locations) and
        minerals present in the data, in the vocabulary's order (countries alphabetical)."""
        groups = self._groups
        countries = set(self.membership["iso3"]) | {c for c in groups["country"] if c}
        return {
            "overview": [""],
            "agency": [code for code in AGENCIES if code in groups["agency"]],
            "country": sorted(countries),
            "mineral": [m for m in MINERALS if m in groups["mineral"] and m != NOT_STATED],
        }

    def resolve(self, kind: str, value: str | None) -> str:
        """``value`` as the canonical key of a ``kind`` brief; ParameterError listing the valid values if none."""
        if kind not in KINDS:
            raise ParameterError(f"unknown brief kind {kind!r}; valid kinds: {', '.join(KINDS)}")
        if not isinstance(value, str | None):
            raise ParameterError(f"the {kind} must be text, not {type(value).__name__}")
        if kind == "overview":
            if value:
                raise ParameterError(f"the overview takes no value, not {value!r}")
            return ""
        valid = self.valid_keys()[kind]
        text = (value or "").strip()
        if kind == "agency":
            candidate = text.upper()
            if candidate not in valid:
                from .vocab import normalize_agency

                try:
                    candidate = normalize_agency(text)
                except ValueError:
                    pass
        elif kind == "country":
            from .countries import CountryError, country_name, resolve_country

            names = {code: f"{country_name(code)} ({code})" for code in valid}
            try:
                candidate = resolve_country(text)
            except CountryError as exc:
                if not str(exc).startswith("unknown country name"):  # ambiguous or refused: that says it all
                    raise ParameterError(f"country {value!r}: {exc}. Valid countries: {', '.join(valid)}") from None
                choices = {**names, **{country_name(code): label for code, label in names.items()}}
                raise ParameterError(
                    f"unknown country {value!r}{_nearest(text, choices)}: no valid country has that name or code. "
                    f"Valid countries: {', '.join(valid)}"
                ) from None
            if candidate not in valid:
                raise ParameterError(
                    f"no brief for {country_name(candidate)}: it is not in the sources "
                    f"(valid countries: {', '.join(names.values())})"
                )
        else:
            candidate = text.lower().replace("_", " ").replace("-", " ")
        if candidate not in valid:
            choices = {v: v for v in valid}
            raise ParameterError(f"unknown {kind} {value!r}{_nearest(text, choices)}; valid values: {', '.join(valid)}")
        return candidate

    def record_positions(self, kind: str, key: str) -> tuple[np.ndarray, bool]:
        """Which records a brief of ``kind`` on ``key`` draws on (see the module docstring), without copying them:
        the positions of its ``financing`` rows, in table order, and whether it draws on every ``membership`` row
        (else on none). ``brief`` selects exactly these rows; a build's fingerprints hash them."""
        import numpy as np

        if kind == "overview":
            return np.arange(len(self.financing)), True
        positions = np.asarray(self._groups[kind].get(key, []), dtype=np.intp)
        if kind == "agency":
            return positions, False
        # A country brief: every record with a row located there; a mineral brief: every record of an agency
        # that funds it. Matched by integer code, as ``Series.isin`` would match the values.
        column = "record_id" if kind == "country" else "agency"
        codes = self._codes[column]
        chosen = codes[self._exploded_sources[kind][1][positions]]
        return np.flatnonzero(np.isin(codes, chosen)), kind == "country"

    def item_positions(self, kind: str, key: str):
        """The positions of the ``financing`` rows a brief is about (``BriefData.items``: the records located in
        the country, naming the mineral, of the agency; all for the overview), whose sources the brief lists."""
        import numpy as np

        if kind in ("country", "mineral"):
            rows = np.asarray(self._groups[kind].get(key, []), dtype=np.intp)
            return np.unique(self._exploded_sources[kind][1][rows])
        return self.record_positions(kind, key)[0]

    def brief(self, kind: str, key: str) -> BriefData:
        """The records a brief of ``kind`` on the canonical ``key`` draws on (no check: see ``resolve``)."""
        if kind == "overview":
            return BriefData(kind, "", self.financing, self.membership, self.financing)
        positions, all_membership = self.record_positions(kind, key)
        financing = self.financing.iloc[positions]
        membership = self.membership if all_membership else self.membership.iloc[0:0]
        if kind == "agency":
            return BriefData(kind, key, financing, membership, financing)
        exploded = self.by_country if kind == "country" else self.by_mineral
        rows = exploded.iloc[self._groups[kind].get(key, [])]
        return BriefData(kind, key, financing, membership, rows)


def check_parameters(namespace: Mapping[str, Any]) -> None:
    """Stop a notebook that papermill ran with a parameter it does not declare (``-p countyr JPN``), naming it and
    the declared ones; called with ``globals()`` by each brief notebook right after its parameters.

    The parameters cell declares each parameter with a type (``country: str = "KOR"``), which the namespace keeps in
    ``__annotations__``; papermill runs its own cell after it, starting ``# Parameters``, with one assignment per
    ``-p``. Run by hand (no such cell), nothing is checked.

    >>> check_parameters({"__annotations__": {"country": str}, "In": ["", "# Parameters\\ncountyr = 'JPN'\\n", ""]})
    Traceback (most recent call last):
    ...
    mineral_analysis.errors.ParameterError: unknown parameter 'countyr' (papermill -p): this notebook declares country
    """
    import ast

    history = list(namespace.get("In") or [])[:-1]  # the cells run so far, without this one
    injected = next((cell for cell in reversed(history) if cell.lstrip().startswith("# Parameters")), None)
    if injected is None:
        return
    given = [
        target.id
        for node in ast.parse(injected).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]
    declared = list(namespace.get("__annotations__") or {})
    unknown = [name for name in given if name not in declared]
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise ParameterError(
            f"unknown parameter {names} (papermill -p): this notebook declares {', '.join(declared) or 'none'}"
        )


def _nearest(text: str, choices: dict[str, str], limit: int = 3) -> str:
    """``" (did you mean A, B?)"`` naming the valid values whose spellings are nearest ``text`` (``choices`` maps
    each spelling to the value it names), or ``""`` when none is close: suggestions come from the valid values only.

    >>> _nearest("copperr", {"copper": "copper", "cobalt": "cobalt", "lithium": "lithium"})
    ' (did you mean copper?)'
    >>> _nearest("Atlantis", {"JPN": "Japan (JPN)", "Japan (JPN)": "Japan (JPN)"})
    ''
    """
    from rapidfuzz import fuzz, process

    found: list[str] = []
    cutoff = 66 if len(text) <= 4 else 72  # one wrong letter of a three-letter code scores 67
    for match, _score, _ in process.extract(
        text, list(choices), scorer=fuzz.WRatio, limit=4 * limit, score_cutoff=cutoff
    ):
        if choices[match] not in found:
            found.append(choices[match])
        if len(found) == limit:
            break
    return f" (did you mean {', '.join(found)}?)" if found else ""


def open_brief(kind: str, value: str | None = None, processed_dir: Path | str | None = None) -> BriefData:
    """Resolve ``value`` for a ``kind`` brief (canonical names, or ParameterError listing the valid values) and
    return the records it draws on, from ``processed_dir`` (default: the project's data/processed).

    >>> brief = open_brief("country", "South Korea")
    >>> brief.kind, brief.key
    ('country', 'KOR')
    >>> open_brief("agency", "dfc").key
    'DFC'
    >>> open_brief("mineral", "copperr")
    Traceback (most recent call last):
    ...
    mineral_analysis.errors.ParameterError: unknown mineral 'copperr' (did you mean copper?); valid values: ...
    >>> open_brief("country", "China")
    Traceback (most recent call last):
    ...
    mineral_analysis.errors.ParameterError: no brief for China: it is not in the sources (valid countries: ...)
    """
    tables = Tables.load(processed_dir)
    return tables.brief(kind, tables.resolve(kind, value))
