"""The two forms of a processed table, one conversion each way.

- *conventional* (pandas conventions): a missing text is ``NA``, the vocabularies (agency, kind, stage, binding
  status, instrument, ...) are ordered categoricals. The Parquet files hold this form and the loaders
  (``load_financing()``) return it: what an analyst filters and sorts.
- *plain*: text cells with ``""`` for missing, as in the CSV files and the releases. The library's own functions
  accept either form and work on the plain one (``plain`` is cheap on tables of this size).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from .vocab import AGENCIES, BINDING_STATUSES, GROUPS, INSTRUMENTS, KINDS, NOT_STATED, PLACE_ROLES, STAGES

#: The ordered categories of each vocabulary column, in the order readers see them.
CATEGORIES: dict[str, list[str]] = {
    "agency": list(AGENCIES),
    "kind": list(KINDS),
    "stage": list(STAGES),
    "alternative_stage": list(STAGES),
    "instrument": list(INSTRUMENTS),
    "binding_status": list(BINDING_STATUSES),
    "alternative_binding_status": list(BINDING_STATUSES),
    "place_role": list(PLACE_ROLES),
    "role": list(PLACE_ROLES),
    "group": list(GROUPS),
    "mobilized_type": ["private", "public", NOT_STATED],
}


def conventional(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with ``NA`` for empty text and ordered categoricals for the vocabulary columns (a column holding a
    code the vocabulary no longer has, in a release made before it changed, stays text: no value is lost)."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if column in CATEGORIES and set(series.astype("str")) - {""} <= set(CATEGORIES[column]):
            values = series.astype("str").replace("", None)
            out[column] = pd.Categorical(values, categories=CATEGORIES[column], ordered=True)
        elif pd.api.types.is_string_dtype(series) or series.dtype == object:
            if series.map(lambda v: isinstance(v, str)).all():
                out[column] = series.astype("string").replace("", pd.NA)
    return out


def _conventional_dtype(dtype: object) -> bool:
    """A categorical, or the ``string`` dtype whose missing value is NA (not pandas' default ``str``)."""
    return isinstance(dtype, pd.CategoricalDtype) or (isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA)


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with text cells (``""`` for missing) where the conventional form has NA or categoricals.

    A table already plain is returned as it is (no copy).
    """
    convert = [column for column in frame.columns if _conventional_dtype(frame[column].dtype)]
    if not convert:
        return frame
    out = frame.copy()
    for column in convert:
        out[column] = out[column].astype(object).where(out[column].notna(), "").astype("str")
    return out


def split_codes(codes: str | Iterable[str] | None) -> list[str]:
    """The country codes of a ``;``-separated cell (``country_iso3``) or of a list: upper-case, in order, without
    blanks or repeats; ``[]`` for a missing cell (None, NaN)."""
    if codes is None or (isinstance(codes, float) and math.isnan(codes)):
        return []
    parts = codes.split(";") if isinstance(codes, str) else [c for c in codes if isinstance(c, str)]
    return list(dict.fromkeys(p.strip().upper() for p in parts if p.strip()))
