"""Cleaning the financing table: amounts, instruments, minerals, dates and locations parsed and checked, stated
totals reconciled with their parts (``counted_usd``: an item's amount, or a total's unitemised remainder)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import DataValidationError, Problem
from ..vocab import AGENCIES, INSTRUMENTS, NOT_STATED
from .amounts import AmountError
from .cells import (
    MAX_LINES_PER_VALUE,
    citation_columns,
    duplicate_problems,
    map_column,
    parse_optional_amount,
    row_problem,
)
from .countries import CountryError, country_name, resolve_countries
from .normalize import normalize_agency, normalize_instrument, normalize_minerals, parse_announced, parse_bool
from .raw_schemas import RAW_FINANCING_SCHEMA, schema_problems
from .rawio import LINE_COLUMN, RawTable
from .sources import Source

ABOUT_TOLERANCE = 0.10  # parts may exceed an 'about' total by this share before it is an error


def clean_financing(table: RawTable, registry: dict[str, Source] | None = None) -> pd.DataFrame:
    """Turn the raw financing table into the processed one (columns.FINANCING); raise DataValidationError.

    ``registry`` (``sources.load_sources()``) checks every citation against the registered sources.
    """
    raw = table.frame
    problems = schema_problems(RAW_FINANCING_SCHEMA, table)
    problems += duplicate_problems(table, "record_id", "record_id")
    cited = citation_columns(table, registry, problems)

    agency = map_column(table, "agency", normalize_agency, problems)
    instrument = map_column(table, "instrument_as_written", normalize_instrument, problems)
    minerals = map_column(table, "minerals_as_written", normalize_minerals, problems)
    announced = map_column(table, "announced", parse_announced, problems)
    amount = map_column(table, "amount_as_written", parse_optional_amount, problems, errors=(AmountError,))
    mobilized = map_column(table, "mobilized_as_written", parse_optional_amount, problems, errors=(AmountError,))
    countries = map_column(table, "countries", resolve_countries, problems, errors=(CountryError,))
    is_aggregate = map_column(table, "is_aggregate", parse_bool, problems)

    for position in np.flatnonzero(((raw["mobilized_as_written"] != "") != (raw["mobilized_from"] != "")).to_numpy()):
        has_amount = raw["mobilized_as_written"].iat[position] != ""
        problems.append(
            row_problem(
                table,
                position,
                "mobilized_from" if has_amount else "mobilized_as_written",
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
