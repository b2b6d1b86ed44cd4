"""The one number voice: how money, amounts with their qualifier, shares and dates read in every table, chart, map,
sentence, alt text, index entry and CSV. ``format_usd(1.25e9)`` is ``$1.25 bn`` (parsing is ``clean.amounts``).

A value the sources do not give reads ``not stated``: never ``$0`` or ``0%``.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal, localcontext

from .errors import AmountError
from .vocab import NOT_STATED

# (unit, power of ten, keep ".0"): billions and trillions always show one decimal, smaller units drop ".0".
_UNITS: tuple[tuple[str, int, bool], ...] = (
    ("", 0, False),
    (" k", 3, False),
    (" m", 6, False),
    (" bn", 9, True),
    (" tn", 12, True),
)


def format_usd(value: float | None) -> str:
    """Write a USD value for readers: ``$10.0 bn``, ``$1.25 bn``, ``$455 m``, ``$27.4 m``, ``$6 m``.

    Billions (and trillions) keep one decimal, two below ten when the second is not 0; millions, thousands and dollars show up to one decimal
    and drop ``.0``; rounding is half up, moving to the next unit when it reaches 1000 (``$1.0 bn``).
    None and NaN (and pandas' missing values) give ``'not stated'``; infinities raise :class:`AmountError`.
    """
    if value is None:
        return NOT_STATED
    try:
        number = float(value)
    except (TypeError, ValueError):
        if type(value).__name__ in {"NAType", "NaTType"}:
            return NOT_STATED
        raise AmountError(f"cannot format {value!r} as US dollars: expected a number") from None
    if math.isnan(number):
        return NOT_STATED
    if math.isinf(number):
        raise AmountError(f"cannot format {value!r} as US dollars: not a finite number")
    sign = "-" if number < 0 else ""
    exact = Decimal(repr(abs(number)))  # the shortest decimal that reads back as this float
    with localcontext() as ctx:
        ctx.prec = 400  # room for every float up to 1.8e308 with one decimal
        for unit, power, keep_zero in _UNITS:  # noqa: B007 - the unit found is used after the loop
            shown = exact.scaleb(-power).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            if shown < 1000:
                break
    if shown == 0:
        return "$0"
    if keep_zero and shown < 10:
        # Below ten billion a second decimal matters to readers ($1.25 bn, not $1.3 bn); a trailing 0 goes.
        with localcontext() as ctx:
            ctx.prec = 400
            precise = exact.scaleb(-power).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if precise < 10:
            text = f"{precise:,.2f}"
            text = text[:-1] if text.endswith("0") else text
            return f"{sign}${text}{unit}"
    text = f"{shown:,.1f}"
    if not keep_zero and text.endswith(".0"):
        text = text[:-2]
    return f"{sign}${text}{unit}"


def format_amount(value: float | None, qualifier: str = "exact") -> str:
    """An item's amount with the source's qualifier: ``up to $10.0 bn``, ``more than $1.0 bn``, ``$455 m``."""
    text = format_usd(value)
    if text == NOT_STATED or qualifier in ("exact", NOT_STATED, ""):
        return text
    return f"{qualifier} {text}"


def is_stated(value: object) -> bool:
    """True for a number (zero included); False for None and missing values (NaN, NA)."""
    try:
        return value is not None and not math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def format_share(part: float | None, whole: float | None) -> str:
    """``part`` as a whole percentage of ``whole``: ``57%``; ``<1%`` for a sliver; ``not stated`` without a whole."""
    if not is_stated(part) or not is_stated(whole) or float(whole) == 0:
        return NOT_STATED
    share = 100 * float(part) / float(whole)
    if 0 < share < 0.5:
        return "<1%"
    if 99.5 <= share < 100:
        return ">99%"
    return f"{Decimal(repr(share)).quantize(Decimal('1'), rounding=ROUND_HALF_UP)}%"


def format_date(text: str | None, precision: str = "day", inferred: bool = False) -> str:
    """A date as precise as the source: ``4 February 2026``, ``December 2025``, ``2025``; ``not stated`` without one.

    ``text`` is ISO 8601 (``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``); an inferred date (part of it taken from the
    context) says so: ``2 February 2026 (inferred)``.
    """
    if not text or text == NOT_STATED or precision in ("none", NOT_STATED):
        return NOT_STATED
    parts = [int(p) for p in str(text)[:10].split("-")]
    if precision == "year" or len(parts) == 1:
        shown = f"{parts[0]}"
    elif precision == "month" or len(parts) == 2:
        shown = dt.date(parts[0], parts[1], 1).strftime("%B %Y")
    else:
        day = dt.date(*parts[:3])
        shown = f"{day.day} {day:%B %Y}"
    return f"{shown} (inferred)" if inferred else shown


def format_period(first: tuple[str, str], last: tuple[str, str]) -> str:
    """A span of two dates, each as precise as the source (``(iso, precision)``): ``August 2025 to February 2026``."""
    start, end = format_date(*first), format_date(*last)
    return start if start == end else f"{start} to {end}"
