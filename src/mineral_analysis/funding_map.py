"""The funding map: where the money goes, a circle per location country and agency, area proportional to the amount.

Drawn with the blocks of :mod:`mineral_analysis.map_layers`; shown in the briefs as ``maps.plot_funding_map``.
"""

from __future__ import annotations

import math

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from .display import agreeing, plural
from .geo import _cached
from .map_layers import (
    CREDIT,
    GAP_X,
    LAND,
    MARGIN_X,
    NOTE,
    TEXT,
    _band_legend,
    _band_top,
    _boundaries_key,
    _draw_countries,
    _extent,
    _new_map,
    _notes,
    place_labels,
    require_columns,
)
from .style import PAGE, chart_style, layout, type_size, with_phone_variant
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


def _split_codes(value) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    seen: dict[str, None] = {}
    for part in str(value).split(";"):
        part = part.strip().upper()
        if part:
            seen.setdefault(part, None)
    return list(seen)


def funding_locations(financing: pd.DataFrame) -> pd.DataFrame:
    """Return one row per (record, location country) with ``counted_usd``; the record's other columns kept.

    Records without a location get one row with ``iso3`` = "". Adds ``n_locations`` (how many countries
    the record names).
    """
    require_columns(financing, ["agency", "counted_usd", "country_iso3"], "financing")
    frame = financing.copy()
    frame["_codes"] = frame["country_iso3"].map(_split_codes)
    frame["n_locations"] = frame["_codes"].map(len)
    frame["_codes"] = frame["_codes"].map(lambda codes: codes or [""])
    out = frame.explode("_codes").rename(columns={"_codes": "iso3"}).reset_index(drop=True)
    out["iso3"] = out["iso3"].fillna("").astype(str)
    return out


@with_phone_variant
def plot_funding_map(financing: pd.DataFrame, *, title: str | None = None) -> Figure:
    """World map of where the money goes: a circle per location country and agency, area ∝ ``counted_usd``.

    Circles sit at each country's marker point and take the agency's colour (``vocab.AGENCIES``); binding
    items are filled, non-binding ones drawn as rings (when ``is_binding`` is given). An item located in
    several countries is drawn in full at each location, and a note says so. Notes under the map total the
    items without a location and those located only where there is no polygon (``EUU``), and count the items
    that have no amount to draw. An empty frame gives the bare map with the note "No located funding".
    """
    require_columns(financing, ["agency", "counted_usd", "country_iso3"], "financing")
    key = _boundaries_key()
    gdf = _cached(key)
    points = gdf.loc[gdf["iso3"] != ""].set_index("iso3")[["name", "point_x", "point_y"]]

    rows = funding_locations(financing)
    rows["counted_usd"] = pd.to_numeric(rows["counted_usd"], errors="coerce")
    amount = pd.to_numeric(rows["amount_usd"], errors="coerce") if "amount_usd" in rows else rows["counted_usd"]
    rows["is_binding"] = rows["is_binding"].map(_as_bool) if "is_binding" in rows else True
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
        fig, ax = _new_map(title)
        _draw_countries(ax, LAND, edgecolor="white", linewidth=0.35)
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
            bubbles = drawn.groupby(["iso3", "agency", "is_binding"], as_index=False, sort=False).agg(
                usd=("counted_usd", "sum"), items=("record_id", "nunique")
            )
            bubbles = bubbles.join(points, on="iso3").sort_values("usd", ascending=False)  # small ones on top
            vmax = float(bubbles["usd"].max())
            colours = [agency_colour(a) for a in bubbles["agency"]]
            filled = bubbles["is_binding"].to_numpy(dtype=bool)
            ax.scatter(
                bubbles["point_x"],
                bubbles["point_y"],
                s=_bubble_area(bubbles["usd"], vmax),
                facecolors=[mpl.colors.to_rgba(c, 0.55) if f else (1, 1, 1, 0) for c, f in zip(colours, filled)],
                edgecolors=colours,
                linewidths=np.where(filled, 0.8, 1.6),
                zorder=3,
            )
            _label_largest(ax, bubbles, points)

            present = set(bubbles["agency"])
            agencies = [a for a in AGENCIES if a in present] + sorted(present - set(AGENCIES))
            handles = [_circle(agency_colour(a), a or "agency not stated") for a in agencies]
            if not filled.all():
                handles += [_circle("#888888", "filled: binding"), _circle("#888888", "ring: not binding", ring=True)]
            legend = _band_legend(fig, handles, x=x, title="Agency", ncols=math.ceil(len(handles) / 4))
            refs = _size_references(vmax)
            if layout() is PAGE:  # legend, size key and notes side by side
                x = _extent(fig, legend).x1 + GAP_X
                x = _size_key(fig, x, refs, _bubble_area(np.array(refs), vmax)) + GAP_X
            else:  # a phone: stacked, the notes under the key
                _size_key(fig, x, refs, _bubble_area(np.array(refs), vmax), top=_extent(fig, legend).y0 - 0.01)
                notes_top = fig.axes[-1].get_position().y0 - 0.01
        _notes(fig, [*notes, CREDIT + "."], x=x, top=notes_top)
    return fig


LABELLED_CIRCLES = 5  # the funding map names this many of its largest locations


def _label_largest(ax, bubbles: pd.DataFrame, points: pd.DataFrame) -> None:
    """Name the largest locations of a funding map with their amount (all agencies together), each label where it
    overlaps no other (the largest choose first)."""
    totals = bubbles.groupby("iso3", sort=False)["usd"].sum().sort_values(ascending=False, kind="stable")
    labels = []
    for code, usd in totals.head(LABELLED_CIRCLES).items():
        name = points.loc[code, "name"] if code in points.index else code
        x, y = points.loc[code, "point_x"], points.loc[code, "point_y"]
        labels.append(
            ax.annotate(
                f"{name}\n{format_usd(usd)}",
                (x, y),
                xytext=AMOUNT_OFFSETS[0],
                textcoords="offset points",
                fontsize=type_size(8.5),
                color=TEXT,
                zorder=6,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": (1, 1, 1, 0.8), "edgecolor": "none"},
                arrowprops={"arrowstyle": "-", "color": "#666666", "linewidth": 0.6},
            )
        )
    place_labels(ax, labels, AMOUNT_OFFSETS)


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
    top = _band_top(fig) - 0.02 if top is None else top
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
