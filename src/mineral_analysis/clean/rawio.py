"""Strict reading of the curated raw CSV files.

The raw files are edited by hand, so reading is strict and every failure names the file, the line, the column
and the value: the encoding must be UTF-8 (no byte-order mark), the header must list exactly the documented
columns, every row must have as many fields as the header, blank lines and ``#`` comment lines are not allowed
inside the data (they are reported, not skipped, so that nothing is dropped silently).
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import DataValidationError, Problem
from ..safe_files import MiB, read_regular_bytes

MAX_FIELD_CHARS = 2_000
MAX_RAW_BYTES = (
    1024 * MiB
)  # a hand-edited table is kB; the benchmark cleans 1 million records (440 MB); larger is refused
LINE_COLUMN = "_line"


@dataclass(frozen=True)
class RawTable:
    """A raw file read as text: one string column per header column, plus the line each row starts on."""

    path: Path
    frame: pd.DataFrame
    data: bytes = b""  # the file's bytes as read (once): what its hash is taken of

    @property
    def name(self) -> str:
        return self.path.name


def read_raw_bytes(path: Path, limit: int | None = None) -> bytes:
    """A raw file's bytes, read once: a regular file (a link, FIFO, device or folder is refused without reading
    it) of at most ``limit`` bytes (``MAX_RAW_BYTES``). DataValidationError naming the file otherwise."""
    name = Path(path).name
    try:
        return read_regular_bytes(path, MAX_RAW_BYTES if limit is None else limit)
    except FileNotFoundError:
        message = f"file not found: {name} (expected in the raw-data folder)"
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
    raise DataValidationError([Problem(name, None, None, None, message)])


BOM = b"\xef\xbb\xbf"
# Invisible characters that have no place in a hand-edited cell: C0/C1 controls (tab and line breaks inside a
# quoted field excepted) and the bidirectional overrides that can make text display differently from its bytes.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _field_at(line_text: str, offset: int) -> tuple[int, str] | None:
    """(index, text) of the CSV field of ``line_text`` that contains character ``offset``; None if unclear."""
    try:
        before = next(csv.reader([line_text[:offset] + "\x00"]), [""])
        fields = next(csv.reader([line_text]), [""])
    except csv.Error:
        return None
    index = len(before) - 1
    return (index, fields[index]) if index < len(fields) else None


def _decode(name: str, data: bytes, columns: list[str]) -> str:
    if data.startswith(BOM):
        first = data[len(BOM) :].split(b",", 1)[0].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        raise DataValidationError(
            [
                Problem(
                    name,
                    1,
                    columns[0],
                    "\ufeff" + first,
                    "the file starts with a UTF-8 byte-order mark (bytes EF BB BF, invisible in most editors); "
                    "remove the BOM: save the file as 'UTF-8' (not 'UTF-8 with BOM')",
                )
            ]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
        line = data.count(b"\n", 0, start) + 1
        line_begin = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", start)
        line_bytes = data[line_begin : len(data) if line_end < 0 else line_end].rstrip(b"\r")
        bad = data[start : exc.end]
        lenient = data.decode("utf-8", "replace")
        other_utf8 = any(ord(ch) > 127 and ch != "\ufffd" for ch in lenient)
        looks_1251 = not other_utf8 and _decodes(data, "cp1251")
        # One character per byte in the single-byte views, so offsets stay byte offsets.
        view = line_bytes.decode("cp1251", "replace") if looks_1251 else line_bytes.decode("utf-8", "backslashreplace")
        offset = (
            start - line_begin
            if looks_1251
            else len(line_bytes[: start - line_begin].decode("utf-8", "backslashreplace"))
        )
        located = _field_at(view, offset)
        column = columns[located[0]] if located and line > 1 and located[0] < len(columns) else None
        value = located[1] if located else bad.hex(" ")
        where = f"byte {bad.hex(' ').upper()} at character {offset + 1} of the line"
        if looks_1251:
            message = (
                f"the file is not UTF-8 ({where}): it looks like Windows-1251 (Cyrillic), as which the value "
                "is shown; re-save the file as UTF-8 (Excel: 'CSV UTF-8'; a text editor: encoding UTF-8)"
            )
        elif other_utf8:
            message = (
                f"{where} is not UTF-8, although the rest of the file is: the text was probably pasted "
                "from another program; retype the value or re-save the file as UTF-8"
            )
        else:
            message = f"the file is not UTF-8 ({where}); re-save it as UTF-8"
        raise DataValidationError([Problem(name, line, column, value, message)]) from None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _header_problems(name: str, header: list[str], columns: list[str]) -> list[Problem]:
    """One Problem per missing, unknown, repeated or misplaced header column."""
    shown = ",".join(header)
    expected = f"the header must be exactly: {','.join(columns)}"
    if not any(header):
        return [Problem(name, 1, None, shown, f"line 1 is blank; {expected}")]
    problems: list[Problem] = []
    missing = [c for c in columns if c not in header]
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if column in seen:
            problems.append(
                Problem(
                    name,
                    1,
                    column,
                    column,
                    f"column '{column}' appears twice in the header "
                    f"(again as column {position}); delete the repeat; {expected}",
                )
            )
        seen.add(column)
        if column in columns:
            continue
        if not column:
            problems.append(
                Problem(
                    name, 1, None, shown, f"column {position} of the header has no name (a stray comma?); {expected}"
                )
            )
            continue
        close = difflib.get_close_matches(column.lower(), missing, n=1, cutoff=0.6)
        hint = (
            f"did you mean '{close[0]}'? "
            if close
            else "remove it (put remarks in the 'note' column); "
            if "note" in columns
            else "remove it; "
        )
        problems.append(
            Problem(
                name,
                1,
                column,
                column,
                f"unknown column '{column}' (column {position} of the header): {hint}{expected}",
            )
        )
    for column in missing:
        after = columns[columns.index(column) - 1] if columns.index(column) else None
        place = f"after '{after}'" if after else "first"
        problems.append(
            Problem(
                name,
                1,
                column,
                shown,
                f"required column '{column}' is missing from the header (it comes {place}); {expected}",
            )
        )
    if not problems:
        position, found, wanted = next((i, h, c) for i, (h, c) in enumerate(zip(header, columns), start=1) if h != c)
        problems.append(
            Problem(
                name,
                1,
                wanted,
                found,
                f"columns are in the wrong order: column {position} of the "
                f"header is '{found}' but should be '{wanted}'; {expected}",
            )
        )
    return problems


def _quote_problem_at(line_text: str) -> tuple[int, str, bool] | None:
    """(field index, text from that field on, quote left open) of a quote problem in a physical line, if found."""
    field, field_start, in_quotes, at_start, i = 0, 0, False, True, 0
    opened = None
    while i < len(line_text):
        ch = line_text[i]
        if in_quotes:
            if ch == '"':
                if line_text[i + 1 : i + 2] == '"':
                    i += 2
                    continue
                in_quotes = False
                if line_text[i + 1 : i + 2] not in ("", ",", "\r", "\n"):
                    return (*opened, False)
        elif ch == '"' and at_start:
            in_quotes, opened = True, (field, line_text[field_start:].rstrip("\r\n"))
        elif ch == ",":
            field, field_start, at_start, i = field + 1, i + 1, True, i + 1
            continue
        at_start = False
        i += 1
    return (*opened, True) if in_quotes else None


def read_raw_table(path: Path, columns: list[str]) -> RawTable:
    """Read ``path`` as UTF-8 CSV whose header must equal ``columns``; return every field as text.

    Raises DataValidationError listing every structural problem (encoding, header, field counts, blank or
    comment lines, over-long fields) with its line number. A well-formed file (one line per record, nothing the
    checks below would report) is read by pyarrow's CSV reader; anything else goes through the strict reader,
    which finds and locates every problem.
    """
    data = read_raw_bytes(Path(path))
    fast = _read_well_formed(Path(path), columns, data)
    return fast if fast is not None else _read_strict(Path(path), columns, data)


# A quote with neither a delimiter nor another quote on either side: text after a closing quote, or a quote in
# the middle of a field, which only the strict reader reports.
_STRAY_QUOTE = re.compile(rb'"(?![,\r\n"])(?<=[^,\r\n"]")')  # starts with the quote, so the scan is fast
_ASCII_CONTROLS = bytes(range(0x00, 0x09)) + b"\x0b\x0c" + bytes(range(0x0E, 0x20)) + b"\x7f"
_NOT_ASCII_CONTROL = bytes(b for b in range(256) if b not in _ASCII_CONTROLS)


def _has_multibyte_control(data: bytes) -> bool:
    """Whether UTF-8 ``data`` holds a C1 control (C2 80-9F) or a bidirectional override (E2 80 AA-AE,
    E2 81 A6-A9): their lead bytes located with numpy, then the bytes after them compared."""
    import numpy as np

    octets = np.frombuffer(data, dtype=np.uint8)
    c2 = np.flatnonzero(octets[:-1] == 0xC2)
    if ((octets[c2 + 1] >= 0x80) & (octets[c2 + 1] <= 0x9F)).any():
        return True
    e2 = np.flatnonzero(octets[:-2] == 0xE2)
    second, third = octets[e2 + 1], octets[e2 + 2]
    overrides = ((second == 0x80) & (third >= 0xAA) & (third <= 0xAE)) | (
        (second == 0x81) & (third >= 0xA6) & (third <= 0xA9)
    )
    return bool(overrides.any())


def _read_well_formed(path: Path, columns: list[str], data: bytes) -> RawTable | None:
    """pyarrow's reader for a file with no problem to report; None when the strict reader must look at it.

    Every check runs on the bytes or on pyarrow's columns: invalid UTF-8 makes pyarrow refuse the file (its
    reader checks the encoding), controls are found by byte, lengths, blanks and comments by column.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if data.startswith(BOM) or not data or data.isspace():
        return None
    # Control or direction characters go to the strict reader, which locates them: single-byte controls by
    # deleting every other byte, the multi-byte ones by their bytes.
    if data.translate(None, _NOT_ASCII_CONTROL) or _has_multibyte_control(data):
        return None
    if _STRAY_QUOTE.search(data):
        return None  # pyarrow accepts text after a closing quote; the strict reader reports it
    try:
        header_end = data.find(b"\n")
        data[: header_end if header_end >= 0 else None].decode("utf-8")  # pyarrow checks values, not the header
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(block_size=1 << 26),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (OSError, UnicodeDecodeError, pa.ArrowInvalid):
        return None
    rows = table.num_rows
    physical_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    # Line numbers are row + 2 only when every record is one physical line (no blank or multi-line record).
    if table.column_names != columns or rows == 0 or physical_lines != rows + 1:
        return None
    stripped, blank = {}, None
    for column in columns:
        values = table[column]
        if pc.max(pc.utf8_length(values)).as_py() > MAX_FIELD_CHARS:
            return None
        stripped[column] = pc.utf8_trim_whitespace(values)
        empty = pc.equal(stripped[column], "")
        blank = empty if blank is None else pc.and_(blank, empty)
    if pc.any(blank).as_py() or pc.any(pc.starts_with(stripped[columns[0]], "#")).as_py():
        return None
    frame = pa.table(stripped).to_pandas()
    for column in columns:
        frame[column] = frame[column].astype("str")
    frame[LINE_COLUMN] = np.arange(2, rows + 2)
    return RawTable(path=path, frame=frame, data=data)


def _read_strict(path: Path, columns: list[str], data: bytes) -> RawTable:
    """The strict, row-by-row reader that locates every structural problem."""
    path = Path(path)
    name = path.name
    text = _decode(name, data, columns)
    if not text.strip():
        raise DataValidationError(
            [
                Problem(
                    name,
                    1,
                    None,
                    "" if not text else text[:80],
                    f"the file is empty; it must start with the header line "
                    f"{','.join(columns)} followed by one line per record",
                )
            ]
        )
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise DataValidationError([Problem(name, 1, None, None, f"unreadable header: {exc}")]) from None
    header = [h.strip() for h in header]
    if header != columns:
        raise DataValidationError(_header_problems(name, header, columns))
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
                problems.append(
                    Problem(
                        name,
                        start,
                        columns[0],
                        row[0],
                        "comment lines are not allowed in raw data; move the remark to the note column",
                    )
                )
            elif len(row) != n_columns:
                fix = (
                    "a field probably contains an unquoted comma; quote fields that contain commas "
                    '("Ambler Metals, Inc.")'
                    if len(row) > n_columns
                    else f"a field or its comma is missing; every row needs {n_columns} comma-separated fields, "
                    "empty ones included"
                )
                problems.append(
                    Problem(
                        name,
                        start,
                        None,
                        ",".join(row),
                        f"row has {len(row)} fields but the header has {n_columns}: {fix}",
                    )
                )
            else:
                rows.append(row)
                lines.append(start)
    except csv.Error as exc:
        physical = list(io.StringIO(text, newline=""))
        located = _quote_problem_at(physical[line_start - 1]) if line_start <= len(physical) else None
        column = columns[located[0]] if located and located[0] < n_columns else None
        value = (
            located[1]
            if located
            else (physical[line_start - 1].rstrip("\r\n") if line_start <= len(physical) else None)
        )
        if located and located[2]:
            what = (
                f"malformed CSV: the quote that opens this field is not closed on this line, so the field runs "
                f"on to line {reader.line_num}; close the quote"
            )
        else:
            what = "malformed CSV: text follows the closing quote of this field; quote the whole field"
        problems.append(
            Problem(
                name,
                line_start,
                column,
                value,
                f'{what}, and double any quote inside it ("a ""quoted"" word"). '
                f"Lines after this one were not checked ({exc})",
            )
        )
    if not rows and not problems:
        raise DataValidationError(
            [
                Problem(
                    name, 2, None, "", "the file has a header but no records; add one line per record below the header"
                )
            ]
        )
    frame = pd.DataFrame(
        {c: pd.array(v, dtype="str") for c, v in zip(columns, zip(*rows))}
        if rows
        else {c: pd.array([], dtype="str") for c in columns}
    )
    for column in columns:
        values = frame[column]
        wrong: list[tuple[int, str]] = []  # (row position, what is wrong there)
        for position in (values.str.len() > MAX_FIELD_CHARS).to_numpy().nonzero()[0]:
            length = len(values.iat[position])
            wrong.append((position, f"field is {length} characters long; the limit is {MAX_FIELD_CHARS}: shorten it"))
        for position in values.str.contains(_CONTROL_RE).to_numpy().nonzero()[0]:
            found = _CONTROL_RE.search(values.iat[position])
            char = found.group()
            label = unicodedata.name(char, "control character")
            wrong.append(
                (
                    position,
                    f"field contains the invisible character U+{ord(char):04X} ({label}) at "
                    f"character {found.start() + 1}; delete it (it usually comes from copy-paste)",
                )
            )
        problems += [Problem(name, lines[p], column, values.iat[p], message) for p, message in wrong]
        frame[column] = values.str.strip()
    if problems:
        raise DataValidationError(problems)
    frame[LINE_COLUMN] = lines
    return RawTable(path=path, frame=frame, data=data)
