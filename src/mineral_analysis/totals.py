"""The one definition of a total: which records are money, and the headline numbers of a slice of them.

Only financing is money (``kind``): plans, memoranda, talks and partnerships are listed, never summed or counted
as financing items. A total sums ``counted_usd`` (an item's full amount, or a stated total's unitemised remainder)
and is NaN ("not stated") over no stated amount, never 0. Shared by every stage: the cleaning's summary in
``metadata.json``, the briefs and the index.
"""

from __future__ import annotations

import math

import pandas as pd

from .vocab import BINDING, FINANCING, NOT_BINDING, NOT_STATED

# The three parts of every total, in display order, with the key each carries in summaries.
BINDING_PARTS = {BINDING: "binding_usd", NOT_BINDING: "non_binding_usd", NOT_STATED: "not_stated_usd"}


MOBILISED_PARTS = {
    "private": "mobilized_private_usd",
    "public": "mobilized_public_usd",
    NOT_STATED: "mobilized_unsplit_usd",
}


def money(records: pd.DataFrame) -> pd.DataFrame:
    """The financing records of a table (``kind == "financing"``): the only records that are summed or counted."""
    if "kind" not in records:
        return records
    return records[records["kind"] == FINANCING]


def commitments(records: pd.DataFrame) -> pd.DataFrame:
    """The records that commit no money (plans, memoranda, talks, partnerships, forums)."""
    if "kind" not in records:
        return records.iloc[:0]
    return records[records["kind"] != FINANCING]


def _sum(values: pd.Series) -> float:
    """The sum of stated values; NaN when none is stated (so "not stated" never reads as $0)."""
    return float(values.sum(min_count=1))


def headline_numbers(financing: pd.DataFrame) -> dict[str, float]:
    """Total, binding, not binding, not stated and mobilised USD, and item counts, for a slice of records.

    The one definition of a total: ``pipeline.summarize`` and every brief call it. Only financing counts; money
    totals are NaN when the slice states no amount. ``binding_if_alternative_usd`` is the binding total under the
    alternative readings the records note (``alternative_stage``); it equals ``binding_usd`` when there are none.
    """
    rows = money(financing)
    counted = rows["counted_usd"]
    total = _sum(counted)
    status = rows["binding_status"]
    alternative = rows.get("alternative_binding_status", status)  # releases made before the stage model lack it
    numbers = {
        "total_usd": total,
        **{
            key: (float(counted[status == part].sum()) if total == total else math.nan)
            for part, key in BINDING_PARTS.items()
        },
        "binding_if_alternative_usd": float(counted[alternative == BINDING].sum()) if total == total else math.nan,
        "mobilized_usd": float(rows["mobilized_usd"].fillna(0.0).sum()),
        **{key: float(rows[key].fillna(0.0).sum()) if key in rows else 0.0 for key in MOBILISED_PARTS.values()},
        "items": len(rows),
        "items_with_amount": int(rows["amount_usd"].notna().sum()),
        "items_without_amount": int(rows["amount_usd"].isna().sum()),
        "aggregates": int(rows["is_aggregate"].sum()),
        "commitments": len(commitments(financing)),
    }
    return numbers
