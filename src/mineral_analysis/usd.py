"""US dollar amounts as readers see them: ``format_usd(1.25e9)`` is ``$1.25 bn`` (parsing is ``clean.amounts``)."""

from __future__ import annotations

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
