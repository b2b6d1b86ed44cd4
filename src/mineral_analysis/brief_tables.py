"""The tables a brief shows: headline figures, summaries, participants and agreements, the items and their
notes (as DataFrames for ``display.show_table`` or as HTML laid out for the page, data escaped)."""

from __future__ import annotations

import re

import pandas as pd

from .analysis import headline_numbers, roles_by_country
from .display import esc
from .links import brief_href, display_name
from .usd import format_usd
from .vocab import GROUP_SHORT, NOT_STATED


def participants_table(membership: pd.DataFrame) -> pd.DataFrame:
    """Countries (and the EU) with their roles, one row each, for display."""
    roles = roles_by_country(membership)
    return pd.DataFrame({"Country": roles["name"], "ISO3": roles["iso3"], "Roles": roles["roles"]})


def agreements_table(membership: pd.DataFrame) -> pd.DataFrame:
    """Every role other than the delegation itself (frameworks, FORGE, plans, partnerships), with sources."""
    rows = membership[membership["group"] != "ministerial_participant"]
    return pd.DataFrame(
        {
            "Role": rows["group"].map(GROUP_SHORT),
            "Country": rows["name"],
            "As written": rows["name_as_written"],
            "Source": rows["source"],
            "Sources": rows["source_count"],
            "Conflict": rows["conflict"],
            "Note": rows["note"],
        }
    ).reset_index(drop=True)


def headline_table(financing: pd.DataFrame) -> pd.DataFrame:
    """Total, binding, non-binding and mobilised USD for a slice, as a two-column table."""
    numbers = headline_numbers(financing)
    return pd.DataFrame(
        {
            "Measure": [
                "Items",
                "Items with no amount",
                "Total (stated totals counted once)",
                "Binding",
                "Not binding",
                "Binding status not stated",
                "Mobilised from others (not in totals)",
            ],
            "Value": [
                str(numbers["items"]),
                str(numbers["items_without_amount"]),
                format_usd(numbers["total_usd"]),
                format_usd(numbers["binding_usd"]),
                format_usd(numbers["non_binding_usd"]),
                format_usd(numbers["not_stated_usd"]),
                format_usd(numbers["mobilized_usd"]),
            ],
        }
    )


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """A ``funding_summary`` result formatted for display (USD as text)."""
    return pd.DataFrame(
        {
            "Group": summary["label"],
            "Items": summary["items"],
            "Total": summary["total_usd"].map(format_usd),
            "Binding": summary["binding_usd"].map(format_usd),
            "Not binding": summary["non_binding_usd"].map(format_usd),
            "Not stated": summary["not_stated_usd"].map(format_usd),
            "Mobilised (apart)": summary["mobilized_usd"].map(lambda v: format_usd(v) if v else ""),
        }
    )


def or_none(frame: pd.DataFrame, message: str) -> pd.DataFrame:
    """``frame``, or a one-cell table carrying ``message`` when it is empty (so a brief never shows a blank)."""
    return frame if len(frame) else pd.DataFrame({"": [message]})


def item_notes_table(financing: pd.DataFrame) -> pd.DataFrame:
    """The curator's note for every item that has one (ambiguities, inferences), keyed by item ID."""
    rows = financing[financing["note"] != ""].sort_values(["agency", "record_id"])
    return or_none(
        pd.DataFrame({"ID": rows["record_id"], "Note": rows["note"]}).reset_index(drop=True), "No notes on these items"
    )


def items_table_html(financing: pd.DataFrame, *, compact: bool = False) -> str:
    """The financing items as an HTML table laid out for the page, each row anchored by its record id.

    Seven columns (ID, item, amount, binding, instrument, where and minerals, source); agencies, countries and
    minerals link to their briefs; conflicts and notes follow as a list keyed by ID (``item_notes_html``).
    ``compact`` keeps five (ID, item, amount, binding, source): the overview's list, whose IDs lead to the
    agency briefs that give the rest.
    """
    from .analysis import items_table

    table = items_table(financing)
    ordered = financing.sort_values(["agency", "record_id"]).reset_index(drop=True)
    head = (
        '<thead><tr><th scope="col">ID</th><th scope="col">Item</th><th scope="col">Amount</th>'
        '<th scope="col">Binding</th><th scope="col">Instrument</th><th scope="col">Where · minerals</th>'
        '<th scope="col">Source</th></tr></thead>'
    )
    body = []
    for (_, row), (_, raw) in zip(table.iterrows(), ordered.iterrows()):
        codes = [c for c in str(raw["country_iso3"]).split(";") if c]
        where = ", ".join(f'<a href="{brief_href("country", c)}">{esc(display_name(c))}</a>' for c in codes)
        if raw["subnational"]:
            where += (" (" if where else "") + esc(str(raw["subnational"]).replace(";", ", ")) + (")" if where else "")
        minerals = [m for m in str(raw["minerals"]).split(";") if m and m != NOT_STATED]
        mineral_text = ", ".join(f'<a href="{brief_href("mineral", m)}">{esc(m)}</a>' for m in minerals)
        cell = " · ".join(x for x in (where or "location not stated", mineral_text or "mineral not stated"))
        mobilised = f"<br><small>+ {esc(row['Mobilised'])} mobilised</small>" if row["Mobilised"] else ""
        flag = " *" if raw["conflict"] else ""
        middle = "" if compact else f"<td>{esc(row['Instrument'])}</td><td>{cell}</td>"
        body.append(
            f'<tr id="{esc(row["ID"])}"><th scope="row"><a href="{brief_href("agency", raw["agency"])}">'
            f'{esc(row["ID"])}</a></th><td>{esc(row["Item"])}</td><td class="num">{esc(row["Amount"])}{mobilised}</td>'
            f'<td><span class="binding binding-{esc(row["Binding"].replace(" ", "-"))}">{esc(row["Binding"])}</span></td>'
            f'{middle}<td class="source">{esc(row["Source"])}{flag}</td></tr>'
        )
    caption = (
        "<caption>Financing items, by agency. ID links to the agency's brief; * marks an item whose sources "
        "disagree (see the item's notes).</caption>"
    )
    if compact:
        head = re.sub(r'<th scope="col">(Instrument|Where · minerals)</th>', "", head)
    kind = "items-table items-compact" if compact else "items-table"
    return f'<table class="{kind}">{caption}{head}<tbody>{"".join(body)}</tbody></table>'


def item_notes_html(financing: pd.DataFrame) -> str:
    """Conflicts between sources and curator's notes, one list entry per item that has any, keyed by ID."""
    rows = financing[(financing["note"] != "") | (financing["conflict"] != "")].sort_values(["agency", "record_id"])
    if rows.empty:
        return ""
    entries = []
    for _, row in rows.iterrows():
        text = esc(row["note"])
        if row["conflict"]:
            text += (" " if text else "") + f"<em>Sources differ:</em> {esc(row['conflict'])}"
        entries.append(f'<li><a href="#{esc(row["record_id"])}">{esc(row["record_id"])}</a>: {text}</li>')
    return f'<div class="item-notes"><h3>Notes on the items</h3><ul>{"".join(entries)}</ul></div>'


def participants_html(membership: pd.DataFrame) -> str:
    """Every participant under its most specific role, each name linking to its country brief."""
    from .analysis import ROLE_PRIORITY

    roles = roles_by_country(membership)
    entries = []
    for role in ROLE_PRIORITY:
        members = roles[roles["primary_role"] == role]
        if members.empty:
            continue
        names = ", ".join(
            f'<a href="{brief_href("country", r["iso3"])}">{esc(display_name(r["iso3"], r["name"]))}</a>'
            for _, r in members.iterrows()
        )
        label = "Delegation only" if role == "ministerial_participant" else GROUP_SHORT[role]
        entries.append(f"<dt>{esc(label)} ({len(members)})</dt><dd>{names}</dd>")
    return (
        f'<div class="participants"><h3>Participants by their most specific role ({len(roles)})</h3>'
        f"<dl>{''.join(entries)}</dl></div>"
    )


def agreements_html(membership: pd.DataFrame, empty: str = "No agreement in the sources") -> str:
    """Every role other than the delegation itself, with its source; notes and conflicts as a list below."""
    rows = membership[membership["group"] != "ministerial_participant"]
    if rows.empty:
        return f"<p>{esc(empty)}.</p>"
    body, notes = [], []
    for _, r in rows.iterrows():
        flag = " *" if r["conflict"] else ""
        body.append(
            f'<tr id="{esc(r["record_id"])}"><th scope="row">{esc(r["record_id"])}</th>'
            f"<td>{esc(GROUP_SHORT[r['group']])}</td>"
            f'<td><a href="{brief_href("country", r["iso3"])}">{esc(display_name(r["iso3"], r["name"]))}</a></td>'
            f'<td lang="ru">{esc(r["name_as_written"])}</td><td class="source">{esc(r["source"])}{flag}</td></tr>'
        )
        text = esc(r["note"])
        if r["conflict"]:
            text += (" " if text else "") + f"<em>Sources differ:</em> {esc(r['conflict'])}"
        if text:
            notes.append(f'<li><a href="#{esc(r["record_id"])}">{esc(r["record_id"])}</a>: {text}</li>')
    table = (
        '<table class="agreements-table"><caption>Roles beyond the delegation; * marks a role whose sources '
        'disagree</caption><thead><tr><th scope="col">ID</th><th scope="col">Role</th><th scope="col">Country</th>'
        f'<th scope="col">As written</th><th scope="col">Source</th></tr></thead><tbody>{"".join(body)}</tbody></table>'
    )
    return table + (
        f'<div class="item-notes"><h3>Notes on the roles</h3><ul>{"".join(notes)}</ul></div>' if notes else ""
    )
