"""Summaries of the processed tables that never double count.

Only financing is money: plans, memoranda, talks and partnerships (``kind``) are listed, never summed or counted
as financing items. Every total here sums ``counted_usd``: an item's full amount, or a stated total's unitemised
remainder; a total over no stated amount is NaN ("not stated"), never 0. Two views are *not* additive across
their groups and say so in their output: by country (an item shared between two countries counts in full under
each) and by mineral (an item naming two minerals counts in full under each).
"""

from __future__ import annotations

import math

import pandas as pd

from .frames import plain, split_codes
from .totals import BINDING_PARTS, MOBILISED_PARTS, money
from .vocab import (
    AGENCIES,
    GROUP_SHORT,
    GROUPS,
    KINDS,
    NOT_STATED,
    ROLE_PRIORITY,
    STAGES,
)

LOCATION_NOT_STATED = "Location not stated"


def explode_countries(financing: pd.DataFrame) -> pd.DataFrame:
    """One row per item and location country (``country``); items with no location get ``country`` empty.

    ``locations`` counts the item's countries: where it is above 1 the item's amount appears in full in each row.
    """
    financing = plain(financing)
    frame = financing.copy()
    codes = frame["country_iso3"].map(split_codes)
    frame["locations"] = codes.map(len)
    frame["country"] = codes.map(lambda located: located or [""])
    return frame.explode("country", ignore_index=True)


def explode_minerals(financing: pd.DataFrame) -> pd.DataFrame:
    """One row per item and mineral (``mineral``); ``not stated`` is kept as its own value."""
    financing = plain(financing)
    frame = financing.copy()
    frame["mineral"] = frame["minerals"].str.split(";")
    frame["mineral_count"] = frame["mineral"].map(len)
    return frame.explode("mineral", ignore_index=True)


def _split_binding(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    counted = frame.assign(counted=frame["counted_usd"].fillna(0.0), mobilized=frame["mobilized_usd"].fillna(0.0))
    grouped = counted.groupby(key, sort=False)
    sizes = grouped.size()
    sums = counted.groupby([key, "binding_status"], sort=False)["counted"].sum()
    table = pd.DataFrame(
        {
            column: sums.xs(part, level="binding_status").reindex(sizes.index, fill_value=0.0)
            if part in sums.index.get_level_values("binding_status")
            else pd.Series(0.0, index=sizes.index)
            for part, column in BINDING_PARTS.items()
        },
        index=sizes.index,
    )
    table["mobilized_usd"] = grouped["mobilized"].sum()
    for column in MOBILISED_PARTS.values():
        if column in frame:
            table[column] = frame.groupby(key, sort=False)[column].sum()
    table["items"] = grouped.size()
    table["items_with_amount"] = grouped["counted_usd"].count()
    table["total_usd"] = table[list(BINDING_PARTS.values())].sum(axis=1)
    # A group with no stated amount has no total: "not stated", never $0.
    unstated = table["items_with_amount"] == 0
    table.loc[unstated, ["total_usd", *BINDING_PARTS.values()]] = math.nan
    table.index.name = key
    return table.reset_index().sort_values(
        ["total_usd", "items", key], ascending=[False, False, True], ignore_index=True
    )


def funding_summary(financing: pd.DataFrame, by: str = "agency") -> pd.DataFrame:
    """Total, binding and non-binding USD (from ``counted_usd``), mobilised USD and item count per group.

    ``by`` is ``agency``, ``instrument``, ``stage``, ``country`` or ``mineral``. Only financing is summed. For
    ``country`` and ``mineral`` an item with several values counts in full under each (the result's ``additive``
    attribute is then False, and ``shared_items`` counts the items that are also under another group).
    """
    financing = plain(financing)
    financing = money(financing)
    if by == "agency":
        table = _split_binding(financing, "agency")
        table["label"] = table["agency"].map(lambda c: AGENCIES[c].label)
        table.attrs["additive"] = True
    elif by == "instrument":
        table = _split_binding(financing, "instrument_label")
        table["label"] = table["instrument_label"]
        table.attrs["additive"] = True
    elif by == "stage":
        table = _split_binding(financing, "stage")
        table["label"] = table["stage"].map(lambda code: STAGES[code].label)
        order = {code: i for i, code in enumerate(STAGES)}
        table = table.sort_values("stage", key=lambda s: s.map(order), ignore_index=True)
        table.attrs["additive"] = True
    elif by == "country":
        exploded = explode_countries(financing)
        exploded["country"] = exploded["country"].replace("", LOCATION_NOT_STATED)
        names = dict(zip(exploded["country"], exploded["country"]))
        names.update(_country_names(exploded))
        table = _split_binding(exploded, "country")
        table["label"] = table["country"].map(names)
        shared = exploded[exploded["locations"] > 1].groupby("country").size()
        table["shared_items"] = table["country"].map(shared).fillna(0).astype("int64")
        table.attrs["additive"] = bool((exploded["locations"] <= 1).all())
    elif by == "mineral":
        exploded = explode_minerals(financing)
        table = _split_binding(exploded, "mineral")
        table["label"] = table["mineral"].str.capitalize()
        table.attrs["additive"] = bool((exploded["mineral_count"] <= 1).all())
    else:
        raise ValueError(f"by must be agency, instrument, stage, country or mineral, not {by!r}")
    return table


def _country_names(exploded: pd.DataFrame) -> dict[str, str]:
    from .countries import country_name

    return {code: country_name(code) for code in exploded["country"].unique() if code and code != LOCATION_NOT_STATED}


def not_stated_share(financing: pd.DataFrame, column: str = "minerals") -> float:
    """Share (0-1) of counted USD whose ``column`` is not stated (``minerals``) or empty (``country_iso3``); NaN
    when the slice states no amount."""
    financing = plain(financing)
    financing = money(financing)
    counted = financing["counted_usd"].fillna(0.0)
    total = counted.sum()
    if total == 0:
        return math.nan
    missing = financing[column].isin([NOT_STATED, ""])
    return float(counted[missing].sum() / total)


def roles_by_country(membership: pd.DataFrame) -> pd.DataFrame:
    """One row per country (and the EU): a True/False column per role, ``roles`` as text and ``primary_role``."""
    membership = plain(membership)
    flags = pd.crosstab(membership["iso3"], membership["group"]).gt(0)
    for group in GROUPS:
        if group not in flags:
            flags[group] = False
    flags = flags[list(GROUPS)]
    names = membership.drop_duplicates("iso3").set_index("iso3")["name"]
    table = flags.copy()
    table.insert(0, "name", names.reindex(table.index))
    rows = [dict(zip(GROUPS, values)) for values in flags.to_numpy().tolist()]  # plain rows: iterrows is slow
    table["primary_role"] = [next((r for r in ROLE_PRIORITY if row[r]), "") for row in rows]
    table["roles"] = [", ".join(GROUP_SHORT[g] for g in GROUPS if row[g]) for row in rows]
    return table.reset_index().sort_values("name", ignore_index=True)


def items_table(financing: pd.DataFrame) -> pd.DataFrame:
    """The records as a readable table (amounts with their qualifier, stage, dates as precise as the source)."""
    financing = plain(financing)
    from .usd import format_amount, format_date, format_usd

    def amount(row: pd.Series) -> str:
        text = format_amount(row["amount_usd"], row["amount_qualifier"])
        return text + (" (stated total)" if row["is_aggregate"] and text != NOT_STATED else "")

    def mobilised(row: pd.Series) -> str:
        if pd.isna(row["mobilized_usd"]):
            return ""
        who = row.get("mobilized_type", "")
        return format_usd(row["mobilized_usd"]) + (f" {who}" if who and who != NOT_STATED else "")

    ordered = financing.sort_values(["agency", "record_id"])
    return pd.DataFrame(
        {
            "ID": ordered["record_id"],
            "Agency": ordered["agency"],
            "Kind": ordered["kind"].map(lambda k: KINDS[k].label),
            "Item": ordered["title"],
            "Amount": ordered.apply(amount, axis=1),
            "Instrument": ordered["instrument_label"],
            "Stage": ordered["stage_label"],
            "Binding": ordered["binding_status"],
            "Mobilised": ordered.apply(mobilised, axis=1),
            "Date": [
                format_date(text, precision, bool(inferred))
                for text, precision, inferred in zip(
                    ordered["announced"],
                    ordered["announced_precision"],
                    ordered["announced_inferred"],
                )
            ],
            "Location": [
                ", ".join(x for x in (c.replace(";", ", "), s.replace(";", ", ").strip(", ")) if x) or NOT_STATED
                for c, s in zip(ordered["country_names"], ordered["subnational"])
            ],
            "Minerals": ordered["minerals"].str.replace(";", ", "),
            "Source": ordered["source"],
            "Sources": ordered["source_count"],
            "Conflict": ordered["conflict"],
        }
    ).reset_index(drop=True)


def share_text(part: float, whole: float) -> str:
    """``part`` as a percentage of ``whole`` (``usd.format_share``: ``not stated`` without a whole)."""
    from .usd import format_share

    return format_share(part, whole)
