"""Resolve country names as the sources write them to ISO 3166-1 alpha-3 codes.

The raw records write countries as the Russian-language news does: in any grammatical case
(``Австралии``, ``Мексикой``, ``Соединенном Королевстве``), as abbreviations (``США``, ``ОАЭ``, ``ДРК``)
or in English. :func:`resolve_country` turns one such name into a code, :func:`resolve_countries` a
``;``-separated list, and :func:`country_name` a code back into a short English display name.

How a name is resolved, in this order:

1. **Exact key.** The name is normalised (Unicode NFC, case folded, ``ё`` read as ``е``, stress marks
   and Latin diacritics dropped, every run of punctuation, dashes or spaces read as one space, a
   leading English ``the`` dropped) and looked up among the ISO alpha-3 and alpha-2 codes, pycountry's
   English names, pycountry's Russian translations and the reviewed alias table
   ``resources/country_aliases.csv``. The alias table wins over pycountry, and codes win over names.
2. **ISO-looking codes.** Two or three Latin letters that matched nothing are an error saying they are
   not an ISO 3166-1 code (``XYZ``): no fuzzy guess is made for them.
3. **Lemma key.** Each Cyrillic word is lemmatised with pymorphy3 (``Австралии`` -> ``австралия``,
   ``Соединенном`` -> ``соединить``), Latin words are kept as they are, the words ``the``, ``of``,
   ``and``, ``и`` are dropped and the rest sorted, so every case of a name, and ``Korea, Republic of``
   against ``Republic of Korea``, give the same key. Known names are indexed the same way.
4. Otherwise :class:`CountryError`, naming the value and suggesting the nearest known names
   (rapidfuzz); nothing is ever guessed.

Ambiguity is an error, never a guess. When two codes share a key at the same level, the key resolves to
neither. The alias table also refuses names on purpose (rows with an empty ``iso3``; the ``note`` is the
message): ``Конго``/``Congo`` (Republic of the Congo or DR Congo: write ``Республика Конго`` or
``ДРК``), ``Корея``/``Korea`` (the source only writes ``Республика Корея``; North or South is not
guessed), ``РК``, ``Америка``, ``Виргинские острова``, ``Македония``. ``Гвинея`` is Guinea (GIN): the
lemma keys of ``Гвинея-Бисау``, ``Экваториальная Гвинея`` and ``Папуа — Новая Гвинея`` hold more words,
so they never collide with it. A word mixing Latin and Cyrillic letters (a look-alike typo such as a
Latin ``C`` in ``США``) is an error rather than a silent mismatch.

The European Union and the European Commission resolve to the supranational code ``EUU``
(:data:`mineral_analysis.vocab.SUPRANATIONAL`).

Everything is cached: the index is built once per process (about 0.3 s), and a name already seen,
resolved or refused, costs one dict lookup, so cleaning a million records is cheap.
"""

from __future__ import annotations

import csv
import gettext
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pycountry
import pymorphy3
from rapidfuzz import fuzz, process

from mineral_analysis import config
from mineral_analysis.vocab import SUPRANATIONAL

__all__ = ["CountryError", "country_name", "known_codes", "resolve_countries", "resolve_country"]

ALIASES_RESOURCE = config.COUNTRY_ALIASES
ALIAS_COLUMNS = ("alias", "iso3", "note")

# Short English display names where pycountry's ``common_name``/``name`` reads badly in a brief.
DISPLAY_OVERRIDES: dict[str, str] = {
    "EUU": "European Union",
    "COD": "DR Congo",
    "COG": "Republic of the Congo",
    "RUS": "Russia",
    "FSM": "Micronesia",
    "PSE": "Palestine",
    "VAT": "Vatican City",
    "BRN": "Brunei",
    "VGB": "British Virgin Islands",
    "VIR": "US Virgin Islands",
    "FLK": "Falkland Islands",
    "MAF": "Saint Martin",
    "SXM": "Sint Maarten",
    "CCK": "Cocos Islands",
    "SHN": "Saint Helena",
}

_STOPWORDS = frozenset({"the", "of", "and", "и"})
_TOKEN_RE = re.compile(r"[^\W_]+")
_CODE_LIKE_RE = re.compile(r"[A-Za-z]{2,3}")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[a-z]")
_STRESS_MARKS = frozenset({"\u0300", "\u0301"})

# Precedence of the sources of a key: a higher level replaces a lower one; equal levels that disagree
# make the key ambiguous.
_LEVEL_NAME, _LEVEL_CODE, _LEVEL_ALIAS = 0, 1, 2


class CountryError(ValueError):
    """A country name that cannot be resolved to exactly one ISO 3166-1 alpha-3 code."""


@dataclass(frozen=True)
class _Entry:
    """What one key resolves to: one code, several (ambiguous), or none (refused, ``note`` says why)."""

    codes: frozenset[str]
    level: int
    note: str = ""


@dataclass(frozen=True)
class _Index:
    exact: dict[str, _Entry]
    lemma: dict[tuple[str, ...], _Entry]
    vocabulary: frozenset[str]
    suggestions: dict[str, tuple[str, str]]  # exact key -> (spelling to show, code)
    display: dict[str, str]  # code -> display name


# --------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------


def _normalize(text: str) -> str:
    """Return ``text`` NFC, case folded, with ``ё`` as ``е`` and stress marks and Latin diacritics gone."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text.casefold()):
        if unicodedata.combining(ch):
            # Keep marks that belong to Cyrillic letters (й is и + breve); drop stress and Latin accents.
            if ch in _STRESS_MARKS or not out or out[-1].isascii():
                continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out)).replace("ё", "е")


def _tokens(text: str) -> list[str]:
    """Split normalised text into words: punctuation, dashes and spaces all separate words."""
    return _TOKEN_RE.findall(_normalize(text))


def _exact_key(tokens: list[str]) -> str:
    """Join the words, dropping a leading English ``the`` (``the Netherlands``)."""
    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
    return " ".join(tokens)


@lru_cache(maxsize=1)
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()


def _parse_rank(parse) -> int:
    """Order pymorphy3 parses for a name in the nominative: geographic nominative first."""
    nominative, geographic = "nomn" in parse.tag, "Geox" in parse.tag
    return 0 if nominative and geographic else 1 if nominative else 2 if geographic else 3


@lru_cache(maxsize=1 << 16)
def _base_lemma(word: str) -> str:
    """Lemma of a Cyrillic word read as part of a nominative name (known names are written so)."""
    if not _CYRILLIC_RE.search(word):
        return word
    parses = sorted(_morph().parse(word), key=_parse_rank)  # stable: pymorphy3's order breaks ties
    return _normalize(parses[0].normal_form) if parses else word


def _lemma_key(tokens: list[str], lemma=_base_lemma) -> tuple[str, ...]:
    """Sorted lemmas of the words without stop words: the same for every case and word order."""
    return tuple(sorted(lemma(t) for t in tokens if t not in _STOPWORDS))


# --------------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------------


def _display_name(country) -> str:
    return DISPLAY_OVERRIDES.get(country.alpha_3) or getattr(country, "common_name", None) or country.name


def _read_aliases() -> list[tuple[str, str, str]]:
    """Rows (alias, iso3, note) of the reviewed alias table, checked for shape and known codes."""
    text = resources.files("mineral_analysis").joinpath("resources", ALIASES_RESOURCE).read_text("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != ALIAS_COLUMNS:
        raise ValueError(f"{ALIASES_RESOURCE}: columns must be {', '.join(ALIAS_COLUMNS)}, found {reader.fieldnames}")
    rows = []
    for line, row in enumerate(reader, start=2):
        alias, iso3, note = (row[c].strip() for c in ALIAS_COLUMNS)
        if not alias:
            raise ValueError(f"{ALIASES_RESOURCE} line {line}: empty alias")
        if iso3 and iso3 not in SUPRANATIONAL and pycountry.countries.get(alpha_3=iso3) is None:
            raise ValueError(
                f"{ALIASES_RESOURCE} line {line}: {iso3!r} is not an ISO 3166-1 alpha-3 code "
                f"nor one of {sorted(SUPRANATIONAL)}"
            )
        if not iso3 and not note:
            raise ValueError(
                f"{ALIASES_RESOURCE} line {line}: a refused alias ({alias!r}, empty iso3) needs a note saying why"
            )
        rows.append((alias, iso3, note))
    return rows


def _add(table: dict, key, code: str | None, level: int, note: str = "") -> None:
    """Record that ``key`` means ``code`` (None: refused) at ``level``; equal levels that disagree merge."""
    codes = frozenset({code}) if code else frozenset()
    old = table.get(key)
    if old is None or level > old.level:
        table[key] = _Entry(codes, level, note)
    elif level == old.level and codes != old.codes:
        if not codes or not old.codes:  # a refusal at this level stays a refusal
            table[key] = _Entry(frozenset(), level, old.note or note)
        else:
            table[key] = _Entry(old.codes | codes, level, old.note or note)


@lru_cache(maxsize=1)
def _index() -> _Index:
    """Build the lookup tables once: codes, pycountry names (English and Russian) and the alias table."""
    ru = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ru"])
    exact: dict[str, _Entry] = {}
    lemma: dict[tuple[str, ...], _Entry] = {}
    suggestions: dict[str, tuple[str, str]] = {}
    display: dict[str, str] = {}

    def add_name(spelling: str, code: str | None, level: int, note: str = "") -> None:
        tokens = _tokens(spelling)
        if not tokens:
            return
        key = _exact_key(tokens)
        _add(exact, key, code, level, note)
        _add(lemma, _lemma_key(tokens), code, level, note)
        if code:
            suggestions.setdefault(key, (spelling, code))

    for country in pycountry.countries:
        code = country.alpha_3
        display[code] = _display_name(country)
        _add(exact, code.casefold(), code, _LEVEL_CODE)
        _add(exact, country.alpha_2.casefold(), code, _LEVEL_CODE)
        english = {country.name, getattr(country, "official_name", None), getattr(country, "common_name", None)}
        for spelling in filter(None, english):
            add_name(spelling, code, _LEVEL_NAME)
            add_name(ru.gettext(spelling), code, _LEVEL_NAME)
    for code, label in SUPRANATIONAL.items():
        display[code] = DISPLAY_OVERRIDES.get(code, label)
        _add(exact, code.casefold(), code, _LEVEL_CODE)
    for alias, iso3, note in _read_aliases():
        add_name(alias, iso3 or None, _LEVEL_ALIAS, note)

    vocabulary = frozenset(word for key in lemma for word in key)
    return _Index(exact, lemma, vocabulary, suggestions, display)


def preload() -> None:
    """Build the name index now (pycountry's English and Russian names and the alias table, lemmatised), as a
    build's kernel template does before it forks: every brief's kernel then starts with it."""
    _index()


@lru_cache(maxsize=1 << 16)
def _lookup_lemma(word: str) -> str:
    """Lemma of an input word, preferring a parse whose lemma is a word of some known name."""
    if not _CYRILLIC_RE.search(word):
        return word
    vocabulary = _index().vocabulary
    parses = _morph().parse(word)
    candidates = [p for p in parses if "Geox" in p.tag] + [p for p in parses if "Geox" not in p.tag]
    for parse in candidates:
        form = _normalize(parse.normal_form)
        if form in vocabulary:
            return form
    return _base_lemma(word)


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


def _suggest(key: str, limit: int = 3) -> str:
    """Up to ``limit`` nearest known spellings, as text for an error message."""
    table = _index().suggestions
    found: list[str] = []
    seen: set[str] = set()
    for match, _score, _ in process.extract(key, list(table), scorer=fuzz.WRatio, limit=limit * 4, score_cutoff=60):
        spelling, code = table[match]
        if code not in seen:
            seen.add(code)
            found.append(f"{spelling!r} ({code})")
        if len(found) == limit:
            break
    return f"did you mean {', '.join(found)}?" if found else "no known name is close"


def _from_entry(entry: _Entry, name: str) -> str:
    if len(entry.codes) == 1:
        return next(iter(entry.codes))
    if entry.codes:
        options = ", ".join(f"{_index().display[c]} ({c})" for c in sorted(entry.codes))
        raise CountryError(f"country name {name!r} is ambiguous: it may be {options}; write the full name")
    raise CountryError(f"country name {name!r} is refused: {entry.note}")


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 17)
def _outcome(name: str) -> tuple[str | None, str]:
    """(code, "") or (None, error message): failures are cached too, so a bad value repeated costs little."""
    try:
        return _resolve_uncached(name), ""
    except CountryError as exc:
        return None, str(exc)


def _resolve_text(name: str) -> str:
    code, error = _outcome(name)
    if code is None:
        raise CountryError(error)
    return code


# A Russian preposition before a name, as the source writes it in context ("в Казахстане", "с Мексикой").
_PREPOSITIONS = frozenset({"в", "во", "с", "со", "из", "на", "для", "у", "к", "ко", "по", "о", "об", "от", "до", "при"})
# World Bank-style abbreviations ("Korea, Rep.", "Cook Is.", "Congo, Dem. Rep."), expanded only when written
# with their dot, so that a plain word is never rewritten.
_ABBREVIATIONS = {
    "rep": "republic",
    "dem": "democratic",
    "is": "islands",
    "isl": "islands",
    "st": "saint",
    "fed": "federated",
    "sts": "states",
    "arab": "arab",
}


def _expand(name: str, tokens: list[str]) -> list[str]:
    """Drop a leading Russian preposition and expand World Bank abbreviations written with a dot."""
    if len(tokens) > 1 and tokens[0] in _PREPOSITIONS:
        tokens = tokens[1:]
    dotted = set(re.findall(r"(\w+)\.", _normalize(name)))
    return [_ABBREVIATIONS[t] if t in dotted and t in _ABBREVIATIONS else t for t in tokens]


def _resolve_uncached(name: str) -> str:
    tokens = _expand(name, _tokens(name))
    if not tokens:
        raise CountryError(f"empty country name {name!r}: write a country name or an ISO 3166-1 code")
    for token in tokens:
        if _CYRILLIC_RE.search(token) and _LATIN_RE.search(token):
            raise CountryError(
                f"country name {name!r} mixes Latin and Cyrillic letters in {token!r} "
                f"(a look-alike letter?); write it in one alphabet"
            )
    index = _index()
    key = _exact_key(tokens)
    entry = index.exact.get(key)
    if entry is not None:
        return _from_entry(entry, name)
    if _CODE_LIKE_RE.fullmatch(name.strip()):
        kind = "alpha-3" if len(name.strip()) == 3 else "alpha-2"
        raise CountryError(
            f"{name.strip()!r} is not an ISO 3166-1 {kind} code nor a known name; "
            f"use a code such as 'KOR' or a name such as 'Республика Корея'"
        )
    entry = index.lemma.get(_lemma_key(tokens, _lookup_lemma))
    if entry is not None:
        return _from_entry(entry, name)
    raise CountryError(
        f"unknown country name {name!r}: {_suggest(key)} "
        f"(a valid spelling that is missing belongs in resources/{ALIASES_RESOURCE})"
    )


def resolve_country(name: str) -> str:
    """Return the ISO 3166-1 alpha-3 code (or ``EUU``) of one country name, in any case or language.

    Raises :class:`CountryError` for an empty, unknown, ambiguous or refused name.
    """
    if not isinstance(name, str):
        raise CountryError(f"expected a country name as text, got {type(name).__name__} {name!r}")
    return _resolve_text(name)


@lru_cache(maxsize=1 << 16)
def _resolve_list(text: str) -> tuple[str, ...]:
    """Codes of a ';'-separated cell (successes cached; a failing cell fails fast on its cached part)."""
    if not text.strip():
        return ()
    codes: list[str] = []
    parts = text.split(";")
    for number, part in enumerate(parts, start=1):
        if not part.strip():
            raise CountryError(f"part {number} of {len(parts)} in {text!r} is empty (a doubled or trailing ';'?)")
        code, error = _outcome(part.strip())
        if code is None:
            if len(parts) == 1:
                raise CountryError(error)
            raise CountryError(f"part {number} of {len(parts)} ({part.strip()!r}): {error}")
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def resolve_countries(text: str | None) -> list[str]:
    """Resolve ``;``-separated names to codes, in order and without duplicates.

    Empty or blank text, None and NaN (a missing cell) give ``[]``. Raises :class:`CountryError` naming
    the part that failed.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return []
    if not isinstance(text, str):
        raise CountryError(f"expected ';'-separated country names as text, got {type(text).__name__} {text!r}")
    return list(_resolve_list(text))


def country_name(iso3: str) -> str:
    """Return a short English display name for an ISO 3166-1 alpha-3 code (or ``EUU``).

    Uses pycountry's ``common_name`` when it has one, else ``name``, with a few readable overrides
    (``DR Congo``, ``Russia``, ``European Union``...). Raises :class:`CountryError` for an unknown code.
    """
    if not isinstance(iso3, str):
        raise CountryError(f"expected an ISO 3166-1 alpha-3 code as text, got {type(iso3).__name__} {iso3!r}")
    name = _index().display.get(iso3.strip().upper())
    if name is None:
        raise CountryError(
            f"{iso3!r} is not an ISO 3166-1 alpha-3 code nor one of {sorted(SUPRANATIONAL)}; "
            f"resolve names with resolve_country first"
        )
    return name


def known_codes() -> frozenset[str]:
    """Every code the resolver can return: ISO 3166-1 alpha-3 codes and the supranational ones."""
    return frozenset(_index().display)
