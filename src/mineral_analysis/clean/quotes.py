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


def quote_problems(
    table: RawTable, column: str, registry: dict[str, Source], seeds_dir: Path | None = None
) -> list[Problem]:
    """A Problem for each cell of ``column`` whose quoted words are not in the paragraphs its row cites."""
    seeds_dir = Path(seeds_dir or config.SEEDS_DIR)
    available = {
        sid: seeds_dir / source.file for sid, source in registry.items() if (seeds_dir / source.file).is_file()
    }
    problems: list[Problem] = []
    frame = table.frame
    for quote, citations, line in zip(frame[column], frame["citations"], frame[LINE_COLUMN]):
        if not quote:
            continue
        try:
            pairs = parse_citations(citations)
        except ValueError:
            continue  # reported by the citation check
        texts = []
        for sid, paragraph in pairs:
            if sid not in available:
                break  # a cited source is not at hand: the quote cannot be checked
            paragraphs = source_paragraphs(available[sid])
            if 1 <= paragraph <= len(paragraphs):
                texts.append(paragraphs[paragraph - 1])
        else:
            missing = [part for part in quote_parts(quote) if not any(_fold(part) in text for text in texts)]
            if missing:
                problems.append(
                    Problem(
                        table.name,
                        int(line),
                        column,
                        quote,
                        f"'{missing[0]}' is not in the cited paragraphs ({citations}): quote the source's own "
                        f"words, with '{ELLIPSIS}' for words left out, or cite the paragraph that holds them",
                    )
                )
    return problems
