"""The build's notion of "now": the time printed in briefs, honouring ``SOURCE_DATE_EPOCH``.

Reproducible-builds convention (https://reproducible-builds.org/specs/source-date-epoch/): when the variable
holds a whole number of seconds since 1970-01-01 UTC, every timestamp the build writes is that moment, so the same
inputs give the same bytes. Without it, the time of the build.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


class ClockError(ValueError):
    """``SOURCE_DATE_EPOCH`` is set but is not a whole, non-negative number of seconds."""


def source_date_epoch(environ: dict[str, str] | None = None) -> int | None:
    """Return ``SOURCE_DATE_EPOCH`` as an int, or None when unset or empty; a bad value raises ClockError."""
    value = (os.environ if environ is None else environ).get(SOURCE_DATE_EPOCH, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ClockError(f"{SOURCE_DATE_EPOCH} must be a whole number of seconds since 1970-01-01 UTC, not {value!r}")
    return int(value)


def build_time(environ: dict[str, str] | None = None) -> datetime:
    """The build time in UTC, to the second: ``SOURCE_DATE_EPOCH`` when set, otherwise now."""
    epoch = source_date_epoch(environ)
    moment = datetime.fromtimestamp(epoch, UTC) if epoch is not None else datetime.now(UTC)
    return moment.replace(microsecond=0)
