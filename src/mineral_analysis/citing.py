"""Sources, download and citation: the sources a brief cites and their key, the period they cover, the CSV of
the brief's records and the "How to cite" line."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .briefing import Tables
from .clean.sources import sources_cited as sources_cited  # the notebooks read it from here
from .display import esc
from .usd import format_date, format_period
from .vocab import printed_version


def _source_registry(processed_dir=None):
    """The sources registry that travels with the processed tables (``mineral-analysis data`` copies it there),
    read once per file version in a process (a brief asks three times); read-only."""
    from . import config

    path = config.processed_path(config.RAW_SOURCES, processed_dir)
    try:
        stat = path.stat()
    except OSError:
        return _read_registry(str(path.parent), 0, -1)  # load_sources says what is missing
    return _read_registry(str(path.parent), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read_registry(folder: str, mtime_ns: int, size: int) -> dict:
    from .clean.sources import load_sources

    return load_sources(Path(folder))


def data_as_of(processed_dir=None) -> str:
    """The date the data speaks for: the latest date of publication of its sources (ISO 8601), or "" when the
    sources registry cannot be read or dates none of them."""
    from .errors import DataValidationError

    try:
        registry = _source_registry(processed_dir)
    except (OSError, ValueError, DataValidationError):
        return ""
    dates = sorted(str(s.published) for s in registry.values() if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(s.published)))
    return dates[-1] if dates else ""


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
            f"Dated {esc(format_date(source.published, 'day'))} ({esc(source.published_note.split(':')[0])}); "
            f"in {esc('Russian' if source.language == 'ru' else source.language)}."
        )
    return "\n".join(lines)


def coverage_line(financing: pd.DataFrame, ids: list[str], processed_dir=None) -> str:
    """The period the sources and the dated items cover, as one sentence."""
    registry = _source_registry(processed_dir)
    published = sorted(registry[s].published for s in ids if s in registry)
    dated = financing[financing["announced_date"].notna()].sort_values("announced_date")
    text = ""
    if published:
        span = format_period((published[0], "day"), (published[-1], "day"))
        text = f"The sources are dated {span}"
    if len(dated):
        first, last = dated.iloc[0], dated.iloc[-1]
        items = format_period(
            (first["announced"], first["announced_precision"]), (last["announced"], last["announced_precision"])
        )
        on_a_day = first["announced_precision"] == "day" and " to " not in items
        span = f"run from {items}" if " to " in items else f"fall {'on' if on_a_day else 'in'} {items}"
        text += ("; the" if text else "The") + f" dated items {span}"
    return (text + ". Later events are not covered.") if text else ""


def csv_link(frame: pd.DataFrame, filename: str, label: str) -> str:
    """An ``<a download>`` holding ``frame`` as CSV in a ``data:`` URL: it works offline and under the CSP."""
    import base64

    from .safe_files import spreadsheet_safe_frame

    data = spreadsheet_safe_frame(frame).to_csv(index=False, lineterminator="\n").encode("utf-8")
    href = "data:text/csv;charset=utf-8;base64," + base64.b64encode(data).decode("ascii")
    return (
        f'<p class="download"><a download="{esc(filename)}" href="{href}">{esc(label)}</a> '
        f'<span class="muted">({len(frame)} records, CSV, {max(1, round(len(data) / 1024))} kB)</span></p>'
    )


def how_to_cite(title: str, metadata: dict, ids: list[str], processed_dir=None) -> str:
    """The "How to cite" line: title, data release and date, and the sources."""
    registry = _source_registry(processed_dir)
    release = metadata.get("release") or {}
    version = printed_version(metadata)
    date = release.get("date") or ""
    sources = "; ".join(f"{esc(registry[s].title)} ({esc(registry[s].published)})" for s in ids if s in registry)
    return (
        f"**How to cite:** *{esc(title)}*. Mineral analysis briefs, data version {esc(version)}"
        + (f" ({esc(date)})" if date else "")
        + f". Sources: {sources}."
    )


def brief_records(kind: str, financing: pd.DataFrame, membership: pd.DataFrame, key: str = "") -> pd.DataFrame:
    """The records a brief shows, for its CSV download: its financing items (and, for a country, its roles)."""
    brief = Tables(financing, membership).brief(kind, key)
    rows = brief.items
    # The processed financing table's own columns (data/processed/data_dictionary.md): stage, precision, places and
    # mobilised money by provider travel with the records; ``table`` says which table a row comes from.
    from .columns import FINANCING

    columns = [name for name in FINANCING if name != "announced_date"]
    table = rows[columns].assign(table="financing")
    if kind == "country":
        roles = brief.roles
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
