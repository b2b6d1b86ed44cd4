"""World maps for the briefs: who took part in the ministerial, and where the US money goes.

Every function returns a new :class:`~mineral_analysis.style.BriefFigure` built with the object-oriented API (no
pyplot, so nothing is registered globally and nothing needs closing), drawn in the one style of charts and maps
(:mod:`mineral_analysis.style`); save it with ``fig.savefig(...)``. The maps use
the project's boundary file (Equal Earth, see :mod:`mineral_analysis.geo`), drawn from matplotlib paths that
are built once per process, so a map renders in a fraction of a second.
"""

from __future__ import annotations

import math

import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .analysis import roles_by_country
from .funding_map import funding_locations, has_located_money, plot_funding_map, unmapped_sentence
from .geo import SMALL_COUNTRY_AREA_KM2, cached_boundaries
from .links import display_name
from .map_layers import (
    BAND_IN,
    BORDER,
    CREDIT,
    GAP_X,
    HIGHLIGHT,
    INSET_REGIONS,
    LAND,
    MARGIN_X,
    TITLE_PT,
    artist_extent,
    base_layer,
    boundaries_key,
    draw_countries,
    draw_notes,
    draw_panel,
    fitted_legend,
    label_points,
    map_figure,
    map_title,
    new_map,
    projected_box,
    require_columns,
)
from .style import chart_style, layout, with_phone_variant
from .vocab import GROUPS, ROLE_PRIORITY, SUPRANATIONAL, group_in_sentence

__all__ = [
    "funding_locations",
    "has_located_money",
    "map_roles",
    "plot_funding_map",
    "plot_locator_map",
    "plot_participation_insets",
    "plot_participation_map",
    "unmapped_sentence",
]


# A country is coloured by its primary role (``vocab.ROLE_PRIORITY``); ``agreement`` stands for the two groups
# that are neither a framework signed at the ministerial nor a mere delegation.
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
#: The map's colours from the most to the least specific role.
ROLE_ORDER: tuple[str, ...] = tuple(dict.fromkeys(ROLE_OF_GROUP[g] for g in ROLE_PRIORITY))


def map_roles(membership: pd.DataFrame) -> pd.DataFrame:
    """One row per ``iso3`` with the ``role`` it is coloured by (see ROLE_ORDER), its ``name`` and ``groups``.

    The most specific role comes from :func:`mineral_analysis.analysis.roles_by_country` (the one definition of a
    country's primary role); trade action plans and strategic partnerships share the map colour ``agreement``.
    ``groups`` lists every group the country is in, in the order of ``vocab.GROUPS``. A group outside the
    vocabulary is refused with the valid ones listed.
    """
    require_columns(membership, ["iso3", "group"], "membership")
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
            "groups": [[g for g, on in zip(GROUPS, row) if on] for row in table[list(GROUPS)].to_numpy().tolist()],
        }
    )
    order = {code: i for i, code in enumerate(dict.fromkeys(frame["iso3"]))}
    return roles.sort_values("iso3", key=lambda codes: codes.map(order), ignore_index=True)


@with_phone_variant
def plot_participation_map(
    membership: pd.DataFrame, *, title: str | None = None, highlight: str | None = None
) -> Figure:
    """World map of the ministerial's participants, each country coloured by its most specific role.

    Roles, most specific first: host > FORGE chair > FORGE member > bilateral framework signed > trade action
    plan or strategic partnership > delegation only; other countries are light grey. Participants smaller than
    ``geo.SMALL_COUNTRY_AREA_KM2`` also get a marker in their role colour. Codes without a polygon (``EUU``,
    the European Commission) are named in a note under the legend. ``highlight`` (an ISO3 code) is outlined in
    bold, e.g. the subject of a country brief. :func:`plot_participation_insets` enlarges Europe and the small
    states, in a figure of its own (shown under this one).
    """
    roles = map_roles(membership)
    key = boundaries_key()
    gdf = cached_boundaries(key)
    with chart_style():
        role_of = dict(zip(roles["iso3"], roles["role"]))
        fig, ax = new_map(title)
        draw_countries(ax, _role_faces(gdf, role_of))

        mapped = set(gdf.loc[gdf["iso3"] != "", "iso3"])
        # small participants: a marker at their point, in their role colour
        small = gdf[(gdf["iso3"].isin(role_of)) & (gdf["area_km2"] < SMALL_COUNTRY_AREA_KM2)]
        if len(small):
            order = np.argsort([-ROLE_ORDER.index(role_of[c]) for c in small["iso3"]], kind="stable")
            _small_markers(ax, small.iloc[order], role_of, size=34)

        notes: list[str] = []
        names = dict(zip(roles["iso3"], roles["name"]))
        highlight_code = highlight.strip().upper() if isinstance(highlight, str) and highlight.strip() else None
        if highlight_code and highlight_code in mapped:
            _outline(fig, ax, gdf.loc[gdf["iso3"] == highlight_code].iloc[0], key)
        elif highlight_code:
            name = display_name(highlight_code, names.get(highlight_code))
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
        legend = fitted_legend(fig, handles, title="Role (most specific shown)")

        unmapped = roles[~roles["iso3"].isin(mapped)]
        extra = []
        for _, r in unmapped.iterrows():
            kind = "supranational, not on the map" if r["iso3"] in SUPRANATIONAL else "no territory on the map"
            groups = ", ".join(group_in_sentence(g) for g in r["groups"])
            extra.append(f"+ {display_name(r['iso3'], r['name'])} — {kind}: {groups}")
        top = artist_extent(fig, legend).y0 - 0.01
        draw_notes(fig, extra + notes + [CREDIT + "."], x=MARGIN_X, top=top, fontsize=8)
    return fig


HIGHLIGHT_RING_BELOW_KM2 = 300_000.0  # a highlighted country smaller than this also gets a ring around it


def _outline(fig: Figure, ax, row: pd.Series, key: str) -> None:
    """Outline one country in bold; a small one (whose fill a bold line would hide) gets a thinner outline
    and a ring around it, so that it stands out and its colour stays visible."""
    paths, (x0, x1, y0, y1) = base_layer(key)
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


def _small_markers(ax, rows: pd.DataFrame, role_of: dict[str, str], *, size: float = 30) -> None:
    """A marker in its role colour at the point of each participant in ``rows`` (countries too small to see)."""
    if len(rows):
        ax.scatter(
            rows["point_x"],
            rows["point_y"],
            s=size,
            c=[ROLE_COLOURS[role_of[c]] for c in rows["iso3"]],
            edgecolors="#3a3a3a",
            linewidths=0.7,
            zorder=4,
        )


def _role_faces(gdf, role_of: dict[str, str]) -> list[str]:
    """Each country's fill: its role's colour, or the land colour of a non-participant."""
    return [ROLE_COLOURS[role_of[c]] if c in role_of else LAND for c in gdf["iso3"].to_numpy()]


def _inset_regions(gdf, role_of: dict[str, str]) -> list[tuple[str, tuple[float, float, float, float], pd.DataFrame]]:
    """The regions of INSET_REGIONS that hold a participant: (name, extent in map metres, participants inside).

    A participant belongs to a region when its marker point lies in the region's box, or a good part of its
    largest piece of land (:data:`INSET_SHARE`) does; the extent then grows to
    hold each such participant's parts that reach into the box whole (Norway's north, all of Ukraine, Israel at
    the Gulf's edge), and a margin: a panel never cuts a participant it labels. Far-off parts (Svalbard, French
    Guiana) stay on the world map.
    """
    regions = []
    for name, box in INSET_REGIONS.items():
        x0, x1, y0, y1 = projected_box(*box)
        seed = shapely.box(x0, y0, x1, y1)
        candidates = gdf[gdf["iso3"].isin(role_of)]
        point_in = candidates["point_x"].between(x0, x1) & candidates["point_y"].between(y0, y1)
        largest = [max(shapely.get_parts(g), key=lambda part: part.area) for g in candidates.geometry]
        mostly_in = [shapely.intersection(p, seed).area >= INSET_SHARE * p.area for p in largest]
        inside = candidates[point_in.to_numpy() | np.array(mostly_in, dtype=bool)]
        if not len(inside):
            continue
        for geometry in inside.geometry:
            for part in shapely.get_parts(geometry):
                if part.intersects(seed):
                    px0, py0, px1, py1 = part.bounds
                    x0, x1, y0, y1 = min(x0, px0), max(x1, px1), min(y0, py0), max(y1, py1)
        pad = INSET_MARGIN * max(x1 - x0, y1 - y0)
        regions.append((name, (x0 - pad, x1 + pad, y0 - pad, y1 + pad), inside))
    return regions


def participation_inset_codes(membership: pd.DataFrame) -> dict[str, list[str]]:
    """The participants each inset panel of :func:`plot_participation_insets` shows and labels, by region."""
    role_of = dict(zip(*map_roles(membership)[["iso3", "role"]].to_numpy().T))
    return {
        name: sorted(inside["iso3"]) for name, _, inside in _inset_regions(cached_boundaries(boundaries_key()), role_of)
    }


INSET_SHARE = 0.25  # a participant with this share of its largest part in a region's box belongs to the region
INSET_MARGIN = 0.03  # room around the participants of an inset panel, as a share of its larger side
#: Inset panels: a grid of this many columns (page, phone); Europe, the most crowded, spans two by two cells.
INSET_COLUMNS = {"page": 3, "phone": 2}
#: A cell's height over its width (page, phone): on a page, low enough that the world map and its insets print on
#: one A4 page.
INSET_CELL_ASPECT = {"page": 0.42, "phone": 0.72}
INSET_TITLE_IN = 0.26  # room over each panel for its name


#: Panels that take more than one cell (rows, columns) in a grid of three columns or more: Europe is the most
#: crowded, the Gulf's participants lie on a tall peninsula. In fewer columns, Europe takes two by two.
INSET_SPANS = {"Europe": (2, 2), "Gulf": (2, 1)}


def _grid_cells(names: list[str], columns: int) -> list[tuple[int, int, int, int]]:
    """Where each named panel goes in a grid of ``columns``: (row, column, rows, columns spanned), filled row by
    row (:data:`INSET_SPANS`)."""
    taken: set[tuple[int, int]] = set()
    cells = []
    for name in names:
        if columns >= 3:
            rows_span, cols_span = INSET_SPANS.get(name, (1, 1))
        else:
            rows_span, cols_span = (2, 2) if name == "Europe" and columns == 2 else (1, 1)
        row = 0
        while True:
            free = [
                col
                for col in range(columns - cols_span + 1)
                if all((row + r, col + c) not in taken for r in range(rows_span) for c in range(cols_span))
            ]
            if free:
                col = free[0]
                break
            row += 1
        taken.update((row + r, col + c) for r in range(rows_span) for c in range(cols_span))
        cells.append((row, col, rows_span, cols_span))
    return cells


@with_phone_variant
def plot_participation_insets(membership: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Panels enlarging the regions of the participation map where participants are small or crowded (Europe,
    the Gulf, the Caribbean, Singapore and Malaysia, the South Pacific; :data:`INSET_REGIONS`), each participant
    whole, labelled with its code, in the colours of :func:`plot_participation_map` (whose legend they share).

    Returns None when no participant lies in any region (nothing to enlarge).
    """
    roles = map_roles(membership)
    gdf = cached_boundaries(boundaries_key())
    role_of = dict(zip(roles["iso3"], roles["role"]))
    regions = _inset_regions(gdf, role_of)
    if not regions:
        return None
    with chart_style():
        width = layout().map_width
        columns = INSET_COLUMNS[layout().name]
        title, title_in = map_title(title, width, TITLE_PT)
        cells = _grid_cells([name for name, _, _ in regions], columns)
        cell_w = ((1 - 2 * MARGIN_X) * width - GAP_X * width * (columns - 1)) / columns
        cell_h = cell_w * INSET_CELL_ASPECT[layout().name]
        rows = max(row + span for row, _, span, _ in cells)
        row_in = cell_h + INSET_TITLE_IN
        height = title_in + rows * row_in + BAND_IN
        fig = map_figure(title, height)
        faces = _role_faces(gdf, role_of)
        for (name, extent, inside), (row, col, rows_span, cols_span) in zip(regions, cells):
            w_in = cols_span * cell_w + (cols_span - 1) * GAP_X * width
            h_in = rows_span * row_in - INSET_TITLE_IN
            left = MARGIN_X + col * (cell_w + GAP_X * width) / width
            top_in = title_in + row * row_in + INSET_TITLE_IN
            rect = (left, 1 - (top_in + h_in) / height, w_in / width, h_in / height)
            ax = draw_panel(fig, rect, extent, faces, label=name, fill_rect=True)
            _small_markers(ax, inside[inside["area_km2"] < SMALL_COUNTRY_AREA_KM2], role_of)
            ax.apply_aspect()
            label_points(ax, gdf, set(inside["iso3"]), ax.get_xlim() + ax.get_ylim())
        draw_notes(fig, ["Colours as in the world map above. " + CREDIT + "."], x=MARGIN_X, fontsize=8)
    return fig


LOCATOR_TITLE_PT = 12
LOCATOR_WORLD_SHARE = {"page": 0.32, "phone": 0.42}  # the world inset's width, as a share of the panel's
LOCATOR_WORLD_GAP = 0.012  # between the world inset and the panel's frame (figure fraction of its width)
LOCATOR_WORLD_UP_TO = 0.5  # a panel wider than this share of the world is its own world map: no world inset


def _locator_corner(fig: Figure, ax, aspect: float, gdf, role_of: dict[str, str], subject: str) -> tuple:
    """The rectangle (figure fractions) of the locator's world inset: inside the panel ``ax`` (drawn, its aspect
    applied), in the corner that covers fewest participants' points (the subject's counts ten times)."""
    box = ax.get_position()
    fig_w, fig_h = fig.get_figwidth(), fig.get_figheight()
    w = box.width * LOCATOR_WORLD_SHARE[layout().name]
    h = w * fig_w / aspect / fig_h
    gap_x, gap_y = LOCATOR_WORLD_GAP * box.width, LOCATOR_WORLD_GAP * box.width * fig_w / fig_h
    corners = [
        (box.x1 - gap_x - w, box.y0 + gap_y),  # bottom right first, then bottom left, top right, top left
        (box.x0 + gap_x, box.y0 + gap_y),
        (box.x1 - gap_x - w, box.y1 - gap_y - h),
        (box.x0 + gap_x, box.y1 - gap_y - h),
    ]
    points = gdf[gdf["iso3"].isin(role_of)]
    xy = ax.transData.transform(points[["point_x", "point_y"]].to_numpy(dtype=float))
    xy = fig.transFigure.inverted().transform(xy)
    weight = np.where(points["iso3"].to_numpy() == subject, 10.0, 1.0)
    covered = [
        float(weight[(xy[:, 0] >= x) & (xy[:, 0] <= x + w) & (xy[:, 1] >= y) & (xy[:, 1] <= y + h)].sum())
        for x, y in corners
    ]
    x, y = corners[int(np.argmin(covered))]
    return (x, y, w, h)


def _world_inset(fig: Figure, ax, frame: tuple, world_box: tuple, faces, gdf, role_of: dict, code: str) -> None:
    """The locator's small world map with the region's ``frame`` drawn on it (ringed when too small to see)."""
    x0, x1, y0, y1 = frame
    wx0, wx1, wy0, wy1 = world_box
    world = _locator_corner(fig, ax, (wx1 - wx0) / (wy1 - wy0), gdf, role_of, code)
    inset = draw_panel(fig, world, world_box, faces)
    inset.set_zorder(ax.get_zorder() + 1)
    inset.add_patch(
        mpl.patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=HIGHLIGHT, linewidth=1.2, zorder=5)
    )
    if x1 - x0 < 0.03 * (wx1 - wx0):  # a frame too small to see on the world map: ring it
        inset.scatter(
            [(x0 + x1) / 2],
            [(y0 + y1) / 2],
            s=12**2,
            facecolors="none",
            edgecolors=HIGHLIGHT,
            linewidths=1.2,
            zorder=5,
        )


LOCATOR_HOME_M = 1_000_000.0  # a country's parts this close to its largest one are its home region


def _home_bounds(geometry) -> tuple[float, float, float, float]:
    """The bounds of a country's largest part and the parts near it: France without its overseas regions, the
    United States without Alaska and Hawaii, so the locator shows the region where the country mostly is."""
    parts = shapely.get_parts(geometry)
    largest = max(parts, key=lambda part: part.area)
    near = [part for part in parts if part.distance(largest) <= LOCATOR_HOME_M]
    return tuple(shapely.total_bounds(near))


LOCATOR_ZOOM_SMALL = 6.0  # a small country's locator spans this many times its own extent...
LOCATOR_MIN_SPAN_SMALL_M = 60_000.0  # ...and at least this many metres (Rarotonga is about 11 km across)


@with_phone_variant
def plot_locator_map(membership: pd.DataFrame, iso3: str, *, title: str | None = None) -> Figure:
    """A country's locator map: its region zoomed in, participants in their role colours, the country outlined
    (ringed when small), neighbours' codes labelled, and a small world map with the region's frame as an inset
    (left out when the region spans most of the world already). The region is where the country mostly is: its
    largest part and the parts near it (metropolitan France, the contiguous United States).

    A code with no territory on the map (``EUU``) gets the Europe panel with a note instead of an outline.
    """
    roles = map_roles(membership)
    key = boundaries_key()
    gdf = cached_boundaries(key)
    code = iso3.strip().upper()
    role_of = dict(zip(roles["iso3"], roles["role"]))
    faces = _role_faces(gdf, role_of)
    mapped = gdf[gdf["iso3"] == code]
    if len(mapped):
        row = mapped.iloc[0]
        minx, miny, maxx, maxy = _home_bounds(row.geometry)
        size = max(maxx - minx, maxy - miny)
        if row["area_km2"] < SMALL_COUNTRY_AREA_KM2:  # an island or city state: close enough to see its shape
            span = max(size * LOCATOR_ZOOM_SMALL, LOCATOR_MIN_SPAN_SMALL_M)
        else:
            span = min(max(size * 1.5, 3.2e6), 2.2e7)
        cx, cy = (minx + maxx) / 2 if span < 2.2e7 else 0.0, (miny + maxy) / 2
        if maxx - minx > 1.5e7:  # a country across much of the world (Russia, the US): its marker point
            cx, cy = row["point_x"], row["point_y"]
        extent = (cx - span * 0.8, cx + span * 0.8, cy - span / 2, cy + span / 2)
    else:  # no territory (the European Commission): Europe's panel, its participants whole
        row = None
        europe = [extent for name, extent, _ in _inset_regions(gdf, role_of) if name == "Europe"]
        extent = europe[0] if europe else projected_box(*INSET_REGIONS["Europe"])
    with chart_style():
        width = layout().map_width
        title, title_in = map_title(title, width, LOCATOR_TITLE_PT)
        panel_in = (1 - 2 * MARGIN_X) * width / 1.6  # the region's extent is 1.6 times as wide as tall
        height = title_in + panel_in + BAND_IN + 0.05
        fig = map_figure(title, height, fontsize=LOCATOR_TITLE_PT)
        bottom = (BAND_IN + 0.05) / height
        ax = draw_panel(fig, (MARGIN_X, bottom, 1 - 2 * MARGIN_X, panel_in / height), extent, faces, fill_rect=True)
        ax.apply_aspect()
        x0, x1, y0, y1 = ax.get_xlim() + ax.get_ylim()
        # a small subject is zoomed in far enough to show its own shape: no marker over it
        small = gdf[gdf["iso3"].isin(role_of) & (gdf["area_km2"] < SMALL_COUNTRY_AREA_KM2) & (gdf["iso3"] != code)]
        _small_markers(ax, small, role_of)
        label_points(ax, gdf, set(role_of), (x0, x1, y0, y1))
        notes = []
        if row is not None:
            paths, _ = base_layer(key)
            ax.add_collection(
                PathCollection([paths[row.name]], facecolors="none", edgecolors=HIGHLIGHT, linewidths=1.6, zorder=3),
                autolim=False,
            )
            if row["area_km2"] < HIGHLIGHT_RING_BELOW_KM2 and size < 0.05 * span:  # still too small to find
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
            notes.append(f"{display_name(code, None)} has no territory of its own on the map; Europe is shown.")
        # the world inset, with the region's frame, in the corner of the panel where it hides least
        _, (wx0, wx1, wy0, wy1) = base_layer(key)
        if x1 - x0 <= LOCATOR_WORLD_UP_TO * (wx1 - wx0):
            _world_inset(fig, ax, (x0, x1, y0, y1), (wx0, wx1, wy0, wy1), faces, gdf, role_of, code)
        counts = roles[roles["iso3"].isin(set(gdf["iso3"]))]["role"].value_counts()
        handles: list = [
            Patch(facecolor=ROLE_COLOURS[r], edgecolor=BORDER, linewidth=0.5, label=ROLE_LABELS[r])
            for r in ROLE_ORDER
            if counts.get(r, 0)
        ]
        handles.append(Patch(facecolor=LAND, edgecolor=BORDER, linewidth=0.5, label="Not a participant"))
        legend = fitted_legend(fig, handles, title="Role (most specific shown)")
        draw_notes(fig, [*notes, CREDIT + "."], x=MARGIN_X, top=artist_extent(fig, legend).y0 - 0.01, fontsize=8)
    return fig
