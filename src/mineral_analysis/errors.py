"""Errors that point at a place in a raw file: file, line, column, value, and what would be valid."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the raw data, located as precisely as the check allows."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column '{self.column}'"
        shown = "" if self.value is None else f" (value {_shorten(self.value)!r})"
        return f"{where}{shown}: {self.message}"


def _shorten(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


class DataValidationError(Exception):
    """Raised when raw data fails validation; carries every problem found, in file and line order."""

    def __init__(self, problems: list[Problem]):
        # The same finding from two checks (e.g. the schema and a parser) is shown once.
        self.problems = sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line or 0, p.column or ""))
        super().__init__(self.report())

    def report(self, limit: int = 50) -> str:
        """Return a readable list of the problems, at most ``limit`` of them."""
        shown = [f"  - {p}" for p in self.problems[:limit]]
        more = len(self.problems) - limit
        if more > 0:
            shown.append(f"  … and {more} more problem(s)")
        noun = "problem" if len(self.problems) == 1 else "problems"
        return f"raw data failed validation ({len(self.problems)} {noun}):\n" + "\n".join(shown)


class ParameterError(ValueError):
    """Raised when a brief parameter is not one of the valid values."""


class AmountError(ValueError):
    """An amount that cannot be read as a positive, finite sum of US dollars (``clean.amounts``), or a value
    that cannot be written as one (``usd.format_usd``)."""
