"""Strict reading of the curated raw CSV files.

The raw files are edited by hand, so reading is strict and every failure names the file, the line, the column
and the value: the encoding must be UTF-8 (no byte-order mark), the header must list exactly the documented
columns, every row must have as many fields as the header, blank lines and ``#`` comment lines are not allowed
inside the data (they are reported, not skipped, so that nothing is dropped silently).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DataValidationError, Problem

MAX_FIELD_CHARS = 2_000
LINE_COLUMN = "_line"


@dataclass(frozen=True)
class RawTable:
    """A raw file read as text: one string column per header column, plus the line each row starts on."""

    path: Path
    frame: pd.DataFrame

    @property
    def name(self) -> str:
        return self.path.name


def _decode(path: Path, data: bytes) -> str:
    name = path.name
    if data.startswith(b"\xef\xbb\xbf"):
        raise DataValidationError([Problem(name, 1, None, None,
                                           "file starts with a UTF-8 byte-order mark; save it as UTF-8 without BOM")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column_offset = exc.start - (data.rfind(b"\n", 0, exc.start) + 1)
        bad = data[exc.start: exc.start + 4]
        hint = ""
        try:
            data.decode("cp1251")
            hint = " It decodes as Windows-1251: re-save the file as UTF-8."
        except UnicodeDecodeError:
            pass
        raise DataValidationError([Problem(
            name, line, None, bad.hex(" "),
            f"file is not valid UTF-8 (byte {exc.start}, character {column_offset + 1} of the line).{hint}",
        )]) from None


def read_raw_table(path: Path, columns: list[str]) -> RawTable:
    """Read ``path`` as UTF-8 CSV whose header must equal ``columns``; return every field as text.

    Raises DataValidationError listing every structural problem (encoding, header, field counts, blank or
    comment lines, over-long fields) with its line number.
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise DataValidationError([Problem(name, None, None, None, f"file not found: {name} (expected in the raw-data folder)")])
    text = _decode(path, path.read_bytes())
    if not text.strip():
        raise DataValidationError([Problem(name, 1, None, None,
                                           f"file is empty; expected a header line: {','.join(columns)}")])
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise DataValidationError([Problem(name, 1, None, None, f"unreadable header: {exc}")]) from None
    header = [h.strip() for h in header]
    if header != columns:
        missing = [c for c in columns if c not in header]
        unknown = [h for h in header if h not in columns]
        detail = []
        if missing:
            detail.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            detail.append(f"unknown column(s) {', '.join(unknown)}")
        if not detail:
            detail.append("columns are in the wrong order")
        raise DataValidationError([Problem(name, 1, None, ",".join(header),
                                           f"header does not match the schema: {'; '.join(detail)}. "
                                           f"Expected: {','.join(columns)}")])
    n_columns = len(columns)
    rows: list[list[str]] = []
    lines: list[int] = []
    line_start = reader.line_num + 1
    try:
        for row in reader:
            start = line_start
            line_start = reader.line_num + 1
            if len(row) == n_columns and not row[0].startswith("#") and any(row):
                rows.append(row)
                lines.append(start)
            elif not row or all(not field.strip() for field in row):
                problems.append(Problem(name, start, None, "", "blank line inside the data; delete it"))
            elif row[0].lstrip().startswith("#"):
                problems.append(Problem(name, start, columns[0], row[0],
                                        "comment lines are not allowed in raw data; move the remark to the note column"))
            elif len(row) != n_columns:
                problems.append(Problem(name, start, None, ",".join(row),
                                        f"row has {len(row)} fields, the header has {n_columns}; "
                                        "quote fields that contain commas"))
            else:
                rows.append(row)
                lines.append(start)
    except csv.Error as exc:
        problems.append(Problem(name, reader.line_num, None, None, f"malformed CSV: {exc}"))
    if not rows and not problems:
        raise DataValidationError([Problem(name, 2, None, None, "file has a header but no records")])
    frame = pd.DataFrame(
        {c: pd.array(v, dtype="str") for c, v in zip(columns, zip(*rows))} if rows
        else {c: pd.array([], dtype="str") for c in columns}
    )
    for column in columns:
        lengths = frame[column].str.len()
        for position in (lengths > MAX_FIELD_CHARS).to_numpy().nonzero()[0]:
            value = frame[column].iat[position]
            problems.append(Problem(name, lines[position], column, value,
                                    f"field is {len(value)} characters long; the limit is {MAX_FIELD_CHARS}"))
        frame[column] = frame[column].str.strip()
    if problems:
        raise DataValidationError(problems)
    frame[LINE_COLUMN] = lines
    return RawTable(path=path, frame=frame)
