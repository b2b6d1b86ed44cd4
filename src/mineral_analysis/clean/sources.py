"""The sources registry (``data/raw/sources.csv``) and the citations that point into it.

A citation is ``SOURCE:PARAGRAPH`` (e.g. ``001:12``), the source being a ``source_id`` of the registry and the
paragraph a non-empty line of that file (the headline is 1). A record cites one or more of them, ``;``-separated:
``001:12;001:15;000:2``. Every citation must name a registered source; where the source file is at hand
(``config.SEEDS_DIR``) its SHA-256 must match the registry and the paragraph must exist.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config
from ..errors import DataValidationError, Problem
from ..safe_files import FORMULA_STARTS, MiB, read_regular_bytes, read_regular_text
from .rawio import LINE_COLUMN, RawTable, read_raw_table

COLUMNS: dict[str, str] = {
    "source_id": "Three-digit id, the prefix of the file name (e.g. 001); what citations name.",
    "file": "File name of the source in shared/seeds/ (e.g. 001_79e6948ded2d222d.txt).",
    "title": "What the source is, in the curator's words (English).",
    "publisher": "Who published it, as far as the file says; 'not stated in the file' otherwise.",
    "published": "Publication date as ISO 8601 (YYYY-MM-DD), as stated in the file or inferred.",
    "published_note": "Whether the date is stated or inferred, and from what.",
    "language": "ISO 639-1 code of the text's language (e.g. ru).",
    "sha256": "SHA-256 of the file's bytes (64 lower-case hex digits); checked whenever the file is at hand.",
    "paragraphs": "Number of paragraphs (non-empty lines, the headline is 1); citations are checked against it.",
}

_SOURCE_ID = re.compile(r"[0-9]{3}")
_FILE = re.compile(r"([0-9]{3})_[0-9a-f]{16}\.txt")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_PARAGRAPHS = re.compile(r"[1-9][0-9]{0,4}")
_CITATION = re.compile(r"([0-9]{3}):([1-9][0-9]{0,3})")


@dataclass(frozen=True)
class Source:
    """One registered source document."""

    source_id: str
    file: str
    title: str
    publisher: str
    published: str
    published_note: str
    language: str
    sha256: str
    paragraphs: str  # as written; ``paragraph_limit`` is the number

    @property
    def paragraph_limit(self) -> int | None:
        """The recorded paragraph count, or None when the cell is not a whole number (reported by validation)."""
        return int(self.paragraphs) if _PARAGRAPHS.fullmatch(self.paragraphs) else None


SEED_LIMIT = 16 * MiB  # a source article is kB


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as lower-case hex (a regular file of at most SEED_LIMIT bytes)."""
    return hashlib.sha256(read_regular_bytes(path, SEED_LIMIT, follow_links=True)).hexdigest()


@lru_cache(maxsize=16)
def _paragraph_count(path: Path, mtime_ns: int) -> int:
    text = read_regular_text(path, SEED_LIMIT, follow_links=True)  # not UTF-8: UnsafeFileError naming the line
    return sum(1 for line in text.splitlines() if line.strip())


def paragraph_count(path: Path) -> int:
    """Number of paragraphs (non-empty lines) in a source file; OSError (naming file and line for a byte that is
    not UTF-8) when it cannot be read as text."""
    return _paragraph_count(path, path.stat().st_mtime_ns)


def load_sources(raw_dir: Path | None = None, seeds_dir: Path | None = None) -> dict[str, Source]:
    """Read and check ``sources.csv``; return the sources by id. Raises DataValidationError naming line and value.

    Where a source file is present in ``seeds_dir`` (default ``config.SEEDS_DIR``), its hash must match.
    """
    return read_sources(raw_dir, seeds_dir)[0]


def read_sources(raw_dir: Path | None = None, seeds_dir: Path | None = None) -> tuple[dict[str, Source], bytes]:
    """``load_sources`` and the registry's bytes as they were read (once), for its hash."""
    table = read_raw_table(config.raw_path(config.RAW_SOURCES, raw_dir), list(COLUMNS))
    seeds_dir = Path(seeds_dir or config.SEEDS_DIR)
    problems: list[Problem] = []
    sources: dict[str, Source] = {}
    for row in table.frame.to_dict("records"):
        line = int(row.pop(LINE_COLUMN))
        source = Source(**row)
        problems += _source_problems(table.name, line, source, sources, seeds_dir)
        sources.setdefault(source.source_id, source)
    if problems:
        raise DataValidationError(problems)
    return sources, table.data


def _source_problems(file: str, line: int, source: Source, seen: dict[str, Source], seeds_dir: Path) -> list[Problem]:
    """Everything wrong with one row of the registry."""
    problems = []

    def bad(column: str, message: str) -> None:
        problems.append(Problem(file, line, column, getattr(source, column), message))

    if not _SOURCE_ID.fullmatch(source.source_id):
        bad("source_id", "must be three digits, e.g. 001")
    elif source.source_id in seen:
        bad("source_id", "duplicate source_id: each source is registered once")
    match = _FILE.fullmatch(source.file)
    if not match:
        bad("file", "must be a source file name like 001_79e6948ded2d222d.txt")
    elif match.group(1) != source.source_id:
        bad("file", f"the file name must start with its source_id ({source.source_id}_...)")
    for column in ("title", "publisher", "published_note"):
        if not getattr(source, column).strip():
            bad(column, "required: this cell must not be empty")
        elif getattr(source, column).startswith(FORMULA_STARTS):
            bad(
                column,
                "starts like a spreadsheet formula (=, +, -, @), which a spreadsheet would run; reword the cell",
            )
    if not _DATE.fullmatch(source.published):
        bad("published", "must be a date YYYY-MM-DD (say in published_note whether it is stated or inferred)")
    if not _LANGUAGE.fullmatch(source.language):
        bad("language", "must be a two-letter ISO 639-1 code, e.g. ru or en")
    if not _SHA256.fullmatch(source.sha256):
        bad("sha256", "must be the file's SHA-256: 64 lower-case hex digits")
    elif match and (seeds_dir / source.file).exists():
        try:
            actual = file_sha256(seeds_dir / source.file)
        except OSError as exc:
            bad("file", f"the source file at hand cannot be read: {exc}")
            return problems
        if actual != source.sha256:
            bad(
                "sha256",
                f"does not match the file {source.file} at hand (its SHA-256 is {actual}): the source "
                "changed or the registry is wrong; register a changed source as a new source_id",
            )
    if source.paragraph_limit is None:
        bad("paragraphs", "must be the file's number of paragraphs (non-empty lines), a whole number from 1")
    elif match and (seeds_dir / source.file).exists() and not problems:
        try:
            counted = paragraph_count(seeds_dir / source.file)
        except OSError as exc:  # e.g. a byte that is not UTF-8: named with its line
            bad("file", f"the source file at hand cannot be read as text: {exc}")
        else:
            if counted != source.paragraph_limit:
                bad("paragraphs", f"the file {source.file} at hand has {counted} paragraphs (non-empty lines)")
    return problems


def parse_citations(text: str) -> tuple[tuple[str, int], ...]:
    """Parse ``001:12;001:15;000:2`` into ((source_id, paragraph), ...); raise ValueError on a malformed one."""
    if not text.strip():
        raise ValueError("required: cite at least one source paragraph as SOURCE:PARAGRAPH, e.g. 001:12")
    pairs = []
    for part in text.split(";"):
        match = _CITATION.fullmatch(part.strip())
        if not match:
            raise ValueError(
                f"'{part}' is not a citation; write SOURCE:PARAGRAPH pairs separated by ';', e.g. 001:12;000:7"
            )
        pair = (match.group(1), int(match.group(2)))
        if pair in pairs:
            raise ValueError(f"'{part}' is cited twice")
        pairs.append(pair)
    return tuple(pairs)


def citation_problems(table: RawTable, column: str, sources: dict[str, Source]) -> list[Problem]:
    """Check every citation of ``table[column]``: well formed, registered source, paragraph inside the file (by
    the registry's ``paragraphs``, which ``load_sources`` checks against the file where it is at hand)."""
    problems: list[Problem] = []
    # The registry's counts, checked against the files where they are at hand (``load_sources``): citations are
    # checked the same way whether or not the articles are beside the project.
    lengths = {sid: s.paragraph_limit for sid, s in sources.items() if s.paragraph_limit is not None}
    # Each distinct citation text is checked once; what is wrong with it is reported on every line it is on.
    series = table.frame[column]
    codes, distinct = pd.factorize(series)
    wrong_by_text: dict[int, list[str]] = {}
    for code, text in enumerate(distinct.tolist()):
        try:
            pairs = parse_citations(text)
        except ValueError as exc:
            wrong_by_text[code] = [str(exc)]
            continue
        wrongs = []
        for sid, paragraph in pairs:
            if sid not in sources:
                wrongs.append(
                    f"source {sid} is not registered in {config.RAW_SOURCES}; registered sources "
                    f"are {', '.join(sorted(sources)) or 'none'}"
                )
            elif sid in lengths and paragraph > lengths[sid]:
                wrongs.append(f"source {sid} has {lengths[sid]} paragraphs; there is no paragraph {paragraph}")
        if wrongs:
            wrong_by_text[code] = wrongs
    if not wrong_by_text:
        return problems
    lines = table.frame[LINE_COLUMN]
    for position in np.flatnonzero(np.isin(codes, list(wrong_by_text))):
        for wrong in wrong_by_text[codes[position]]:
            problems.append(Problem(table.name, int(lines.iat[position]), column, series.iat[position], wrong))
    return problems


def format_citations(text: str) -> str:
    """A readable citation, ``001 ¶12, ¶15; 000 ¶2``, from the raw ``001:12;001:15;000:2``."""
    grouped: dict[str, list[int]] = {}
    for sid, paragraph in parse_citations(text):
        grouped.setdefault(sid, []).append(paragraph)
    return "; ".join(f"{sid} " + ", ".join(f"¶{p}" for p in paragraphs) for sid, paragraphs in grouped.items())


#: A source id as the processed ``source`` column gives it (``format_citations``): at the start or after "; ".
_FORMATTED_SOURCE = re.compile(r"(?:^|; )([0-9]{3}) ¶")


def sources_cited(*frames: pd.DataFrame) -> list[str]:
    """The source ids the processed frames' ``source`` cells (``001 ¶12, ¶15; 000 ¶2``) cite, sorted."""
    texts = (str(text) for frame in frames for text in frame.get("source", ()))
    return sorted({sid for text in texts for sid in _FORMATTED_SOURCE.findall(text)})
