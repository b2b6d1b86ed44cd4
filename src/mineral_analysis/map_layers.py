"""The building blocks every map is drawn with: country paths, map figures, the legend band, notes, panels.

The boundaries are the project's file (Equal Earth, see :mod:`mineral_analysis.geo`), turned into matplotlib
paths once per process (:func:`base_layer`), so a map renders in a fraction of a second. A map figure
(:func:`new_map`) has the title at the top, the world map, and a band under it for legends and notes; on a
phone (:func:`mineral_analysis.style.phone_layout`) the figure is narrow and legends and notes hang below the map.
The maps themselves are in :mod:`mineral_analysis.maps` and :mod:`mineral_analysis.funding_map`.
"""

from __future__ import annotations

import math
import textwrap
from functools import lru_cache

import matplotlib as mpl
import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath

from . import config
from .geo import SMALL_COUNTRY_AREA_KM2, cached_boundaries
from .style import NOTE_COLOUR, TEXT_COLOUR, layout, new_figure, type_size

LAND = "#e4e4e4"  # non-participants / land without money
BORDER = "#a6a6a6"
BORDER_WIDTH = 0.3
TEXT = TEXT_COLOUR
NOTE = NOTE_COLOUR
HIGHLIGHT = "#000000"


def require_columns(frame, columns: list[str], what: str) -> None:
    """Refuse a table without the columns a map reads, naming them (``what`` names the table)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s): {', '.join(missing)}")


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
def base_layer(path: str) -> tuple[tuple[MplPath, ...], tuple[float, float, float, float]]:
    """Matplotlib paths of every country (in the boundary file's row order) and the map's extent, cached."""
    gdf = cached_boundaries(path)
    paths = tuple(_geometry_path(g) for g in gdf.geometry)
    minx, miny, maxx, maxy = gdf.total_bounds
    pad_x, pad_y = 0.005 * (maxx - minx), 0.02 * (maxy - miny)
    return paths, (minx - pad_x, maxx + pad_x, miny - pad_y, maxy + pad_y)


def boundaries_key() -> str:
    return str(config.BOUNDARIES_FILE.resolve())


def preload() -> None:
    """Read the package's boundary file and turn its countries into drawing paths now (both cached), as a build's
    kernel template does before it forks: every brief's kernel then starts with them."""
    base_layer(boundaries_key())


TITLE_PT = 13  # a map's title
MARGIN_X = 0.012  # left margin of title, legends and notes (figure fraction)
GAP_X = 0.02  # space between side-by-side legends and notes
BAND_IN = 0.08  # the gap between a map and the legends and notes that hang below it (the saved image holds them)


def map_title(title: str | None, width_in: float, fontsize: float) -> tuple[str | None, float]:
    """A map title wrapped to the figure's width, and the height it takes at the top of the figure (inches)."""
    if not title:
        return title, 0.05
    chars = max(12, int((width_in - 0.3) * 72 / (fontsize * 0.62)))  # bold type is about 0.62 em a character
    title = "\n".join(textwrap.fill(line, chars, break_on_hyphens=False) or line for line in title.split("\n"))
    return title, 0.1 + (title.count("\n") + 1) * fontsize * 1.25 / 72


def new_map(title: str | None, *, below_in: float = 0.0) -> tuple[Figure, mpl.axes.Axes]:
    """A world map figure the layout's map width wide (:data:`mineral_analysis.style.PAGE` or ``PHONE``): the
    title, one frameless map axes (Equal Earth extent), ``below_in`` inches for the caller's panels, and the band
    that legends and notes hang from (``fig.band_in``; the saved image grows to hold them)."""
    width = layout().map_width
    title, title_in = map_title(title, width, TITLE_PT)
    _, (x0, x1, y0, y1) = base_layer(boundaries_key())
    map_in = (1 - 2 * MARGIN_X) * width * (y1 - y0) / (x1 - x0)
    height = title_in + map_in + below_in + BAND_IN
    fig = map_figure(title, height)
    ax = fig.add_axes((MARGIN_X, (below_in + BAND_IN) / height, 1 - 2 * MARGIN_X, map_in / height))
    ax.set_axis_off()
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box", anchor="C")
    return fig, ax


def map_figure(title: str | None, height: float, *, fontsize: float = TITLE_PT) -> Figure:
    """A figure the layout's map width wide and ``height`` inches tall with ``title`` (wrapped by :func:`map_title`)
    at its top, printed full width, and the band that legends and notes hang from (``fig.band_in``)."""
    fig = new_figure(layout().map_width, height, facecolor="white")
    fig.band_in = BAND_IN
    fig.print_full_width = True
    FigureCanvasAgg(fig)  # a renderer to measure legends with; saving to any format still works
    if title:
        fig.text(
            MARGIN_X, 1 - 0.05 / height, title, ha="left", va="top", fontsize=fontsize, fontweight="bold", color=TEXT
        )
    return fig


def draw_countries(ax, facecolors, *, edgecolor: str = BORDER, linewidth: float = BORDER_WIDTH) -> None:
    paths, _ = base_layer(boundaries_key())
    ax.add_collection(
        PathCollection(paths, facecolors=facecolors, edgecolors=edgecolor, linewidths=linewidth, zorder=1),
        autolim=False,
    )


def band_top(fig: Figure) -> float:
    """Top of the legend band in figure fractions (``fig.band_in`` inches from the bottom)."""
    return getattr(fig, "band_in", BAND_IN) / fig.get_figheight()


def artist_extent(fig: Figure, artist) -> mpl.transforms.Bbox:
    """The artist's bounding box in figure fractions."""
    box = artist.get_window_extent(fig.canvas.get_renderer())
    return box.transformed(fig.transFigure.inverted())


def band_legend(
    fig: Figure, handles: list, *, x: float, title: str | None = None, ncols: int = 1, **kwargs
) -> mpl.legend.Legend:
    """A legend in the band under the map, its top-left corner at ``x`` (figure fraction)."""
    options = {
        "fontsize": type_size(8),
        "title_fontsize": type_size(8.5),
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
        bbox_to_anchor=(x, band_top(fig) - 0.005),
        ncols=ncols,
        title=title,
        **options,
    )
    if title:
        legend.get_title().set_fontweight("bold")
    return legend


def draw_notes(fig: Figure, lines: list[str], *, x: float, top: float | None = None, fontsize: float = 8.0) -> None:
    """Notes from ``x`` to the right margin, wrapped to fit, top-aligned in the band (or at ``top``)."""
    if not lines:
        return
    fontsize = type_size(fontsize)
    width_in = (1.0 - MARGIN_X - x) * fig.get_figwidth()
    chars = max(30, int(width_in * 72 / (fontsize * 0.56)))
    text = "\n".join(textwrap.fill(line, width=chars, break_on_hyphens=False) for line in lines)
    fig.text(
        x,
        band_top(fig) - 0.02 if top is None else top,
        text,
        ha="left",
        va="top",
        fontsize=fontsize,
        color=NOTE,
        linespacing=1.35,
    )


def fitted_legend(fig: Figure, handles: list, *, title: str) -> mpl.legend.Legend:
    """The band legend in as few rows as fit the figure's width, with balanced columns."""
    right = 1.0 - MARGIN_X
    for ncols in range(min(len(handles), 5), 0, -1):
        legend = band_legend(fig, handles, x=MARGIN_X, title=title, ncols=ncols)
        if artist_extent(fig, legend).x1 <= right or ncols == 1:
            break
        legend.remove()
    balanced = math.ceil(len(handles) / math.ceil(len(handles) / ncols))
    if balanced != ncols:
        legend.remove()
        legend = band_legend(fig, handles, x=MARGIN_X, title=title, ncols=balanced)
    return legend


#: Regions enlarged under the participation map, as (west, east, south, north) in degrees: where participants
#: are too small or too crowded to see on the world map.
INSET_REGIONS: dict[str, tuple[float, float, float, float]] = {
    "Europe": (-11.0, 32.0, 35.0, 71.5),
    "Gulf": (34.0, 60.0, 12.0, 33.0),
    "Caribbean": (-90.0, -60.0, 8.0, 24.0),
    "Singapore and Malaysia": (98.0, 120.0, -3.0, 8.5),
    "South Pacific": (-178.0, -150.0, -26.0, -6.0),
}
CREDIT = "Made with Natural Earth"


@lru_cache(maxsize=16)
def projected_box(west: float, east: float, south: float, north: float) -> tuple[float, float, float, float]:
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


def draw_panel(
    fig: Figure,
    rect: tuple[float, float, float, float],
    extent: tuple[float, float, float, float],
    faces: list,
    *,
    label: str | None = None,
    fill_rect: bool = False,
) -> mpl.axes.Axes:
    """A map panel at ``rect`` (figure fractions) showing ``extent`` (map metres), countries filled, framed on
    all four sides. The panel keeps the extent's proportions: it shrinks inside ``rect``, or (``fill_rect``) fills
    ``rect`` and shows more map around the extent (never less)."""
    paths, _ = base_layer(boundaries_key())
    ax = fig.add_axes(rect)
    ax.add_collection(
        PathCollection(paths, facecolors=faces, edgecolors=BORDER, linewidths=BORDER_WIDTH, zorder=1), autolim=False
    )
    if fill_rect:
        extent = widened_extent(extent, rect[2] * fig.get_figwidth() / (rect[3] * fig.get_figheight()))
    x0, x1, y0, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box", anchor="C")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("white")
    for spine in ax.spines.values():  # the chart style draws two spines; a map panel is closed on all four
        spine.set_visible(True)
        spine.set_edgecolor(PANEL_FRAME)
        spine.set_linewidth(0.6)
    if label:
        ax.set_title(label, fontsize=type_size(PANEL_TITLE_PT), color=TEXT, pad=2, loc="left")
    return ax


def widened_extent(extent: tuple[float, float, float, float], aspect: float) -> tuple[float, float, float, float]:
    """``extent`` (x0, x1, y0, y1) grown about its centre in one direction to ``aspect`` (width over height)."""
    x0, x1, y0, y1 = extent
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = (x1 - x0) / 2, (y1 - y0) / 2
    if half_w / half_h < aspect:
        half_w = half_h * aspect
    else:
        half_h = half_w / aspect
    return (cx - half_w, cx + half_w, cy - half_h, cy + half_h)


PANEL_FRAME = "#8a8a8a"
PANEL_TITLE_PT = 9.0
#: Country codes in panels: at least 7 points when a page map (8 in) is printed at the PDF's text width.
CODE_LABEL_PT = 8.5


def label_points(
    ax, gdf, codes: set[str], extent: tuple[float, float, float, float], *, fontsize: float = CODE_LABEL_PT
) -> list:
    """The ISO3 code of each listed country whose marker point lies inside ``extent``, beside the point, where it
    overlaps no other code (:func:`place_labels`)."""
    x0, x1, y0, y1 = extent
    inside = gdf[gdf["iso3"].isin(codes) & gdf["point_x"].between(x0, x1) & gdf["point_y"].between(y0, y1)]
    fontsize = type_size(fontsize)
    inside = inside.sort_values("iso3")
    # a country large enough to show its fill is named on it first; a marker is named beside it
    offsets = [
        CODE_OFFSETS if area < SMALL_COUNTRY_AREA_KM2 else [(0, 0), *CODE_OFFSETS] for area in inside["area_km2"]
    ]
    labels = [
        ax.annotate(
            row["iso3"],
            (row["point_x"], row["point_y"]),
            xytext=CODE_OFFSETS[0],
            textcoords="offset points",
            fontsize=fontsize,
            color=TEXT,
            zorder=6,
            bbox={"boxstyle": "round,pad=0.1", "facecolor": (1, 1, 1, 0.7), "edgecolor": "none"},
        )
        for _, row in inside.iterrows()
    ]
    place_labels(ax, labels, offsets)
    return labels


# Where a country's code may sit, in points from its marker point, in order of preference: beside it, then
# further out (a leader-less label is still read as the nearest point's).
CODE_OFFSETS = [
    (2, 2),
    (2, -2),
    (-2, 2),
    (-2, -2),
    (4, 0),
    (-4, 0),
    (0, 5),
    (0, -5),
    (9, 7),
    (-9, -7),
    (9, -7),
    (-9, 7),
    (0, 11),
    (0, -11),
    (14, 9),
    (-14, -9),
    (14, -9),
    (-14, 9),
]


def _alignment(dx: float, dy: float) -> tuple[str, str]:
    """The text alignment that puts a label on the side of its anchor that the offset points to."""
    return ("left" if dx > 0 else "right" if dx < 0 else "center"), (
        "bottom" if dy > 0 else "top" if dy < 0 else "center"
    )


def place_labels(ax, labels: list, offsets: list, *, pad_pt: float = 2.0) -> list:
    """Give each annotation in ``labels`` (text placed in offset points; earlier ones choose first) the first of
    ``offsets`` (points from its anchor) where its text covers no label placed before it and no label's point,
    its leader (if it has an arrow) crosses no other leader or label, it stays inside the axes, and (without a
    leader) it sits nearer its own point than any other label's, so that it is read as that country's; a label
    with no such place takes the one that breaks these least (``pad_pt`` around each text is its box). Works on
    the figure's final layout: call it last. ``offsets`` is one list for all labels, or a list per label.
    Returns the labels that found no such place."""
    if not labels:
        return []
    fig = ax.figure
    canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    ax.apply_aspect()
    frame = ax.get_window_extent(renderer)
    pad = renderer.points_to_pixels(pad_pt)  # room for the label's box around its text
    near = renderer.points_to_pixels(6.0)  # a label covering another's point within this hides it
    anchors = ax.transData.transform(np.array([label.xy for label in labels], dtype=float))
    per_label = offsets if offsets and isinstance(offsets[0], list) else [offsets] * len(labels)
    boxes = np.empty((0, 4))  # placed labels: x0, y0, x1, y1 (pixels)
    leaders: list = []
    crowded: list = []
    for index, (label, choices) in enumerate(zip(labels, per_label)):
        shifts = np.array([renderer.points_to_pixels(np.array(offset, dtype=float)) for offset in choices])
        label.set_annotation_clip(False)
        size = mpl.text.Text.get_window_extent(label, renderer).size  # the text alone, not its arrow
        candidates = _candidate_boxes(anchors[index], shifts, choices, size) + np.array([-pad, -pad, pad, pad])
        points = np.delete(anchors, index, axis=0)
        obstacles = np.vstack([boxes, np.hstack([points - near, points + near])])
        covered = _overlap_areas(candidates, obstacles).sum(axis=1)
        inside = _overlap_areas(candidates, np.array([[frame.x0, frame.y0, frame.x1, frame.y1]]))[:, 0]
        areas = (candidates[:, 2] - candidates[:, 0]) * (candidates[:, 3] - candidates[:, 1])
        cost = covered + areas - inside
        if label.arrow_patch is None and len(points):  # a label nearer another point would name the wrong one
            centres = (candidates[:, :2] + candidates[:, 2:]) / 2
            own = np.hypot(*(centres - anchors[index]).T)
            other = np.min(np.hypot(*(centres[:, None, :] - points[None, :, :]).transpose(2, 0, 1)), axis=1)
            cost += np.where(other < own, areas, 0.0)
        if label.arrow_patch is not None:
            leader_ends = np.clip(anchors[index], candidates[:, :2], candidates[:, 2:])
            crossing = (size[1] + 2 * pad) ** 2  # a crossing costs as much as a label's height squared of overlap
            cost += crossing * np.array(
                [
                    _leader_crossings((anchors[index], end), box, leaders, boxes)
                    for end, box in zip(leader_ends, candidates)
                ]
            )
        free = np.flatnonzero(cost < 1e-6)  # a hair of rounding is not an overlap
        choice = int(free[0]) if len(free) else int(np.argmin(cost))
        if not len(free):
            crowded.append(label)
        dx, dy = choices[choice]
        ha, va = _alignment(dx, dy)
        label.set_position((dx, dy))
        label.set(ha=ha, va=va)
        boxes = np.vstack([boxes, candidates[choice]])
        if label.arrow_patch is not None:
            leaders.append((anchors[index], leader_ends[choice]))
    return crowded


def _candidate_boxes(anchor: np.ndarray, shifts: np.ndarray, offsets: list, size: np.ndarray) -> np.ndarray:
    """The box (x0, y0, x1, y1) a text of ``size`` pixels takes at each offset, aligned as :func:`_alignment` says."""
    boxes = np.empty((len(offsets), 4))
    for k, ((dx, dy), shift) in enumerate(zip(offsets, shifts)):
        x, y = anchor + shift
        x0 = x if dx > 0 else x - size[0] if dx < 0 else x - size[0] / 2
        y0 = y if dy > 0 else y - size[1] if dy < 0 else y - size[1] / 2
        boxes[k] = (x0, y0, x0 + size[0], y0 + size[1])
    return boxes


def _overlap_areas(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Overlap area of each of ``boxes`` with each of ``others`` (rows x0, y0, x1, y1), a len(boxes) x len(others) array."""
    width = np.minimum(boxes[:, None, 2], others[None, :, 2]) - np.maximum(boxes[:, None, 0], others[None, :, 0])
    height = np.minimum(boxes[:, None, 3], others[None, :, 3]) - np.maximum(boxes[:, None, 1], others[None, :, 1])
    return np.clip(width, 0, None) * np.clip(height, 0, None)


def _leader_crossings(leader, box: np.ndarray, leaders: list, boxes: np.ndarray) -> int:
    """How often a label's leader and box cross the leaders and boxes of the labels placed before it."""
    return (
        sum(_crosses(leader, other) for other in leaders)
        + sum(_crosses(leader, edge) for other in boxes for edge in _edges(other))
        + sum(_crosses(other, edge) for other in leaders for edge in _edges(box))
    )


def _edges(box) -> list[tuple[np.ndarray, np.ndarray]]:
    x0, y0, x1, y1 = box
    corners = [np.array(c) for c in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
    return [(corners[i], corners[(i + 1) % 4]) for i in range(4)]


def _crosses(a, b) -> bool:
    """Whether segments ``a`` and ``b`` (pairs of points) cross at a point inside both."""

    def side(p, q, r) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    (p1, p2), (q1, q2) = a, b
    return side(p1, p2, q1) * side(p1, p2, q2) < 0 and side(q1, q2, p1) * side(q1, q2, p2) < 0
