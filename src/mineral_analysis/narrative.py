"""Display helpers and data-driven sentences for the brief notebooks.

Notebooks call ``show_figure``, ``show_table`` and ``show_markdown`` so that every brief renders the same
way, and take their finding-stating titles and headline sentences from the functions here. Every data string
is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import html
import io

import pandas as pd

from .amounts import format_usd
from .analysis import funding_summary, headline_numbers, not_stated_share, roles_by_country, share_text
from .vocab import AGENCIES, GROUP_SHORT, GROUPS, NOT_STATED

PNG_DPI = 110


def esc(value: object) -> str:
    """HTML-escape any value for inclusion in Markdown or HTML output."""
    return html.escape(str(value), quote=True)


def show_figure(fig, *, alt: str = "") -> None:
    """Display a matplotlib Figure as an inline PNG and release it (no figure stays open)."""
    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI, bbox_inches="tight", facecolor="white",
                metadata={"Software": None})
    display(Image(data=buffer.getvalue(), format="png", alt=alt or None))
    fig.clear()


def show_table(frame: pd.DataFrame, *, caption: str | None = None) -> None:
    """Display a DataFrame as an escaped HTML table (no index), with an optional caption."""
    from IPython.display import HTML, display

    table = frame.to_html(index=False, escape=True, border=0, classes="brief-table", na_rep="")
    if caption:
        table = table.replace("<thead>", f"<caption>{esc(caption)}</caption>\n  <thead>", 1)
    display(HTML(table))


def show_markdown(text: str) -> None:
    """Display Markdown built by the functions below (their data parts are already escaped)."""
    from IPython.display import Markdown, display

    # A bare "$" would open a LaTeX formula in Markdown; amounts are money, never math.
    display(Markdown(text.replace("$", "\\$")))


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
        + (f" and for {_bn(numbers['not_stated_usd'])} the sources name no instrument or stage. "
           if numbers["not_stated_usd"] else ". ") +
        f"A further {_bn(numbers['mobilized_usd'])} of capital mobilised from others is reported apart.",
    ]
    if lead is not None:
        parts.append(f"{esc(AGENCIES[lead['agency']].label)} accounts for "
                     f"{share_text(lead['total_usd'], numbers['total_usd'])} of the money.")
    return "\n\n".join(parts)


def finding_by_agency(financing: pd.DataFrame) -> str:
    """A chart title stating the agency finding."""
    table = funding_summary(financing, "agency")
    if table.empty or table["total_usd"].sum() == 0:
        return "No amounts stated"
    total = table["total_usd"].sum()
    lead = table.iloc[0]
    return (f"{lead['agency']} accounts for {share_text(lead['total_usd'], total)} of {_bn(total)}; "
            f"{share_text(table['binding_usd'].sum(), total)} of it is binding")


def finding_by_mineral(financing: pd.DataFrame) -> str:
    """A chart title stating the mineral finding, including the not-stated share."""
    table = funding_summary(financing, "mineral")
    named = table[table["mineral"] != NOT_STATED]
    share = share_text(not_stated_share(financing) * 100, 100)
    if named.empty or named["total_usd"].max() == 0:
        return f"No mineral is named for {share} of the money"
    lead = named.iloc[0]
    return (f"{lead['mineral'].capitalize()} leads the named minerals with {_bn(lead['total_usd'])}; "
            f"{share} of the money names no mineral")


def finding_by_instrument(financing: pd.DataFrame) -> str:
    """A chart title stating the instrument finding."""
    table = funding_summary(financing, "instrument")
    if table.empty or table["total_usd"].sum() == 0:
        return "No amounts stated"
    lead = table.iloc[0]
    return f"{lead['label']} is the largest instrument: {_bn(lead['total_usd'])}"


def finding_by_country(financing: pd.DataFrame) -> str:
    """A chart title stating where most located money goes."""
    table = funding_summary(financing, "country")
    located = table[table["country"] != "Location not stated"]
    if located.empty or located["total_usd"].max() == 0:
        return "No located amounts"
    lead = located.iloc[0]
    return f"{esc(lead['label'])} is the largest stated destination: {_bn(lead['total_usd'])}"


def participants_table(membership: pd.DataFrame) -> pd.DataFrame:
    """Countries (and the EU) with their roles, one row each, for display."""
    roles = roles_by_country(membership)
    return pd.DataFrame({"Country": roles["name"], "ISO3": roles["iso3"], "Roles": roles["roles"]})


def agreements_table(membership: pd.DataFrame) -> pd.DataFrame:
    """Every role other than the delegation itself (frameworks, FORGE, plans, partnerships), with sources."""
    rows = membership[membership["group"] != "ministerial_participant"]
    return pd.DataFrame({
        "Role": rows["group"].map(GROUP_SHORT),
        "Country": rows["name"],
        "As written": rows["name_as_written"],
        "Source": rows["source"],
        "Sources": rows["source_count"],
        "Conflict": rows["conflict"],
        "Note": rows["note"],
    }).reset_index(drop=True)


def headline_table(financing: pd.DataFrame) -> pd.DataFrame:
    """Total, binding, non-binding and mobilised USD for a slice, as a two-column table."""
    numbers = headline_numbers(financing)
    return pd.DataFrame({
        "Measure": ["Items", "Items with no amount", "Total (stated totals counted once)", "Binding",
                    "Not binding", "Binding status not stated", "Mobilised from others (not in totals)"],
        "Value": [str(numbers["items"]), str(numbers["items_without_amount"]), _bn(numbers["total_usd"]),
                  _bn(numbers["binding_usd"]), _bn(numbers["non_binding_usd"]), _bn(numbers["not_stated_usd"]),
                  _bn(numbers["mobilized_usd"])],
    })


def agency_headline(financing: pd.DataFrame, code: str) -> str:
    """The agency brief's opening paragraph."""
    rows = financing[financing["agency"] == code]
    numbers = headline_numbers(rows)
    aggregates = rows[rows["is_aggregate"]]
    text = (f"The sources list **{numbers['items']} items** for {esc(AGENCIES[code].label)}, worth "
            f"**{_bn(numbers['total_usd'])}** (stated totals counted once), of which **{_bn(numbers['binding_usd'])} "
            f"({share_text(numbers['binding_usd'], numbers['total_usd'])}) is binding**.")
    if numbers["mobilized_usd"]:
        text += f" The items report a further {_bn(numbers['mobilized_usd'])} mobilised from others, shown apart."
    for _, total in aggregates.iterrows():
        parts = rows[rows["parent_id"] == total["record_id"]]
        text += (f"\n\n{esc(total['record_id'])} is a stated total ({esc(total['amount_qualifier'])} "
                 f"{_bn(total['amount_usd'])}); {len(parts)} of its items are listed separately and "
                 f"{_bn(total['counted_usd'])} is not itemised in the source.")
    return text


def country_headline(financing_here: pd.DataFrame, membership: pd.DataFrame, iso3: str, name: str) -> str:
    """The country brief's opening paragraph: its roles and the money located there."""
    roles = membership[membership["iso3"] == iso3]
    role_text = ", ".join(GROUP_SHORT[g] for g in GROUPS if g in set(roles["group"])) or "no ministerial role in the sources"
    numbers = headline_numbers(financing_here)
    text = f"**{esc(name)}** ({esc(iso3)}). Roles: {esc(role_text)}."
    if numbers["items"]:
        text += (f"\n\n**{numbers['items']} financing item(s)** are located here, worth **{_bn(numbers['total_usd'])}**, "
                 f"of which {_bn(numbers['binding_usd'])} is binding.")
        shared = financing_here[financing_here["country_iso3"].str.contains(";")]
        if len(shared):
            text += (f" {len(shared)} of them are also located in other countries; their full amounts are shown "
                     "here because the sources do not say how they split.")
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
    return (f"**{numbers['items']} item(s)** name {esc(mineral)}, worth **{_bn(numbers['total_usd'])}** "
            f"({_bn(numbers['binding_usd'])} binding), through {names}.\n\n"
            f"The same agencies list **{_bn(unstated_usd)} ({share_text(unstated_usd, scope_total)} of their "
            f"money)** with no mineral stated. Some of it may go to {esc(mineral)}, but the sources do not say, so "
            "it is not counted here.")


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """A ``funding_summary`` result formatted for display (USD as text)."""
    return pd.DataFrame({
        "Group": summary["label"],
        "Items": summary["items"],
        "Total": summary["total_usd"].map(_bn),
        "Binding": summary["binding_usd"].map(_bn),
        "Not binding": summary["non_binding_usd"].map(_bn),
        "Not stated": summary["not_stated_usd"].map(_bn),
        "Mobilised (apart)": summary["mobilized_usd"].map(lambda v: _bn(v) if v else ""),
    })


def or_none(frame: pd.DataFrame, message: str) -> pd.DataFrame:
    """``frame``, or a one-cell table carrying ``message`` when it is empty (so a brief never shows a blank)."""
    return frame if len(frame) else pd.DataFrame({"": [message]})



def item_notes_table(financing: pd.DataFrame) -> pd.DataFrame:
    """The curator's note for every item that has one (ambiguities, inferences), keyed by item ID."""
    rows = financing[financing["note"] != ""].sort_values(["agency", "record_id"])
    return or_none(pd.DataFrame({"ID": rows["record_id"], "Note": rows["note"]}).reset_index(drop=True),
                   "No notes on these items")


def finding_participation(membership: pd.DataFrame) -> str:
    """The participation map's title: delegations and bilateral frameworks, counted from the table."""
    roles = roles_by_country(membership)
    delegations = roles[roles["ministerial_participant"]]
    countries = int((delegations["iso3"] != "EUU").sum())
    eu = " and the European Commission" if (delegations["iso3"] == "EUU").any() else ""
    return (f"{countries} countries{eu} took part; "
            f"{int(roles['bilateral_framework'].sum())} signed bilateral frameworks")


def finding_timeline(financing: pd.DataFrame) -> str:
    """The timeline's title: the span of the dated items."""
    dates = financing["announced_date"].dropna()
    if dates.empty:
        return "No dated items"
    return f"Dated items run from {dates.min():%B %Y} to {dates.max():%B %Y}"
