"""Showing things in a brief notebook: figures as inline PNG with a text alternative, tables and Markdown,
all rendered the same way in every brief. Every data string in Markdown or HTML is escaped (``esc``) before it
reaches the page."""

from __future__ import annotations

import html
import io

import pandas as pd

PNG_DPI = 110


def esc(value: object) -> str:
    """HTML-escape any value for inclusion in Markdown or HTML output."""
    return html.escape(str(value), quote=True)


def show_figure(fig, *, alt: str = "") -> None:
    """Display a matplotlib Figure as an inline PNG and release it (no figure stays open)."""
    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI, bbox_inches="tight", facecolor="white", metadata={"Software": None})
    display(Image(data=buffer.getvalue(), format="png", alt=alt or None))
    fig.clear()


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
    """Display an HTML fragment built here (data already escaped)."""
    from IPython.display import HTML, display

    display(HTML(fragment))
