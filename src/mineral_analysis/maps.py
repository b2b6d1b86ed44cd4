"""World maps for the briefs: who took part in the ministerial, and where the US money goes.

Every function returns a new :class:`~mineral_analysis.style.BriefFigure` built with the object-oriented API (no
pyplot, so nothing is registered globally and nothing needs closing), drawn in the one style of charts and maps
(:mod:`mineral_analysis.style`); save it with ``fig.savefig(...)``. The maps use
the project's boundary file (Equal Earth, see :mod:`mineral_analysis.geo`), drawn from matplotlib paths that
are built once per process, so a map renders in a fraction of a second.
"""

from __future__ import annotations

import math
import textwrap
from functools import lru_cache

import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch
from matplotlib.path import Path as MplPath

from . import config
from .analysis import roles_by_country
from .geo import SMALL_COUNTRY_AREA_KM2, _cached
from .style import NOTE_COLOUR, TEXT_COLOUR, chart_style, new_figure
from .usd import format_usd
from .vocab import AGENCIES, GROUPS, SUPRANATIONAL, agency_colour

FIGSIZE = (11.0, 6.0)
LAND = "#e4e4e4"  # non-participants / land without money
BORDER = "#a6a6a6"
BORDER_WIDTH = 0.3
TEXT = TEXT_COLOUR
NOTE = NOTE_COLOUR
HIGHLIGHT = "#000000"

# Roles from most to least specific: a country is coloured by the first role it holds. ``agreement`` stands
# for the two groups that are neither a framework signed at the ministerial nor a mere delegation.
ROLE_ORDER: tuple[str, ...] = (
    "host",
    "forge_chair",
    "forge_member",
    "bilateral_framework",
    "agreement",
    "ministerial_participant",
)
ROLE_OF_GROUP: dict[str, str] = {
    "host": "host",
    "forge_chair": "forge_chair",
    "forge_member": "forge_member",
    "bilateral_framework": "bilateral_framework",
    "trade_action_plan": "agreement",
    "strategic_partnership": "agreement",
    "ministerial_participant": "ministerial_participant",
}
ROLE_LABELS: dict[str, str] = {
    "host": "Host",
    "forge_chair": "FORGE chair",
    "forge_member": "FORGE member",
    "bilateral_framework": "Bilateral framework signed",
    "agreement": "Trade action plan or strategic partnership",
    "ministerial_participant": "Delegation only",
}
# The ministerial's roles in blues and greens (darker = more specific), FORGE in purples so that the club
# stands apart; the lightest colour stays distinct from the grey of non-participants.
ROLE_COLOURS: dict[str, str] = {
    "host": "#08306b",
    "forge_chair": "#54278f",
    "forge_member": "#9e9ac8",
    "bilateral_framework": "#1d91c0",
    "agreement": "#7fcdbb",
    "ministerial_participant": "#c7e9b4",
}
GROUP_SHORT: dict[str, str] = {
    "host": "host",
    "ministerial_participant": "delegation",
    "bilateral_framework": "bilateral framework",
    "forge_chair": "FORGE chair",
    "forge_member": "FORGE member",
    "trade_action_plan": "trade action plan",
    "strategic_partnership": "strategic partnership",
}

MAX_BUBBLE_PT2 = 1600.0  # marker area (points²) of the largest amount on a funding map
MIN_BUBBLE_PT2 = 6.0  # smaller amounts are drawn at least this big, so that they stay visible


# ----------------------------------------------------------------------------------------------------------
# Base layer


def _ring_path_parts(ring) -> tuple[np.ndarray, np.ndarray]:
    coords = np.asarray(shapely.get_coordinates(ring))
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    codes[0] = MplPath.MOVETO
    codes[-1] = MplPath.CLOSEPOLY
    return coords, codes


def _geometry_path(geom) -> MplPath:
    """One compound path per country; shells counter-clockwise and holes clockwise so holes stay empty."""
    verts, codes = [], []
    for poly in shapely.get_parts(shapely.orient_polygons(geom)):
        for ring in (poly.exterior, *poly.interiors):
            v, c = _ring_path_parts(ring)
            verts.append(v)
            codes.append(c)
    return MplPath(np.concatenate(verts), np.concatenate(codes))


@lru_cache(maxsize=4)
def _base_layer(path: str) -> tuple[tuple[MplPath, ...], tuple[float, float, float, float]]:
    """Matplotlib paths of every country (in the boundary file's row order) and the map's extent, cached."""
    gdf = _cached(path)
    paths = tuple(_geometry_path(g) for g in gdf.geometry)
    minx, miny, maxx, maxy = gdf.total_bounds
    pad_x, pad_y = 0.005 * (maxx - minx), 0.02 * (maxy - miny)
    return paths, (minx - pad_x, maxx + pad_x, miny - pad_y, maxy + pad_y)


def _boundaries_key() -> str:
    return str(config.BOUNDARIES_FILE.resolve())


BAND = 0.20  # share of the figure's height under the map, for legends and notes
TITLE_Y = 0.975
MARGIN_X = 0.012  # left margin of title, legends and notes (figure fraction)
GAP_X = 0.02  # space between side-by-side legends and notes


def _new_map(title: str | None, *, height: float = FIGSIZE[1], bottom: float = BAND) -> tuple[Figure, mpl.axes.Axes]:
    """An 11 in wide figure: the title, one frameless map axes (Equal Earth extent) from ``bottom`` up, and a band
    below (legends and notes under ``BAND``; what lies between is the caller's, e.g. inset panels)."""
    fig = new_figure(FIGSIZE[0], height, facecolor="white")
    FigureCanvasAgg(fig)  # a renderer to measure legends with; saving to any format still works
    top = 1 - 0.085 * FIGSIZE[1] / height if title else 0.985
    ax = fig.add_axes((0.01, bottom, 0.98, top - bottom))
    ax.set_axis_off()
    _, (x0, x1, y0, y1) = _base_layer(_boundaries_key())
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box", anchor="C")
    if title:
        fig.text(
            MARGIN_X,
            1 - (1 - TITLE_Y) * FIGSIZE[1] / height,
            title,
            ha="left",
            va="top",
            fontsize=13,
            fontweight="bold",
            color=TEXT,
        )
    return fig, ax


def _draw_countries(ax, facecolors, *, edgecolor: str = BORDER, linewidth: float = BORDER_WIDTH) -> None:
    paths, _ = _base_layer(_boundaries_key())
    ax.add_collection(
        PathCollection(paths, facecolors=facecolors, edgecolors=edgecolor, linewidths=linewidth, zorder=1),
        autolim=False,
    )


def _band_top(fig: Figure) -> float:
    """Top of the legend band in figure fractions: the band keeps its height in inches whatever the figure's."""
    return BAND * FIGSIZE[1] / fig.get_figheight()


def _extent(fig: Figure, artist) -> mpl.transforms.Bbox:
    """The artist's bounding box in figure fractions."""
    box = artist.get_window_extent(fig.canvas.get_renderer())
    return box.transformed(fig.transFigure.inverted())


def _band_legend(
    fig: Figure, handles: list, *, x: float, title: str | None = None, ncols: int = 1, **kwargs
) -> mpl.legend.Legend:
    """A legend in the band under the map, its top-left corner at ``x`` (figure fraction)."""
    options = {
        "fontsize": 8,
        "title_fontsize": 8.5,
        "alignment": "left",
        "frameon": False,
        "borderpad": 0.2,
        "labelspacing": 0.45,
        "columnspacing": 1.4,
        "handlelength": 1.6,
        "handleheight": 1.0,
    }
    options.update(kwargs)
    legend = fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(x, _band_top(fig) - 0.005),
        ncols=ncols,
        title=title,
        **options,
    )
    if title:
        legend.get_title().set_fontweight("bold")
    return legend


def _notes(fig: Figure, lines: list[str], *, x: float, top: float | None = None, fontsize: float = 7.5) -> None:
    """Notes from ``x`` to the right margin, wrapped to fit, top-aligned in the band (or at ``top``)."""
    if not lines:
        return
    width_in = (1.0 - MARGIN_X - x) * fig.get_figwidth()
    chars = max(30, int(width_in * 72 / (fontsize * 0.56)))
    text = "\n".join(textwrap.fill(line, width=chars, break_on_hyphens=False) for line in lines)
    fig.text(
        x,
        _band_top(fig) - 0.02 if top is None else top,
        text,
        ha="left",
        va="top",
        fontsize=fontsize,
        color=NOTE,
        linespacing=1.35,
    )


# ----------------------------------------------------------------------------------------------------------
# Participation map


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s): {', '.join(missing)}")


def map_roles(membership: pd.DataFrame) -> pd.DataFrame:
    """One row per ``iso3`` with the ``role`` it is coloured by (see ROLE_ORDER), its ``name`` and ``groups``.

    The most specific role comes from :func:`mineral_analysis.analysis.roles_by_country` (the one definition of a
    country's primary role); trade action plans and strategic partnerships share the map colour ``agreement``.
    ``groups`` lists every group the country is in, in the order of ``vocab.GROUPS``. A group outside the
    vocabulary is refused with the valid ones listed.
    """
    _require(membership, ["iso3", "group"], "membership")
    frame = membership.copy()
    frame["iso3"] = frame["iso3"].fillna("").astype(str).str.strip().str.upper()
    frame["group"] = frame["group"].fillna("").astype(str).str.strip()
    unknown = sorted(set(frame["group"]) - set(ROLE_OF_GROUP))
    if unknown:
        raise ValueError(f"unknown membership group(s): {', '.join(unknown)}; expected one of {', '.join(GROUPS)}")
    frame = frame[frame["iso3"] != ""]
    names = frame["name"].fillna("").astype(str).str.strip() if "name" in frame else frame["iso3"]
    frame["name"] = names.where((names != "") & (names.str.upper() != frame["iso3"]), None)
    # The first real name a country has (the code when it has none), as roles_by_country expects one per row.
    first_name = frame.dropna(subset=["name"]).drop_duplicates("iso3").set_index("iso3")["name"]
    frame["name"] = frame["iso3"].map(first_name).fillna(frame["iso3"])
    table = roles_by_country(frame[["iso3", "name", "group"]])
    roles = pd.DataFrame(
        {
            "iso3": table["iso3"],
            "name": table["name"],
            "role": table["primary_role"].map(ROLE_OF_GROUP),
            "groups": [[g for g in GROUPS if row[g]] for _, row in table.iterrows()],
        }
    )
    order = {code: i for i, code in enumerate(dict.fromkeys(frame["iso3"]))}
    return roles.sort_values("iso3", key=lambda codes: codes.map(order), ignore_index=True)


def plot_participation_map(
    membership: pd.DataFrame, *, title: str | None = None, highlight: str | None = None, insets: bool = False
) -> Figure:
    """World map of the ministerial's participants, each country coloured by its most specific role.

    Roles, most specific first: host > FORGE chair > FORGE member > bilateral framework signed > trade action
    plan or strategic partnership > delegation only; other countries are light grey. Participants smaller than
    ``geo.SMALL_COUNTRY_AREA_KM2`` also get a marker in their role colour. Codes without a polygon (``EUU``,
    the European Commission) are named in a note under the legend. ``highlight`` (an ISO3 code) is outlined in
    bold, e.g. the subject of a country brief. ``insets`` adds panels under the map that enlarge Europe and the
    small states (``INSET_REGIONS``), each participant labelled with its code.
    """
    roles = map_roles(membership)
    key = _boundaries_key()
    gdf = _cached(key)
    with chart_style():
        if insets:
            band = BAND * FIGSIZE[1] / INSET_FIGURE_HEIGHT
            fig, ax = _new_map(title, height=INSET_FIGURE_HEIGHT, bottom=band + 0.30)
        else:
            fig, ax = _new_map(title)
        role_of = dict(zip(roles["iso3"], roles["role"]))
        iso = gdf["iso3"].to_numpy()
        faces = [ROLE_COLOURS[role_of[c]] if c in role_of else LAND for c in iso]
        _draw_countries(ax, faces)
        if insets:
            _participation_insets(fig, gdf, role_of, faces, bottom=band + 0.02, height=0.25)

        mapped = set(gdf.loc[gdf["iso3"] != "", "iso3"])
        # small participants: a marker at their point, in their role colour
        small = gdf[(gdf["iso3"].isin(role_of)) & (gdf["area_km2"] < SMALL_COUNTRY_AREA_KM2)]
        if len(small):
            order = np.argsort([-ROLE_ORDER.index(role_of[c]) for c in small["iso3"]], kind="stable")
            small = small.iloc[order]
            ax.scatter(
                small["point_x"],
                small["point_y"],
                s=34,
                c=[ROLE_COLOURS[role_of[c]] for c in small["iso3"]],
                edgecolors="#3a3a3a",
                linewidths=0.7,
                zorder=4,
            )

        notes: list[str] = []
        names = dict(zip(roles["iso3"], roles["name"]))
        highlight_code = highlight.strip().upper() if isinstance(highlight, str) and highlight.strip() else None
        if highlight_code and highlight_code in mapped:
            _outline(fig, ax, gdf.loc[gdf["iso3"] == highlight_code].iloc[0], key)
        elif highlight_code:
            name = _display_name(highlight_code, names.get(highlight_code))
            notes.append(f"{name} has no territory on the map, so it is not outlined.")

        # legend: the roles present, with counts of mapped countries
        counts = roles[roles["iso3"].isin(mapped)]["role"].value_counts()
        handles: list = [
            Patch(facecolor=ROLE_COLOURS[r], edgecolor=BORDER, linewidth=0.5, label=f"{ROLE_LABELS[r]} ({counts[r]})")
            for r in ROLE_ORDER
            if counts.get(r, 0)
        ]
        handles.append(Patch(facecolor=LAND, edgecolor=BORDER, linewidth=0.5, label="Not a participant"))
        if len(small):
            handles.append(
                Line2D(
                    [],
                    [],
                    linestyle="none",
                    marker="o",
                    markersize=6,
                    markerfacecolor="white",
                    markeredgecolor="#3a3a3a",
                    markeredgewidth=0.7,
                    label="Marker: participant too small to see",
                )
            )
        if highlight_code and highlight_code in mapped:
            own = names.get(highlight_code)
            name = own if own and own != highlight_code else gdf.loc[gdf["iso3"] == highlight_code, "name"].iloc[0]
            handles.append(Patch(facecolor="none", edgecolor=HIGHLIGHT, linewidth=1.6, label=f"Outlined: {name}"))
        legend = _fitted_legend(fig, handles, title="Role (most specific shown)")

        unmapped = roles[~roles["iso3"].isin(mapped)]
        extra = []
        for _, r in unmapped.iterrows():
            kind = "supranational, not on the map" if r["iso3"] in SUPRANATIONAL else "no territory on the map"
            groups = ", ".join(GROUP_SHORT[g] for g in r["groups"])
            extra.append(f"+ {_display_name(r['iso3'], r['name'])} — {kind}: {groups}")
        top = _extent(fig, legend).y0 - 0.01
        _notes(fig, extra + notes + [CREDIT + "."], x=MARGIN_X, top=top, fontsize=8)
    return fig


INSET_FIGURE_HEIGHT = 8.6  # inches: the participation map with its row of inset panels


HIGHLIGHT_RING_BELOW_KM2 = 300_000.0  # a highlighted country smaller than this also gets a ring around it


def _outline(fig: Figure, ax, row: pd.Series, key: str) -> None:
    """Outline one country in bold; a small one (whose fill a bold line would hide) gets a thinner outline
    and a ring around it, so that it stands out and its colour stays visible."""
    paths, (x0, x1, y0, y1) = _base_layer(key)
    small = row["area_km2"] < HIGHLIGHT_RING_BELOW_KM2
    ax.add_collection(
        PathCollection(
            [paths[row.name]], facecolors="none", edgecolors=HIGHLIGHT, linewidths=0.9 if small else 1.6, zorder=3
        ),
        autolim=False,
    )
    if small:
        pos = ax.get_position()
        scale = min(pos.width * fig.get_figwidth() / (x1 - x0), pos.height * fig.get_figheight() / (y1 - y0))
        minx, miny, maxx, maxy = row.geometry.bounds
        radius_pt = max(0.5 * math.hypot(maxx - minx, maxy - miny) * scale * 72, 3.0) + 5.0
        if row["area_km2"] < SMALL_COUNTRY_AREA_KM2:  # scattered islands: ring the marker, not the bounds
            radius_pt = 9.0
        ax.scatter(
            [row["point_x"]],
            [row["point_y"]],
            s=(2 * radius_pt) ** 2,
            facecolors="none",
            edgecolors=HIGHLIGHT,
            linewidths=1.6,
            zorder=5,
        )


def _display_name(iso3: str, name: object) -> str:
    """The vocabulary's label for a supranational code, else the data's own name, else the code."""
    if iso3 in SUPRANATIONAL:
        return SUPRANATIONAL[iso3]
    if isinstance(name, str) and name.strip() and name.strip().upper() != iso3:
        return name.strip()
    return SUPRANATIONAL.get(iso3, iso3)


def _fitted_legend(fig: Figure, handles: list, *, title: str) -> mpl.legend.Legend:
    """The band legend in as few rows as fit the figure's width, with balanced columns."""
    right = 1.0 - MARGIN_X
    for ncols in range(min(len(handles), 5), 0, -1):
        legend = _band_legend(fig, handles, x=MARGIN_X, title=title, ncols=ncols)
        if _extent(fig, legend).x1 <= right or ncols == 1:
            break
        legend.remove()
    balanced = math.ceil(len(handles) / math.ceil(len(handles) / ncols))
    if balanced != ncols:
        legend.remove()
        legend = _band_legend(fig, handles, x=MARGIN_X, title=title, ncols=balanced)
    return legend


# ----------------------------------------------------------------------------------------------------------
# Funding map


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
    _require(financing, ["agency", "counted_usd", "country_iso3"], "financing")
    frame = financing.copy()
    frame["_codes"] = frame["country_iso3"].map(_split_codes)
    frame["n_locations"] = frame["_codes"].map(len)
    frame["_codes"] = frame["_codes"].map(lambda codes: codes or [""])
    out = frame.explode("_codes").rename(columns={"_codes": "iso3"}).reset_index(drop=True)
    out["iso3"] = out["iso3"].fillna("").astype(str)
    return out


def _plural(n: int, word: str = "item") -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def plot_funding_map(financing: pd.DataFrame, *, title: str | None = None) -> Figure:
    """World map of where the money goes: a circle per location country and agency, area ∝ ``counted_usd``.

    Circles sit at each country's marker point and take the agency's colour (``vocab.AGENCIES``); binding
    items are filled, non-binding ones drawn as rings (when ``is_binding`` is given). An item located in
    several countries is drawn in full at each location, and a note says so. Notes under the map total the
    items without a location and those located only where there is no polygon (``EUU``), and count the items
    that have no amount to draw. An empty frame gives the bare map with the note "No located funding".
    """
    _require(financing, ["agency", "counted_usd", "country_iso3"], "financing")
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
            f"{_plural(len(multi))} located in several countries ({shown}) "
            f"{'is' if len(multi) == 1 else 'are'} drawn in full at each location, so those circles "
            "repeat the same money."
        )
    first_rows = rows.drop_duplicates("record_id")
    first_has = first_rows["counted_usd"].gt(0)
    no_location = first_rows[(first_rows["n_locations"] == 0) & first_has]
    if len(no_location):
        notes.append(
            f"Location not stated: {format_usd(no_location['counted_usd'].sum())} "
            f"({_plural(len(no_location))}, not drawn)."
        )
    for code, sub in rows[has_amount & (rows["iso3"] != "") & ~located].groupby("iso3", sort=True):
        kind = "supranational, no territory on the map" if code in SUPRANATIONAL else "not on the map"
        notes.append(
            f"{SUPRANATIONAL.get(code, code)}: {format_usd(sub['counted_usd'].sum())} "
            f"({_plural(len(sub))}; {kind}, not drawn)."
        )
    first_amount = amount.loc[first_rows.index]
    no_amount = int((~first_has & first_amount.isna()).sum())
    not_counted = int((~first_has & first_amount.notna()).sum())
    skipped = []
    if no_amount:
        skipped.append(f"{_plural(no_amount)} without a stated amount")
    if not_counted:
        skipped.append(f"{_plural(not_counted)} not added to totals (e.g. aggregates of listed items)")
    if skipped:
        notes.append("Not drawn: " + "; ".join(skipped) + ".")

    with chart_style():
        fig, ax = _new_map(title)
        _draw_countries(ax, LAND, edgecolor="white", linewidth=0.35)
        x = MARGIN_X
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
            x = _extent(fig, legend).x1 + GAP_X

            refs = _size_references(vmax)
            x = _size_key(fig, x, refs, _bubble_area(np.array(refs), vmax)) + GAP_X
        _notes(fig, [*notes, CREDIT + "."], x=x)
    return fig


LABELLED_CIRCLES = 5  # the funding map names this many of its largest locations


def _label_largest(ax, bubbles: pd.DataFrame, points: pd.DataFrame) -> None:
    """Name the largest locations of a funding map with their amount (all agencies together)."""
    totals = bubbles.groupby("iso3", sort=False)["usd"].sum().sort_values(ascending=False, kind="stable")
    for rank, (code, usd) in enumerate(totals.head(LABELLED_CIRCLES).items()):
        name = points.loc[code, "name"] if code in points.index else code
        x, y = points.loc[code, "point_x"], points.loc[code, "point_y"]
        ax.annotate(
            f"{name}\n{format_usd(usd)}",
            (x, y),
            xytext=(10, -14 - 6 * (rank % 2)),
            textcoords="offset points",
            fontsize=8.5,
            color=TEXT,
            zorder=6,
            ha="left",
            va="top",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": (1, 1, 1, 0.8), "edgecolor": "none"},
            arrowprops={"arrowstyle": "-", "color": "#666666", "linewidth": 0.6},
        )


def _size_key(fig: Figure, x: float, values: list[float], areas: np.ndarray) -> float:
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
    top = _band_top(fig) - 0.02
    key = fig.add_axes((x, top - height_pt / fig_h, width_pt / fig_w, height_pt / fig_h))
    key.set_axis_off()
    key.set_xlim(0, width_pt)
    key.set_ylim(0, height_pt)
    key.text(0, height_pt, "Amount (circle area)", ha="left", va="top", fontsize=8.5, fontweight="bold", color=TEXT)
    cx = r_max + 2
    label_y = -np.inf
    for r, label in sorted(zip(radii, labels)):  # smallest first: labels move up to stay 10 pt apart
        key.add_patch(Circle((cx, 2 + r), r, facecolor="none", edgecolor="#666666", linewidth=0.8))
        top_y = 2 + 2 * r
        label_y = max(top_y, label_y + 10.0)
        key.plot([cx, 2 * r_max + 6, 2 * r_max + 10], [top_y, top_y, label_y], color="#999999", linewidth=0.5)
        key.text(2 * r_max + 12, label_y, label, ha="left", va="center", fontsize=8, color=TEXT)
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


# ----------------------------------------------------------------------------------------------------------
# Insets and locator maps

#: Regions enlarged under the participation map, as (west, east, south, north) in degrees: where participants
#: are too small or too crowded to see on the world map.
INSET_REGIONS: dict[str, tuple[float, float, float, float]] = {
    "Europe": (-11.0, 32.0, 35.0, 62.0),
    "Gulf": (34.0, 60.0, 12.0, 33.0),
    "Caribbean": (-90.0, -60.0, 8.0, 24.0),
    "Singapore and Malaysia": (98.0, 120.0, -3.0, 8.5),
    "South Pacific": (-178.0, -150.0, -26.0, -6.0),
}
CREDIT = "Made with Natural Earth"


@lru_cache(maxsize=16)
def _projected_box(west: float, east: float, south: float, north: float) -> tuple[float, float, float, float]:
    """A lon/lat box in the boundary file's Equal Earth metres: (x0, x1, y0, y1)."""
    from pyproj import Transformer

    to_map = Transformer.from_crs("EPSG:4326", "EPSG:8857", always_xy=True)
    lons = np.concatenate(
        [np.linspace(west, east, 25), np.full(25, east), np.linspace(east, west, 25), np.full(25, west)]
    )
    lats = np.concatenate(
        [np.full(25, south), np.linspace(south, north, 25), np.full(25, north), np.linspace(north, south, 25)]
    )
    xs, ys = to_map.transform(lons, lats)
    return float(np.min(xs)), float(np.max(xs)), float(np.min(ys)), float(np.max(ys))


def _draw_panel(
    fig: Figure,
    rect: tuple[float, float, float, float],
    extent: tuple[float, float, float, float],
    faces: list,
    *,
    label: str | None = None,
) -> mpl.axes.Axes:
    """A framed map panel at ``rect`` (figure fractions) showing ``extent`` (map metres), countries filled."""
    paths, _ = _base_layer(_boundaries_key())
    ax = fig.add_axes(rect)
    ax.add_collection(
        PathCollection(paths, facecolors=faces, edgecolors=BORDER, linewidths=BORDER_WIDTH, zorder=1), autolim=False
    )
    x0, x1, y0, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box", anchor="C")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("white")
    for spine in ax.spines.values():
        spine.set_edgecolor("#8a8a8a")
        spine.set_linewidth(0.6)
    if label:
        ax.set_title(label, fontsize=8.5, color=TEXT, pad=2, loc="left")
    return ax


def _label_points(
    ax, gdf, codes: set[str], extent: tuple[float, float, float, float], *, fontsize: float = 6.5
) -> None:
    """The ISO3 code of each listed country whose marker point lies inside ``extent``, beside the point."""
    x0, x1, y0, y1 = extent
    inside = gdf[gdf["iso3"].isin(codes) & gdf["point_x"].between(x0, x1) & gdf["point_y"].between(y0, y1)]
    for _, row in inside.sort_values("iso3").iterrows():
        ax.annotate(
            row["iso3"],
            (row["point_x"], row["point_y"]),
            xytext=(2, 2),
            textcoords="offset points",
            fontsize=fontsize,
            color=TEXT,
            zorder=6,
            bbox={"boxstyle": "round,pad=0.1", "facecolor": (1, 1, 1, 0.7), "edgecolor": "none"},
        )


def _participation_insets(
    fig: Figure, gdf, role_of: dict[str, str], faces: list, *, bottom: float, height: float
) -> None:
    """Panels under the world map enlarging the regions of INSET_REGIONS that hold a participant."""
    regions = []
    for name, box in INSET_REGIONS.items():
        extent = _projected_box(*box)
        x0, x1, y0, y1 = extent
        inside = gdf[gdf["iso3"].isin(role_of) & gdf["point_x"].between(x0, x1) & gdf["point_y"].between(y0, y1)]
        if len(inside):
            regions.append((name, extent, inside))
    if not regions:
        return
    weights = [2.2 if name == "Europe" else 1.0 for name, _, _ in regions]
    usable = 1.0 - 2 * MARGIN_X - GAP_X * (len(regions) - 1)
    x = MARGIN_X
    for (name, extent, inside), weight in zip(regions, weights):
        width = usable * weight / sum(weights)
        ax = _draw_panel(fig, (x, bottom, width, height), extent, faces, label=name)
        small = inside[inside["area_km2"] < SMALL_COUNTRY_AREA_KM2]
        if len(small):
            ax.scatter(
                small["point_x"],
                small["point_y"],
                s=30,
                c=[ROLE_COLOURS[role_of[c]] for c in small["iso3"]],
                edgecolors="#3a3a3a",
                linewidths=0.7,
                zorder=4,
            )
        _label_points(ax, gdf, set(inside["iso3"]), extent)
        x += width + GAP_X


def plot_locator_map(membership: pd.DataFrame, iso3: str, *, title: str | None = None) -> Figure:
    """A country's locator map: its region zoomed in, participants in their role colours, the country outlined
    (ringed when small), neighbours' codes labelled, and a small world map with the region's frame as an inset.

    A code with no territory on the map (``EUU``) gets the Europe panel with a note instead of an outline.
    """
    roles = map_roles(membership)
    key = _boundaries_key()
    gdf = _cached(key)
    code = iso3.strip().upper()
    role_of = dict(zip(roles["iso3"], roles["role"]))
    faces = [ROLE_COLOURS[role_of[c]] if c in role_of else LAND for c in gdf["iso3"].to_numpy()]
    mapped = gdf[gdf["iso3"] == code]
    if len(mapped):
        row = mapped.iloc[0]
        minx, miny, maxx, maxy = row.geometry.bounds
        span = max(maxx - minx, maxy - miny) * 1.5
        span = min(max(span, 3.2e6), 2.2e7)
        cx, cy = (minx + maxx) / 2 if span < 2.2e7 else 0.0, (miny + maxy) / 2
        if maxx - minx > 1.5e7:  # a country across much of the world (Russia, the US): its marker point
            cx, cy = row["point_x"], row["point_y"]
        extent = (cx - span * 0.8, cx + span * 0.8, cy - span / 2, cy + span / 2)
    else:
        row = None
        extent = _projected_box(*INSET_REGIONS["Europe"])
    with chart_style():
        fig = new_figure(8.0, 5.6, facecolor="white")
        FigureCanvasAgg(fig)
        top = 0.92 if title else 0.99
        if title:
            fig.text(MARGIN_X, 0.975, title, ha="left", va="top", fontsize=12, fontweight="bold", color=TEXT)
        ax = _draw_panel(fig, (MARGIN_X, 0.23, 1 - 2 * MARGIN_X, top - 0.23), extent, faces)
        x0, x1, y0, y1 = ax.get_xlim() + ax.get_ylim()
        small = gdf[gdf["iso3"].isin(role_of) & (gdf["area_km2"] < SMALL_COUNTRY_AREA_KM2)]
        if len(small):
            ax.scatter(
                small["point_x"],
                small["point_y"],
                s=30,
                c=[ROLE_COLOURS[role_of[c]] for c in small["iso3"]],
                edgecolors="#3a3a3a",
                linewidths=0.7,
                zorder=4,
            )
        _label_points(ax, gdf, set(role_of), (x0, x1, y0, y1), fontsize=7.5)
        notes = []
        if row is not None:
            paths, _ = _base_layer(key)
            ax.add_collection(
                PathCollection([paths[row.name]], facecolors="none", edgecolors=HIGHLIGHT, linewidths=1.6, zorder=3),
                autolim=False,
            )
            if row["area_km2"] < HIGHLIGHT_RING_BELOW_KM2:
                ax.scatter(
                    [row["point_x"]],
                    [row["point_y"]],
                    s=26**2,
                    facecolors="none",
                    edgecolors=HIGHLIGHT,
                    linewidths=1.6,
                    zorder=5,
                )
        else:
            notes.append(f"{_display_name(code, None)} has no territory of its own on the map; Europe is shown.")
        # the world inset, with the region's frame
        _, (wx0, wx1, wy0, wy1) = _base_layer(key)
        inset = _draw_panel(fig, (0.71, 0.235, 0.27, 0.2), (wx0, wx1, wy0, wy1), faces)
        inset.add_patch(
            mpl.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=HIGHLIGHT, linewidth=1.2, zorder=5)
        )
        counts = roles[roles["iso3"].isin(set(gdf["iso3"]))]["role"].value_counts()
        handles: list = [
            Patch(facecolor=ROLE_COLOURS[r], edgecolor=BORDER, linewidth=0.5, label=ROLE_LABELS[r])
            for r in ROLE_ORDER
            if counts.get(r, 0)
        ]
        handles.append(Patch(facecolor=LAND, edgecolor=BORDER, linewidth=0.5, label="Not a participant"))
        legend = _fitted_legend(fig, handles, title="Role (most specific shown)")
        _notes(fig, [*notes, CREDIT + "."], x=MARGIN_X, top=_extent(fig, legend).y0 - 0.01, fontsize=8)
    return fig
