"""The processed-table contract: pandera schemas checked before ``data/processed`` (or a release) is written.

Types and allowed values follow ``columns.FINANCING`` and ``columns.MEMBERSHIP``; the row checks hold what every
summary relies on: ``0 <= counted_usd <= amount_usd``, ``is_binding == (binding_status == "binding")`` and
unique record ids. A failure is a bug in the cleaning code, not in the raw data, and says which row and column.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from .. import columns
from ..errors import DataValidationError, Problem
from ..vocab import (
    AGENCIES,
    BINDING,
    BINDING_STATUSES,
    FINANCING,
    GROUPS,
    INSTRUMENTS,
    KINDS,
    NOT_STATED,
    PLACE_ROLES,
    QUALIFIERS,
    STAGES,
)

_TYPES = {"string": str, "float": float, "bool": bool, "int": "int64", "date": "datetime64[ns]"}


def _columns(spec: dict[str, tuple[str, str]], checks: dict[str, list[pa.Check]]) -> dict[str, pa.Column]:
    out = {}
    for name, (dtype, _) in spec.items():
        nullable = dtype in ("float", "date")
        out[name] = pa.Column(_TYPES[dtype], checks=checks.get(name, []), nullable=nullable, coerce=dtype == "date")
    return out


FINANCING_SCHEMA = pa.DataFrameSchema(
    _columns(
        columns.FINANCING,
        {
            "record_id": [pa.Check(lambda s: ~s.duplicated(), error="record_id must be unique")],
            "agency": [pa.Check.isin(list(AGENCIES))],
            "amount_usd": [pa.Check.ge(0)],
            "amount_qualifier": [pa.Check.isin([*QUALIFIERS, NOT_STATED])],
            "counted_usd": [pa.Check.ge(0)],
            "instrument": [pa.Check.isin(list(INSTRUMENTS))],
            "kind": [pa.Check.isin(list(KINDS))],
            "stage": [pa.Check.isin(list(STAGES))],
            "alternative_stage": [pa.Check.isin(["", *STAGES])],
            "binding_status": [pa.Check.isin(list(BINDING_STATUSES))],
            "alternative_binding_status": [pa.Check.isin(list(BINDING_STATUSES))],
            "mobilized_usd": [pa.Check.ge(0)],
            "mobilized_type": [pa.Check.isin(["", "private", "public", NOT_STATED])],
            "place_role": [pa.Check.isin(["", *PLACE_ROLES])],
            "place_count": [pa.Check.ge(0)],
            "announced_precision": [pa.Check.isin(["day", "month", "year", "none"])],
            "source_count": [pa.Check.ge(1)],
        },
    ),
    checks=[
        pa.Check(
            lambda f: f["counted_usd"].isna() | (f["counted_usd"] <= f["amount_usd"] * (1 + 1e-12)),
            error="counted_usd must not exceed amount_usd",
        ),
        pa.Check(
            lambda f: f["counted_usd"].isna() == f["amount_usd"].isna(),
            error="counted_usd must be empty exactly when amount_usd is",
        ),
        pa.Check(
            lambda f: f["is_binding"] == (f["binding_status"] == BINDING),
            error="is_binding must equal (binding_status == 'binding')",
        ),
        pa.Check(
            lambda f: (f["kind"] == FINANCING) | (f["amount_usd"].isna() & f["mobilized_usd"].isna()),
            error="only financing carries money",
        ),
        pa.Check(
            lambda f: (
                f[["mobilized_private_usd", "mobilized_public_usd", "mobilized_unsplit_usd"]]
                .sum(axis=1, min_count=1)
                .fillna(0)
                .sub(f["mobilized_usd"].fillna(0))
                .abs()
                < 0.005
            ),
            error="mobilised money must be exactly one of private, public or unsplit",
        ),
    ],
    strict=True,
    ordered=True,
)

MEMBERSHIP_SCHEMA = pa.DataFrameSchema(
    _columns(
        columns.MEMBERSHIP,
        {
            "iso3": [pa.Check.str_matches(r"^[A-Z]{3}$")],
            "group": [pa.Check.isin(list(GROUPS))],
            "record_id": [pa.Check(lambda s: ~s.duplicated(), error="record_id must be unique")],
            "source_count": [pa.Check.ge(1)],
        },
    ),
    strict=True,
    ordered=True,
)


def check_processed(financing: pd.DataFrame, membership: pd.DataFrame) -> None:
    """Validate both processed tables against the contract; raise DataValidationError naming row and column."""
    problems: list[Problem] = []
    for name, schema, frame in (
        ("processed financing", FINANCING_SCHEMA, financing),
        ("processed membership", MEMBERSHIP_SCHEMA, membership),
    ):
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            for case in exc.failure_cases.itertuples(index=False):
                index = case.index
                record = (
                    str(frame["record_id"].iat[int(index)])
                    if index is not None and not pd.isna(index) and int(index) < len(frame)
                    else ""
                )
                problems.append(
                    Problem(
                        name,
                        None,
                        None if pd.isna(case.column) else str(case.column),
                        None if pd.isna(case.failure_case) else str(case.failure_case),
                        f"breaks the processed-table contract ({case.check})"
                        + (f" in record {record}" if record else ""),
                    )
                )
    if problems:
        raise DataValidationError(problems)
