"""Parsing raw cells with located errors: each distinct value parsed once, a Problem on every line of a bad one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import Problem
from .amounts import parse_amount
from .rawio import LINE_COLUMN, RawTable
from .sources import Source, citation_problems, format_citations, parse_citations

MAX_LINES_PER_VALUE = 20  # a bad value repeated on many lines is reported on the first few only


def row_problem(table: RawTable, position: int, column: str, message: str) -> Problem:
    """A Problem at row ``position`` of ``table``: its file and line, ``column`` and the raw value there."""
    return Problem(
        table.name, int(table.frame[LINE_COLUMN].iat[position]), column, table.frame[column].iat[position], message
    )


@dataclass(frozen=True)
class Parsed:
    """A column parsed once per distinct value: ``values[codes[i]]`` is row i's parsed value."""

    codes: np.ndarray
    values: list

    def derive(self, function: Callable[[object], object], dtype: object = object) -> np.ndarray:
        """Apply ``function`` to each distinct parsed value and spread the results over the rows."""
        return np.asarray([function(v) for v in self.values], dtype=dtype)[self.codes]

    def derive_text(self, function: Callable[[object], str]) -> pd.Series:
        """Like ``derive`` for text: the distinct results become a string array, then one ``take`` per row."""
        distinct = pd.array([function(v) for v in self.values], dtype="str")
        return pd.Series(distinct.take(self.codes))

    def pair(self, other: Parsed, function: Callable[[object, object], object]) -> Parsed:
        """Two columns read together: ``function(a, b)`` once per distinct pair of values, for every row."""
        width = len(other.values)
        return Parsed(self.codes * width + other.codes, [function(a, b) for a in self.values for b in other.values])

    def at(self, position: int) -> object:
        """Row ``position``'s parsed value."""
        return self.values[self.codes[position]]


def map_column(
    table: RawTable,
    column: str,
    parse: Callable[[str], object],
    problems: list[Problem],
    *,
    errors: tuple[type[Exception], ...] = (ValueError,),
) -> Parsed:
    """Parse each distinct value of ``column`` once; record a Problem on every line of a bad value."""
    series = table.frame[column]
    codes, uniques = pd.factorize(series)
    values: list = []
    failures: dict[str, str] = {}
    for value in uniques.tolist():
        try:
            values.append(parse(value))
        except errors as exc:
            failures[value] = str(exc)
            values.append(None)
    if failures:
        lines = table.frame[LINE_COLUMN]
        for value, message in failures.items():
            positions = np.flatnonzero((series == value).to_numpy())
            for position in positions[:MAX_LINES_PER_VALUE]:
                problems.append(Problem(table.name, int(lines.iat[position]), column, value, message))
            if len(positions) > MAX_LINES_PER_VALUE:
                problems.append(
                    Problem(
                        table.name,
                        None,
                        column,
                        value,
                        f"the same value is wrong on {len(positions) - MAX_LINES_PER_VALUE} more line(s)",
                    )
                )
    return Parsed(codes, values)


def parse_optional_amount(text: str):
    return None if text == "" else parse_amount(text)


def duplicate_problems(table: RawTable, column: str, label: str) -> list[Problem]:
    series = table.frame[column]
    duplicated = series.duplicated(keep="first") & (series != "")
    if not duplicated.any():
        return []
    problems = []
    first = ~series.duplicated(keep="first")
    first_line = dict(zip(series[first], table.frame.loc[first, LINE_COLUMN]))
    for position in np.flatnonzero(duplicated.to_numpy())[:MAX_LINES_PER_VALUE]:
        value = series.iat[position]
        problems.append(
            row_problem(
                table,
                position,
                column,
                f"duplicate {label}: already used on line {first_line[value]}; ids must be unique",
            )
        )
    return problems


def citation_columns(table: RawTable, registry: dict[str, Source] | None, problems: list[Problem]) -> dict:
    """``source``, ``source_count`` and ``conflict`` of the processed table, from the raw citations.

    A conflict note needs at least two sources to disagree: one on a record citing a single source is an error.
    """
    raw = table.frame
    if registry is not None:
        problems += citation_problems(table, "citations", registry)
    citations = map_column(table, "citations", parse_citations, problems)
    for position in np.flatnonzero((raw["conflict"] != "").to_numpy()):
        value = citations.values[citations.codes[position]]
        if value is not None and len({sid for sid, _ in value}) < 2 and len(value) < 2:
            problems.append(
                row_problem(
                    table,
                    position,
                    "conflict",
                    "a conflict note needs at least two cited paragraphs that disagree; cite both in "
                    "'citations' or move the text to 'note'",
                )
            )
    if problems:
        return {}
    return {
        "source": citations.derive_text(lambda pairs: format_citations(";".join(f"{s}:{p}" for s, p in pairs))),
        "source_count": citations.derive(lambda pairs: len({s for s, _ in pairs}), "int64"),
        "conflict": raw["conflict"],
    }
