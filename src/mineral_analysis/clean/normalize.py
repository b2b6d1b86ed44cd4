"""Normalisers from the source's wording to the documented vocabularies.

Each function takes one raw text value and returns the canonical value, or raises ``ValueError`` whose message
says what would be valid. They are pure and cached, because the same few spellings repeat across many records.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from ..vocab import INSTRUMENTS, KINDS, MINERALS, MOBILISED_FROM, NOT_STATED, PLACE_ROLES, STAGES, fold

_INSTRUMENT_INDEX = {fold(alias): code for code, inst in INSTRUMENTS.items() for alias in (code, *inst.aliases)}
_MINERAL_PATTERNS = [
    (code, re.compile(r"\b(?:" + "|".join(re.escape(stem) for stem in mineral.stems) + r")"))
    for code, mineral in MINERALS.items()
]


_INSTRUMENT_WRONG = (
    f"unknown instrument; valid values are the codes {', '.join(INSTRUMENTS)} or their spellings listed in "
    "data/raw/financing.schema.md; leave it empty when the source states none"
)
_MOBILISED_INDEX = {fold(alias): kind for kind, aliases in MOBILISED_FROM.items() for alias in aliases}
_MOBILISED_WRONG = (
    "unknown provider of mobilised money; write the source's words as listed in data/raw/financing.schema.md: "
    + "; ".join(f"{kind}: {', '.join(a)}" for kind, a in MOBILISED_FROM.items())
)


@lru_cache(maxsize=4096)
def normalize_instrument(text: str) -> str:
    """Return the instrument code for the instrument as the source states it; empty text is ``not_stated``."""
    return _lookup(text, _INSTRUMENT_INDEX, _INSTRUMENT_WRONG, empty="not_stated")


@lru_cache(maxsize=256)
def normalize_mobilised_from(text: str) -> str:
    """Who provides mobilised money, from the source's words: ``private``, ``public`` or ``not stated``."""
    return _lookup(text, _MOBILISED_INDEX, _MOBILISED_WRONG, empty="")


def _lookup(text: str, index: dict[str, str], wrong: str, empty: str | None = None) -> str:
    """The value ``index`` gives the folded ``text``; ``empty`` for an empty cell where allowed; else ValueError(wrong)."""
    folded = fold(text)
    if not folded and empty is not None:
        return empty
    if folded in index:
        return index[folded]
    raise ValueError(wrong)


def _code(text: str, vocabulary, what: str, empty: str | None = None) -> str:
    """``text`` as a code of ``vocabulary`` (exact, case-insensitive); ``empty`` for an empty cell where allowed."""
    wrong = f"unknown {what}; valid values are {', '.join(vocabulary)} (see data/raw/financing.schema.md)"
    return _lookup(text, {code: code for code in vocabulary}, wrong, empty)


@lru_cache(maxsize=256)
def normalize_kind(text: str) -> str:
    """The record's kind: financing, or a commitment without money (plan, memorandum, talks, partnership, forum)."""
    return _code(text, KINDS, "kind")


@lru_cache(maxsize=256)
def normalize_stage(text: str) -> str:
    """The stage code on the one ladder (``vocab.STAGES``); an empty cell is ``not_stated``."""
    return _code(text, STAGES, "stage", empty="not_stated")


@lru_cache(maxsize=256)
def normalize_alternative_stage(text: str) -> str:
    """An alternative reading's stage code, or ``""`` when the record has none."""
    return _code(text, STAGES, "alternative stage", empty="")


@lru_cache(maxsize=256)
def normalize_place_role(text: str) -> str:
    """Where the item's places stand to it (``vocab.PLACE_ROLES``), or ``""`` for an item without a place."""
    return _code(text, PLACE_ROLES, "place role", empty="")


@lru_cache(maxsize=4096)
def normalize_minerals(text: str) -> str:
    """Return the ``;``-separated canonical minerals named in ``text``, or ``not stated`` when it is empty.

    Each ``;``-separated part must name exactly one mineral of the vocabulary; nothing is inferred.
    """
    parts = [part.strip() for part in text.split(";")]
    if not any(parts):
        return NOT_STATED
    found: list[str] = []
    for part in parts:
        if not part:
            raise ValueError("empty mineral between ';' separators")
        folded = fold(part)
        if folded == NOT_STATED:
            raise ValueError("leave the cell empty when no mineral is stated, rather than writing 'not stated'")
        matches = [code for code, pattern in _MINERAL_PATTERNS if pattern.search(folded)]
        if len(matches) != 1:
            reason = "matches no mineral" if not matches else f"matches several minerals ({', '.join(matches)})"
            raise ValueError(
                f"'{part}' {reason}; valid minerals are {', '.join(MINERALS)} "
                "(write one mineral per ';'-separated part)"
            )
        if matches[0] not in found:
            found.append(matches[0])
    return ";".join(found)


_DATE_FORMS = (
    (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), "%Y-%m-%d", "day"),  # [0-9]: \d would accept other scripts' digits
    (re.compile(r"[0-9]{4}-[0-9]{2}"), "%Y-%m", "month"),
    (re.compile(r"[0-9]{4}"), "%Y", "year"),
)


@lru_cache(maxsize=4096)
def parse_announced(text: str) -> tuple[str, dt.date | None, str]:
    """Parse an ISO date, month or year; return (text, first day of the period, precision).

    Empty text means the source gives no date: (``not stated``, None, ``none``).
    """
    if not text:
        return NOT_STATED, None, "none"
    for pattern, fmt, precision in _DATE_FORMS:
        if pattern.fullmatch(text):
            try:
                day = dt.datetime.strptime(text, fmt).date()
            except ValueError:
                raise ValueError(
                    "impossible date (no such day or month); use a real calendar date as YYYY-MM-DD, YYYY-MM or YYYY"
                ) from None
            if not 1990 <= day.year <= 2100:
                raise ValueError("year outside 1990-2100; check the date (YYYY-MM-DD)")
            return text, day, precision
    raise ValueError(
        "date must be YYYY-MM-DD, YYYY-MM or YYYY (ISO 8601, e.g. 2026-02-04 for 4 February 2026), "
        "or empty when the source gives none"
    )


def parse_bool(text: str) -> bool:
    """Return True for ``true`` and False for ``false`` (the only two spellings allowed in raw files)."""
    folded = text.strip().lower()
    if folded == "true":
        return True
    if folded == "false":
        return False
    raise ValueError("must be 'true' or 'false'")
