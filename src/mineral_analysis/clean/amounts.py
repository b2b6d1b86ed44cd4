"""Parse money amounts as the sources write them into US dollars (``usd.format_usd`` writes them for readers).

The raw records keep amounts exactly as the Russian-language news writes them: ``$1,25 млрд``,
``до $700 млн``, ``$14.8 млрд``, ``до 10 миллиардов долларов``, ``более миллиарда долларов``.
:func:`parse_amount` reads one such amount into a :class:`ParsedAmount` (a float in USD and a qualifier
from :data:`mineral_analysis.vocab.QUALIFIERS`); :func:`mineral_analysis.usd.format_usd` writes a value back as ``$1.3 bn``.

Grammar, read left to right (case-insensitive; non-breaking, thin and other Unicode spaces are spaces)::

    [qualifier] [currency] number [scale] [currency]

* **qualifier** -- ``до``, ``вплоть до``, ``не более``, ``up to``, ``at most``... give ``"up to"``;
  ``более``, ``свыше``, ``больше``, ``не менее``, ``more than``, ``over``, ``at least``... give
  ``"more than"`` (the vocabulary has one floor qualifier, so "at least" is recorded as a floor too);
  ``около``, ``примерно``, ``порядка``, ``about``, ``approximately``, ``~``... give ``"about"``;
  none gives ``"exact"``. Any other leading word (``менее``, ``less than``, ``under``) is an error.
* **currency** -- US dollars only, written ``$``, ``US$``, ``USD``, ``долл.``, ``доллар``/``доллара``/
  ``долларов`` (optionally ``США`` or ``американских``), ``dollar(s)``, in front or behind. It is
  required: an amount without a currency is an error, not an assumed dollar. Any other currency
  (``€``, ``EUR``, ``руб``, ``₽``, ``£``, ``¥``, ``юаней``, ``CNY``, ``C$``, ``канадских долларов``...)
  is an error naming it.
* **number** -- digits, or a small number word before a scale word (``один``...``десять`` in the cases
  that follow ``до``/``более``, ``полтора``, ``пол-``, ``one``...``ten``, ``a``, ``half a``), or nothing
  when a scale word stands alone (``миллиарда долларов`` is one billion).
* **scale** -- ``тыс``/``тысяч``/``thousand``/``k``, ``млн``/``миллион``/``million``/``m``/``mn``/``mln``,
  ``млрд``/``миллиард``/``billion``/``bn``/``b``/``bln``, ``трлн``/``trillion``/``tn``, in any case form.

Decimal and thousands separators (the comma rule):

* A **single comma** followed by exactly three digits, after a first group of 1-3 digits that is not
  ``0``, reads either way: with a scale word after it (``$1,250 млрд``: $1.25 bn with a decimal comma, or
  $1,250 bn with a thousands comma) it is refused as ambiguous, naming both readings; without one
  (``$1,250``) it is a thousands separator. Any other single comma is the decimal comma (``$1,25 млрд`` =
  1.25e9, ``0,250`` = 0.25, ``1,2500`` = 1.25).
* A **single dot** is always the decimal point (``$14.8 млрд``; ``1.250`` = 1.25).
* Repeated commas or dots must all be thousands separators in groups of three (``1,250,000``,
  ``1.250.000``); when both kinds appear, the last one is the decimal mark and occurs once
  (``1,250.5`` and ``1.250,5`` are both 1250.5). Spaces may group thousands (``1 250,5``), and then a
  following comma or dot is decimal. Anything else is an error.

Errors are :class:`AmountError`, never silent guesses: empty text, another currency, zero or negative
amounts, no number, an unknown leading word, text left after the amount (ranges such as
``$1-2 млрд`` included) and values too large to be finite.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext

import pycountry

from ..errors import AmountError
from ..usd import format_usd
from ..vocab import QUALIFIERS

__all__ = ["AmountError", "ParsedAmount", "parse_amount"]


@dataclass(frozen=True)
class ParsedAmount:
    """An amount in US dollars and how the source qualifies it (a key of ``vocab.QUALIFIERS``)."""

    value_usd: float
    qualifier: str

    def __post_init__(self) -> None:
        if self.qualifier not in QUALIFIERS:
            raise AmountError(f"qualifier {self.qualifier!r} is not one of {sorted(QUALIFIERS)}")
        if not (math.isfinite(self.value_usd) and self.value_usd > 0):
            raise AmountError(f"value_usd must be a positive finite number of dollars, got {self.value_usd!r}")


EXAMPLES = "'$1.3 млрд', 'до $700 млн', '$1,25 млрд' or 'более миллиарда долларов'"

# ---------------------------------------------------------------------------------------------------
# Vocabulary (lower case, ё written е)
# ---------------------------------------------------------------------------------------------------

QUALIFIER_WORDS: dict[str, tuple[str, ...]] = {
    "up to": (
        "до",
        "вплоть до",
        "не более",
        "не более чем",
        "не больше",
        "не свыше",
        "максимум",
        "up to",
        "at most",
        "no more than",
        "not more than",
    ),
    "more than": (
        "более",
        "более чем",
        "свыше",
        "больше",
        "больше чем",
        "не менее",
        "не меньше",
        "как минимум",
        "минимум",
        "more than",
        "over",
        "above",
        "in excess of",
        "at least",
        "upwards of",
    ),
    "about": (
        "около",
        "примерно",
        "приблизительно",
        "порядка",
        "почти",
        "ориентировочно",
        "ок.",
        "about",
        "approximately",
        "approx.",
        "approx",
        "around",
        "roughly",
        "nearly",
        "almost",
        "~",
        "≈",
    ),
}

_RU_CASES = r"(?:ов|ами|ах|ам|ом|а|у|е|ы)?"
SCALES: tuple[tuple[int, str], ...] = (
    (12, rf"трлн\.?|триллион{_RU_CASES}|trillions?|trn|tn"),
    (9, rf"млрд\.?|миллиард{_RU_CASES}|billions?|bln|bn|b"),
    (6, rf"млн\.?|миллион{_RU_CASES}|millions?|mln|mn|mm|m"),
    (3, r"тыс\.?|тысяч(?:ами|ах|ам|ей|ью|а|и|у)?|thousands?|k"),
)

# Number words; those marked True only make sense before a scale word ("a billion", "полмиллиарда").
NUMBER_WORDS: dict[str, tuple[Decimal, bool]] = {}
for _value, _words in (
    (1, "один одна одно одного одной одному одним одном one"),
    (2, "два две двух двум двумя two"),
    (3, "три трех трем тремя three"),
    (4, "четыре четырех четырем четырьмя four"),
    (5, "пять пяти пятью five"),
    (6, "шесть шести шестью six"),
    (7, "семь семи семью seven"),
    (8, "восемь восьми восемью восьмью eight"),
    (9, "девять девяти девятью nine"),
    (10, "десять десяти десятью ten"),
):
    NUMBER_WORDS.update({w: (Decimal(_value), False) for w in _words.split()})
NUMBER_WORDS.update({w: (Decimal("1.5"), True) for w in ("полтора", "полторы", "полутора")})
NUMBER_WORDS.update({w: (Decimal(1), True) for w in ("a", "an")})
NUMBER_WORDS.update({w: (Decimal("0.5"), True) for w in ("half a", "half an")})
del _value, _words

_END = r"(?![a-zа-я0-9])"  # a word ends here
_WORD_BEFORE = r"(?<![a-zа-я0-9])"

_RU_DOLLAR = rf"(?:долл\.|долл{_END}|доллар{_RU_CASES}{_END})"
_USD_WORD = (
    rf"(?:(?:американск(?:их|ого|ий|ие|им|ими|ом)\s+)?{_RU_DOLLAR}(?:\s*сша{_END})?"
    rf"|(?:(?:us|u\.s\.)\s+)?dollars?{_END}(?:\s*(?:us|u\.s\.|usa){_END})?)"
)
_CURRENCY_PREFIX_RE = re.compile(r"(?:us\s?\$|u\.s\.\s?\$|\$|usd(?![a-zа-я]))\s*")
_CURRENCY_SUFFIX_RE = re.compile(rf"\s*(?:us\s?\$|\$|usd{_END}|{_USD_WORD})")

_QUALIFIER_OF = {w: q for q, words in QUALIFIER_WORDS.items() for w in words}
_QUALIFIER_RE = re.compile(
    "("
    + "|".join(
        re.escape(w) + ("" if not w[-1].isalpha() else _END) for w in sorted(_QUALIFIER_OF, key=len, reverse=True)
    )
    + r")\s*"
)
_NUMBER_RE = re.compile(r"[0-9]{1,3}(?: [0-9]{3})+(?:[.,][0-9]+)?(?![0-9])|[0-9]+(?:[.,][0-9]+)*")
_NUMBER_WORD_RE = re.compile(
    "(" + "|".join(re.escape(w) for w in sorted(NUMBER_WORDS, key=len, reverse=True)) + rf"){_END}\s*"
    r"|(пол)-?(?=милл|трил|тыс)"
)
_SCALE_RE = re.compile(r"\s*(?:" + "|".join(f"(?P<e{exp}>(?:{pat}){_END})" for exp, pat in SCALES) + ")")
_NEGATIVE_RE = re.compile(rf"(?:-|минус{_END}|minus{_END})")
_LEADING_WORD_RE = re.compile(r"[a-zа-я]+(?:[ .-]+[a-zа-я]+)?")
_AMOUNT_HINT_RE = re.compile(r"[0-9$]|млн|млрд|тыс|трлн|миллион|миллиард|million|billion|долл|dollar|usd")

_SPACES_RE = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_LOOKALIKES = {
    ord("＄"): "$",
    ord("﹩"): "$",
    ord("ё"): "е",
    ord("−"): "-",
    ord("–"): "-",
    ord("—"): "-",
    ord("‒"): "-",
    ord("―"): "-",
    ord("‐"): "-",
    ord("‑"): "-",
}

# Other currencies, recognised so that the error can name them.
_FOREIGN: tuple[tuple[str, str], ...] = (
    ("euro (EUR)", rf"€|{_WORD_BEFORE}(?:евро|euros?){_END}"),
    ("pound sterling (GBP)", rf"£|{_WORD_BEFORE}(?:фунт[а-я]*|pounds?|sterling|стерлинг[а-я]*){_END}"),
    ("Japanese yen (JPY)", rf"円|{_WORD_BEFORE}(?:[ий]ен[аыуе]?|[ий]енами|yen){_END}"),
    ("Chinese yuan (CNY)", rf"¥|元|{_WORD_BEFORE}(?:юан[а-я]*|yuan|renminbi|rmb|жэньминьби){_END}"),
    ("Russian rouble (RUB)", rf"₽|{_WORD_BEFORE}(?:руб\.?|рубл[а-я]*|roubles?|rubles?){_END}"),
    ("Indian rupee (INR)", rf"₹|{_WORD_BEFORE}(?:рупи[а-я]*|rupees?){_END}"),
    ("Korean won (KRW)", rf"₩|{_WORD_BEFORE}(?:вон|won){_END}"),
    ("Ukrainian hryvnia (UAH)", rf"₴|{_WORD_BEFORE}(?:гривн[а-я]*|hryvni[a-z]*){_END}"),
    ("Kazakh tenge (KZT)", rf"₸|{_WORD_BEFORE}(?:тенге|tenge){_END}"),
    ("Turkish lira (TRY)", rf"₺|{_WORD_BEFORE}(?:лир[аыуе]?|lira){_END}"),
    ("Israeli shekel (ILS)", rf"₪|{_WORD_BEFORE}(?:шекел[а-я]*|shekels?){_END}"),
    ("Swiss franc (CHF)", rf"{_WORD_BEFORE}(?:франк[а-я]*|francs?){_END}"),
    ("a currency other than the US dollar", r"[₫₱₦฿₣₿₲₵₡₭₮₼₾]"),
    ("a non-US dollar", rf"{_WORD_BEFORE}(?!американск)[а-я]{{1,30}}(?:ск|цк)(?:их|ого|ий|ие|им|ими|ом)\s+доллар"),
    (
        "a non-US dollar",
        rf"{_WORD_BEFORE}(?:canadian|australian|hong kong|singapore|new zealand|taiwan|"
        rf"new taiwan|zimbabwe|jamaican|namibian|fijian|brunei|east caribbean)\s+dollars?{_END}",
    ),
    ("a non-US dollar", r"(?<![a-z.])(?!us\$)[a-z]{1,3}\$"),
)
_FOREIGN_RE = [(label, re.compile(pattern)) for label, pattern in _FOREIGN]
_ISO_CURRENCIES = {c.alpha_3: c.name for c in pycountry.currencies} | {"CNH": "Chinese yuan (offshore)"}
_UPPER_CODE_RE = re.compile(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])")


# ---------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------


def _normalize(text: str) -> str:
    """Lower case, ``ё`` as ``е``, dashes as ``-``, every Unicode space as one space, trimmed."""
    text = text.translate(_INVISIBLE).lower().translate(_LOOKALIKES)
    return _SPACES_RE.sub(" ", text).strip()


def _reject_foreign_currency(original: str, norm: str) -> None:
    for label, pattern in _FOREIGN_RE:
        found = pattern.search(norm)
        if found:
            raise AmountError(
                f"amount {original!r} is in {label} ({found.group().strip()!r}); only US dollars "
                f"are supported: write $, US$, USD or 'долларов'"
            )
    for code in _UPPER_CODE_RE.findall(original):
        if code != "USD" and code in _ISO_CURRENCIES:
            raise AmountError(
                f"amount {original!r} is in {_ISO_CURRENCIES[code]} ({code}); only US dollars "
                f"are supported: write $, US$, USD or 'долларов'"
            )


def _group_ok(groups: list[str]) -> bool:
    """True if ``groups`` read as thousands groups: a first group of 1-3 digits (not 0), then threes."""
    head, rest = groups[0], groups[1:]
    return 1 <= len(head) <= 3 and not head.startswith("0") and all(len(g) == 3 for g in rest)


def _parse_digits(token: str, original: str) -> Decimal:
    """Read a digit string under the comma rule of the module docstring."""

    def bad() -> AmountError:
        return AmountError(
            f"cannot read the number {token!r} in {original!r}: use one decimal mark "
            f"('1,25' or '1.25') and thousands groups of three ('1,250' or '1 250')"
        )

    if " " in token:  # space-grouped thousands, then an optional decimal mark of either kind
        integer, _, fraction = token.replace(",", ".").partition(".")
        if not _group_ok(integer.split(" ")):
            raise bad()
        return Decimal(integer.replace(" ", "") + ("." + fraction if fraction else ""))
    commas, dots = token.count(","), token.count(".")
    if commas == 0 and dots == 0:
        return Decimal(token)
    if commas and dots:
        decimal_mark = "," if token.rfind(",") > token.rfind(".") else "."
        grouping = "." if decimal_mark == "," else ","
        integer, _, fraction = token.rpartition(decimal_mark)
        if decimal_mark in integer or not _group_ok(integer.split(grouping)):
            raise bad()
        return Decimal(integer.replace(grouping, "") + "." + fraction)
    mark, count = (",", commas) if commas else (".", dots)
    groups = token.split(mark)
    if count > 1:
        if not _group_ok(groups):
            raise bad()
        return Decimal("".join(groups))
    if mark == "," and _group_ok(groups):
        return Decimal("".join(groups))  # $1,250 million: three digits after one comma group thousands
    return Decimal(groups[0] + "." + groups[1])


_AMBIGUOUS_COMMA_RE = re.compile(r"[1-9][0-9]{0,2},[0-9]{3}")


def _valid_qualifiers() -> str:
    return "; ".join(f"{', '.join(repr(w) for w in words[:4])}... ({q})" for q, words in QUALIFIER_WORDS.items())


# The form most records use ("$455 млн", "до $1.3 млрд", "$1,25 млрд"), read without the general grammar.
# Only what the general parser reads the same way qualifies: a non-zero leading digit and at most two decimals
# (so a comma is always a decimal mark here); tests/test_amounts.py checks both paths agree.
_COMMON_RE = re.compile(r"(?:(до|более) )?\$([1-9][0-9]{0,3}(?:[.,][0-9]{1,2})?) (млн|млрд)")
_COMMON_QUALIFIER = {None: "exact", "до": "up to", "более": "more than"}
_COMMON_EXPONENT = {"млн": 6, "млрд": 9}


def parse_amount(text: str) -> ParsedAmount:
    """Read one amount as written (``'до $700 млн'``) into a :class:`ParsedAmount` in US dollars.

    Raises :class:`AmountError` for anything that is not one positive, finite USD amount.
    """
    if isinstance(text, str) and (m := _COMMON_RE.fullmatch(text)):
        value = float(Decimal(m.group(2).replace(",", ".")).scaleb(_COMMON_EXPONENT[m.group(3)]))
        return ParsedAmount(value, _COMMON_QUALIFIER[m.group(1)])
    return _parse_amount_general(text)


def _parse_amount_general(text: str) -> ParsedAmount:
    """The general grammar behind :func:`parse_amount`."""
    if not isinstance(text, str):
        raise AmountError(f"expected an amount as text, got {type(text).__name__} {text!r}")
    s = _normalize(text)
    if not s:
        raise AmountError(f"empty amount {text!r}: write an amount such as {EXAMPLES}")
    _reject_foreign_currency(text, s)

    pos, qualifier, currency = 0, "exact", False
    if m := _QUALIFIER_RE.match(s, pos):
        qualifier, pos = _QUALIFIER_OF[m.group(1)], m.end()
    if _NEGATIVE_RE.match(s, pos):
        raise AmountError(f"negative amount {text!r}: amounts must be positive sums of US dollars")
    if m := _CURRENCY_PREFIX_RE.match(s, pos):
        currency, pos = True, m.end()
        if _NEGATIVE_RE.match(s, pos):
            raise AmountError(f"negative amount {text!r}: amounts must be positive sums of US dollars")

    number: Decimal | None = None
    needs_scale = False
    digits = ""
    if m := _NUMBER_RE.match(s, pos):
        digits = m.group()
        number, pos = _parse_digits(digits, text), m.end()
    elif m := _NUMBER_WORD_RE.match(s, pos):
        number, needs_scale = NUMBER_WORDS[m.group(1)] if m.group(1) else (Decimal("0.5"), True)  # пол-
        pos = m.end()

    exponent: int | None = None
    if m := _SCALE_RE.match(s, pos):
        exponent = next(int(name[1:]) for name, value in m.groupdict().items() if value is not None)
        pos = m.end()
    if m := _CURRENCY_SUFFIX_RE.match(s, pos):
        currency, pos = True, m.end()
    rest = s[pos:].strip()
    if exponent is not None and _AMBIGUOUS_COMMA_RE.fullmatch(digits):
        whole, fraction = digits.split(",")
        as_decimal = format_usd(float(Decimal(f"{whole}.{fraction}").scaleb(exponent)))
        as_thousands = format_usd(float(Decimal(whole + fraction).scaleb(exponent)))
        raise AmountError(
            f"amount {text!r} is ambiguous: the comma reads as a decimal mark ({as_decimal}) or as a "
            f"thousands separator ({as_thousands}); write '{whole}.{fraction}' or '{whole}{fraction}' "
            "as the source means it, and say which in the note"
        )

    if number is None and exponent is None:
        word = _LEADING_WORD_RE.match(s, pos)
        if word and _AMOUNT_HINT_RE.search(s, word.end()):
            raise AmountError(
                f"unknown qualifier {word.group()!r} in {text!r}: valid qualifiers are "
                f"{_valid_qualifiers()}; 'less than' and ranges are not supported"
            )
        raise AmountError(
            f"no amount found in {text!r}: write a number with a scale and the currency, such as {EXAMPLES}"
        )
    if rest:
        raise AmountError(
            f"unexpected text {rest!r} after the amount in {text!r}: write one amount such as "
            f"{EXAMPLES} (ranges and comments are not supported)"
        )
    if needs_scale and exponent is None:
        raise AmountError(
            f"amount {text!r} uses a number word that needs a scale word after it ('a billion', 'полмиллиарда')"
        )
    if not currency:
        raise AmountError(
            f"amount {text!r} names no currency: write $, US$, USD or 'долларов' "
            f"(only US dollars are supported, and none is assumed)"
        )

    with localcontext() as ctx:
        ctx.prec = 60
        value = float((number if number is not None else Decimal(1)).scaleb(exponent or 0))
    if value == 0:
        raise AmountError(f"zero amount {text!r}: amounts must be positive; leave the cell empty if none is stated")
    if not math.isfinite(value):
        raise AmountError(f"amount {text!r} is too large to be a finite number of dollars")
    return ParsedAmount(value, qualifier)
