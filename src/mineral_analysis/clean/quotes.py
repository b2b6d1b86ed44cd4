"""The source's own words: cells that quote a source must be found, word for word, in the paragraphs they cite.

``stage_basis`` quotes the few words that state a record's stage; ``amount_as_written`` the amount. Where the cited
source files are at hand (``config.SEEDS_DIR``), each quoted part (parts are separated by "…", an elision) must
occur in one of the record's cited paragraphs, compared case-insensitively with ``ё`` read as ``е``. Without the
files nothing can be checked and nothing is reported.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .. import config
from ..errors import Problem
from .rawio import LINE_COLUMN, RawTable
from .sources import Source, parse_citations

ELLIPSIS = "…"
MAX_LINES_PER_QUOTE = 20  # as cells.MAX_LINES_PER_VALUE


def _fold(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split()).lower().replace("ё", "е")


@lru_cache(maxsize=16)
def _paragraphs(path: Path, mtime_ns: int) -> tuple[str, ...]:
    return tuple(_fold(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def source_paragraphs(path: Path) -> tuple[str, ...]:
    """A source file's paragraphs (non-empty lines, the headline first), folded for comparison."""
    return _paragraphs(path, path.stat().st_mtime_ns)


def quote_parts(quote: str) -> list[str]:
    """The parts of a quotation that must each occur in the source: split at the elision mark "…"."""
    return [part.strip() for part in quote.split(ELLIPSIS) if part.strip()]


def _missing_part(quote: str, citations: str, available: dict[str, Path]) -> str | None:
    """The first part of ``quote`` found in none of the cited paragraphs; None when all are found, or when a cited
    source is not at hand (nothing can be checked) or the citations are malformed (reported elsewhere)."""
    try:
        pairs = parse_citations(citations)
    except ValueError:
        return None
    texts = []
    for sid, paragraph in pairs:
        if sid not in available:
            return None
        paragraphs = source_paragraphs(available[sid])
        if 1 <= paragraph <= len(paragraphs):
            texts.append(paragraphs[paragraph - 1])
    return next((part for part in quote_parts(quote) if not any(_fold(part) in text for text in texts)), None)


def quote_problems(
    table: RawTable, column: str, registry: dict[str, Source], seeds_dir: Path | None = None
) -> list[Problem]:
    """A Problem for each cell of ``column`` whose quoted words are not in the paragraphs its row cites."""
    seeds_dir = Path(seeds_dir or config.SEEDS_DIR)
    available = {
        sid: seeds_dir / source.file for sid, source in registry.items() if (seeds_dir / source.file).is_file()
    }
    problems: list[Problem] = []
    if not available:
        return problems  # no cited article at hand: nothing can be checked
    frame = table.frame
    pairs = frame[[column, "citations"]]
    quoted = pairs[column] != ""
    # Each distinct (quote, citations) pair is checked once; a wrong one is reported on every line it is on.
    verdicts: dict[tuple[str, str], str | None] = {}
    for quote, citations in pairs[quoted].drop_duplicates().itertuples(index=False):
        verdicts[(quote, citations)] = _missing_part(quote, citations, available)
    if not any(verdicts.values()):
        return problems
    reported: dict[tuple[str, str], int] = {}
    for quote, citations, line in zip(frame[column][quoted], frame["citations"][quoted], frame[LINE_COLUMN][quoted]):
        missing = verdicts[(quote, citations)]
        if missing is None:
            continue
        count = reported.get((quote, citations), 0)
        reported[(quote, citations)] = count + 1
        if count < MAX_LINES_PER_QUOTE:  # a wrong quote repeated on many lines is reported on the first few
            problems.append(
                Problem(
                    table.name,
                    int(line),
                    column,
                    quote,
                    f"'{missing}' is not in the cited paragraphs ({citations}): quote the source's own "
                    f"words, with '{ELLIPSIS}' for words left out, or cite the paragraph that holds them",
                )
            )
    for (quote, _citations), count in reported.items():
        if count > MAX_LINES_PER_QUOTE:
            problems.append(
                Problem(
                    table.name,
                    None,
                    column,
                    quote,
                    f"the same quote and citations are wrong on {count - MAX_LINES_PER_QUOTE} more line(s)",
                )
            )
    return problems
