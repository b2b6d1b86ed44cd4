"""The cleaning pipeline: raw CSV records in, validated financing and membership tables out.

NOTES (data decisions, documented in docs/provenance.md):
- Binding status follows the instrument (vocab.INSTRUMENTS); nothing is decided per record.
- A stated total is an aggregate: its parts point to it, and only its unitemised remainder enters
  ``counted_usd``, so summing ``counted_usd`` over any slice never double counts.
- Mobilised capital is kept in ``mobilized_usd`` and never enters ``amount_usd`` or ``counted_usd``.
- Minerals are only those the source names; otherwise ``not stated``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from . import __version__, columns, config
from .amounts import AmountError, parse_amount
from .atomic import replace_folder_atomic
from .contract import check_processed
from .countries import CountryError, country_name, resolve_countries, resolve_country
from .errors import DataValidationError, Problem
from .normalize import (
    normalize_agency,
    normalize_instrument,
    normalize_minerals,
    parse_announced,
    parse_bool,
)
from .rawio import LINE_COLUMN, RawTable, read_raw_table
from .releases import csv_bytes, dataset_version
from .sources import Source, citation_problems, format_citations, load_sources, parse_citations
from .vocab import AGENCIES, GROUPS, INSTRUMENTS, NOT_STATED

FINANCING_RAW_COLUMNS = list(columns.RAW_FINANCING)
MEMBERSHIP_RAW_COLUMNS = list(columns.RAW_MEMBERSHIP)
MAX_LINES_PER_VALUE = 20  # a bad value repeated on many lines is reported on the first few only
ABOUT_TOLERANCE = 0.10  # parts may exceed an 'about' total by this share before it is an error

FORMULA_PREFIXES = ("=", "+", "@", "\t", "\r")


@dataclass
class CleanTables:
    """The validated tables and what they were built from."""

    financing: pd.DataFrame
    membership: pd.DataFrame
    raw_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def data_version(self) -> str:
        """A short content hash of the raw files: changes whenever any raw byte changes."""
        digest = hashlib.sha256()
        for name in sorted(self.raw_hashes):
            digest.update(f"{name}:{self.raw_hashes[name]}\n".encode())
        return digest.hexdigest()[:12]


# --- Raw-file schemas (pandera) ------------------------------------------------------------------------------

_ID = r"^[A-Z]{2,6}-[0-9]{2,4}$"  # [0-9], not \d: \d also accepts other scripts' digits (EXIM-٠٧)


def _text(*checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(str, checks=list(checks), nullable=nullable)


def _not_formula(free_text: bool = False) -> pa.Check:
    # In free text a leading "-" is refused too ("-2+3+cmd|..." runs in a spreadsheet); amount columns keep it
    # so that a negative amount gets the amount parser's own, more precise message.
    prefixes = FORMULA_PREFIXES + ("-",) if free_text else FORMULA_PREFIXES
    return pa.Check(
        lambda s: ~s.str.startswith(prefixes),
        element_wise=False,
        error="starts like a spreadsheet formula (=, +, @, or - in text), which a spreadsheet would run; "
        "remove or rephrase the leading character",
    )


def _required() -> pa.Check:
    return pa.Check(lambda s: s.str.len() > 0, error="required: this cell must not be empty")


RAW_FINANCING_SCHEMA = pa.DataFrameSchema(
    {
        "record_id": _text(
            _required(), pa.Check.str_matches(_ID, error="record_id must look like AGENCY-NN, e.g. EXIM-07")
        ),
        "title": _text(_required(), _not_formula(free_text=True)),
        "is_aggregate": _text(pa.Check.isin(["true", "false"], error="must be 'true' or 'false'")),
        "parent_id": _text(
            pa.Check(lambda s: (s == "") | s.str.match(_ID), error="must be empty or a record_id like DFC-01")
        ),
        **{name: _text(_not_formula()) for name in ("amount_as_written", "mobilized_as_written", "announced")},
        **{
            name: _text(_not_formula(free_text=True))
            for name in (
                "agency",
                "instrument_as_written",
                "countries",
                "subnational",
                "minerals_as_written",
                "mobilized_from",
                "conflict",
                "note",
            )
        },
    },
    strict=False,
)

RAW_MEMBERSHIP_SCHEMA = pa.DataFrameSchema(
    {
        "record_id": _text(
            _required(), pa.Check.str_matches(_ID, error="record_id must look like GROUP-NN, e.g. PART-12")
        ),
        "name_as_written": _text(_required(), _not_formula(free_text=True)),
        "group": _text(pa.Check.isin(list(GROUPS), error="must be one of " + ", ".join(GROUPS))),
        "conflict": _text(_not_formula(free_text=True)),
        "note": _text(_not_formula(free_text=True)),
    },
    strict=False,
)


def _schema_problems(schema: pa.DataFrameSchema, table: RawTable) -> list[Problem]:
    """Validate ``table`` with ``schema``; turn every failure case into a located Problem."""
    try:
        schema.validate(table.frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems = []
        for case in exc.failure_cases.itertuples(index=False):
            check = str(case.check)
            message = _check_message(schema, case.column, check)
            index = case.index
            line = int(table.frame[LINE_COLUMN].iat[int(index)]) if index is not None and not pd.isna(index) else None
            problems.append(
                Problem(
                    table.name,
                    line,
                    case.column,
                    None if pd.isna(case.failure_case) else str(case.failure_case),
                    message,
                )
            )
        return problems
    return []


def _check_message(schema: pa.DataFrameSchema, column: str | None, check: str) -> str:
    """The error text a check was declared with (pandera reports the check's error or name)."""
    if column in schema.columns:
        for declared in schema.columns[column].checks:
            if declared.error == check or declared.name == check:
                return declared.error or check
    return check


# --- Cell parsing with located errors ------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """A column parsed once per distinct value: ``values[codes[i]]`` is row i's parsed value."""

    codes: np.ndarray
    values: list

    def derive(self, function: Callable[[object], object], dtype: object = object) -> np.ndarray:
        """Apply ``function`` to each distinct parsed value and spread the results over the rows."""
        return np.asarray([function(v) for v in self.values], dtype=dtype)[self.codes]

    def derive_text(self, function: Callable[[object], str]) -> pd.Series:
        """Like ``derive`` for text: the distinct results become a string array, then one ``take`` per row."""
        distinct = pd.array([function(v) for v in self.values], dtype="str")
        return pd.Series(distinct.take(self.codes))


def _map_column(
    table: RawTable,
    column: str,
    parse: Callable[[str], object],
    problems: list[Problem],
    *,
    errors: tuple[type[Exception], ...] = (ValueError,),
) -> Parsed:
    """Parse each distinct value of ``column`` once; record a Problem on every line of a bad value."""
    series = table.frame[column]
    codes, uniques = pd.factorize(series)
    values: list = []
    failures: dict[str, str] = {}
    for value in uniques.tolist():
        try:
            values.append(parse(value))
        except errors as exc:
            failures[value] = str(exc)
            values.append(None)
    if failures:
        lines = table.frame[LINE_COLUMN]
        for value, message in failures.items():
            positions = np.flatnonzero((series == value).to_numpy())
            for position in positions[:MAX_LINES_PER_VALUE]:
                problems.append(Problem(table.name, int(lines.iat[position]), column, value, message))
            if len(positions) > MAX_LINES_PER_VALUE:
                problems.append(
                    Problem(
                        table.name,
                        None,
                        column,
                        value,
                        f"the same value is wrong on {len(positions) - MAX_LINES_PER_VALUE} more line(s)",
                    )
                )
    return Parsed(codes, values)


def _parse_optional_amount(text: str):
    return None if text == "" else parse_amount(text)


def _duplicate_problems(table: RawTable, column: str, label: str) -> list[Problem]:
    series = table.frame[column]
    duplicated = series.duplicated(keep="first") & (series != "")
    if not duplicated.any():
        return []
    problems = []
    first = ~series.duplicated(keep="first")
    first_line = dict(zip(series[first], table.frame.loc[first, LINE_COLUMN]))
    for position in np.flatnonzero(duplicated.to_numpy())[:MAX_LINES_PER_VALUE]:
        value = series.iat[position]
        problems.append(
            Problem(
                table.name,
                int(table.frame[LINE_COLUMN].iat[position]),
                column,
                value,
                f"duplicate {label}: already used on line {first_line[value]}; ids must be unique",
            )
        )
    return problems


# --- Financing -------------------------------------------------------------------------------------------------


def _citation_columns(table: RawTable, registry: dict[str, Source] | None, problems: list[Problem]) -> dict:
    """``source``, ``source_count`` and ``conflict`` of the processed table, from the raw citations.

    A conflict note needs at least two sources to disagree: one on a record citing a single source is an error.
    """
    raw = table.frame
    if registry is not None:
        problems += citation_problems(table, "citations", registry)
    citations = _map_column(table, "citations", parse_citations, problems)
    for position in np.flatnonzero((raw["conflict"] != "").to_numpy()):
        value = citations.values[citations.codes[position]]
        if value is not None and len({sid for sid, _ in value}) < 2 and len(value) < 2:
            problems.append(
                Problem(
                    table.name,
                    int(raw[LINE_COLUMN].iat[position]),
                    "conflict",
                    raw["conflict"].iat[position],
                    "a conflict note needs at least two cited paragraphs that disagree; cite both in "
                    "'citations' or move the text to 'note'",
                )
            )
    if problems:
        return {}
    return {
        "source": citations.derive_text(lambda pairs: format_citations(";".join(f"{s}:{p}" for s, p in pairs))),
        "source_count": citations.derive(lambda pairs: len({s for s, _ in pairs}), "int64"),
        "conflict": raw["conflict"],
    }


def clean_financing(table: RawTable, registry: dict[str, Source] | None = None) -> pd.DataFrame:
    """Turn the raw financing table into the processed one (columns.FINANCING); raise DataValidationError.

    ``registry`` (``sources.load_sources()``) checks every citation against the registered sources.
    """
    raw = table.frame
    problems = _schema_problems(RAW_FINANCING_SCHEMA, table)
    problems += _duplicate_problems(table, "record_id", "record_id")
    cited = _citation_columns(table, registry, problems)

    agency = _map_column(table, "agency", normalize_agency, problems)
    instrument = _map_column(table, "instrument_as_written", normalize_instrument, problems)
    minerals = _map_column(table, "minerals_as_written", normalize_minerals, problems)
    announced = _map_column(table, "announced", parse_announced, problems)
    amount = _map_column(table, "amount_as_written", _parse_optional_amount, problems, errors=(AmountError,))
    mobilized = _map_column(table, "mobilized_as_written", _parse_optional_amount, problems, errors=(AmountError,))
    countries = _map_column(table, "countries", resolve_countries, problems, errors=(CountryError,))
    is_aggregate = _map_column(table, "is_aggregate", parse_bool, problems)

    for position in np.flatnonzero(((raw["mobilized_as_written"] != "") != (raw["mobilized_from"] != "")).to_numpy()):
        has_amount = raw["mobilized_as_written"].iat[position] != ""
        problems.append(
            Problem(
                table.name,
                int(raw[LINE_COLUMN].iat[position]),
                "mobilized_from" if has_amount else "mobilized_as_written",
                raw["mobilized_from"].iat[position] if has_amount else raw["mobilized_as_written"].iat[position],
                f"mobilized_as_written is '{raw['mobilized_as_written'].iat[position]}' but mobilized_from is empty: "
                "name who provides the mobilised capital (e.g. 'private investors')"
                if has_amount
                else f"mobilized_from is '{raw['mobilized_from'].iat[position]}' but mobilized_as_written is empty: "
                "write the mobilised amount, or clear mobilized_from",
            )
        )
    if problems:
        raise DataValidationError(problems)

    frame = pd.DataFrame(
        {
            "record_id": raw["record_id"],
            "agency": agency.derive_text(str),
            "agency_name": agency.derive_text(lambda code: AGENCIES[code].label),
            "title": raw["title"],
            "amount_as_written": raw["amount_as_written"],
            "amount_usd": amount.derive(lambda a: math.nan if a is None else a.value_usd, "float64"),
            "amount_qualifier": amount.derive_text(lambda a: NOT_STATED if a is None else a.qualifier),
            "counted_usd": np.nan,
            "instrument": instrument.derive_text(str),
            "instrument_label": instrument.derive_text(lambda code: INSTRUMENTS[code].label),
            "binding_status": instrument.derive_text(lambda code: INSTRUMENTS[code].binding_status),
            "is_binding": instrument.derive(lambda code: INSTRUMENTS[code].is_binding, bool),
            "is_aggregate": is_aggregate.derive(bool, bool),
            "parent_id": raw["parent_id"],
            "mobilized_usd": mobilized.derive(lambda a: math.nan if a is None else a.value_usd, "float64"),
            "mobilized_from": raw["mobilized_from"],
            "announced": announced.derive_text(lambda a: a[0]),
            "announced_date": pd.to_datetime(announced.derive(lambda a: a[1])),
            "announced_precision": announced.derive_text(lambda a: a[2]),
            "country_iso3": countries.derive_text(lambda codes: ";".join(codes)),
            "country_names": countries.derive_text(lambda codes: ";".join(country_name(c) for c in codes)),
            "subnational": raw["subnational"],
            "minerals": minerals.derive_text(str),
            **cited,
            "note": raw["note"],
        }
    )
    problems = check_aggregates(frame, raw[LINE_COLUMN], table.name) + check_duplicate_items(
        frame, raw[LINE_COLUMN], table.name
    )
    if problems:
        raise DataValidationError(problems)
    frame["counted_usd"] = counted_amounts(frame)
    return frame


def check_aggregates(frame: pd.DataFrame, lines: pd.Series, file: str) -> list[Problem]:
    """Check stated totals and their parts: parents exist and are totals, no cycles, parts never exceed totals.

    Only rows that take part in a link (parts and the totals they name) are looked at one by one, so the check
    costs little on large files where few rows are linked.
    """
    problems: list[Problem] = []
    amounts_all = frame["amount_usd"].to_numpy()
    aggregates_all = frame["is_aggregate"].to_numpy(dtype=bool)
    linked = (frame["parent_id"] != "").to_numpy()
    referenced = frame["record_id"].isin(set(frame.loc[linked, "parent_id"])).to_numpy()
    for position in np.flatnonzero(aggregates_all & np.isnan(amounts_all) & ~referenced):
        rid = frame["record_id"].iat[position]
        problems.append(
            Problem(
                file,
                int(lines.iat[position]),
                "amount_as_written",
                "",
                f"{rid} is a stated total (is_aggregate=true) but has no amount; write the "
                "total as the source states it, or set is_aggregate=false",
            )
        )
    involved = linked | referenced
    if not involved.any():
        return problems
    rows = frame[involved]
    ids = rows["record_id"]
    line_of = dict(zip(ids, lines[involved]))
    parent_of = {rid: pid for rid, pid in zip(ids, rows["parent_id"]) if pid}
    is_aggregate = dict(zip(ids, rows["is_aggregate"]))
    agency_of = dict(zip(ids, rows["agency"]))
    totals = frame.loc[aggregates_all, "record_id"].tolist()
    valid_totals = ", ".join(totals[:10]) + (f" and {len(totals) - 10} more" if len(totals) > 10 else "")
    for rid, pid in parent_of.items():
        if pid not in line_of:
            problems.append(
                Problem(
                    file,
                    int(line_of[rid]),
                    "parent_id",
                    pid,
                    f"points to a total that does not exist; valid totals are "
                    f"{valid_totals or 'none (no row has is_aggregate=true)'}",
                )
            )
        elif not is_aggregate[pid]:
            problems.append(
                Problem(
                    file,
                    int(line_of[rid]),
                    "parent_id",
                    pid,
                    f"points to {pid}, which is not a stated total; set is_aggregate=true on line {line_of[pid]} or clear parent_id",
                )
            )
        elif agency_of[pid] != agency_of[rid]:
            problems.append(
                Problem(
                    file,
                    int(line_of[rid]),
                    "parent_id",
                    pid,
                    f"a part must belong to the same agency as its total ({agency_of[pid]}, not {agency_of[rid]}); "
                    f"point parent_id to a {agency_of[rid]} total or clear it",
                )
            )
    for start in parent_of:
        seen = [start]
        current = parent_of.get(start)
        while current is not None:
            if current in seen:
                cycle = " -> ".join([*seen[seen.index(current) :], current])
                if start == min(seen[seen.index(current) :]):
                    problems.append(
                        Problem(
                            file,
                            int(line_of[start]),
                            "parent_id",
                            parent_of[start],
                            f"parts form a cycle ({cycle}); a total cannot be its own part",
                        )
                    )
                break
            seen.append(current)
            current = parent_of.get(current)
    amounts = dict(zip(ids, rows["amount_usd"]))
    qualifiers = dict(zip(ids, rows["amount_qualifier"]))
    written = dict(zip(ids, rows["amount_as_written"]))
    parts_of: dict[str, list[str]] = {}
    for rid, pid in parent_of.items():
        parts_of.setdefault(pid, []).append(rid)
    for pid, parts in parts_of.items():
        if pid not in amounts:
            continue
        parts_total = float(np.nansum([amounts[r] for r in parts]))
        total = amounts[pid]
        if is_aggregate.get(pid) and math.isnan(total):
            problems.append(
                Problem(
                    file,
                    int(line_of[pid]),
                    "amount_as_written",
                    "",
                    f"{pid} is a stated total (is_aggregate=true) with parts "
                    f"({', '.join(parts)}) but no amount; write the total as the source states it",
                )
            )
            continue
        allowed = {
            "exact": total * (1 + 1e-9),
            "up to": total * (1 + 1e-9),
            "about": total * (1 + ABOUT_TOLERANCE),
            "more than": math.inf,
        }.get(qualifiers[pid], total)
        if parts_total > allowed:
            problems.append(
                Problem(
                    file,
                    int(line_of[pid]),
                    "amount_as_written",
                    written[pid],
                    f"its parts ({', '.join(parts)}) add up to ${parts_total:,.0f}, more than the stated total "
                    f"${total:,.0f}; fix an amount or a parent_id",
                )
            )
    return problems


def check_duplicate_items(frame: pd.DataFrame, lines: pd.Series, file: str) -> list[Problem]:
    """An item listed twice in the source must be one record: flag rows identical in every key fact."""
    key = ["agency", "amount_usd", "instrument", "country_iso3", "subnational", "minerals", "announced"]
    with_amount = frame["amount_usd"].notna()
    duplicated = frame[key].duplicated(keep="first") & with_amount
    problems = []
    for position in np.flatnonzero(duplicated.to_numpy())[:MAX_LINES_PER_VALUE]:
        row = frame.iloc[position]
        same = (frame[key] == frame[key].iloc[position]).all(axis=1) & with_amount
        first = int(np.flatnonzero(same.to_numpy())[0])
        problems.append(
            Problem(
                file,
                int(lines.iat[position]),
                "record_id",
                row["record_id"],
                f"same item as line {int(lines.iat[first])} ({frame['record_id'].iat[first]}): an item "
                "listed twice is one record; cite both paragraphs in source_paragraph (e.g. 12;15)",
            )
        )
    return problems


def counted_amounts(frame: pd.DataFrame) -> pd.Series:
    """Return, per row, what totals may add: the amount for an item, the unitemised remainder for a total."""
    parts_sum = frame.loc[frame["parent_id"] != ""].groupby("parent_id")["amount_usd"].sum(min_count=1)
    remainder = frame["amount_usd"] - frame["record_id"].map(parts_sum).astype("float64").fillna(0.0)
    counted = np.where(frame["is_aggregate"], remainder.clip(lower=0.0), frame["amount_usd"])
    return pd.Series(counted, index=frame.index, dtype="float64")


# --- Membership ------------------------------------------------------------------------------------------------


def clean_membership(table: RawTable, registry: dict[str, Source] | None = None) -> pd.DataFrame:
    """Turn the raw membership table into the processed one (columns.MEMBERSHIP); raise DataValidationError."""
    raw = table.frame
    problems = _schema_problems(RAW_MEMBERSHIP_SCHEMA, table)
    problems += _duplicate_problems(table, "record_id", "record_id")
    cited = _citation_columns(table, registry, problems)
    iso3 = _map_column(table, "name_as_written", resolve_country, problems, errors=(CountryError,))
    if problems:
        raise DataValidationError(problems)
    frame = pd.DataFrame(
        {
            "iso3": iso3.derive_text(str),
            "name": iso3.derive_text(country_name),
            "group": raw["group"],
            "group_label": raw["group"].map(GROUPS),
            "name_as_written": raw["name_as_written"],
            "record_id": raw["record_id"],
            **cited,
            "note": raw["note"],
        }
    )
    repeated = frame.duplicated(["iso3", "group"], keep="first")
    for position in np.flatnonzero(repeated.to_numpy()):
        first = frame.index[
            (frame["iso3"] == frame["iso3"].iat[position]) & (frame["group"] == frame["group"].iat[position])
        ][0]
        problems.append(
            Problem(
                table.name,
                int(raw[LINE_COLUMN].iat[position]),
                "name_as_written",
                raw["name_as_written"].iat[position],
                f"{frame['name'].iat[position]} is already listed in group {frame['group'].iat[position]} "
                f"on line {int(raw[LINE_COLUMN].iat[first])}; a country appears once per group",
            )
        )
    if problems:
        raise DataValidationError(problems)
    return frame


# --- Whole pipeline --------------------------------------------------------------------------------------------


def _restrict(table: RawTable, source_ids: frozenset[str]) -> RawTable:
    """Only the rows citing one of ``source_ids``, their citations cut to those sources (for past releases).

    A conflict note is dropped where fewer than two of the remaining sources are cited: with one source there is
    nothing to disagree with.
    """
    frame = table.frame.copy()
    kept_citations = []
    for text in frame["citations"]:
        try:
            pairs = [f"{s}:{p}" for s, p in parse_citations(text) if s in source_ids]
        except ValueError:
            pairs = [text]  # malformed: keep it so that validation reports it
        kept_citations.append(";".join(pairs))
    frame["citations"] = kept_citations
    frame = frame[frame["citations"] != ""].reset_index(drop=True)
    single = frame["citations"].map(lambda text: len({pair.split(":")[0] for pair in text.split(";")}) < 2)
    frame.loc[single, "conflict"] = ""
    return RawTable(table.path, frame)


def load_raw(raw_dir: Path | None = None, *, only_sources: set[str] | None = None) -> CleanTables:
    """Read, clean and validate the raw files and the sources registry; return the tables; write nothing.

    ``only_sources`` (source ids) rebuilds the data as it stood with those sources alone: rows citing none of them
    are left out. Raises DataValidationError with every problem of every file.
    """
    raw_dir = Path(raw_dir or config.RAW_DIR)
    problems: list[Problem] = []
    results: dict[str, pd.DataFrame] = {}
    hashes: dict[str, str] = {}
    registry = None
    try:
        registry = load_sources(raw_dir)
        hashes[config.RAW_SOURCES] = hashlib.sha256(
            config.raw_path(config.RAW_SOURCES, raw_dir).read_bytes()
        ).hexdigest()
    except DataValidationError as exc:
        problems += exc.problems
    if only_sources is not None and registry is not None:
        unknown = sorted(set(only_sources) - set(registry))
        if unknown:
            problems.append(
                Problem(
                    config.RAW_SOURCES,
                    None,
                    "source_id",
                    ", ".join(unknown),
                    f"not registered; registered sources are {', '.join(sorted(registry))}",
                )
            )
    for name, raw_columns, clean in (
        (config.RAW_FINANCING, FINANCING_RAW_COLUMNS, clean_financing),
        (config.RAW_MEMBERSHIP, MEMBERSHIP_RAW_COLUMNS, clean_membership),
    ):
        path = config.raw_path(name, raw_dir)
        try:
            table = read_raw_table(path, raw_columns)
            hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()
            if only_sources is not None:
                table = _restrict(table, frozenset(only_sources))
            results[name] = clean(table, registry)
        except DataValidationError as exc:
            problems += exc.problems
    if problems:
        raise DataValidationError(problems)
    return CleanTables(
        financing=results[config.RAW_FINANCING], membership=results[config.RAW_MEMBERSHIP], raw_hashes=hashes
    )


def summarize(tables: CleanTables) -> dict:
    """Row counts and totals (USD) that a reader checks first; also stored in metadata.json.

    The totals are ``analysis.headline_numbers``, overall and per agency: one definition of a total.
    """
    from .analysis import headline_numbers

    fin = tables.financing
    by_agency = {}
    for agency, group in fin.groupby("agency", sort=True):
        numbers = headline_numbers(group)
        by_agency[agency] = {"items": numbers["items"], **{key: numbers[key] for key in TOTAL_KEYS}}
    members = tables.membership
    numbers = headline_numbers(fin)
    return {
        "data_version": tables.data_version,
        "library_version": __version__,
        "raw_files": dict(sorted(tables.raw_hashes.items())),
        "financing_records": len(fin),
        "financing_with_amount": numbers["items_with_amount"],
        "aggregates": numbers["aggregates"],
        **{key: numbers[key] for key in TOTAL_KEYS},
        "by_agency": by_agency,
        "membership_rows": len(members),
        "ministerial_countries": int(
            ((members["group"] == "ministerial_participant") & (members["iso3"] != "EUU")).sum()
        ),
        "ministerial_supranational": int(
            ((members["group"] == "ministerial_participant") & (members["iso3"] == "EUU")).sum()
        ),
        "countries_named": int(members["iso3"].nunique()),
    }


TOTAL_KEYS = ("total_usd", "binding_usd", "non_binding_usd", "not_stated_usd", "mobilized_usd")


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
    return buffer.getvalue()


def data_dictionary_markdown() -> str:
    """The processed tables' columns and meanings as Markdown (written beside the tables)."""
    lines = [
        "# Data dictionary: data/processed",
        "",
        "Generated by `mineral-analysis data` from `mineral_analysis.columns`; do not edit by hand.",
        "",
    ]
    for table, spec in (("financing", columns.FINANCING), ("membership", columns.MEMBERSHIP)):
        lines += [f"## {table} (`{table}.csv`, `{table}.parquet`)", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{name}` | {dtype} | {meaning} |" for name, (dtype, meaning) in spec.items()]
        lines.append("")
    return "\n".join(lines)


class DataLockedError(RuntimeError):
    """Another `data` run or a build holds the processed folder's lock."""


def build_processed(
    raw_dir: Path | None = None,
    processed_dir: Path | None = None,
    releases_dir: Path | None = None,
    *,
    wait: bool = False,
) -> dict:
    """Validate the raw data and write the processed tables as one set; return the summary.

    Nothing is written unless every check passes, and nothing at all when no file's content changed. The folder
    is replaced as a whole (``atomic.replace_folder_atomic``) under the data lock (``config.data_lock_path``),
    which a build also holds while it reads: with ``wait`` a busy lock is waited for, otherwise DataLockedError.
    The metadata's ``dataset_version`` is the latest release's name when the tables equal it, else
    ``"<latest> + unreleased changes"``; ``release`` is that release's name, date and citation (or null).
    """
    from filelock import FileLock, Timeout

    tables = load_raw(raw_dir)
    check_processed(tables.financing, tables.membership)  # the contract, before anything is written
    processed_dir = Path(processed_dir or config.PROCESSED_DIR)
    summary = summarize(tables)
    files = {
        "financing.csv": csv_bytes(tables.financing),
        "financing.parquet": _parquet_bytes(tables.financing),
        "membership.csv": csv_bytes(tables.membership),
        "membership.parquet": _parquet_bytes(tables.membership),
        config.DATA_DICTIONARY: data_dictionary_markdown().encode("utf-8"),
        # The sources registry travels with the tables, so a brief names its sources wherever the tables go.
        config.RAW_SOURCES: config.raw_path(config.RAW_SOURCES, raw_dir).read_bytes(),
    }
    summary["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    summary["dataset_version"], summary["release"] = dataset_version(files, releases_dir)
    files[config.PROCESSED_METADATA] = (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode("utf-8")
    lock_path = config.data_lock_path(processed_dir)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        raise DataLockedError(
            f"{processed_dir.name}/ is in use by another `data` run or a build (it holds "
            f"{lock_path.name}); wait for it to finish, or pass --wait to queue behind it"
        ) from None
    try:
        changed = replace_folder_atomic(processed_dir, files)
    finally:
        lock.release()
    summary["changed"] = changed
    summary["processed_dir"] = str(processed_dir)
    return summary
