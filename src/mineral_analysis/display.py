"""Showing things in a brief notebook: figures as inline PNG with a text alternative, tables and Markdown,
all rendered the same way in every brief. Every data string in Markdown or HTML is escaped (``esc``) before it
reaches the page."""

from __future__ import annotations

import base64
import html
import io

import pandas as pd

#: The scale a page figure is shown at: its inches at 110 pixels each (a 10 in chart is 1100 CSS pixels, wider
#: than the page's column, which scales it down).
PNG_DPI = 110
#: Pixels per CSS pixel of a page figure: drawn at twice :data:`PNG_DPI` and shown at its ``width``, so it is
#: sharp on high-density screens and in print (a brief stays far under its size budget).
PNG_DENSITY = 2
#: A phone figure (4.2 in) at this resolution is about 710 pixels wide: sharp at about twice a phone's 366 CSS pixels.
PHONE_PNG_DPI = 170
#: The key of a figure's phone variant in a display output (a JSON mimetype, so Jupyter shows the PNG beside it).
PHONE_MIMETYPE = "application/vnd.mineral-analysis.phone-figure+json"


def plural(count: int, noun: str = "item") -> str:
    """``count`` and ``noun``, the noun in the plural unless the count is one: "1 item", "7 financing items"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def agreeing(count: int, one: str, many: str) -> str:
    """The word that agrees with ``count``: ``one`` for a count of one, else ``many`` ("is"/"are")."""
    return one if count == 1 else many


def and_list(parts: list[str]) -> str:
    """Parts as English lists them: "a", "a and b", "a, b and c"; "" for none."""
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def esc(value: object) -> str:
    """HTML-escape any value for inclusion in Markdown or HTML output."""
    return html.escape(str(value), quote=True)


def _png(fig, dpi: float) -> str:
    """The figure as a 256-colour PNG, base64-encoded.

    A chart or map has few colours: a palette (Pillow's fast octree, no dithering: the same drawing gives the same
    bytes) takes a quarter of the bytes of full colour, which keeps a brief with page and phone figures light; it
    is a ninth of the time of a median cut, and a third smaller, at a mean difference of 1 in 255. No software
    version goes into the file.
    """
    from PIL import Image

    buffer = io.BytesIO()
    # the full-colour PNG is only read back: stored, not deflated (a tenth of a second per map, same final bytes)
    fig.savefig(
        buffer,
        format="png",
        dpi=dpi,
        bbox_inches="tight",
        facecolor="white",
        metadata={"Software": None},
        pil_kwargs={"compress_level": 0},
    )
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")  # (optimize=True would save 5% of the bytes for a fifth of the time)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _png_width(encoded: str) -> int:
    """The width in pixels of a base64 PNG (read from its header)."""
    header = base64.b64decode(encoded[:32])
    return int.from_bytes(header[16:20], "big")


def show_figure(fig, *, alt: str = "") -> None:
    """Display a matplotlib Figure as an inline PNG and release it (no figure stays open).

    A figure that has a phone variant (:func:`mineral_analysis.style.with_phone_variant`) carries it too, under
    :data:`PHONE_MIMETYPE` (``{"image/png": base64}``): the brief shows it on narrow screens, Jupyter ignores it.
    """
    from IPython.display import display

    from .style import release

    page = _png(fig, PNG_DPI * PNG_DENSITY)
    data = {"image/png": page, "text/plain": "<Figure>"}
    phone = fig.phone_variant() if callable(getattr(fig, "phone_variant", None)) else None
    if phone is not None:
        data[PHONE_MIMETYPE] = {"image/png": _png(phone, PHONE_PNG_DPI)}
        release(phone)
    metadata: dict = {"alt": alt} if alt else {}
    metadata["width"] = _png_width(page) // PNG_DENSITY  # CSS pixels: the figure's size on the page
    if getattr(fig, "print_full_width", False):  # a map: printed the text's width (see brief.css)
        metadata["full_width"] = True
    display(data, raw=True, metadata={"image/png": metadata})
    release(fig)


def show_table(frame: pd.DataFrame, *, caption: str | None = None) -> None:
    """Display a DataFrame as an escaped HTML table (no index), with an optional caption."""
    from IPython.display import HTML, display

    table = frame.to_html(index=False, escape=True, border=0, classes="brief-table", na_rep="")
    if caption:
        table = table.replace("<thead>", f"<caption>{esc(caption)}</caption>\n  <thead>", 1)
    display(HTML(table))


def show_markdown(text: str) -> None:
    """Display Markdown built by the library (its data parts are already escaped)."""
    from IPython.display import Markdown, display

    # A bare "$" would open a LaTeX formula in Markdown; amounts are money, never math.
    display(Markdown(text.replace("$", "\\$")))


def show_findings(findings: list[str]) -> None:
    """The first page's key findings as a list."""
    show_markdown("\n".join(f"- {line}" for line in findings))


def show_html(fragment: str) -> None:
    """Display an HTML fragment built here (data already escaped); an empty fragment shows nothing."""
    from IPython.display import HTML, display

    if fragment.strip():
        display(HTML(fragment))
