"""Display helpers and data-driven sentences for the brief notebooks.

Notebooks call ``show_figure``, ``show_table`` and ``show_markdown`` so that every brief renders the same
way, and take their finding-stating titles and headline sentences from the functions here. Every data string
in Markdown or HTML is escaped before it reaches the page; chart titles (``finding_*``) are plain text, since
matplotlib draws them and an escape would show as "&amp;".
"""

from __future__ import annotations

import base64
import html
import io
import re

import pandas as pd

from .amounts import format_usd
from .analysis import funding_summary, headline_numbers, not_stated_share, roles_by_country, share_text
from .vocab import AGENCIES, GROUP_SHORT, GROUPS, NOT_STATED

PNG_DPI = 110
#: A phone figure (4.2 in) at this resolution is about 710 pixels wide: sharp at about twice a phone's 366 CSS pixels.
PHONE_PNG_DPI = 170
#: The key of a figure's phone variant in a display output (a JSON mimetype, so Jupyter shows the PNG beside it).
PHONE_MIMETYPE = "application/vnd.mineral-analysis.phone-figure+json"


def esc(value: object) -> str:
    """HTML-escape any value for inclusion in Markdown or HTML output."""
    return html.escape(str(value), quote=True)


def _png(fig, dpi: float) -> str:
    """The figure as a 256-colour PNG, base64-encoded.

    A chart or map has few colours: a palette (median cut, no dithering: the same drawing gives the same bytes)
    takes a third of the bytes of full colour, which keeps a brief with page and phone figures light. No software
    version goes into the file.
    """
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white", metadata={"Software": None})
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")  # (optimize=True would save 5% of the bytes for a fifth of the time)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def show_figure(fig, *, alt: str = "") -> None:
    """Display a matplotlib Figure as an inline PNG and release it (no figure stays open).

    A figure that has a phone variant (:func:`mineral_analysis.style.with_phone_variant`) carries it too, under
    :data:`PHONE_MIMETYPE` (``{"image/png": base64}``): the brief shows it on narrow screens, Jupyter ignores it.
    """
    from IPython.display import display

    data = {"image/png": _png(fig, PNG_DPI), "text/plain": "<Figure>"}
    phone = fig.phone_variant() if callable(getattr(fig, "phone_variant", None)) else None
    if phone is not None:
        data[PHONE_MIMETYPE] = {"image/png": _png(phone, PHONE_PNG_DPI)}
        phone.clear()
    display(data, raw=True, metadata={"image/png": {"alt": alt}} if alt else {})
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
                _bn(numbers["total_usd"]),
                _bn(numbers["binding_usd"]),
                _bn(numbers["non_binding_usd"]),
                _bn(numbers["not_stated_usd"]),
                _bn(numbers["mobilized_usd"]),
            ],
        }
    )


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
            f"The sources list **{numbers['items']} item(s)** for {esc(AGENCIES[code].label)}, none with a "
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
            f"\n\n**{numbers['items']} financing item(s)** are located here, worth **{_bn(numbers['total_usd'])}**, "
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
        f"**{numbers['items']} item(s)** name {esc(mineral)}, worth **{_bn(numbers['total_usd'])}** "
        f"({_bn(numbers['binding_usd'])} binding; {binding_parts_text(numbers)}), through {names}.\n\n"
        f"The same agencies list **{_bn(unstated_usd)} ({share_text(unstated_usd, scope_total)} of their "
        f"money)** with no mineral stated. Some of it may go to {esc(mineral)}, but the sources do not say, so "
        "it is not counted here."
    )


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """A ``funding_summary`` result formatted for display (USD as text)."""
    return pd.DataFrame(
        {
            "Group": summary["label"],
            "Items": summary["items"],
            "Total": summary["total_usd"].map(_bn),
            "Binding": summary["binding_usd"].map(_bn),
            "Not binding": summary["non_binding_usd"].map(_bn),
            "Not stated": summary["not_stated_usd"].map(_bn),
            "Mobilised (apart)": summary["mobilized_usd"].map(lambda v: _bn(v) if v else ""),
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


# ----------------------------------------------------------------------------------------------------------
# First page, links, sources, download and citation


def display_name(iso3: str, name: object = None) -> str:
    """A country's name as the briefs print it (``EUU``: the European Commission, the body the sources name)."""
    from .countries import CountryError, country_name
    from .vocab import SUPRANATIONAL

    if iso3 in SUPRANATIONAL:
        return SUPRANATIONAL[iso3]
    if isinstance(name, str) and name.strip():
        return name.strip()
    try:
        return country_name(iso3)
    except CountryError:  # an unknown code shows as itself
        return iso3


def brief_href(kind: str, key: str = "") -> str:
    """The relative file name of a brief's HTML page (the build's ``Brief.slug``)."""
    from .briefs import Brief

    return f"{Brief(kind, key, '').slug}.html"


def link(kind: str, key: str, text: str) -> str:
    """A Markdown link to another brief, its text escaped."""
    return f"[{esc(text)}]({brief_href(kind, key)})"


def country_links(codes: list[str]) -> str:
    """Country names, each linking to its brief, joined with commas and "and"."""
    parts = [link("country", code, display_name(code)) for code in codes]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1] if parts else ""


def _located_codes(financing: pd.DataFrame) -> list[str]:
    return sorted({c for value in financing["country_iso3"] for c in str(value).split(";") if c})


def _mineral_names(financing: pd.DataFrame) -> list[str]:
    return sorted({m for value in financing["minerals"] for m in str(value).split(";") if m and m != NOT_STATED})


def key_findings(kind: str, financing: pd.DataFrame, membership: pd.DataFrame, key: str = "") -> list[str]:
    """Three to five sentences (Markdown, data escaped) that say what a brief finds, built from the tables.

    ``financing`` is the whole table; the brief's own slice is taken here (agency, location country or mineral).
    """
    from .analysis import explode_minerals

    rows = _brief_rows(kind, financing, key)
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
        out.append(f"**{numbers['items']} financing item(s)**, none with a stated amount ({esc(parts)}).")
    elif numbers["items"]:
        out.append(
            f"**{numbers['items']} financing item(s)** worth **{_bn(total)}** (stated totals counted once): "
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
        minerals = _mineral_names(rows)
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
        exploded = explode_minerals(financing)
        agencies = [a for a in AGENCIES if a in set(rows["agency"])]
        scope = financing[financing["agency"].isin(agencies)]
        unstated = float(scope.loc[scope["minerals"] == NOT_STATED, "counted_usd"].fillna(0).sum())
        out.append(
            f"The same agencies list {_bn(unstated)} with no mineral named; some may go to {esc(key)}, "
            "the sources do not say."
        )
        del exploded
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
    rows = _brief_rows(kind, financing, key)
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


def _brief_rows(kind: str, financing: pd.DataFrame, key: str) -> pd.DataFrame:
    """The financing rows a brief draws on (every item for the overview)."""
    from .analysis import explode_countries, explode_minerals

    if kind == "agency":
        return financing[financing["agency"] == key]
    if kind == "country":
        return explode_countries(financing).query("country == @key")
    if kind == "mineral":
        return explode_minerals(financing).query("mineral == @key")
    return financing


def show_findings(findings: list[str]) -> None:
    """The first page's key findings as a list."""
    show_markdown("\n".join(f"- {line}" for line in findings))


def show_html(fragment: str) -> None:
    """Display an HTML fragment built here (data already escaped)."""
    from IPython.display import HTML, display

    display(HTML(fragment))


def _source_registry(processed_dir=None):
    """The sources registry that travels with the processed tables (``mineral-analysis data`` copies it there)."""
    from . import config
    from .sources import load_sources

    return load_sources(config.processed_path(config.RAW_SOURCES, processed_dir).parent)


def sources_cited(*frames: pd.DataFrame) -> list[str]:
    """The source ids the frames' ``source`` column cites, sorted."""
    ids = set()
    for frame in frames:
        for text in frame.get("source", pd.Series([], dtype=str)):
            ids.update(part.strip().split(" ")[0] for part in str(text).split(";") if part.strip())
    return sorted(i for i in ids if i.isdigit())


def sources_key(ids: list[str], processed_dir=None) -> str:
    """Markdown: each cited source by id, publisher, title and date, and how to read "001 ¶16"."""
    registry = _source_registry(processed_dir)
    lines = ["References such as **001 ¶16** name a source and its paragraph (a non-empty line; the headline is 1)."]
    for sid in ids:
        source = registry.get(sid)
        if source is None:
            continue
        lines.append(
            f"- **{esc(sid)}**: {esc(source.title)}. Publisher: {esc(source.publisher)}. "
            f"Dated {esc(source.published)} ({esc(source.published_note.split(':')[0])}); "
            f"in {esc('Russian' if source.language == 'ru' else source.language)}."
        )
    return "\n".join(lines)


def coverage_line(financing: pd.DataFrame, ids: list[str], processed_dir=None) -> str:
    """The period the sources and the dated items cover, as one sentence."""
    registry = _source_registry(processed_dir)
    published = sorted(registry[s].published for s in ids if s in registry)
    dates = financing["announced_date"].dropna() if "announced_date" in financing else pd.Series([], dtype=object)
    text = ""
    if published:
        span = published[0] if published[0] == published[-1] else f"{published[0]} to {published[-1]}"
        text = f"The sources are dated {span}"
    if len(dates):
        first, last = dates.min(), dates.max()
        items = f"{first:%-d %B %Y}" if first == last else f"{first:%-d %B %Y} to {last:%-d %B %Y}"
        text += ("; the" if text else "The") + f" dated items were announced {items}"
    return (text + ". Later events are not covered.") if text else ""


def csv_link(frame: pd.DataFrame, filename: str, label: str) -> str:
    """An ``<a download>`` holding ``frame`` as CSV in a ``data:`` URL: it works offline and under the CSP."""
    import base64

    data = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    href = "data:text/csv;charset=utf-8;base64," + base64.b64encode(data).decode("ascii")
    return (
        f'<p class="download"><a download="{esc(filename)}" href="{href}">{esc(label)}</a> '
        f'<span class="muted">({len(frame)} records, CSV, {max(1, round(len(data) / 1024))} kB)</span></p>'
    )


def how_to_cite(title: str, metadata: dict, ids: list[str], processed_dir=None) -> str:
    """The "How to cite" line: title, data release and date, and the sources."""
    registry = _source_registry(processed_dir)
    release = metadata.get("release") or {}
    version = metadata.get("dataset_version") or metadata.get("data_version") or "unknown"
    date = release.get("date") or ""
    sources = "; ".join(f"{esc(registry[s].title)} ({esc(registry[s].published)})" for s in ids if s in registry)
    return (
        f"**How to cite:** *{esc(title)}*. Mineral analysis briefs, data version {esc(version)}"
        + (f" ({esc(date)})" if date else "")
        + f". Sources: {sources}."
    )


def brief_records(kind: str, financing: pd.DataFrame, membership: pd.DataFrame, key: str = "") -> pd.DataFrame:
    """The records a brief shows, for its CSV download: its financing items (and, for a country, its roles)."""
    rows = _brief_rows(kind, financing, key).drop_duplicates("record_id")
    rows = financing[financing["record_id"].isin(rows["record_id"])]
    columns = [
        "record_id",
        "agency",
        "title",
        "amount_as_written",
        "amount_usd",
        "amount_qualifier",
        "counted_usd",
        "instrument_label",
        "binding_status",
        "mobilized_usd",
        "announced",
        "country_names",
        "minerals",
        "source",
        "conflict",
        "note",
    ]
    table = rows[columns].assign(table="financing")
    if kind == "country":
        roles = membership[membership["iso3"] == key]
        table = pd.concat(
            [
                table,
                pd.DataFrame(
                    {
                        "record_id": roles["record_id"],
                        "title": roles["group_label"],
                        "country_names": roles["name"],
                        "source": roles["source"],
                        "conflict": roles["conflict"],
                        "note": roles["note"],
                        "table": "membership",
                    }
                ),
            ],
            ignore_index=True,
        )
    return table[["table", *columns]].reset_index(drop=True)


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
        record = esc(row["ID"])
        if raw["agency"] != agency:
            record = f'<a href="{brief_href("agency", raw["agency"])}#{record}">{record}</a>'
        body.append(
            f'<tr id="{esc(row["ID"])}"><th scope="row">{record}</th>'
            f'<td>{esc(row["Item"])}</td><td class="num">{esc(row["Amount"])}{mobilised}</td>'
            f'<td><span class="binding binding-{esc(row["Binding"].replace(" ", "-"))}">{esc(row["Binding"])}</span></td>'
            f'{middle}<td class="source">{esc(row["Source"])}{flag}</td></tr>'
        )
    leads = (
        ""
        if agency is not None and set(ordered["agency"]) <= {agency}
        else "ID links to the item in its agency's brief; "
    )
    caption = f"<caption>Financing items, by agency. {leads}* marks an item whose sources disagree (see the item's notes).</caption>"
    if compact:
        head = re.sub(r'<th scope="col">(Instrument|Where · minerals)</th>', "", head)
    kind = "items-table items-compact" if compact else "items-table"
    return f'<table class="{kind}">{caption}{head}<tbody>{"".join(body)}</tbody></table>'


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
            text += (" " if text else "") + f"<em>Sources differ:</em> {_link_record_ids(esc(row['conflict']), shown)}"
        entries.append(f'<li><a href="#{esc(row["record_id"])}">{esc(row["record_id"])}</a>: {text}</li>')
    return f'<div class="item-notes"><h3>Notes on the items</h3><ul>{"".join(entries)}</ul></div>'


# ----------------------------------------------------------------------------------------------------------
# Text alternatives: what each figure shows, with its main numbers (plain text)


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
        f"role: {frameworks} signed bilateral frameworks, {forge} are in FORGE; insets enlarge Europe and "
        "small states."
    )


def alt_funding_map(financing: pd.DataFrame) -> str:
    """Alternative text of the funding map: circles by location, the largest named."""
    top = _top_groups(financing[financing["country_iso3"] != ""], "country", 3)
    located = headline_numbers(financing[financing["country_iso3"] != ""])["total_usd"]
    return (
        f"World map with a circle per location and agency, area by amount; {format_usd(located)} is located. "
        f"Largest: {top or 'none'}."
    )


def alt_timeline(financing: pd.DataFrame) -> str:
    """Alternative text of the announcement timeline."""
    dated = financing.dropna(subset=["announced_date"])
    if dated.empty:
        return f"Timeline of announcements: none of the {len(financing)} items has a stated date."
    return (
        f"Timeline of the {len(dated)} dated items of {len(financing)}, announced {finding_timeline(financing)[16:]}, "
        f"worth {format_usd(dated['counted_usd'].fillna(0).sum())}."
    )


def alt_mobilized(financing: pd.DataFrame) -> str:
    """Alternative text of the mobilised-capital chart."""
    rows = financing[financing["mobilized_usd"].notna()]
    by = rows.groupby("agency")["mobilized_usd"].sum().sort_values(ascending=False)
    parts = "; ".join(f"{code} {format_usd(v)}" for code, v in by.items())
    return (
        f"Bar chart of capital mobilised from others beside each agency's own amount, "
        f"{format_usd(rows['mobilized_usd'].sum())} in all: {parts}."
    )


def alt_matrix(financing: pd.DataFrame) -> str:
    """Alternative text of the agency-by-mineral matrix."""
    minerals = _mineral_names(financing)
    return (
        f"Matrix of agencies by mineral named ({len(minerals)} minerals: {', '.join(minerals)}); each cell holds "
        "the agency's amount for the mineral. "
        + f"Largest mineral: {_top_groups(financing[financing['minerals'] != NOT_STATED], 'mineral', 1)}."
    )


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


def mineral_links(financing: pd.DataFrame) -> str:
    """Markdown: every mineral the items name, each linking to its brief."""
    return ", ".join(link("mineral", m, m) for m in _mineral_names(financing))
