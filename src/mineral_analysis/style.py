"""One look for every brief: the bundled fonts, and the matplotlib style of every chart and map.

The fonts ship in the package (:mod:`mineral_analysis.fonts`), so a brief looks the same on any machine: the
HTML embeds the subset it uses, the PDF is laid out with nothing else, and charts and maps are drawn with the
same files, registered with matplotlib here.

Charts are drawn inside :func:`chart_style`: matplotlib's own defaults (never the account's ``matplotlibrc``)
plus :data:`STYLE`, set for the duration of the ``with`` block only, so the caller's settings and backend are
left as they were. Figures made by :func:`new_figure` are :class:`BriefFigure` objects, which also draw and save
themselves in that style wherever they are shown (``savefig``, JupyterLab's inline display).

Every chart and map is drawn for one of two :class:`Layout` s: :data:`PAGE` (charts about 10 inches wide, maps 8,
about as wide as a page prints, so that their labels print at 7 points or more) and :data:`PHONE` (4.2 inches, type at its usual size: shown at a phone's 390 CSS pixels, its
smallest text is still about 9 pixels high). A function decorated with :func:`with_phone_variant` draws the page
figure and knows how to draw the same chart again for a phone (``fig.phone_variant()``); the brief shows the
phone figure on narrow screens (:func:`mineral_analysis.display.show_figure`).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import textwrap
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import matplotlib as mpl
import matplotlib.style
from matplotlib import font_manager
from matplotlib.figure import Figure

from .dependency_internals import prefer_font_files
from .fonts import FALLBACK_FAMILY, FONT_FACES, FONT_FAMILY

# Colours shared by charts and maps.
TEXT_COLOUR = "#222222"
NOTE_COLOUR = "#555555"
GRID_COLOUR = "#dddddd"
AXIS_COLOUR = "#888888"

#: A colour for binding status where no agency colour applies (bars by mineral, instrument or country; keys).
STATUS_COLOUR = "#1f3b57"


@dataclasses.dataclass(frozen=True)
class StatusLook:
    """How one binding status is drawn, in every chart, map and timeline: solid, hatched or dotted.

    ``fill_alpha`` is the opacity of the colour inside (1 for a solid bar, less where shapes overlap on a map);
    ``hatch`` is drawn in the colour over a white inside.
    """

    status: str  # the value of the ``binding_status`` column
    label: str
    hatch: str | None
    solid: bool


#: The one encoding of binding status: binding is solid, not binding hatched, not stated dotted; one legend.
BINDING_LOOKS: tuple[StatusLook, ...] = (
    StatusLook("binding", "Binding", None, True),
    StatusLook("not binding", "Not binding", "////", False),
    StatusLook("not stated", "Not stated", "....", False),
)
LOOK_OF_STATUS: dict[str, StatusLook] = {look.status: look for look in BINDING_LOOKS}


def status_look(value: object) -> StatusLook:
    """The look of a ``binding_status`` value (also True/False from ``is_binding``); anything else is not stated."""
    if value is True or (isinstance(value, str) and value.strip().lower() in {"binding", "true"}):
        return LOOK_OF_STATUS["binding"]
    if value is False or (isinstance(value, str) and value.strip().lower() in {"not binding", "false"}):
        return LOOK_OF_STATUS["not binding"]
    return LOOK_OF_STATUS["not stated"]


def status_style(look: StatusLook, colour: str, *, fill_alpha: float = 1.0) -> dict:
    """Matplotlib keywords (``facecolor``, ``edgecolor``, ``hatch``, ``linewidth``) that draw a bar, patch or
    marker of ``colour`` in ``look``; the hatch takes the edge's colour."""
    from matplotlib.colors import to_rgba

    face = to_rgba(colour, fill_alpha) if look.solid else (1.0, 1.0, 1.0, min(1.0, fill_alpha + 0.3))
    return {"facecolor": face, "edgecolor": colour, "hatch": look.hatch, "linewidth": 0.8 if look.solid else 1.2}


def status_handles(statuses: object = None, *, colour: str = STATUS_COLOUR) -> list:
    """The one legend of binding status, the same in every chart, map and timeline: a patch per status in
    ``statuses`` (values of ``binding_status``; default all), in the order of :data:`BINDING_LOOKS`."""
    from matplotlib.patches import Patch

    wanted = {status_look(s).status for s in statuses} if statuses is not None else set(LOOK_OF_STATUS)
    return [Patch(label=look.label, **status_style(look, colour)) for look in BINDING_LOOKS if look.status in wanted]


#: The project's matplotlib settings, on top of matplotlib's defaults: one definition for charts and maps.
STYLE: dict[str, object] = {
    "font.family": [FONT_FAMILY, FALLBACK_FAMILY],
    "font.size": 10.5,
    "text.color": TEXT_COLOUR,
    "axes.labelcolor": TEXT_COLOUR,  # matplotlib's default is black for these: a chart's words in one colour
    "xtick.labelcolor": TEXT_COLOUR,
    "ytick.labelcolor": TEXT_COLOUR,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10.5,
    "axes.edgecolor": AXIS_COLOUR,
    "axes.facecolor": "white",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.facecolor": "white",
    "legend.frameon": True,
    "legend.framealpha": 0.92,
    "legend.edgecolor": "#cccccc",
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    # Same figure, same bytes: fixed SVG ids and no creation dates in vector formats.
    "svg.hashsalt": "mineral-analysis",
    "hatch.linewidth": 0.8,
}

# Settings matplotlib's style machinery leaves alone (they are about the process, not the look), fixed here so
# that an account's matplotlibrc cannot move dates either.
_PROCESS_SETTINGS = {"timezone": "UTC"}

#: PNG metadata for a figure saved for a brief: no software version, so the bytes depend on the drawing only.
PNG_METADATA = {"Software": None}


@lru_cache(maxsize=1)
def register_fonts() -> tuple[str, ...]:
    """Make the bundled fonts matplotlib's first choice for their families (once per process); return their paths.

    A system copy of DejaVu (another version, say) would otherwise be as good a match; the bundled files are
    moved to the front of the font list so that they always win.
    """
    paths = tuple(str(face.path) for face in FONT_FACES)
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"bundled font file(s) missing from the package: {', '.join(missing)}")
    for path in paths:
        font_manager.fontManager.addfont(path)
    # The fallback has one weight; listed as bold as well, it serves bold titles without matplotlib logging
    # "Failed to find font weight bold" into the brief (its glyphs are the same at any weight).
    prefer_font_files(font_manager.fontManager, paths, bold_alias_families=[FALLBACK_FAMILY])
    return paths


@contextlib.contextmanager
def chart_style() -> Iterator[None]:
    """Within the block, matplotlib's defaults plus :data:`STYLE`, with the bundled fonts; restored after.

    The account's ``matplotlibrc`` and the caller's own ``rcParams`` do not reach inside; the backend is never
    touched.
    """
    register_fonts()
    with mpl.rc_context(rc=_PROCESS_SETTINGS), mpl.style.context(["default", STYLE]):
        try:
            yield
        finally:
            # Interactive mode is the session's, not the style's: pyplot loads its backend with its first figure
            # (made in here, see new_figure), and the inline backend then turns it on; that change outlives us.
            interactive = mpl.is_interactive()
    mpl.interactive(interactive)


@dataclasses.dataclass(frozen=True)
class Layout:
    """What a figure is drawn for: its name and width in inches (charts; maps are a little wider on a page)."""

    name: str
    chart_width: float
    map_width: float


PAGE = Layout("page", chart_width=10.0, map_width=8.0)
PHONE = Layout("phone", chart_width=4.2, map_width=4.2)
#: The smallest type of a phone figure, in points (about 9 CSS pixels at 390 pixels wide).
PHONE_MIN_FONT_PT = 8.5
#: The PDF's text width (A4 less 15 mm margins, the brief's print style): a map is printed this wide.
PRINT_WIDTH_IN = (210 - 2 * 15) / 25.4
#: The smallest type of a map as printed (a page map is drawn about as wide as it prints, see :data:`PAGE`).
PRINT_MIN_FONT_PT = 7.0


def printed_size(fontsize: float, figure_width_in: float) -> float:
    """The size in points at which type of ``fontsize`` prints when a figure ``figure_width_in`` inches wide
    (as saved) is printed at the PDF's text width."""
    return fontsize * PRINT_WIDTH_IN / figure_width_in


_LAYOUT: contextvars.ContextVar[Layout] = contextvars.ContextVar("mineral_analysis_layout", default=PAGE)


def layout() -> Layout:
    """The layout figures are being drawn for: :data:`PAGE` unless inside :func:`phone_layout`."""
    return _LAYOUT.get()


@contextlib.contextmanager
def phone_layout() -> Iterator[None]:
    """Within the block, charts and maps are drawn for a phone (:data:`PHONE`)."""
    token = _LAYOUT.set(PHONE)
    try:
        yield
    finally:
        _LAYOUT.reset(token)


def type_size(points: float) -> float:
    """A type size as drawn in the current layout: on a phone, never under :data:`PHONE_MIN_FONT_PT`."""
    return points if layout() is PAGE else max(points, PHONE_MIN_FONT_PT)


def fit_text(text: str, width_in: float, fontsize: float) -> str:
    """On a phone, ``text`` wrapped at spaces to lines about ``width_in`` inches wide at ``fontsize`` points;
    on a page, unchanged (a page figure is wide enough, and its bytes stay as they were)."""
    if layout() is PAGE or not text:
        return text
    chars = max(12, int(width_in * 72 / (fontsize * 0.6)))
    return "\n".join(textwrap.fill(line, chars, break_on_hyphens=False) or line for line in text.split("\n"))


def with_phone_variant(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Decorate a function that draws a figure: the figure it returns on a page gets ``phone_variant()``, which
    draws the same arguments again in :func:`phone_layout`."""

    @functools.wraps(draw)
    def drawn(*args, **kwargs):
        fig = draw(*args, **kwargs)
        if layout() is PAGE and isinstance(fig, BriefFigure):

            def phone_variant() -> Figure:
                with phone_layout():
                    return draw(*args, **kwargs)

            fig.phone_variant = phone_variant
        return fig

    return drawn


class BriefFigure(Figure):
    """A Figure that draws and saves itself in :func:`chart_style`, wherever it is shown or saved.

    ``phone_variant`` is None, or (for a figure drawn by a :func:`with_phone_variant` function on a page) a
    function that draws the same figure for a phone.
    """

    phone_variant: Callable[[], Figure] | None = None

    def draw(self, renderer):
        with chart_style():
            return super().draw(renderer)

    def savefig(self, fname, **kwargs):
        with chart_style():
            return super().savefig(fname, **kwargs)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, bytes]:
        """How Jupyter shows the figure (``display(fig)``, or the cell's last expression): as a PNG. A figure
        that is pyplot's is then closed there, so the end of the cell does not show it a second time."""
        png = self._repr_png_()
        _close_in_pyplot(self)
        return {"image/png": png}

    def _repr_png_(self) -> bytes:
        """How Jupyter shows a returned figure: as a PNG, whatever backend pyplot has (or whether it is loaded)."""
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def new_figure(width: float, height: float, **kwargs) -> BriefFigure:
    """A :class:`BriefFigure` of ``width`` x ``height`` inches, made in the brief style.

    In an interactive session (Jupyter, IPython, a script with pyplot on a GUI backend) the figure is pyplot's,
    like one from ``plt.figure()``: the inline backend shows it at the end of the cell, ``plt.show()`` shows it,
    ``plt.close`` closes it. On a non-interactive backend (the build's kernels run on Agg) and in a plain script
    it is pyplot-free, so nothing is registered and nothing needs closing.
    """
    pyplot = _interactive_pyplot()
    if pyplot is None:
        with chart_style():
            return BriefFigure(figsize=(width, height), **kwargs)
    with chart_style():
        return pyplot.figure(figsize=(width, height), FigureClass=BriefFigure, **kwargs)


def release(fig: Figure) -> None:
    """Clear ``fig`` and, if it is pyplot's (see :func:`new_figure`), close it there: a figure already shown
    leaves nothing behind and is not shown again at the end of the cell."""
    fig.clear()
    _close_in_pyplot(fig)


def _close_in_pyplot(fig: Figure) -> None:
    """Close ``fig`` in pyplot when it is one of pyplot's figures (pyplot is not imported for it)."""
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and pyplot.fignum_exists(fig.number if hasattr(fig, "number") else -1):
        pyplot.close(fig)


def _interactive_pyplot():
    """pyplot, when figures should be pyplot's (see :func:`new_figure`): an IPython session or pyplot already
    imported, on a backend that shows figures; else None (pyplot is not imported for a plain script)."""
    import sys

    from_ipython = "IPython" in sys.modules and sys.modules["IPython"].get_ipython() is not None
    if not from_ipython and "matplotlib.pyplot" not in sys.modules:
        return None
    from matplotlib import pyplot
    from matplotlib.backends import BackendFilter, backend_registry

    backend = pyplot.get_backend().lower()
    if backend in backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE):
        return None
    return pyplot


def preload() -> None:
    """Open the bundled fonts for matplotlib now, by drawing a small figure in the faces and sizes charts use
    (a bold title, labels, a note), as a build's kernel template does before it forks."""
    import io

    with chart_style():
        fig = BriefFigure(figsize=(2.0, 1.2))  # never pyplot's: a kernel template's warm-up shows nothing
    ax = fig.add_subplot()
    ax.set_title("Ab 1")
    ax.set_xlabel("Ab 1")
    ax.text(0.5, 0.5, "Ab 1", fontsize=7.5)
    fig.savefig(io.BytesIO(), format="png", dpi=72)
