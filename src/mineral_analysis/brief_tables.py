"""The tables a brief shows: headline figures, summaries, participants and agreements, the items and their
notes (as DataFrames for ``display.show_table`` or as HTML laid out for the page, data escaped)."""

from __future__ import annotations

import re

import pandas as pd

from .analysis import roles_by_country
from .display import esc, plural
from .frames import split_codes
from .links import brief_href, display_name
from .totals import commitments, headline_numbers, money
from .usd import format_usd, is_stated
from .vocab import GROUP_SHORT, NOT_STATED, ROLE_PRIORITY


def headline_table(financing: pd.DataFrame) -> pd.DataFrame:
    """The slice's headline figures as a two-column table: counts, totals and their parts, mobilised money by who
    provides it, commitments without money. A row that would only say "none" is left out; a total the sources do
    not state reads "not stated"."""
    numbers = headline_numbers(financing)
    rows = [("Financing items", str(numbers["items"]))]
    if numbers["items_without_amount"]:
        rows.append(("Financing items with no amount", str(numbers["items_without_amount"])))
    rows.append(("Total (stated totals counted once)", format_usd(numbers["total_usd"])))
    if is_stated(numbers["total_usd"]):
        rows += [
            ("Binding", format_usd(numbers["binding_usd"]) if numbers["binding_usd"] else "none"),
            ("Not binding", format_usd(numbers["non_binding_usd"]) if numbers["non_binding_usd"] else "none"),
        ]
        if numbers["not_stated_usd"]:
            rows.append(("Stage not stated", format_usd(numbers["not_stated_usd"])))
        if numbers["binding_if_alternative_usd"] > numbers["binding_usd"]:
            rows.append(
                (
                    "Binding if items of unstated stage are read as made",
                    format_usd(numbers["binding_if_alternative_usd"]),
                )
            )
    for key, label in (
        ("mobilized_private_usd", "Mobilised from private investors (not in totals)"),
        ("mobilized_public_usd", "Mobilised public financing (not in totals)"),
        ("mobilized_unsplit_usd", "Mobilised, private and public not split (not in totals)"),
    ):
        if numbers[key]:
            rows.append((label, format_usd(numbers[key])))
    if numbers["commitments"]:
        rows.append(("Commitments without money (not counted)", str(numbers["commitments"])))
    return pd.DataFrame(rows, columns=["Measure", "Value"])


#: The headline rows whose figure opens to the items it sums, and how each picks its items.
_SUMMED = {
    "Total (stated totals counted once)": lambda rows: rows["counted_usd"].gt(0),
    "Binding": lambda rows: rows["binding_status"].eq("binding") & rows["counted_usd"].gt(0),
    "Not binding": lambda rows: rows["binding_status"].eq("not binding") & rows["counted_usd"].gt(0),
    "Stage not stated": lambda rows: rows["binding_status"].eq("not stated") & rows["counted_usd"].gt(0),
    "Binding if items of unstated stage are read as made": lambda rows: (
        rows["alternative_binding_status"].eq("binding") & rows["counted_usd"].gt(0)
    ),
}


def headline_html(financing: pd.DataFrame) -> str:
    """The headline figures (``headline_table``) as an HTML table in which each total opens (``<details>``, no
    script) to the items it sums, largest first, each ID linking to its row on the page; "" without a financing
    item."""
    if headline_numbers(financing)["items"] == 0:
        return ""  # no financing item: the sentence above says so, a table of noughts would only pad the page
    table = headline_table(financing)
    rows = money(financing).sort_values(["counted_usd", "record_id"], ascending=[False, True])
    body = []
    for measure, value in zip(table["Measure"], table["Value"]):
        pick = _SUMMED.get(measure)
        summed = rows[pick(rows)] if pick is not None and value not in ("none", "not stated") else rows.iloc[0:0]
        if len(summed):
            items = ", ".join(
                f'<a href="#{esc(rid)}">{esc(rid)}</a> {esc(format_usd(usd))}'
                + (" (not itemised)" if aggregate else "")
                for rid, usd, aggregate in zip(summed["record_id"], summed["counted_usd"], summed["is_aggregate"])
            )
            cell = (
                f'<details><summary class="num">{esc(value)}</summary>'
                f"<p>{esc(plural(len(summed)))}: {items}</p></details>"
            )
        else:
            cell = esc(value)
        body.append(f'<tr><th scope="row">{esc(measure)}</th><td class="num">{cell}</td></tr>')
    return (
        '<table class="brief-table headline-table"><caption>Headline figures (open a total to see the items it '
        'sums)</caption><thead><tr><th scope="col">Measure</th><th scope="col">Value</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """A ``funding_summary`` result formatted for display (USD as text; "not stated" where no amount is)."""
    return pd.DataFrame(
        {
            "Group": summary["label"],
            "Items": summary["items"],
            "Total": summary["total_usd"].map(format_usd),
            "Binding": summary["binding_usd"].map(format_usd),
            "Not binding": summary["non_binding_usd"].map(format_usd),
            "Stage not stated": summary["not_stated_usd"].map(format_usd),
            "Mobilised (apart)": summary["mobilized_usd"].map(lambda v: format_usd(v) if v else ""),
        }
    )


def _record_link(record_id: str, record_agency: str, page_agency: str | None) -> str:
    """A record's ID in its row: a link to the row in its agency's brief, or plain text on that brief itself."""
    if record_agency == page_agency:
        return esc(record_id)
    return f'<a href="{brief_href("agency", record_agency)}#{esc(record_id)}">{esc(record_id)}</a>'


def place_links(codes: str, subnational: str) -> str:
    """An item's places as links to their country briefs, each with its state or region where the source gives
    one: "South Korea, United States (Tennessee)" (``subnational`` has one part per country, in order)."""
    countries = split_codes(codes)
    parts = [part.strip() for part in subnational.split(";")] if subnational else []
    parts += [""] * (len(countries) - len(parts))
    return ", ".join(
        f'<a href="{brief_href("country", code)}">{esc(display_name(code))}</a>' + (f" ({esc(part)})" if part else "")
        for code, part in zip(countries, parts)
    )


def items_table_html(financing: pd.DataFrame, *, compact: bool = False, agency: str | None = None) -> str:
    """The financing items as an HTML table laid out for the page, each row anchored by its record id.

    Seven columns (ID, item, amount, binding, instrument, where and minerals, source); countries and minerals
    link to their briefs, and an ID to the item's row in its agency's brief (``agency-dfc.html#DFC-05``);
    conflicts and notes follow as a list keyed by ID (``item_notes_html``). ``agency`` names the agency whose own
    brief shows the table: its IDs are not links there (the row is already where such a link would lead).
    ``compact`` keeps five (ID, item, amount, binding, source): the overview's list, whose IDs lead to the
    agency briefs that give the rest.
    """
    from .analysis import items_table

    records = financing
    financing = money(records)
    table = items_table(financing)
    ordered = financing.sort_values(["agency", "record_id"]).reset_index(drop=True)
    head = (
        '<thead><tr><th scope="col">ID</th><th scope="col">Item</th><th scope="col">Amount</th>'
        '<th scope="col">Binding · stage</th><th scope="col">Instrument</th><th scope="col">Where · minerals</th>'
        '<th scope="col">Source</th></tr></thead>'
    )
    body = []
    for (_, row), (_, raw) in zip(table.iterrows(), ordered.iterrows()):
        where = place_links(str(raw["country_iso3"]), str(raw["subnational"]))
        minerals = [m for m in str(raw["minerals"]).split(";") if m and m != NOT_STATED]
        mineral_text = ", ".join(f'<a href="{brief_href("mineral", m)}">{esc(m)}</a>' for m in minerals)
        cell = " · ".join(x for x in (where or "location not stated", mineral_text or "mineral not stated"))
        mobilised = f"<br><small>+ {esc(row['Mobilised'])} mobilised</small>" if row["Mobilised"] else ""
        flag = " *" if raw["conflict"] else ""
        middle = "" if compact else f"<td>{esc(row['Instrument'])}</td><td>{cell}</td>"
        body.append(
            f'<tr id="{esc(row["ID"])}"><th scope="row">{_record_link(row["ID"], raw["agency"], agency)}</th>'
            f'<td>{esc(row["Item"])}</td><td class="num">{esc(row["Amount"])}{mobilised}</td>'
            f'<td><span class="binding binding-{esc(row["Binding"].replace(" ", "-"))}">{esc(row["Binding"])}</span>'
            f"<br><small>{esc(row['Stage'])}</small></td>"
            f'{middle}<td class="source">{esc(row["Source"])}{flag}</td></tr>'
        )
    leads = (
        ""
        if agency is not None and set(ordered["agency"]) <= {agency}
        else "ID links to the item in its agency's brief; "
    )
    caption = (
        f"<caption>Financing items, by agency. {leads}* marks an item whose sources disagree "
        "(see the item's notes).</caption>"
    )
    if compact:
        head = re.sub(r'<th scope="col">(Instrument|Where · minerals)</th>', "", head)
    kind = "items-table items-compact" if compact else "items-table"
    table_html = f'<table class="{kind}">{caption}{head}<tbody>{"".join(body)}</tbody></table>' if body else ""
    return table_html + commitments_html(records, agency=agency)


def commitments_html(records: pd.DataFrame, *, agency: str | None = None) -> str:
    """The commitments without money (plans, memoranda, talks, partnerships) as their own table: what they are,
    their stage and date, where, and their source; "" when the slice has none."""
    from .analysis import items_table

    rows = commitments(records)
    if rows.empty:
        return ""
    table = items_table(rows)
    ordered = rows.sort_values(["agency", "record_id"]).reset_index(drop=True)
    body = []
    for (_, row), (_, raw) in zip(table.iterrows(), ordered.iterrows()):
        where = place_links(str(raw["country_iso3"]), str(raw["subnational"]))
        body.append(
            f'<tr id="{esc(row["ID"])}"><th scope="row">{_record_link(row["ID"], raw["agency"], agency)}</th>'
            f"<td>{esc(row['Item'])}</td>"
            f"<td>{esc(row['Kind'])}</td><td>{esc(row['Stage'])}</td><td>{esc(row['Date'])}</td>"
            f'<td>{where or "not stated"}</td><td class="source">{esc(row["Source"])}</td></tr>'
        )
    return (
        '<table class="items-table commitments-table"><caption>Commitments without money: listed as what they '
        "are, never counted as financing.</caption><thead><tr>"
        + "".join(
            f'<th scope="col">{label}</th>' for label in ("ID", "Item", "Kind", "Stage", "Date", "Where", "Source")
        )
        + f"</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


_RECORD_ID = re.compile(r"\b[A-Z]+-\d+\b")


def _link_record_ids(text: str, shown: set[str]) -> str:
    """Escaped text with each record id that has a row on the page (``shown``) linked to that row."""
    return _RECORD_ID.sub(lambda m: f'<a href="#{m[0]}">{m[0]}</a>' if m[0] in shown else m[0], text)


def item_notes_html(financing: pd.DataFrame) -> str:
    """Conflicts between sources and curator's notes, one list entry per item that has any, keyed by ID."""
    rows = financing[(financing["note"] != "") | (financing["conflict"] != "")].sort_values(["agency", "record_id"])
    if rows.empty:
        return ""
    entries = []
    shown = set(financing["record_id"])
    for _, row in rows.iterrows():
        text = _link_record_ids(esc(row["note"]), shown)
        if row["conflict"]:
            conflict = _link_record_ids(esc(row["conflict"]), shown)
            text += (" " if text else "") + f"<em>Sources differ:</em> {conflict}"
        entries.append(f'<li><a href="#{esc(row["record_id"])}">{esc(row["record_id"])}</a>: {text}</li>')
    return f'<div class="item-notes"><h3>Notes on the items</h3><ul>{"".join(entries)}</ul></div>'


def participants_html(membership: pd.DataFrame) -> str:
    """Every participant under its most specific role, each name linking to its country brief."""
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
