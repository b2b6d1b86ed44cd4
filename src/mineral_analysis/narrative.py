"""Data-driven sentences for the briefs: headlines, key findings, finding-stating chart titles and the index's
one-line findings. Markdown strings have their data escaped; chart titles (``finding_*``) are plain text, since
matplotlib draws them and an escape would show as "&amp;"."""

from __future__ import annotations

import pandas as pd

from .analysis import funding_summary, not_stated_share, roles_by_country, share_text
from .display import agreeing, and_list, esc, plural
from .frames import split_codes
from .links import display_name, link
from .totals import commitments, headline_numbers, money
from .usd import format_usd, is_stated
from .vocab import AGENCIES, GROUP_SHORT, GROUPS, KINDS, NOT_STATED, group_in_sentence


def _bn(value: float) -> str:
    return format_usd(value)


def binding_clause(numbers: dict[str, float]) -> str:
    """How much of a stated total binds, with the other parts and the alternative reading's total where it differs:
    "$13.5 bn (40%) is binding; $19.0 bn is not binding and for $1.54 bn the sources state no stage"."""
    total, binding = numbers["total_usd"], numbers["binding_usd"]
    if not binding:
        head = "**none of it is binding**"
    elif binding >= total:
        head = "**all of it is binding**"
    else:
        head = f"**{_bn(binding)} ({share_text(binding, total)}) is binding**"
    rest = binding_parts_text(numbers)
    text = head + (f"; {rest}" if rest else "")
    alternative = numbers.get("binding_if_alternative_usd", binding)
    if is_stated(alternative) and alternative > binding:
        text += (
            f" (read as made, the items whose stage the sources do not state would raise the binding total to "
            f"{_bn(alternative)})"
        )
    return text


def mobilised_text(numbers: dict[str, float]) -> str:
    """Money others put in, by who provides it (never added to the totals); "" when none is reported."""
    parts = [
        (numbers.get("mobilized_private_usd", 0.0), "from private investors"),
        (numbers.get("mobilized_public_usd", 0.0), "of public financing"),
        (numbers.get("mobilized_unsplit_usd", 0.0), "from investors the sources do not split into private and public"),
    ]
    named = [f"{_bn(value)} {who}" for value, who in parts if value]
    if not named:
        return ""
    listed = and_list(named)
    return f"Beside it, the sources report money mobilised from others, never added to the totals: {listed}."


def commitments_text(records: pd.DataFrame) -> str:
    """The commitments without money in a slice, counted by kind ("" when there are none)."""
    rows = commitments(records)
    if rows.empty:
        return ""
    counts = rows["kind"].value_counts()
    kinds = [
        f"{count} {KINDS[kind].label.lower() if count == 1 else KINDS[kind].plural}" for kind, count in counts.items()
    ]
    listed = and_list(kinds)
    return (
        f"The sources also list {plural(len(rows), 'commitment')} without money ({esc(listed)}): shown apart, "
        "never counted as financing."
    )


def _summary_with_money(financing: pd.DataFrame, by: str) -> tuple[pd.DataFrame, float]:
    """``funding_summary`` by ``by``, the best funded first, and its stated total (NaN or 0: none stated)."""
    table = funding_summary(financing, by)
    return table, float(table["total_usd"].sum(min_count=1))


def finding_by_agency(financing: pd.DataFrame) -> str:
    """A chart title stating the agency finding."""
    table, total = _summary_with_money(financing, "agency")
    if not is_stated(total) or total == 0:
        return "No amounts stated"
    lead = table.iloc[0]
    binding = binding_share_words(table["binding_usd"].sum(), total)
    if len(table) == 1:
        return f"{lead['agency']}: {_bn(total)}, {binding}"
    return f"{lead['agency']} accounts for {share_text(lead['total_usd'], total)} of {_bn(total)}; {binding}"


def binding_share_words(binding: float, total: float) -> str:
    """How much of a stated total binds, in words: "none of it binding", "all of it binding", "40% of it binding"."""
    if not binding:
        return "none of it binding"
    if binding >= total:
        return "all of it binding"
    return f"{share_text(binding, total)} of it binding"


def finding_by_mineral(financing: pd.DataFrame) -> str:
    """A chart title stating the mineral finding, including the not-stated share."""
    table = funding_summary(financing, "mineral")
    named = table[(table["mineral"] != NOT_STATED) & (table["total_usd"] > 0)]
    share = share_text(not_stated_share(financing), 1)
    if named.empty:
        return f"No mineral is named for {share} of the money" if share != NOT_STATED else "No amounts stated"
    lead = named.iloc[0]
    unnamed = (
        "every item names its mineral" if not_stated_share(financing) == 0 else f"{share} of the money names no mineral"
    )
    return f"{lead['mineral'].capitalize()} leads the named minerals with {_bn(lead['total_usd'])}; {unnamed}"


def finding_by_instrument(financing: pd.DataFrame) -> str:
    """A chart title stating the instrument finding."""
    table, total = _summary_with_money(financing, "instrument")
    if not is_stated(total) or total == 0:
        return "No amounts stated"
    lead = table.iloc[0]
    if lead["instrument_label"] == "Not stated":
        if lead["total_usd"] >= total:
            return "The sources name no instrument for any of the money"
        return f"The sources name no instrument for {share_text(lead['total_usd'], total)} of the money"
    return f"{lead['label']} is the largest instrument: {_bn(lead['total_usd'])}"


def finding_by_country(financing: pd.DataFrame) -> str:
    """A chart title stating where most located money goes (plain text: a chart title is drawn, never HTML)."""
    table = funding_summary(financing, "country")
    located = table[(table["country"] != "Location not stated") & (table["total_usd"] > 0)]
    if located.empty:
        return "No located amounts"
    lead = located.iloc[0]
    shared = " (shared items counted in full)" if lead.get("shared_items", 0) else ""
    if len(located) == 1:
        return (
            f"All the money with a stated place is in {with_article(lead['label'])}: {_bn(lead['total_usd'])}{shared}"
        )
    return f"{lead['label']} is the largest stated destination: {_bn(lead['total_usd'])}{shared}"


def binding_parts_text(numbers: dict[str, float]) -> str:
    """The other parts of a total as a clause ("$1.0 bn is not binding and for $565 m the sources state no
    stage"); "" when all of it binds or nothing is stated."""
    parts = []
    if numbers["non_binding_usd"]:
        parts.append(f"{_bn(numbers['non_binding_usd'])} is not binding")
    if numbers["not_stated_usd"]:
        parts.append(f"for {_bn(numbers['not_stated_usd'])} the sources state no stage")
    return " and ".join(parts)


def agency_name(code: str, *, start: bool = False) -> str:
    """An agency's name as it stands in a sentence: "the Department of Energy" ("The ..." to open one)."""
    return ("The " if start else "the ") + AGENCIES[code].label


def stage_text(records: pd.DataFrame) -> str:
    """The money by stage, in the ladder's order, as the sources word it ("" when no amount is stated)."""
    table = funding_summary(records, "stage")
    table = table[table["total_usd"] > 0]
    if table.empty:
        return ""
    parts = [
        f"{_bn(row['total_usd'])} {'with no stage stated' if row['stage'] == 'not_stated' else STAGE_PHRASES[row['stage']]}"
        for _, row in table.iterrows()
    ]
    listed = and_list(parts)
    return f"By stage, in the sources' words: {listed}."


#: How a stage reads after an amount ("$14.8 bn in letters of interest").
STAGE_PHRASES = {
    "announced": "announced",
    "in_negotiation": "in negotiation",
    "letter_of_interest": "in letters of interest",
    "letter_of_intent": "in a letter of intent",
    "notice_of_intent": "in notices of intent",
    "funding_opportunity": "in notices of funding opportunities",
    "signed": "signed",
    "conditional": "conditionally committed",
    "approved": "approved or authorised",
    "closed": "closed",
    "disbursed": "disbursed",
}


def agency_headline(financing: pd.DataFrame, code: str) -> str:
    """The agency brief's paragraph under its first chart: the money by stage and how stated totals are counted
    (the key findings above give the totals, mobilised money and commitments)."""
    rows = financing[financing["agency"] == code]
    aggregates = money(rows)[money(rows)["is_aggregate"]]
    text = stage_text(rows)
    for _, total in aggregates.iterrows():
        parts = rows[rows["parent_id"] == total["record_id"]]
        qualifier = "" if total["amount_qualifier"] == "exact" else f"{esc(total['amount_qualifier'])} "
        listed = float(parts["counted_usd"].fillna(0).sum())
        text += (
            f"\n\n{esc(total['record_id'])} is a stated total ({qualifier}{_bn(total['amount_usd'])}); "
            f"{plural(len(parts))} of it {agreeing(len(parts), 'is', 'are')} listed separately ({_bn(listed)})"
        )
        if total["counted_usd"] > 0:
            text += f" and the remaining {_bn(total['counted_usd'])} is not itemised in the source."
        else:
            text += ", which already reach the stated figure, so only the listed items are counted."
    if not text:
        text = f"No amount is stated for {esc(agency_name(code))}: its records are listed, not summed."
    return text.strip()


def with_article(name: str) -> str:
    """A country's name as it stands in a sentence: "the United States", "the Philippines", "Japan"."""
    plural_or_union = name.startswith(("United ", "European ", "Republic ")) or name.endswith(("s", "Republic"))
    return f"the {name}" if plural_or_union else name


def shared_text(records: pd.DataFrame, iso3: str) -> str:
    """Which of a country's items it shares with other countries, and with whom ("" when none is shared)."""
    rows = money(records)
    shared = rows[rows["country_iso3"].str.contains(";", regex=False)]
    if shared.empty:
        return ""
    partners = sorted({c for codes in shared["country_iso3"] for c in split_codes(codes) if c != iso3})
    names = and_list([with_article(display_name(c)) for c in partners])
    ids = ", ".join(shared["record_id"])
    return (
        f"{plural(len(shared))} ({esc(ids)}) {agreeing(len(shared), 'is', 'are')} shared with {esc(names)}: the "
        "sources do not say how the money splits, so the full amounts are shown here and are not this country's own."
    )


def country_headline(financing_here: pd.DataFrame, membership: pd.DataFrame, iso3: str, name: str) -> str:
    """The paragraph that opens a country's financing section: the money by stage and how the places stand to the
    items (the key findings above give the totals and what is shared)."""
    rows = money(financing_here)
    if rows.empty:
        return f"No financing item in the sources is placed in {esc(with_article(name))}."
    roles = rows["place_role"].value_counts()
    role_text = [f"{plural(count)} {PLACE_ROLE_PHRASES.get(role, role)}" for role, count in roles.items() if role]
    text = stage_text(rows) or f"{plural(len(rows), 'financing item')}, none with a stated amount."
    if role_text:
        listed = and_list(role_text)
        text += f" As the sources place them: {esc(listed)}."
    return text


#: How a place role reads in a country's brief.
PLACE_ROLE_PHRASES = {
    "site": "with the activity here",
    "recipient": "with the money going to its sectors",
    "partner": "with its government as the partner",
    "domestic": "in programmes the source calls domestic",
    "listed": "naming it beside the item without saying its role",
}


def mineral_headline(financing: pd.DataFrame, mineral: str) -> str:
    """The mineral brief's paragraph under its map: the money by stage and the agencies behind it (the key findings
    above give the total and the money of those agencies that names no mineral)."""
    from .analysis import explode_minerals

    rows = explode_minerals(money(financing))
    rows = rows[rows["mineral"] == mineral]
    agencies = [code for code in AGENCIES if code in set(rows["agency"])]
    names = ", ".join("the " + link("agency", code, AGENCIES[code].label) for code in agencies)
    text = stage_text(rows) or f"No amount is stated for {esc(mineral)}."
    if names:
        text += f" The money comes through {names}."
    return text


def finding_participation(membership: pd.DataFrame) -> str:
    """The participation map's title: delegations and bilateral frameworks, counted from the table."""
    roles = roles_by_country(membership)
    delegations = roles[roles["ministerial_participant"]]
    countries = int((delegations["iso3"] != "EUU").sum())
    eu = " and the European Commission" if (delegations["iso3"] == "EUU").any() else ""
    return f"{countries} countries{eu} took part; {int(roles['bilateral_framework'].sum())} signed bilateral frameworks"


def finding_timeline(financing: pd.DataFrame) -> str:
    """The timeline's title: the span of the dated items, each end as precise as the source dates it."""
    from .usd import format_period

    dated = financing[financing["announced_date"].notna()].sort_values("announced_date")
    if dated.empty:
        return "No dated items"
    first, last = dated.iloc[0], dated.iloc[-1]
    span = format_period(
        (first["announced"], first["announced_precision"]), (last["announced"], last["announced_precision"])
    )
    return f"Dated items run from {span.replace(' to ', ' to ', 1)}" if " to " in span else f"Dated items: {span}"


def minerals_by_money(records: pd.DataFrame) -> list[str]:
    """The minerals the financing items name, the best funded first (then by name); ``not stated`` left out."""
    table = funding_summary(records, "mineral")
    table = table[table["mineral"] != NOT_STATED]
    return table.sort_values(["total_usd", "mineral"], ascending=[False, True], na_position="last")["mineral"].tolist()


def key_findings(kind: str, financing: pd.DataFrame, membership: pd.DataFrame, key: str = "") -> list[str]:
    """Three to five sentences (Markdown, data escaped) that say what a brief finds, built from the tables.

    ``financing`` is the whole table or the brief's own records (``briefing.open_brief``); the brief's rows are
    taken here with ``briefing.Tables.brief``. Each sentence is left out where it would say nothing (one agency,
    nothing stated); a shared amount is never called a country's own.
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
    if numbers["items"] and not is_stated(total):
        out.append(f"**{plural(numbers['items'], 'financing item')}**, none with a stated amount.")
    elif numbers["items"]:
        out.append(
            f"**{plural(numbers['items'], 'financing item')}** worth **{_bn(total)}** (stated totals counted once): "
            f"{binding_clause(numbers)}."
        )
    else:
        out.append("The sources list no financing item for this brief.")
    if kind in ("overview", "country", "mineral") and numbers["items"] and is_stated(total):
        by_agency = funding_summary(rows, "agency")
        lead = by_agency.iloc[0]
        if len(by_agency) > 1 and lead["total_usd"] > 0:
            out.append(
                f"The {link('agency', lead['agency'], AGENCIES[lead['agency']].label)} provides the most: "
                f"{_bn(lead['total_usd'])} ({share_text(lead['total_usd'], total)})."
            )
    if kind in ("overview", "agency", "mineral") and numbers["items"] and is_stated(total):
        places = funding_summary(rows, "country")
        places = places[(places["country"] != "Location not stated") & (places["total_usd"] > 0)]
        if len(places) == 1:
            only = places.iloc[0]
            out.append(
                f"All the money with a stated place is placed in "
                f"{link('country', only['country'], display_name(only['country']))} ({_bn(only['total_usd'])})."
            )
        elif len(places):
            top = places.iloc[0]
            counted = (
                " (an item shared between countries counts in full in each)" if places["shared_items"].any() else ""
            )
            out.append(
                f"By place{counted}, {link('country', top['country'], display_name(top['country']))} comes first "
                f"with {_bn(top['total_usd'])}; next is "
                f"{link('country', places.iloc[1]['country'], display_name(places.iloc[1]['country']))} with "
                f"{_bn(places.iloc[1]['total_usd'])}."
            )
    if kind in ("overview", "agency") and numbers["items"]:
        share = not_stated_share(rows)
        minerals = minerals_by_money(rows)
        if minerals:
            named = ", ".join(link("mineral", m, m) for m in minerals[:6]) + (
                f" and {len(minerals) - 6} more" if len(minerals) > 6 else ""
            )
            lead = f"{share_text(share, 1)} of the money names no mineral; the" if is_stated(share) else "The"
            out.append(f"{lead} items name {named}, the best funded first.")
        else:
            out.append("No item names a mineral.")
    if kind == "country":
        here = membership[membership["iso3"] == key]
        groups = [group_in_sentence(g) for g in GROUPS if g in set(here["group"])]
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
        shared = shared_text(rows, key)
        if shared:
            out.append(shared[:1].upper() + shared[1:])
    if kind == "mineral":
        agencies = [a for a in AGENCIES if a in set(money(rows)["agency"])]
        scope = money(financing)[money(financing)["agency"].isin(agencies)]
        unstated = float(scope.loc[scope["minerals"] == NOT_STATED, "counted_usd"].sum(min_count=1))
        if is_stated(unstated) and unstated > 0:
            out.append(
                f"The same agencies list {_bn(unstated)} with no mineral named; some may go to {esc(key)}, "
                "the sources do not say."
            )
    for extra in (mobilised_text(numbers), commitments_text(rows)):
        if extra:
            out.append(extra)
    return out[:5]


def one_line_finding(kind: str, financing: pd.DataFrame, membership: pd.DataFrame, key: str = "", tables=None) -> str:
    """The brief's finding in one plain-text line (for the index): its items, total and binding share ("" for a
    kind of brief this project does not make). ``tables`` (``briefing.Tables`` of these frames) saves grouping
    them again for every brief."""
    if kind not in ("overview", "agency", "country", "mineral"):
        return ""
    rows = (tables.brief(kind, key) if tables is not None else _brief(kind, financing, membership, key)).rows
    numbers = headline_numbers(rows)
    others = len(commitments(rows))
    also = f"; {plural(others, 'commitment')} without money" if others else ""
    if kind == "country" and not numbers["items"]:
        here = membership[membership["iso3"] == key]
        groups = [GROUP_SHORT[g] for g in GROUPS if g in set(here["group"])]
        return (", ".join(groups) or "no role in the sources").capitalize() + f"; no financing item placed here{also}."
    if not numbers["items"]:
        return f"No financing item in the sources{also}."
    items = plural(numbers["items"], "financing item")
    if not is_stated(numbers["total_usd"]):
        return f"{items}, no amount stated{also}."
    binding = binding_share_words(numbers["binding_usd"], numbers["total_usd"])
    if numbers["not_stated_usd"]:
        binding += f", stage not stated for {format_usd(numbers['not_stated_usd'])}"
    return f"{items}, {format_usd(numbers['total_usd'])}, {binding}{also}."


def _brief(kind: str, financing: pd.DataFrame, membership: pd.DataFrame, key: str):
    """The brief's records (``briefing.Tables.brief``: the one definition of what a brief draws on)."""
    from .briefing import Tables

    return Tables(financing, membership).brief(kind, key)
