"""Cleaning the membership table: each country (or the EU) resolved to its ISO3 code, once per group."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..countries import CountryError, country_name, resolve_country
from ..errors import DataValidationError
from ..vocab import GROUPS
from .cells import citation_columns, duplicate_problems, map_column, row_problem
from .raw_schemas import RAW_MEMBERSHIP_SCHEMA, schema_problems
from .rawio import LINE_COLUMN, RawTable
from .sources import Source


def clean_membership(table: RawTable, registry: dict[str, Source] | None = None) -> pd.DataFrame:
    """Turn the raw membership table into the processed one (columns.MEMBERSHIP); raise DataValidationError."""
    raw = table.frame
    problems = schema_problems(RAW_MEMBERSHIP_SCHEMA, table)
    problems += duplicate_problems(table, "record_id", "record_id")
    cited = citation_columns(table, registry, problems)
    iso3 = map_column(table, "name_as_written", resolve_country, problems, errors=(CountryError,))
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
            row_problem(
                table,
                position,
                "name_as_written",
                f"{frame['name'].iat[position]} is already listed in group {frame['group'].iat[position]} "
                f"on line {int(raw[LINE_COLUMN].iat[first])}; a country appears once per group",
            )
        )
    if problems:
        raise DataValidationError(problems)
    return frame
