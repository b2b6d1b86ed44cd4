"""The funding map: where the money goes, a circle per location country and agency, area proportional to the amount.

Drawn with the blocks of :mod:`mineral_analysis.map_layers`; shown in the briefs as ``maps.plot_funding_map``.
"""

from __future__ import annotations

import math

import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from .analysis import explode_countries
from .display import agreeing, plural
from .frames import plain
from .geo import cached_boundaries
from .map_layers import (
    CREDIT,
    GAP_X,
    LAND,
    MARGIN_X,
    NOTE,
    PANEL_FRAME,
    TEXT,
    artist_extent,
    band_legend,
    band_top,
    boundaries_key,
    draw_countries,
    draw_notes,
    new_map,
    place_labels,
    require_columns,
    widened_extent,
)
from .style import (
    BINDING_LOOKS,
    LOOK_OF_STATUS,
    PAGE,
    chart_style,
    layout,
    status_handles,
    status_look,
    status_style,
    type_size,
    with_phone_variant,
)
from .totals import money
from .usd import format_usd
from .vocab import AGENCIES, SUPRANATIONAL, agency_colour

MAX_BUBBLE_PT2 = 1600.0  # marker area (points²) of the largest amount on a funding map
MIN_BUBBLE_PT2 = 6.0  # smaller amounts are drawn at least this big, so that they stay visible


def _size_references(vmax: float) -> list[float]:
    """Up to three round amounts for the size key: the largest 1, 2 or 5 x 10^k not above ``vmax``, then a
    tenth and a hundredth of it (none below $1 m unless nothing else fits)."""
    if not vmax > 0:
        return []
    exponent = math.floor(math.log10(vmax))
    top = max(m * 10.0**exponent for m in (1, 2, 5) if m * 10.0**exponent <= vmax * (1 + 1e-9))
    return [v for v in (top, top / 10, top / 100) if v >= 1e6] or [top]


def funding_locations(financing: pd.DataFrame) -> pd.DataFrame:
    """Return one row per (record, location country) with ``counted_usd``; the record's other columns kept.

    Records without a location get one row with ``iso3`` = "". Adds ``n_locations`` (how many countries
    the record names).
    """
    require_columns(financing, ["agency", "counted_usd", "country_iso3"], "financing")
    return explode_countries(financing).rename(columns={"country": "iso3", "locations": "n_locations"})


@with_phone_variant
def plot_funding_map(financing: pd.DataFrame, *, title: str | None = None) -> Figure:
    """World map of where the money goes: a circle per location country and agency, area ∝ ``counted_usd``.

    Circles sit at each country's marker point and take the agency's colour (``vocab.AGENCIES``); binding
    status is drawn as everywhere else (:data:`mineral_analysis.style.BINDING_LOOKS`: binding solid, not binding
    hatched, not stated dotted; from ``binding_status``, else ``is_binding``). Every location is named with its
    amount, or, where there is no room for its label, listed in a note. Locations that all lie in one region
    (a single country, say) get a map of that region rather than the world. An item located in several
    countries is drawn in full at each location, and a note says so. Notes under the map total the items
    without a location and those located only where there is no polygon (``EUU``), and count the items that have
    no amount to draw. A selection with nothing to draw (:func:`has_located_money` is false) gives the bare map
    with the note "No located funding"; a brief shows :func:`unmapped_sentence` instead.
    """
    require_columns(financing, ["agency", "counted_usd", "country_iso3"], "financing")
    financing = money(plain(financing))  # only money is drawn: plans and memoranda have their own table
    key = boundaries_key()
    gdf = cached_boundaries(key)
    points = gdf.loc[gdf["iso3"] != ""].set_index("iso3")[["name", "point_x", "point_y"]]

    rows = funding_locations(financing)
    rows["counted_usd"] = pd.to_numeric(rows["counted_usd"], errors="coerce")
    amount = pd.to_numeric(rows["amount_usd"], errors="coerce") if "amount_usd" in rows else rows["counted_usd"]
    if "binding_status" in rows:
        rows["status"] = [status_look(v).status for v in rows["binding_status"]]
    elif "is_binding" in rows:
        rows["status"] = [status_look(_as_bool(v)).status for v in rows["is_binding"]]
    else:
        rows["status"] = "binding"
    rows["agency"] = rows["agency"].fillna("").astype(str).str.strip().str.upper()
    if "record_id" not in rows:
        rows["record_id"] = rows.index.astype(str)
    rows["record_id"] = rows["record_id"].astype(str)
    has_amount = rows["counted_usd"].gt(0)
    located = rows["iso3"].isin(points.index)
    drawn = rows[has_amount & located]

    notes: list[str] = []
    multi = drawn[drawn["n_locations"] > 1].drop_duplicates("record_id")
    if len(multi):
        ids = list(multi["record_id"])
        shown = ", ".join(ids[:6]) + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")
        notes.append(
            f"{plural(len(multi))} located in several countries ({shown}) "
            f"{agreeing(len(multi), 'is', 'are')} drawn in full at each location, so those circles "
            "repeat the same money."
        )
    first_rows = rows.drop_duplicates("record_id")
    first_has = first_rows["counted_usd"].gt(0)
    no_location = first_rows[(first_rows["n_locations"] == 0) & first_has]
    if len(no_location):
        notes.append(
            f"Location not stated: {format_usd(no_location['counted_usd'].sum())} "
            f"({plural(len(no_location))}, not drawn)."
        )
    for code, sub in rows[has_amount & (rows["iso3"] != "") & ~located].groupby("iso3", sort=True):
        kind = "supranational, no territory on the map" if code in SUPRANATIONAL else "not on the map"
        notes.append(
            f"{SUPRANATIONAL.get(code, code)}: {format_usd(sub['counted_usd'].sum())} "
            f"({plural(len(sub))}; {kind}, not drawn)."
        )
    first_amount = amount.loc[first_rows.index]
    no_amount = int((~first_has & first_amount.isna()).sum())
    not_counted = int((~first_has & first_amount.notna()).sum())
    skipped = []
    if no_amount:
        skipped.append(f"{plural(no_amount)} without a stated amount")
    if not_counted:
        skipped.append(f"{plural(not_counted)} not added to totals (e.g. aggregates of listed items)")
    if skipped:
        notes.append("Not drawn: " + "; ".join(skipped) + ".")

    with chart_style():
        fig, ax = new_map(title)
        draw_countries(ax, LAND, edgecolor="white", linewidth=0.35)
        x, notes_top = MARGIN_X, None
        if drawn.empty:
            ax.text(
                0.5,
                0.5,
                "No located funding",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=14,
                color=NOTE,
                bbox={"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "#cccccc"},
            )
        else:
            bubbles = drawn.groupby(["iso3", "agency", "status"], as_index=False, sort=False).agg(
                usd=("counted_usd", "sum"), items=("record_id", "nunique")
            )
            bubbles = bubbles.join(points, on="iso3").sort_values("usd", ascending=False)  # small ones on top
            vmax = float(bubbles["usd"].max())
            _zoom_to_region(ax, gdf, list(dict.fromkeys(bubbles["iso3"])))
            for look in BINDING_LOOKS:
                some = bubbles[bubbles["status"] == look.status]
                if some.empty:
                    continue
                colours = [agency_colour(a) for a in some["agency"]]
                styles = [status_style(look, c, fill_alpha=0.55) for c in colours]
                ax.scatter(
                    some["point_x"],
                    some["point_y"],
                    s=_bubble_area(some["usd"], vmax),
                    facecolors=[st["facecolor"] for st in styles],
                    edgecolors=colours,
                    linewidths=styles[0]["linewidth"],
                    hatch=look.hatch,
                    zorder=3 + (look.status != "binding") * 0.1,
                )
            crowded = _label_locations(ax, bubbles, points)
            if crowded:
                notes.insert(0, "Not labelled for want of room: " + "; ".join(crowded) + ".")

            present = set(bubbles["agency"])
            agencies = [a for a in AGENCIES if a in present] + sorted(present - set(AGENCIES))
            statuses = [look.status for look in BINDING_LOOKS if look.status in set(bubbles["status"])]
            handles = (
                [_circle(agency_colour(a), a or "agency not stated") for a in agencies] if len(agencies) > 1 else []
            )
            handles += status_handles(statuses, colour="#666666") if len(statuses) > 1 else []
            single = [agencies[0] or "agency not stated"] if len(agencies) == 1 else []
            single += [LOOK_OF_STATUS[statuses[0]].label.lower()] if len(statuses) == 1 else []
            if single:  # a one-entry legend says less than a word
                notes.insert(0, "Every circle: " + ", ".join(single) + ".")
            legend = None
            if handles:
                legend = band_legend(fig, handles, x=x, title="Circles", ncols=math.ceil(len(handles) / 4))
            refs = _size_references(vmax)
            if layout() is PAGE:  # legend, size key and notes side by side
                x = artist_extent(fig, legend).x1 + GAP_X if legend is not None else x
                x = _size_key(fig, x, refs, _bubble_area(np.array(refs), vmax)) + GAP_X
            else:  # a phone: stacked, the notes under the key
                top = artist_extent(fig, legend).y0 - 0.01 if legend is not None else None
                _size_key(fig, x, refs, _bubble_area(np.array(refs), vmax), top=top)
                notes_top = fig.axes[-1].get_position().y0 - 0.01
        draw_notes(fig, [*notes, CREDIT + "."], x=x, top=notes_top)
    return fig


def _label_locations(ax, bubbles: pd.DataFrame, points: pd.DataFrame) -> list[str]:
    """Name every location of a funding map with its amount (all agencies together), each label where it overlaps
    no other (the largest choose first); a label with no such place is removed and returned as "name $amount"
    for a note. On a phone a location is named by its code (a full name is as wide as half the map)."""
    totals = bubbles.groupby("iso3", sort=False)["usd"].sum().sort_values(ascending=False, kind="stable")
    labels = []
    for code, usd in totals.items():
        name = points.loc[code, "name"] if code in points.index else code
        x, y = points.loc[code, "point_x"], points.loc[code, "point_y"]
        label = ax.annotate(
            f"{name if layout() is PAGE else code}\n{format_usd(usd)}",
            (x, y),
            xytext=AMOUNT_OFFSETS[0],
            textcoords="offset points",
            fontsize=type_size(8.5),
            color=TEXT,
            zorder=6,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": (1, 1, 1, 0.8), "edgecolor": "none"},
            arrowprops={"arrowstyle": "-", "color": "#666666", "linewidth": 0.6},
        )
        label.location = f"{name} {format_usd(usd)}"
        labels.append(label)
    crowded = place_labels(ax, labels, AMOUNT_OFFSETS)
    for label in crowded:
        label.remove()
    return [label.location for label in crowded]


REGION_MAX_SHARE = 0.3  # locations spanning less than this share of the world's width get a regional map
REGION_MIN_SPAN_M = 4.0e6  # a regional map spans at least this many metres across


def _zoom_to_region(ax, gdf, codes: list[str]) -> None:
    """Zoom a world map to the region of ``codes`` when their largest parts lie within a share of the world
    (:data:`REGION_MAX_SHARE`): a map of one country's money shows that country, not a world with one dot."""
    rows = gdf[gdf["iso3"].isin(codes)]
    if rows.empty:
        return
    parts = [max(shapely.get_parts(g), key=lambda part: part.area) for g in rows.geometry]
    x0, y0 = min(p.bounds[0] for p in parts), min(p.bounds[1] for p in parts)
    x1, y1 = max(p.bounds[2] for p in parts), max(p.bounds[3] for p in parts)
    wx0, wx1 = ax.get_xlim()
    if x1 - x0 > REGION_MAX_SHARE * (wx1 - wx0):
        return
    pad = max(0.25 * max(x1 - x0, y1 - y0), REGION_MIN_SPAN_M / 2 - max(x1 - x0, y1 - y0) / 2)
    box = ax.get_position()
    aspect = box.width * ax.figure.get_figwidth() / (box.height * ax.figure.get_figheight())
    rx0, rx1, ry0, ry1 = widened_extent((x0 - pad, x1 + pad, y0 - pad, y1 + pad), aspect)
    ax.set_xlim(rx0, rx1)
    ax.set_ylim(ry0, ry1)
    ax.set_axis_on()
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_edgecolor(PANEL_FRAME)
        spine.set_linewidth(0.6)


def has_located_money(financing: pd.DataFrame) -> bool:
    """Whether the funding map of ``financing`` has a circle to draw: an amount located in a country on the map."""
    rows = funding_locations(financing)
    points = set(cached_boundaries(boundaries_key())["iso3"]) - {""}
    return bool((pd.to_numeric(rows["counted_usd"], errors="coerce").gt(0) & rows["iso3"].isin(points)).any())


def unmapped_sentence(financing: pd.DataFrame) -> str:
    """What a brief says in place of a funding map with nothing to draw: where its money is, in words."""
    rows = funding_locations(financing).drop_duplicates("record_id") if "record_id" in financing else financing
    counted = pd.to_numeric(rows["counted_usd"], errors="coerce").fillna(0.0)
    if not counted.gt(0).any():
        return "No map: no item of this selection states an amount."
    unlocated = counted[rows["n_locations"] == 0].sum() if "n_locations" in rows else counted.sum()
    elsewhere = counted.sum() - unlocated
    parts = []
    if unlocated:
        parts.append(f"{format_usd(unlocated)} has no location in the sources")
    if elsewhere:
        parts.append(f"{format_usd(elsewhere)} is located where there is no territory on the map")
    return "No map: " + " and ".join(parts) + "."


# Where a location's name and amount may sit, in points from its circle's centre, in order of preference.
AMOUNT_OFFSETS = [
    *((dx, dy) for dy in (-14, 14) for dx in (10, -10)),  # at a corner of its circle
    (14, 0),
    (-14, 0),
    *((dx, dy) for dy in (-30, 30) for dx in (12, -12)),  # further out, on a leader
    *((dx, dy) for dy in (-48, 48) for dx in (16, -16)),
    (-34, 0),
]


def _size_key(fig: Figure, x: float, values: list[float], areas: np.ndarray, *, top: float | None = None) -> float:
    """Nested circles for reference amounts (bottom-aligned, labelled at their tops) in the band at ``x``.

    The key is drawn in a small axes whose data units are points, so its circles match the map's bubbles
    exactly. Returns the key's right edge (figure fraction).
    """
    radii = np.sqrt(np.asarray(areas, dtype=float)) / 2.0  # scatter sizes are diameter² in points²
    r_max = float(radii.max())
    labels = [format_usd(v) for v in values]
    label_pt = 8 * 0.6 * max(len(t) for t in labels)
    title_pt = 16.0
    width_pt = max(2 * r_max + 14 + label_pt, 8.5 * 0.62 * 20) + 4
    height_pt = max(2 * r_max + 2, 10.0 * len(values)) + title_pt + 8
    fig_w, fig_h = fig.get_figwidth() * 72, fig.get_figheight() * 72
    top = band_top(fig) - 0.02 if top is None else top
    key = fig.add_axes((x, top - height_pt / fig_h, width_pt / fig_w, height_pt / fig_h))
    key.set_axis_off()
    key.set_xlim(0, width_pt)
    key.set_ylim(0, height_pt)
    key.text(
        0,
        height_pt,
        "Amount (circle area)",
        ha="left",
        va="top",
        fontsize=type_size(8.5),
        fontweight="bold",
        color=TEXT,
    )
    cx = r_max + 2
    label_y = -np.inf
    for r, label in sorted(zip(radii, labels)):  # smallest first: labels move up to stay 10 pt apart
        key.add_patch(Circle((cx, 2 + r), r, facecolor="none", edgecolor="#666666", linewidth=0.8))
        top_y = 2 + 2 * r
        label_y = max(top_y, label_y + 10.0)
        key.plot([cx, 2 * r_max + 6, 2 * r_max + 10], [top_y, top_y, label_y], color="#999999", linewidth=0.5)
        key.text(2 * r_max + 12, label_y, label, ha="left", va="center", fontsize=type_size(8), color=TEXT)
    return x + width_pt / fig_w


def _as_bool(value) -> bool:
    """``is_binding`` as a bool: True, 1 and the strings "true", "1", "yes" are binding; missing is not."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value) if pd.notna(value) else False


def _circle(colour: str, label: str, *, ring: bool = False) -> Line2D:
    return Line2D(
        [],
        [],
        linestyle="none",
        marker="o",
        markersize=8,
        label=label,
        markerfacecolor="none" if ring else mpl.colors.to_rgba(colour, 0.55),
        markeredgecolor=colour,
        markeredgewidth=1.6 if ring else 0.8,
    )


def _bubble_area(usd, vmax: float) -> np.ndarray:
    """Marker area in points² proportional to the amount (the largest gets MAX_BUBBLE_PT2), with a floor."""
    return np.maximum(MAX_BUBBLE_PT2 * np.asarray(usd, dtype=float) / vmax, MIN_BUBBLE_PT2)
