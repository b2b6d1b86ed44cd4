"""The index page that lists every brief: self-contained, with the briefs' Content-Security-Policy and look.

Kept apart from ``export`` (which needs nbconvert) so that a build that only refreshes the index stays light.
"""

from __future__ import annotations

import html as _html
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from mineral_analysis.atomic import write_text_atomic
from mineral_analysis.config import TEMPLATES_DIR
from mineral_analysis.fonts import embed_fonts

#: Content-Security-Policy of every page written here: no scripts, no network, inline CSS, data: images.
BRIEF_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; base-uri 'none'; form-action 'none'"
)

STYLESHEET = TEMPLATES_DIR / "brief" / "static" / "brief.css"

KIND_ORDER = ("overview", "agency", "country", "mineral")
#: Build statuses that need no word on the index: the brief's links say it is there.
_SHOWN_AS_BUILT = frozenset({"ok", "built", "unchanged", "skipped"})
KIND_HEADINGS = {"overview": "Overview", "agency": "Agencies", "country": "Countries", "mineral": "Minerals"}


def format_built_at(value: Any) -> tuple[str, str]:
    """Return ``(machine, human)`` forms of a build time: ISO 8601, and UTC to the minute."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text, text
    if moment.tzinfo is None:
        return moment.isoformat(timespec="seconds"), moment.strftime("%Y-%m-%d %H:%M")
    moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds"), moment.strftime("%Y-%m-%d %H:%M UTC")


def reader_date(iso: str) -> str:
    """An ISO 8601 date (or date and time) as a reader writes it: "2026-02-04" -> "4 February 2026"; text that
    is not a date is returned as it is."""
    from datetime import date

    try:
        day = date.fromisoformat(str(iso)[:10])
    except ValueError:
        return str(iso)
    return f"{day.day} {day:%B %Y}"


def dates_line(data_as_of: str, published: str) -> str:
    """The header's dates as HTML: "Data as of 4 February 2026 · Published 6 December 2026" (``data_as_of`` an ISO
    date, ``published`` an ISO date or time; either may be empty and is then left out)."""
    esc = _html.escape
    bits = []
    if data_as_of:
        bits.append(
            f'<span class="brief-as-of">Data as of <time datetime="{esc(data_as_of)}">'
            f"{esc(reader_date(data_as_of))}</time></span>"
        )
    if published:
        bits.append(
            f'<span class="brief-built">Published <time datetime="{esc(published)}">'
            f"{esc(reader_date(published))}</time></span>"
        )
    return '<span class="sep" aria-hidden="true">·</span>'.join(bits)


def _relative_href(name: str) -> str:
    """A link to a file beside the index: relative, no scheme, no way out of the reports folder."""
    text = str(name).replace("\\", "/")
    parts = urlsplit(text)
    if parts.scheme or parts.netloc or text.startswith("/") or ".." in text.split("/"):
        raise ValueError(f"index links must be relative file names inside the reports folder: {name!r}")
    return quote(text, safe="/#")


def _status_slug(status: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", status.lower()).strip("-") or "unknown"


def _stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def write_index(
    entries: Iterable[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    title: str = "Mineral analysis briefs",
    data_version: str | None = None,
    built_at: datetime | str | None = None,
    processed_dir: str | os.PathLike[str] | None = None,
    tables=None,
) -> Path:
    """Write the page that lists every brief (self-contained, same CSP and look as the briefs).

    Each entry is a mapping with ``kind`` (overview / agency / country / mineral; others are listed
    after them), ``key``, ``title``, ``html`` and ``pdf`` (file names relative to the index, ``pdf``
    may be None) and ``status`` (shown only when the brief was not built: "failed"). Entries are grouped by kind and
    keep their order within a group. Under the title: the date the data speaks for (its latest source's, with
    ``processed_dir``), the date of publication (``built_at``) and ``data_version``; the page depends on nothing else,
    so the same arguments give the same bytes. It embeds the subset of the bundled fonts it uses.

    With ``processed_dir`` (the processed tables the briefs were built from) the page opens on the headline
    figures and an inline SVG world map whose participants link to their country briefs, and each brief's row
    carries its one-line finding. ``tables`` (``briefing.Tables`` of that folder, a build's plan) saves reading them.
    """
    overview = _overview_parts(entries := list(entries), processed_dir, tables) if processed_dir else None
    esc = _html.escape
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        groups.setdefault(str(entry.get("kind") or "other"), []).append(entry)
    order = [k for k in KIND_ORDER if k in groups] + sorted(k for k in groups if k not in KIND_ORDER)

    as_of = ""
    if processed_dir:
        from mineral_analysis.citing import data_as_of

        as_of = data_as_of(processed_dir)
    meta_bits = [dates_line(as_of, format_built_at(built_at)[0] if built_at else "")]
    if data_version:
        meta_bits.append(f'<span class="brief-version">Data version {esc(str(data_version))}</span>')
    meta_line = '<span class="sep" aria-hidden="true">·</span>'.join(bit for bit in meta_bits if bit)

    sections = []
    for kind in order:
        rows = []
        for entry in groups[kind]:
            links = []
            if entry.get("html"):
                links.append(f'<a href="{esc(_relative_href(entry["html"]))}">HTML</a>')
            if entry.get("pdf"):
                links.append(f'<a href="{esc(_relative_href(entry["pdf"]))}">PDF</a>')
            status = str(entry.get("status") or "unknown")
            if status.lower() not in _SHOWN_AS_BUILT:  # a brief that failed says so; a built one needs no badge
                links.append(f'<span class="status status-{_status_slug(status)}">{esc(status)}</span>')
            elif not links:
                links.append('<span class="muted">not built</span>')
            finding = (overview or {}).get("findings", {}).get((entry.get("kind"), entry.get("key")), "")
            finding_html = f'<br><span class="finding">{esc(finding)}</span>' if finding else ""
            rows.append(
                "<tr>"
                f'<td class="title">{esc(str(entry.get("title") or entry.get("key") or ""))}{finding_html}</td>'
                f'<td class="formats">{"".join(links)}</td>'
                "</tr>"
            )
        heading = KIND_HEADINGS.get(kind, kind.replace("_", " ").capitalize())
        sections.append(
            f'<section class="index-group" id="{esc(_status_slug(kind))}">\n'
            f'<h2>{esc(heading)} <span class="count">({len(rows)})</span></h2>\n'
            '<table class="index-table">\n<thead><tr><th scope="col">Brief</th><th scope="col">Formats</th></tr>'
            "</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</section>"
        )
    if not sections:
        sections.append('<p class="muted">No briefs have been built.</p>')

    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{esc(BRIEF_CSP)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style type="text/css">
{_stylesheet()}
</style>
</head>
<body class="brief brief-index">
<header class="brief-header">
<p class="brief-kicker">Index</p>
<h1 class="brief-title">{esc(title)}</h1>
<p class="brief-meta">{meta_line}</p>
</header>
<main class="brief-main">
{(overview or {}).get("html", "")}
{chr(10).join(sections)}
</main>
</body>
</html>
"""
    return write_text_atomic(path, embed_fonts(page))


def _overview_parts(entries: list[Mapping[str, Any]], processed_dir, tables=None) -> dict[str, Any]:
    """The index's opening (headline figures and the linked world map) and each brief's one-line finding."""
    from mineral_analysis import narrative as nv
    from mineral_analysis.briefing import Tables
    from mineral_analysis.totals import headline_numbers
    from mineral_analysis.usd import format_usd

    tables = tables or Tables.load(processed_dir)
    financing, membership = tables.financing, tables.membership
    findings = {}
    for entry in entries:
        kind, key = entry.get("kind"), entry.get("key") or ""
        findings[(kind, entry.get("key"))] = nv.one_line_finding(str(kind), financing, membership, str(key), tables)
    built = {(e.get("kind"), e.get("key")): e for e in entries if e.get("html")}
    numbers = headline_numbers(financing)
    delegations = membership.loc[membership["group"] == "ministerial_participant", "iso3"].nunique()
    countries = int(
        membership.loc[
            (membership["group"] == "ministerial_participant") & (membership["iso3"] != "EUU"), "iso3"
        ].nunique()
    )
    participants = membership["iso3"].nunique()
    country_briefs = sorted(code for (kind, code) in built if kind == "country")
    extra = [code for code in country_briefs if code not in set(membership["iso3"])]
    esc = _html.escape
    from mineral_analysis.links import display_name

    counting = (
        f'<p class="index-counting">Counting countries: {delegations} delegations came to the ministerial '
        f"({countries} countries and the European Commission); with the host, the United States, they are the "
        f"map's {participants} participants"
        + (
            f"; the {len(country_briefs)} country briefs add "
            + ", ".join(esc(display_name(code)) for code in extra)
            + ", where the sources place money but which sent no delegation"
            if extra
            else f"; each has a country brief ({len(country_briefs)})"
        )
        + ".</p>"
    )
    figures = (
        f'<ul class="index-headline"><li><strong>{numbers["items"]}</strong> financing items'
        + (f" and {numbers['commitments']} commitments without money" if numbers["commitments"] else "")
        + "</li>"
        f"<li><strong>{esc(format_usd(numbers['total_usd']))}</strong> in all (stated totals counted once)</li>"
        f"<li><strong>{esc(format_usd(numbers['binding_usd']))}</strong> binding</li>"
        f"<li><strong>{delegations}</strong> delegations at the ministerial</li></ul>"
    ) + counting
    world = participant_svg(membership, {code for (kind, code) in built if kind == "country"})
    return {
        "findings": findings,
        "html": f'<section class="index-overview"><h2>At a glance</h2>{figures}{world}</section>',
    }


def participant_svg(membership, linked: set[str]) -> str:
    """An inline SVG world map (no script): each participant filled and, where its brief exists, a link to it."""
    import shapely

    from mineral_analysis import config
    from mineral_analysis.geo import cached_boundaries
    from mineral_analysis.links import brief_href, display_name

    gdf = cached_boundaries(str(config.BOUNDARIES_FILE.resolve()))
    minx, miny, maxx, maxy = gdf.total_bounds
    width = 1000.0
    scale = width / (maxx - minx)
    height = (maxy - miny) * scale
    participants = set(membership["iso3"])
    shapes, links = [], []
    for _, row in gdf.iterrows():
        geom = shapely.simplify(row.geometry, 25_000)
        path = _svg_path(geom, minx, maxy, scale)
        if not path:
            continue
        code = row["iso3"]
        if code in participants:
            title = _html.escape(display_name(code, row["name"]))
            shape = f'<path class="participant" d="{path}"><title>{title}</title></path>'
            if row["area_km2"] < 25_000:
                cx, cy = (row["point_x"] - minx) * scale, (maxy - row["point_y"]) * scale
                shape += (
                    f'<circle class="participant" cx="{cx:.1f}" cy="{cy:.1f}" r="4"><title>{title}</title></circle>'
                )
            if code in linked:
                shape = f'<a href="{_html.escape(brief_href("country", code))}" aria-label="{title}">{shape}</a>'
            links.append(shape)
        else:
            shapes.append(f'<path d="{path}"/>')
    return (
        f'<figure class="index-map"><svg viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-labelledby="index-map-caption" xmlns="http://www.w3.org/2000/svg">'
        f'<g class="land">{"".join(shapes)}</g><g class="participants">{"".join(links)}</g></svg>'
        f'<figcaption id="index-map-caption">The {len(participants)} participants of the ministerial: its '
        f"{len(participants) - 1} delegations and the host (in blue; small states as dots); "
        "select one to open its brief. Made with Natural Earth.</figcaption></figure>"
    )


def _svg_path(geom, minx: float, maxy: float, scale: float) -> str:
    """SVG path data for a (multi)polygon, in the map's pixel coordinates, rounded to a tenth of a pixel."""
    import shapely

    parts = []
    for poly in shapely.get_parts(geom):
        for ring in (poly.exterior, *poly.interiors):
            coords = shapely.get_coordinates(ring)
            if len(coords) < 4:
                continue
            points = " ".join(f"{(x - minx) * scale:.1f},{(maxy - y) * scale:.1f}" for x, y in coords[:-1])
            parts.append(f"M{points}Z")
    return "".join(parts)
