"""Data-driven sentences for the briefs: headlines, key findings, finding-stating chart titles and the index's
one-line findings. Markdown strings have their data escaped; chart titles (``finding_*``) are plain text, since
matplotlib draws them and an escape would show as "&amp;"."""

from __future__ import annotations

import pandas as pd

from .analysis import funding_summary, headline_numbers, not_stated_share, roles_by_country, share_text
from .display import agreeing, esc, plural
from .links import display_name, link, named_minerals
from .usd import format_usd
from .vocab import AGENCIES, GROUP_SHORT, GROUPS, NOT_STATED


def _bn(value: float) -> str:
    return format_usd(value)


def overview_headline(financing: pd.DataFrame, membership: pd.DataFrame) -> str:
    """The overview's opening paragraph: who came, what was signed, how much money and how much binds."""
    numbers = headline_numbers(financing)
    roles = roles_by_country(membership)
    delegations = roles[roles["ministerial_participant"]]
    countries = int((delegations["iso3"] != "EUU").sum())
    has_eu = bool((delegations["iso3"] == "EUU").any())
    frameworks = int(roles["bilateral_framework"].sum())
    chair = roles.loc[roles["forge_chair"], "name"].tolist()
    by_agency = funding_summary(financing, "agency")
    lead = by_agency.iloc[0] if len(by_agency) else None
    parts = [
        f"**{countries} countries{' and the European Commission' if has_eu else ''}** sent delegations; "
        f"the United States signed **{frameworks} bilateral frameworks or memoranda** on the day"
        + (f", and FORGE was launched with **{esc(', '.join(chair))}** in the chair." if chair else "."),
        f"The sources list **{numbers['items']} financing items** ({numbers['items_without_amount']} without an amount) "
        f"worth **{_bn(numbers['total_usd'])}** once stated totals are counted once; "
        f"**{_bn(numbers['binding_usd'])} ({share_text(numbers['binding_usd'], numbers['total_usd'])}) is binding**, "
        f"{_bn(numbers['non_binding_usd'])} is not (letters, notices, conditional commitments and plans)"
        + (
            f" and for {_bn(numbers['not_stated_usd'])} the sources name no instrument or stage. "
            if numbers["not_stated_usd"]
            else ". "
        )
        + f"A further {_bn(numbers['mobilized_usd'])} of capital mobilised from others is reported apart.",
    ]
    if lead is not None:
        parts.append(
            f"{esc(AGENCIES[lead['agency']].label)} accounts for "
            f"{share_text(lead['total_usd'], numbers['total_usd'])} of the money."
        )
    return "\n\n".join(parts)


def finding_by_agency(financing: pd.DataFrame) -> str:
    """A chart title stating the agency finding."""
    table = funding_summary(financing, "agency")
    if table.empty or table["total_usd"].sum() == 0:
        return "No amounts stated"
    total = table["total_usd"].sum()
    lead = table.iloc[0]
    return (
        f"{lead['agency']} accounts for {share_text(lead['total_usd'], total)} of {_bn(total)}; "
        f"{share_text(table['binding_usd'].sum(), total)} of it is binding"
    )


def finding_by_mineral(financing: pd.DataFrame) -> str:
    """A chart title stating the mineral finding, including the not-stated share."""
    table = funding_summary(financing, "mineral")
    named = table[table["mineral"] != NOT_STATED]
    share = share_text(not_stated_share(financing) * 100, 100)
    if named.empty or named["total_usd"].max() == 0:
        return f"No mineral is named for {share} of the money"
    lead = named.iloc[0]
    return (
        f"{lead['mineral'].capitalize()} leads the named minerals with {_bn(lead['total_usd'])}; "
        f"{share} of the money names no mineral"
    )


def finding_by_instrument(financing: pd.DataFrame) -> str:
    """A chart title stating the instrument finding."""
    table = funding_summary(financing, "instrument")
    if table.empty or table["total_usd"].sum() == 0:
        return "No amounts stated"
    lead = table.iloc[0]
    return f"{lead['label']} is the largest instrument: {_bn(lead['total_usd'])}"


def finding_by_country(financing: pd.DataFrame) -> str:
    """A chart title stating where most located money goes (plain text: a chart title is drawn, never HTML)."""
    table = funding_summary(financing, "country")
    located = table[table["country"] != "Location not stated"]
    if located.empty or located["total_usd"].max() == 0:
        return "No located amounts"
    lead = located.iloc[0]
    return f"{lead['label']} is the largest stated destination: {_bn(lead['total_usd'])}"


def binding_parts_text(numbers: dict[str, float]) -> str:
    """The three binding parts of a total as a clause: "$1.0 bn is not binding and for $565 m the sources do not say"."""
    parts = []
    if numbers["non_binding_usd"]:
        parts.append(f"{_bn(numbers['non_binding_usd'])} is not binding")
    if numbers["not_stated_usd"]:
        parts.append(f"for {_bn(numbers['not_stated_usd'])} the sources name no instrument or stage")
    return " and ".join(parts) or "none of it is non-binding or of unstated status"


def agency_headline(financing: pd.DataFrame, code: str) -> str:
    """The agency brief's opening paragraph."""
    rows = financing[financing["agency"] == code]
    numbers = headline_numbers(rows)
    aggregates = rows[rows["is_aggregate"]]
    if not numbers["total_usd"]:
        return (
            f"The sources list **{plural(numbers['items'])}** for {esc(AGENCIES[code].label)}, none with a "
            "stated amount: they are counted, not summed."
        )
    text = (
        f"The sources list **{numbers['items']} items** for {esc(AGENCIES[code].label)}, worth "
        f"**{_bn(numbers['total_usd'])}** (stated totals counted once), of which **{_bn(numbers['binding_usd'])} "
        f"({share_text(numbers['binding_usd'], numbers['total_usd'])}) is binding**; "
        f"{binding_parts_text(numbers)}."
    )
    if numbers["mobilized_usd"]:
        text += f" The items report a further {_bn(numbers['mobilized_usd'])} mobilised from others, shown apart."
    for _, total in aggregates.iterrows():
        parts = rows[rows["parent_id"] == total["record_id"]]
        qualifier = "" if total["amount_qualifier"] == "exact" else f"{esc(total['amount_qualifier'])} "
        listed = float(parts["counted_usd"].fillna(0).sum())
        text += (
            f"\n\n{esc(total['record_id'])} is a stated total ({qualifier}{_bn(total['amount_usd'])}); "
            f"{len(parts)} of its items are listed separately ({_bn(listed)})"
        )
        if total["counted_usd"] > 0:
            text += f" and the remaining {_bn(total['counted_usd'])} is not itemised in the source."
        else:
            text += ", which already reach the stated figure, so only the listed items are counted."
    return text


def country_headline(financing_here: pd.DataFrame, membership: pd.DataFrame, iso3: str, name: str) -> str:
    """The country brief's opening paragraph: its roles and the money located there."""
    roles = membership[membership["iso3"] == iso3]
    role_text = (
        ", ".join(GROUP_SHORT[g] for g in GROUPS if g in set(roles["group"])) or "no ministerial role in the sources"
    )
    numbers = headline_numbers(financing_here)
    text = f"**{esc(name)}** ({esc(iso3)}). Roles: {esc(role_text)}."
    if numbers["items"]:
        text += (
            f"\n\n**{plural(numbers['items'], 'financing item')}** {agreeing(numbers['items'], 'is', 'are')} "
            f"located here, worth **{_bn(numbers['total_usd'])}**, "
            f"of which {_bn(numbers['binding_usd'])} is binding; {binding_parts_text(numbers)}."
        )
        shared = financing_here[financing_here["country_iso3"].str.contains(";")]
        if len(shared):
            text += (
                f" {len(shared)} of them are also located in other countries; their full amounts are shown "
                "here because the sources do not say how they split."
            )
    else:
        text += "\n\nNo financing item in the sources is located here."
    return text


def mineral_headline(financing: pd.DataFrame, mineral: str) -> str:
    """The mineral brief's opening paragraph, with the not-stated share shown, not hidden.

    The share is taken over the agencies that fund this mineral: their money with no mineral stated is what
    could also go to it, and the sources do not say.
    """
    from .analysis import explode_minerals

    rows = explode_minerals(financing)
    rows = rows[rows["mineral"] == mineral]
    numbers = headline_numbers(rows)
    agencies = [code for code in AGENCIES if code in set(rows["agency"])]
    scope = financing[financing["agency"].isin(agencies)]
    scope_total = float(scope["counted_usd"].fillna(0).sum())
    unstated_usd = float(scope.loc[scope["minerals"] == NOT_STATED, "counted_usd"].fillna(0).sum())
    names = ", ".join(esc(code) for code in agencies)
    return (
        f"**{plural(numbers['items'])}** {agreeing(numbers['items'], 'names', 'name')} {esc(mineral)}, "
        f"worth **{_bn(numbers['total_usd'])}** "
        f"({_bn(numbers['binding_usd'])} binding; {binding_parts_text(numbers)}), through {names}.\n\n"
        f"The same agencies list **{_bn(unstated_usd)} ({share_text(unstated_usd, scope_total)} of their "
        f"money)** with no mineral stated. Some of it may go to {esc(mineral)}, but the sources do not say, so "
        "it is not counted here."
    )


def finding_participation(membership: pd.DataFrame) -> str:
    """The participation map's title: delegations and bilateral frameworks, counted from the table."""
    roles = roles_by_country(membership)
    delegations = roles[roles["ministerial_participant"]]
    countries = int((delegations["iso3"] != "EUU").sum())
    eu = " and the European Commission" if (delegations["iso3"] == "EUU").any() else ""
    return f"{countries} countries{eu} took part; {int(roles['bilateral_framework'].sum())} signed bilateral frameworks"


def finding_timeline(financing: pd.DataFrame) -> str:
    """The timeline's title: the span of the dated items."""
    dates = financing["announced_date"].dropna()
    if dates.empty:
        return "No dated items"
    return f"Dated items run from {dates.min():%B %Y} to {dates.max():%B %Y}"


def _located_codes(financing: pd.DataFrame) -> list[str]:
    return sorted({c for value in financing["country_iso3"] for c in str(value).split(";") if c})


def key_findings(kind: str, financing: pd.DataFrame, membership: pd.DataFrame, key: str = "") -> list[str]:
    """Three to five sentences (Markdown, data escaped) that say what a brief finds, built from the tables.

    ``financing`` is the whole table or the brief's own records (``briefing.open_brief``); the brief's rows are
    taken here with ``briefing.Tables.brief``.
    """
    rows = _brief(kind, financing, membership, key).rows
    numbers = headline_numbers(rows)
    total = numbers["total_usd"]
    out: list[str] = []
    if kind == "overview":
        roles = roles_by_country(membership)
        delegations = roles[roles["ministerial_participant"]]
        countries = int((delegations["iso3"] != "EUU").sum())
        eu = " and the European Commission" if (delegations["iso3"] == "EUU").any() else ""
        out.append(
            f"**{countries} countries{eu}** sent delegations; "
            f"**{int(roles['bilateral_framework'].sum())}** signed a bilateral framework or memorandum "
            "with the United States."
        )
    if numbers["items"] and not total:
        statuses = rows["binding_status"].value_counts()
        parts = ", ".join(f"{count} {status}" for status, count in statuses.items())
        out.append(f"**{plural(numbers['items'], 'financing item')}**, none with a stated amount ({esc(parts)}).")
    elif numbers["items"]:
        out.append(
            f"**{plural(numbers['items'], 'financing item')}** worth **{_bn(total)}** (stated totals counted once): "
            f"**{_bn(numbers['binding_usd'])} ({share_text(numbers['binding_usd'], total)}) binding**, "
            f"{binding_parts_text(numbers)}."
        )
    else:
        out.append("The sources list no financing item for this brief.")
    if kind in ("overview", "country", "mineral") and numbers["items"]:
        by_agency = funding_summary(rows, "agency")
        lead = by_agency.iloc[0]
        if lead["total_usd"] > 0:
            out.append(
                f"{link('agency', lead['agency'], AGENCIES[lead['agency']].label)} provides the most: "
                f"{_bn(lead['total_usd'])} ({share_text(lead['total_usd'], total)})."
            )
    if kind in ("overview", "agency", "mineral") and numbers["items"]:
        places = funding_summary(rows, "country")
        places = places[(places["country"] != "Location not stated") & (places["total_usd"] > 0)]
        if len(places):
            top = places.iloc[0]
            if kind == "mineral" or top["country"] != "USA":
                out.append(
                    f"The largest located amount goes to {link('country', top['country'], display_name(top['country']))}: "
                    f"{_bn(top['total_usd'])}."
                )
            else:
                abroad = places[places["country"] != "USA"]
                text = f"Most located money stays in the {link('country', 'USA', 'United States')} ({_bn(top['total_usd'])})"
                if len(abroad):
                    text += (
                        f"; abroad, {link('country', abroad.iloc[0]['country'], display_name(abroad.iloc[0]['country']))} "
                        f"leads with {_bn(abroad.iloc[0]['total_usd'])}"
                    )
                out.append(text + ".")
    if kind in ("overview", "agency") and numbers["items"]:
        share = not_stated_share(rows)
        minerals = named_minerals(rows)
        if minerals:
            named = ", ".join(link("mineral", m, m) for m in minerals[:6]) + (
                " and others" if len(minerals) > 6 else ""
            )
            lead = f"{share_text(share * 100, 100)} of the money names no mineral; the" if total else "The"
            out.append(f"{lead} items name {named}.")
        else:
            out.append("No item names a mineral.")
    if kind == "country":
        here = membership[membership["iso3"] == key]
        groups = [_lower_role(GROUP_SHORT[g]) for g in GROUPS if g in set(here["group"])]
        name = display_name(key)
        delegations = int(roles_by_country(membership)["ministerial_participant"].sum())
        out.insert(
            0,
            f"**{esc(name)}**: "
            + (esc(", ".join(groups)) if groups else "no role at the ministerial in the sources")
            + (
                f"; one of the {delegations} delegations at the ministerial."
                if "ministerial_participant" in set(here["group"])
                else "."
            ),
        )
    if kind == "mineral":
        agencies = [a for a in AGENCIES if a in set(rows["agency"])]
        scope = financing[financing["agency"].isin(agencies)]
        unstated = float(scope.loc[scope["minerals"] == NOT_STATED, "counted_usd"].fillna(0).sum())
        out.append(
            f"The same agencies list {_bn(unstated)} with no mineral named; some may go to {esc(key)}, "
            "the sources do not say."
        )
    if numbers["mobilized_usd"]:
        out.append(
            f"A further {_bn(numbers['mobilized_usd'])} of capital mobilised from others is reported apart, "
            "never added to the totals."
        )
    return out[:5]


def _lower_role(label: str) -> str:
    """A role label inside a sentence: lower case, but FORGE stays a name."""
    return label if label.startswith("FORGE") else label[:1].lower() + label[1:]


def one_line_finding(kind: str, financing: pd.DataFrame, membership: pd.DataFrame, key: str = "") -> str:
    """The brief's finding in one plain-text line (for the index): its items, total and binding share ("" for a
    kind of brief this project does not make)."""
    if kind not in ("overview", "agency", "country", "mineral"):
        return ""
    rows = _brief(kind, financing, membership, key).rows
    numbers = headline_numbers(rows)
    if kind == "country" and not numbers["items"]:
        here = membership[membership["iso3"] == key]
        groups = [GROUP_SHORT[g] for g in GROUPS if g in set(here["group"])]
        return (", ".join(groups) or "no role in the sources").capitalize() + "; no financing item located here."
    if not numbers["items"]:
        return "No financing item in the sources."
    items = f"{numbers['items']} item{'s' if numbers['items'] != 1 else ''}"
    if not numbers["total_usd"]:
        return f"{items}, no amount stated."
    return (
        f"{items}, {format_usd(numbers['total_usd'])}, "
        f"{share_text(numbers['binding_usd'], numbers['total_usd'])} binding."
    )


def _brief(kind: str, financing: pd.DataFrame, membership: pd.DataFrame, key: str):
    """The brief's records (``briefing.Tables.brief``: the one definition of what a brief draws on)."""
    from .briefing import Tables

    return Tables(financing, membership).brief(kind, key)
