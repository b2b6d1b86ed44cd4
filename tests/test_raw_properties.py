"""Property-based tests of the raw-data readers: whatever the input, only the library's own clear errors.

* ``rawio.read_raw_table`` on arbitrary bytes and on CSV-shaped text built from hostile pieces (quotes, commas,
  BOMs, control characters, other encodings): it returns a table or raises ``DataValidationError``.
* ``normalize.*`` on arbitrary text: a documented value or ``ValueError``.
* ``pipeline.load_raw`` on randomly mutated copies of the real raw files (cells replaced, bytes inserted or
  deleted, lines doubled, swapped or dropped, files cut short): clean tables or ``DataValidationError``.

Every error must be located: the file named, a line within the file, a known column, a message.
(``amounts`` and ``countries`` have their own property tests in test_amounts.py and test_countries.py.)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mineral_analysis import columns, config, vocab
from mineral_analysis.clean import normalize
from mineral_analysis.clean.pipeline import FINANCING_RAW_COLUMNS, MEMBERSHIP_RAW_COLUMNS, load_raw
from mineral_analysis.clean.rawio import LINE_COLUMN, read_raw_table
from mineral_analysis.errors import DataValidationError, Problem
from mineral_analysis.vocab import AGENCIES, INSTRUMENTS, MINERALS, NOT_STATED

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
RAW_NAMES = (config.RAW_FINANCING, config.RAW_MEMBERSHIP)
RAW_COLUMNS = {config.RAW_FINANCING: FINANCING_RAW_COLUMNS, config.RAW_MEMBERSHIP: MEMBERSHIP_RAW_COLUMNS}
GOOD = {name: config.raw_path(name).read_bytes() for name in RAW_NAMES}


def _lines(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") + 2


def _assert_located(problems: list[Problem], data_by_file: dict[str, bytes]) -> None:
    """Every problem names one of the files, a line inside it (or none), a real column (or none), a message."""
    assert problems
    for problem in problems:
        assert problem.file in data_by_file, problem
        data = data_by_file[problem.file]
        assert problem.line is None or (isinstance(problem.line, int) and 1 <= problem.line <= _lines(data)), problem
        assert problem.column is None or isinstance(problem.column, str), problem
        assert problem.value is None or isinstance(problem.value, str), problem
        assert isinstance(problem.message, str) and problem.message.strip(), problem
        assert "Traceback" not in problem.message
        str(problem)  # the report line renders


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("raw-properties")


# --- rawio.read_raw_table ------------------------------------------------------------------------------------

HEADER = ",".join(MEMBERSHIP_RAW_COLUMNS)
PIECES = st.sampled_from(
    [
        "",
        " ",
        ",",
        ",,",
        '"',
        '""',
        '"a,b"',
        '"x""y"',
        "\n",
        "\r\n",
        "\r",
        "#",
        "# note",
        "\ufeff",
        "\x00",
        "\x1b",
        "\u202e",
        "\u00a0",
        "=cmd|' /C calc'!A0",
        "+1",
        "@SUM(A1)",
        "HOST-01",
        "PART-99",
        "США",
        "Кaзахстан",
        "host",
        "ministerial_participant",
        "001_79e6948ded2d222d.txt",
        "5",
        "12;15",
        "ё",
        "x" * 2100,
        "\t",
        ";",
    ]
)
CELL_TEXT = st.one_of(PIECES, st.text(max_size=12), st.lists(PIECES, max_size=4).map("".join))
ROW = st.lists(CELL_TEXT, min_size=0, max_size=8).map(",".join)


@st.composite
def csv_like(draw) -> bytes:
    header = draw(
        st.one_of(
            st.just(HEADER),
            st.just(HEADER + ",extra"),
            st.just(HEADER.replace("group,", "")),
            st.just(HEADER.upper()),
            ROW,
        )
    )
    rows = draw(st.lists(ROW, max_size=8))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r", ""]))
    text = ending.join([header, *rows]) + draw(st.sampled_from(["", "\n", "\n\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "cp1251", "utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut]
    return data


def _read_any(scratch, data: bytes) -> None:
    path = scratch / config.RAW_MEMBERSHIP
    path.write_bytes(data)
    try:
        table = read_raw_table(path, MEMBERSHIP_RAW_COLUMNS)
    except DataValidationError as exc:
        _assert_located(exc.problems, {path.name: data})
        return
    frame = table.frame
    assert list(frame.columns) == [*MEMBERSHIP_RAW_COLUMNS, LINE_COLUMN]
    assert len(frame) >= 1
    lines = list(frame[LINE_COLUMN])
    assert lines == sorted(set(lines)) and lines[0] >= 2 and lines[-1] <= _lines(data)
    for column in MEMBERSHIP_RAW_COLUMNS:
        assert all(isinstance(v, str) and v == v.strip() for v in frame[column])


@settings(max_examples=600, **SETTINGS)
@given(st.binary(max_size=600))
def test_read_raw_table_on_arbitrary_bytes(scratch, data):
    _read_any(scratch, data)


@settings(max_examples=600, **SETTINGS)
@given(st.one_of(st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")), csv_like()))
def test_read_raw_table_on_csv_like_input(scratch, data):
    _read_any(scratch, data)


@settings(max_examples=300, **SETTINGS)
@given(
    st.lists(
        st.lists(CELL_TEXT, min_size=len(MEMBERSHIP_RAW_COLUMNS), max_size=len(MEMBERSHIP_RAW_COLUMNS)),
        min_size=1,
        max_size=6,
    )
)
def test_read_raw_table_reads_back_what_csv_writes(scratch, rows):
    """Any cells written by a CSV writer (quoted as needed) read back unchanged, or are refused for a reason."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows([MEMBERSHIP_RAW_COLUMNS, *rows])
    data = buffer.getvalue().encode("utf-8", "surrogatepass")
    path = scratch / config.RAW_MEMBERSHIP
    path.write_bytes(data)
    try:
        table = read_raw_table(path, MEMBERSHIP_RAW_COLUMNS)
    except DataValidationError as exc:
        _assert_located(exc.problems, {path.name: data})
        return
    assert [[cell.strip() for cell in row] for row in rows] == table.frame[MEMBERSHIP_RAW_COLUMNS].values.tolist()


# --- normalize -------------------------------------------------------------------------------------------------

WORDS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [alias for agency in AGENCIES.values() for alias in agency.aliases]
        + [alias for inst in INSTRUMENTS.values() for alias in inst.aliases]
        + [stem for mineral in MINERALS.values() for stem in mineral.stems]
        + [
            "true",
            "false",
            "TRUE",
            " false ",
            "not stated",
            ";",
            "; ;",
            "2026-02-30",
            "٢٠٢٥",
            "2025-1-5",
            "2026-02-04\n",
            "0000",
            "9999-12-31",
            "1990",
            "2100-12-31",
        ]
    ),
)
DATE_LIKE = st.text(alphabet=string.digits + "-٠١٢٣٤٥٦٧٨٩０１２ \n", max_size=12)


@settings(max_examples=300, **SETTINGS)
@given(WORDS)
def test_normalize_agency(text):
    try:
        assert vocab.normalize_agency(text) in AGENCIES
    except ValueError as exc:
        assert "unknown agency" in str(exc)


@settings(max_examples=300, **SETTINGS)
@given(WORDS)
def test_normalize_instrument(text):
    try:
        assert normalize.normalize_instrument(text) in INSTRUMENTS
    except ValueError as exc:
        assert "unknown instrument" in str(exc)


@settings(max_examples=300, **SETTINGS)
@given(st.one_of(WORDS, st.lists(WORDS, max_size=4).map(";".join)))
def test_normalize_minerals(text):
    try:
        result = normalize.normalize_minerals(text)
    except ValueError as exc:
        assert str(exc).strip()
        return
    assert result == NOT_STATED or set(result.split(";")) <= set(MINERALS)


@settings(max_examples=400, **SETTINGS)
@given(st.one_of(WORDS, DATE_LIKE))
def test_parse_announced(text):
    try:
        shown, day, precision = normalize.parse_announced(text)
    except ValueError as exc:
        assert "date" in str(exc)
        return
    if not text:
        assert (shown, day, precision) == (NOT_STATED, None, "none")
        return
    assert shown == text and text.isascii()  # only ASCII digits are a date
    assert isinstance(day, dt.date) and 1990 <= day.year <= 2100
    assert precision in ("day", "month", "year")
    assert day.isoformat().startswith(text)


@settings(max_examples=200, **SETTINGS)
@given(WORDS)
def test_parse_bool(text):
    try:
        assert normalize.parse_bool(text) is (text.strip().lower() == "true")
    except ValueError as exc:
        assert "'true' or 'false'" in str(exc)


# --- pipeline.load_raw on mutated real files -------------------------------------------------------------------

NASTY_CELLS = st.one_of(
    PIECES,
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "true",
            "false",
            "EXIM-02",
            "DFC-01",
            "EXIM-99",
            "DOE-01",
            "$0 млн",
            "-$5 млн",
            "$1 трлн",
            "$1e400 млрд",
            "более $1 млрд",
            "около $14 млрд",
            "€5 млн",
            "2025-02-30",
            "2026-02",
            "США; ; Китай",
            "ZZZ",
            "Кaзахстан",
            "меди; алмазов",
            "not stated",
            "host",
            "observer",
            "Республика Корея",
            "Европейская комиссия",
            "Европейской комиссии",
            "12;15",
            "0",
            "1;1",
        ]
    ),
)


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def _write_cells(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8", "surrogatepass")


@st.composite
def cell_mutation(draw) -> tuple[str, bytes]:
    """Replace a few cells of one real file (re-quoted properly), sometimes with another row's cell."""
    name = draw(st.sampled_from(RAW_NAMES))
    rows = _cells(GOOD[name])
    for _ in range(draw(st.integers(1, 4))):
        r = draw(st.integers(1, len(rows) - 1))
        c = draw(st.integers(0, len(rows[0]) - 1))
        if draw(st.booleans()):
            rows[r][c] = draw(NASTY_CELLS)
        else:  # a value that is valid somewhere: another row's cell in the same or another column
            rows[r][c] = rows[draw(st.integers(1, len(rows) - 1))][draw(st.integers(0, len(rows[0]) - 1))]
    return name, _write_cells(rows)


@st.composite
def byte_mutation(draw) -> tuple[str, bytes]:
    """Edit the bytes of one real file the way hands and tools break files."""
    name = draw(st.sampled_from(RAW_NAMES))
    data = GOOD[name]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["insert", "delete", "double", "swap", "drop", "truncate", "encode"]))
        lines = data.split(b"\n")
        if kind == "insert":
            at = draw(st.integers(0, len(data)))
            piece = draw(st.one_of(st.binary(max_size=6), PIECES.map(lambda p: p.encode("utf-8"))))
            data = data[:at] + piece + data[at:]
        elif kind == "delete" and data:
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
        elif kind == "double":
            i = draw(st.integers(0, len(lines) - 1))
            data = b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
        elif kind == "swap":
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
        elif kind == "drop":
            i = draw(st.integers(0, len(lines) - 1))
            data = b"\n".join(lines[:i] + lines[i + 1 :])
        elif kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif kind == "encode":
            encoding = draw(st.sampled_from(["cp1251", "utf-8-sig", "utf-16", "koi8-r"]))
            data = data.decode("utf-8", "replace").encode(encoding, "replace")
    return name, data


def _load_mutated(scratch, name: str, data: bytes) -> None:
    folder = scratch / "mutated"
    folder.mkdir(exist_ok=True)
    files = {**GOOD, name: data}
    for file, content in files.items():
        (folder / file).write_bytes(content)
    (folder / config.RAW_SOURCES).write_bytes(
        config.raw_path(config.RAW_SOURCES).read_bytes()
    )  # the registry, unchanged
    try:
        tables = load_raw(folder)
    except DataValidationError as exc:
        _assert_located(exc.problems, files)
        for problem in exc.problems:
            assert problem.column is None or problem.column in RAW_COLUMNS[problem.file] or problem.line == 1, (
                problem
            )  # header problems may name the unknown column found
        return
    assume(data != GOOD[name])
    assert list(tables.financing.columns) == list(columns.FINANCING)
    assert list(tables.membership.columns) == list(columns.MEMBERSHIP)
    assert (tables.financing["counted_usd"].fillna(0) >= 0).all()


@pytest.mark.slow
@settings(max_examples=150, **SETTINGS)
@given(cell_mutation())
def test_load_raw_on_files_with_changed_cells(scratch, mutation):
    _load_mutated(scratch, *mutation)


@pytest.mark.slow
@settings(max_examples=150, **SETTINGS)
@given(byte_mutation())
def test_load_raw_on_files_with_broken_bytes(scratch, mutation):
    _load_mutated(scratch, *mutation)


def test_the_real_raw_files_load():
    tables = load_raw()
    assert len(tables.financing) and len(tables.membership)
