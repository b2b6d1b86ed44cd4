"""The raw files' schemas (pandera): required cells, id patterns, the groups, and no spreadsheet formulas.

``schema_problems`` turns every failure into a located Problem (file, line, column, value, what is valid).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from ..errors import Problem
from ..vocab import GROUPS
from .rawio import LINE_COLUMN, RawTable

FORMULA_PREFIXES = ("=", "+", "@", "\t", "\r")

_ID = r"^[A-Z]{2,6}-[0-9]{2,4}$"  # [0-9], not \d: \d also accepts other scripts' digits (EXIM-٠٧)


def _text(*checks: pa.Check, nullable: bool = False) -> pa.Column:
    return pa.Column(str, checks=list(checks), nullable=nullable)


def _not_formula(free_text: bool = False) -> pa.Check:
    # In free text a leading "-" is refused too ("-2+3+cmd|..." runs in a spreadsheet); amount columns keep it
    # so that a negative amount gets the amount parser's own, more precise message.
    prefixes = FORMULA_PREFIXES + ("-",) if free_text else FORMULA_PREFIXES
    # Every prefix is one character, so comparing each cell's first character is the startswith test (faster).
    return pa.Check(
        lambda s: ~s.str.slice(0, 1).isin(prefixes),
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
        **{
            name: _text(pa.Check.isin(["true", "false"], error="must be 'true' or 'false'"))
            for name in ("is_aggregate", "announced_inferred")
        },
        "parent_id": _text(
            pa.Check(lambda s: (s == "") | s.str.match(_ID), error="must be empty or a record_id like DFC-01")
        ),
        **{name: _text(_not_formula()) for name in ("amount_as_written", "mobilized_as_written", "announced")},
        **{
            name: _text(_not_formula(free_text=True))
            for name in (
                "agency",
                "kind",
                "instrument_as_written",
                "stage",
                "stage_basis",
                "alternative_stage",
                "place_role",
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


def schema_problems(schema: pa.DataFrameSchema, table: RawTable) -> list[Problem]:
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
