"""Text alternatives for the charts and maps: what each figure shows, with its main numbers (plain text)."""

from __future__ import annotations

import pandas as pd

from .analysis import funding_summary, roles_by_country
from .links import display_name, named_minerals
from .narrative import finding_timeline
from .totals import headline_numbers
from .usd import format_usd
from .vocab import NOT_STATED


def _top_groups(financing: pd.DataFrame, by: str, n: int = 4) -> str:
    table = funding_summary(financing, by)
    if by == "country":
        table = table.assign(
            label=[
                display_name(c, lbl) if c != "Location not stated" else lbl
                for c, lbl in zip(table["country"], table["label"])
            ]
        )
    table = table[table["total_usd"] > 0].head(n)
    return "; ".join(
        f"{row['label']} {format_usd(row['total_usd'])} ({format_usd(row['binding_usd'])} binding)"
        for _, row in table.iterrows()
    )


def alt_funding_by(financing: pd.DataFrame, by: str) -> str:
    """Alternative text of a bar chart of money by ``by``: the chart, the total and the largest groups."""
    numbers = headline_numbers(financing)
    what = {"agency": "agency", "mineral": "mineral named", "instrument": "instrument", "country": "project location"}[
        by
    ]
    top = _top_groups(financing, by)
    return (
        f"Bar chart of {format_usd(numbers['total_usd'])} by {what}, split into binding, not binding and not "
        f"stated: " + (top or "no amounts stated") + "."
    )


def alt_participation_map(membership: pd.DataFrame, highlight: str | None = None) -> str:
    """Alternative text of the participation map (or of a country's locator map)."""
    roles = roles_by_country(membership)
    delegations = int(roles["ministerial_participant"].sum())
    frameworks = int(roles["bilateral_framework"].sum())
    forge = int((roles["forge_member"] | roles["forge_chair"]).sum())
    if highlight:
        here = roles[roles["iso3"] == highlight]
        role = here.iloc[0]["roles"] if len(here) else "no role in the sources"
        return (
            f"Map locating {display_name(highlight)} in its region, with a world inset; its roles: {role}. "
            f"It is one of {delegations} delegations at the ministerial."
        )
    return (
        f"World map of the {delegations} delegations (countries and the European Commission), coloured by "
        f"role: {frameworks} signed bilateral frameworks, {forge} are in FORGE; the next figure enlarges Europe and "
        "small states."
    )


def alt_participation_insets(membership: pd.DataFrame) -> str:
    """Alternative text of the participation map's enlarged regions: each region and the codes it labels."""
    from .maps import map_roles, participation_inset_codes

    names = dict(zip(map_roles(membership)["iso3"], map_roles(membership)["name"]))
    regions = participation_inset_codes(membership)
    parts = "; ".join(f"{region}: {', '.join(names.get(c, c) for c in codes)}" for region, codes in regions.items())
    count = sum(len(codes) for codes in regions.values())
    return (
        f"Enlarged maps of {len(regions)} regions where {count} participants are small or crowded, each labelled. "
        f"{parts}."
    )


def alt_funding_map(financing: pd.DataFrame) -> str:
    """Alternative text of the funding map: circles by location, the largest named."""
    top = _top_groups(financing[financing["country_iso3"] != ""], "country", 3)
    located = headline_numbers(financing[financing["country_iso3"] != ""])["total_usd"]
    return (
        f"Map with a circle per location and agency, area by amount; {format_usd(located)} is located. "
        f"Largest: {top or 'none'}."
    )


def alt_timeline(financing: pd.DataFrame) -> str:
    """Alternative text of the announcement timeline."""
    dated = financing.dropna(subset=["announced_date"])
    if dated.empty:
        return f"Timeline of announcements: none of the {len(financing)} items has a stated date."
    return (
        f"Timeline of the {len(dated)} dated items of {len(financing)}: {finding_timeline(financing)}, "
        f"worth {format_usd(dated['counted_usd'].sum(min_count=1))}."
    )


def alt_mobilized(financing: pd.DataFrame) -> str:
    """Alternative text of the mobilised-capital chart."""
    rows = financing[financing["mobilized_usd"].notna()]
    by = rows.groupby("agency")["mobilized_usd"].sum().sort_values(ascending=False)
    parts = "; ".join(f"{code} {format_usd(v)}" for code, v in by.items())
    split = ", ".join(
        f"{format_usd(rows[column].sum())} {who}"
        for column, who in (
            ("mobilized_private_usd", "private"),
            ("mobilized_public_usd", "public"),
            ("mobilized_unsplit_usd", "not split"),
        )
        if column in rows and rows[column].sum()
    )
    return f"Bar chart of capital mobilised from others beside each agency's own amount: {parts}" + (
        f" ({split})." if split else "."
    )


def alt_matrix(financing: pd.DataFrame) -> str:
    """Alternative text of the agency-by-mineral matrix."""
    minerals = named_minerals(financing)
    return (
        f"Matrix of agencies by mineral named ({len(minerals)} minerals: {', '.join(minerals)}); each cell holds "
        "the agency's amount for the mineral. "
        + f"Largest mineral: {_top_groups(financing[financing['minerals'] != NOT_STATED], 'mineral', 1)}."
    )
