"""Cleaning the financing table: amounts, instruments, minerals, dates and locations parsed and checked, stated
totals reconciled with their parts (``counted_usd``: an item's amount, or a total's unitemised remainder)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import columns
from ..countries import CountryError, country_name, resolve_countries
from ..errors import DataValidationError, Problem
from ..vocab import (
    AGENCIES,
    BINDING,
    FINANCING,
    INSTRUMENTS,
    NOT_STATED,
    PLACE_ROLES,
    PRIVATE,
    PUBLIC,
    STAGES,
    binding_status,
    normalize_agency,
)
from .amounts import AmountError
from .cells import (
    MAX_LINES_PER_VALUE,
    Parsed,
    citation_columns,
    duplicate_problems,
    map_column,
    parse_optional_amount,
    row_problem,
)
from .normalize import (
    normalize_alternative_stage,
    normalize_instrument,
    normalize_kind,
    normalize_minerals,
    normalize_mobilised_from,
    normalize_place_role,
    normalize_stage,
    parse_announced,
    parse_bool,
)
from .quotes import quote_problems
from .raw_schemas import RAW_FINANCING_SCHEMA, schema_problems
from .rawio import LINE_COLUMN, RawTable
from .sources import Source

ABOUT_TOLERANCE = 0.10  # parts may exceed an 'about' total by this share before it is an error


def clean_financing(table: RawTable, registry: dict[str, Source] | None = None) -> pd.DataFrame:
    """Turn the raw financing table into the processed one (columns.FINANCING); raise DataValidationError.

    ``registry`` (``sources.load_sources()``) checks every citation against the registered sources, and every quoted
    stage basis and amount against the cited paragraphs where the source files are at hand.
    """
    raw = table.frame
    problems = schema_problems(RAW_FINANCING_SCHEMA, table)
    problems += duplicate_problems(table, "record_id", "record_id")
    cited = citation_columns(table, registry, problems)
    if registry is not None:
        for column in ("stage_basis", "amount_as_written"):
            problems += quote_problems(table, column, registry)

    agency = map_column(table, "agency", normalize_agency, problems)
    kind = map_column(table, "kind", normalize_kind, problems)
    instrument = map_column(table, "instrument_as_written", normalize_instrument, problems)
    stage = map_column(table, "stage", normalize_stage, problems)
    alternative = map_column(table, "alternative_stage", normalize_alternative_stage, problems)
    minerals = map_column(table, "minerals_as_written", normalize_minerals, problems)
    announced = map_column(table, "announced", parse_announced, problems)
    inferred = map_column(table, "announced_inferred", parse_bool, problems)
    amount = map_column(table, "amount_as_written", parse_optional_amount, problems, errors=(AmountError,))
    mobilized = map_column(table, "mobilized_as_written", parse_optional_amount, problems, errors=(AmountError,))
    mobilized_type = map_column(table, "mobilized_from", normalize_mobilised_from, problems)
    countries = map_column(table, "countries", resolve_countries, problems, errors=(CountryError,))
    place_role = map_column(table, "place_role", normalize_place_role, problems)
    is_aggregate = map_column(table, "is_aggregate", parse_bool, problems)

    for position in np.flatnonzero(((raw["mobilized_as_written"] != "") != (raw["mobilized_from"] != "")).to_numpy()):
        has_amount = raw["mobilized_as_written"].iat[position] != ""
        problems.append(
            row_problem(
                table,
                position,
                "mobilized_from" if has_amount else "mobilized_as_written",
                f"mobilized_as_written is '{raw['mobilized_as_written'].iat[position]}' but mobilized_from is empty: "
                "write who provides the mobilised capital, in the source's words (e.g. 'частных инвесторов')"
                if has_amount
                else f"mobilized_from is '{raw['mobilized_from'].iat[position]}' but mobilized_as_written is empty: "
                "write the mobilised amount, or clear mobilized_from",
            )
        )
    if problems:
        raise DataValidationError(problems)
    problems += model_problems(table, kind, stage, alternative, instrument, place_role, countries, inferred, announced)
    if problems:
        raise DataValidationError(problems)

    # Binding status under the stage and under the alternative reading, once per distinct kind, stage and reading.
    statuses = kind.pair(stage, lambda k, s: (k, s)).pair(
        alternative, lambda ks, a: (binding_status(*ks), binding_status(ks[0], a or ks[1]))
    )
    mobilized_usd = mobilized.derive(lambda a: math.nan if a is None else a.value_usd, "float64")
    frame = pd.DataFrame(
        {
            "record_id": raw["record_id"],
            "agency": agency.derive_text(str),
            "agency_name": agency.derive_text(lambda code: AGENCIES[code].label),
            "kind": kind.derive_text(str),
            "title": raw["title"],
            "amount_as_written": raw["amount_as_written"],
            "amount_usd": amount.derive(lambda a: math.nan if a is None else a.value_usd, "float64"),
            "amount_qualifier": amount.derive_text(lambda a: NOT_STATED if a is None else a.qualifier),
            "counted_usd": np.nan,
            "instrument": instrument.derive_text(str),
            "instrument_label": instrument.derive_text(lambda code: INSTRUMENTS[code].label),
            "stage": stage.derive_text(str),
            "stage_label": stage.derive_text(lambda code: STAGES[code].label),
            "stage_basis": raw["stage_basis"],
            "binding_status": statuses.derive_text(lambda both: both[0]),
            "is_binding": statuses.derive(lambda both: both[0] == BINDING, bool),
            "alternative_stage": alternative.derive_text(str),
            "alternative_binding_status": statuses.derive_text(lambda both: both[1]),
            "is_aggregate": is_aggregate.derive(bool, bool),
            "parent_id": raw["parent_id"],
            "mobilized_as_written": raw["mobilized_as_written"],
            "mobilized_usd": mobilized_usd,
            "mobilized_from": raw["mobilized_from"],
            "mobilized_type": mobilized_type.derive_text(str),
            **{
                f"mobilized_{name}_usd": np.where(
                    mobilized_type.derive(lambda v, code=kind_code: v == code, bool), mobilized_usd, np.nan
                )
                for name, kind_code in (("private", PRIVATE), ("public", PUBLIC), ("unsplit", NOT_STATED))
            },
            "announced": announced.derive_text(lambda a: a[0]),
            "announced_date": pd.to_datetime(announced.derive(lambda a: a[1])),
            "announced_precision": announced.derive_text(lambda a: a[2]),
            "announced_inferred": inferred.derive(bool, bool),
            "country_iso3": countries.derive_text(lambda codes: ";".join(codes)),
            "country_names": countries.derive_text(lambda codes: ";".join(country_name(c) for c in codes)),
            "subnational": raw["subnational"],
            "place_role": place_role.derive_text(str),
            "place_count": countries.derive(len, "int64"),
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


def model_problems(
    table: RawTable,
    kind: Parsed,
    stage: Parsed,
    alternative: Parsed,
    instrument: Parsed,
    place_role: Parsed,
    countries: Parsed,
    inferred: Parsed,
    announced: Parsed,
) -> list[Problem]:
    """The rules across a row's cells: kind, stage and instrument agree; a stage is stated in the source's words;
    a commitment without money has no amount; places have a role and subnational units line up with countries.

    Each rule is one test per distinct value (or pair of values), spread over the rows; only the rows that break
    it are looked at one by one.
    """
    raw = table.frame
    problems: list[Problem] = []
    financing = kind.derive(lambda k: k == FINANCING, bool)
    has_basis = (raw["stage_basis"] != "").to_numpy()
    stated = stage.derive(lambda s: s != "not_stated", bool)
    places = countries.derive(len, "int64")
    parts = np.where(raw["subnational"] != "", raw["subnational"].str.count(";") + 1, 0)
    status = {code: s.binding_status or NOT_STATED for code, s in STAGES.items()}
    same_status = stage.pair(alternative, lambda s, a: status.get(a, "") == status[s]).derive(bool, bool)
    no_role = place_role.derive(lambda role: role == "", bool)

    rules = [
        (
            kind.pair(stage, lambda k, s: k not in STAGES[s].kinds).derive(bool, bool),
            "stage",
            lambda i: (
                f"stage '{stage.at(i)}' does not apply to a record of kind '{kind.at(i)}'; valid: "
                + ", ".join(code for code, s in STAGES.items() if kind.at(i) in s.kinds)
            ),
        ),
        (
            kind.pair(instrument, lambda k, code: k not in INSTRUMENTS[code].kinds).derive(bool, bool),
            "instrument_as_written",
            lambda i: (
                f"instrument '{instrument.at(i)}' does not belong to a record of kind '{kind.at(i)}'; valid: "
                + ", ".join(code for code, s in INSTRUMENTS.items() if kind.at(i) in s.kinds)
            ),
        ),
        (stated & ~has_basis, "stage_basis", lambda i: "quote the few words of the source that state the stage"),
        (
            ~stated & has_basis,
            "stage_basis",
            lambda i: "a stage basis needs a stated stage: set 'stage', or clear the basis",
        ),
        (
            alternative.derive(lambda a: a != "", bool) & (~financing | same_status),
            "alternative_stage",
            lambda i: (
                "an alternative reading must be financing whose binding status differs from the stage's; "
                "clear it otherwise"
            ),
        ),
        (
            ~financing & (raw["amount_as_written"] != "").to_numpy(),
            "amount_as_written",
            lambda i: f"a {kind.at(i)} carries no money: record the amount as a financing item",
        ),
        (
            ~financing & (raw["mobilized_as_written"] != "").to_numpy(),
            "mobilized_as_written",
            lambda i: f"a {kind.at(i)} carries no money: record the amount as a financing item",
        ),
        (
            ~financing & (raw["is_aggregate"] == "true").to_numpy(),
            "is_aggregate",
            lambda i: f"a {kind.at(i)} is never a stated total: set is_aggregate=false",
        ),
        (
            (places > 0) & no_role,
            "place_role",
            lambda i: "write how the places stand to the item (" + ", ".join(PLACE_ROLES) + ")",
        ),
        (
            (places == 0) & ~no_role,
            "place_role",
            lambda i: "an item without countries has no place role: clear it",
        ),
        (
            (parts > 0) & (parts != places),
            "subnational",
            lambda i: (
                f"{parts[i]} ';'-separated parts for {places[i]} countries: write one part per country, "
                "in the same order, empty where none (e.g. '; Tennessee')"
            ),
        ),
        (
            inferred.derive(bool, bool) & ~announced.derive(lambda a: a[1] is not None, bool),
            "announced_inferred",
            lambda i: "only a date can be inferred: set 'false' or write the date",
        ),
    ]
    for broken, column, message in rules:
        for position in np.flatnonzero(broken)[:MAX_LINES_PER_VALUE]:
            problems.append(row_problem(table, int(position), column, message(int(position))))
    return problems


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
            wrong = (
                f"points to a total that does not exist; valid totals are "
                f"{valid_totals or 'none (no row has is_aggregate=true)'}"
            )
        elif not is_aggregate[pid]:
            wrong = (
                f"points to {pid}, which is not a stated total; set is_aggregate=true on line {line_of[pid]} "
                "or clear parent_id"
            )
        elif agency_of[pid] != agency_of[rid]:
            wrong = (
                f"a part must belong to the same agency as its total ({agency_of[pid]}, not {agency_of[rid]}); "
                f"point parent_id to a {agency_of[rid]} total or clear it"
            )
        else:
            continue
        problems.append(Problem(file, int(line_of[rid]), "parent_id", pid, wrong))
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
    key = ["agency", "amount_usd", "instrument", "stage", "country_iso3", "subnational", "minerals", "announced"]
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


def places_long(financing: pd.DataFrame) -> pd.DataFrame:
    """The long table of places (columns.PLACES): one row per item and country, with role, precision and shared.

    A country's subnational part is the one in the same position of ``subnational``; precision is ``subnational``
    where one is given, else ``country``.
    """
    rows = []
    for rid, codes, names, subnational, role in zip(
        financing["record_id"],
        financing["country_iso3"],
        financing["country_names"],
        financing["subnational"],
        financing["place_role"],
    ):
        if not codes:
            continue
        code_list, name_list = codes.split(";"), names.split(";")
        parts = [part.strip() for part in subnational.split(";")] if subnational else [""] * len(code_list)
        for code, name, part in zip(code_list, name_list, parts):
            rows.append((rid, code, name, part, role, "subnational" if part else "country", len(code_list) > 1))
    frame = pd.DataFrame(rows, columns=list(columns.PLACES))
    return frame.astype({"shared": bool})


def minerals_long(financing: pd.DataFrame) -> pd.DataFrame:
    """The long table of minerals (columns.MINERALS): one row per item and mineral named (or ``not stated``)."""
    rows = []
    for rid, minerals in zip(financing["record_id"], financing["minerals"]):
        names = minerals.split(";")
        rows.extend((rid, name, len(names) > 1) for name in names)
    return pd.DataFrame(rows, columns=list(columns.MINERALS)).astype({"shared": bool})
