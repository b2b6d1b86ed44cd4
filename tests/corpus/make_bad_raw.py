"""Regenerate the corpus of broken raw files in ``tests/corpus/bad_raw/`` from the real ``data/raw`` files.

Each case is a folder ``NN-name/`` holding a complete raw directory (``financing.csv`` and ``membership.csv``,
one of them broken) and ``expected.json``: the file, line, column and value the error must name, fragments of
its message, and what the case is about. The committed folders are the source of truth for the tests; run this
script only to rebuild them after the real raw files change:

    .venv/bin/python tests/corpus/make_bad_raw.py

Line numbers are computed from the real files, so a regenerated corpus still points at the right lines.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mineral_analysis import config

OUT = Path(__file__).resolve().parent / "bad_raw"
FIN, MEM, SRC = config.RAW_FINANCING, config.RAW_MEMBERSHIP, config.RAW_SOURCES


def _parse(name: str) -> tuple[list[str], list[list[str]]]:
    data = config.raw_path(name).read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    if len(data.decode("utf-8").splitlines()) != len(rows) or _write(rows[0], rows[1:]).count(b"\n") != len(rows):
        raise SystemExit(f"{name} has a record on several lines; the corpus's line numbers would be wrong")
    return rows[0], rows[1:]


def _write(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


class Table:
    """A mutable copy of one real raw file."""

    def __init__(self, name: str):
        self.name = name
        self.header, self.rows = _parse(name)

    def index(self, record_id: str) -> int:
        return next(i for i, row in enumerate(self.rows) if row[0] == record_id)

    def line(self, record_id: str) -> int:
        """The file line of a record (the header is line 1; the real files have no multi-line fields)."""
        return self.index(record_id) + 2

    def get(self, record_id: str, column: str) -> str:
        return self.rows[self.index(record_id)][self.header.index(column)]

    def set(self, record_id: str, column: str, value: str) -> Table:
        self.rows[self.index(record_id)][self.header.index(column)] = value
        return self

    def text(self) -> str:
        return _write(self.header, self.rows).decode("utf-8")

    def bytes(self) -> bytes:
        return _write(self.header, self.rows)


@dataclass
class Case:
    name: str
    file: str
    content: bytes
    line: int | None
    column: str | None
    value_contains: str | None
    message_contains: list[str]
    description: str


CASES: list[Callable[[], Case]] = []


def case(func: Callable[[], Case]) -> Callable[[], Case]:
    CASES.append(func)
    return func


def cell(
    name: str,
    file: str,
    record_id: str,
    column: str,
    value: str,
    messages: list[str],
    description: str,
    *,
    at: str | None = None,
    at_column: str | None = None,
    shown: str | None = None,
    edit: Callable[[Table], None] | None = None,
) -> Case:
    """A case that changes one cell; the error is expected on that cell unless ``at``/``at_column`` say otherwise."""
    table = Table(file)
    line = table.line(at or record_id)
    table.set(record_id, column, value)
    if edit:
        edit(table)
    return Case(
        name, file, table.bytes(), line, at_column or column, value if shown is None else shown, messages, description
    )


# --- File structure ------------------------------------------------------------------------------------------


@case
def too_many_fields() -> Case:
    t = Table(FIN)
    good = "DOE-03,Министерство энергетики,financing,Critical Minerals and Materials Accelerator,"
    bad = "DOE-03,Министерство энергетики,financing,Critical Minerals, and Materials Accelerator,"
    text = t.text()
    assert good in text
    return Case(
        "too-many-fields",
        FIN,
        text.replace(good, bad).encode(),
        t.line("DOE-03"),
        None,
        "Critical Minerals, and Materials",
        ["23 fields", "header has 22", "quote fields that contain commas"],
        "Wrong column count: an unquoted comma in a title splits it into two fields.",
    )


@case
def too_few_fields() -> Case:
    t = Table(FIN)
    t.rows[t.index("DOE-03")].pop()
    return Case(
        "too-few-fields",
        FIN,
        t.bytes(),
        t.line("DOE-03"),
        None,
        "DOE-03,",
        ["21 fields", "header has 22", "a field or its comma is missing"],
        "Wrong column count: a row with its last field (and comma) missing.",
    )


@case
def missing_required_column() -> Case:
    t = Table(FIN)
    drop = t.header.index("mobilized_from")
    t.header.pop(drop)
    for row in t.rows:
        row.pop(drop)
    return Case(
        "missing-required-column",
        FIN,
        t.bytes(),
        1,
        "mobilized_from",
        "record_id,agency,kind",
        ["required column 'mobilized_from' is missing", "after 'mobilized_as_written'", "the header must be exactly"],
        "A required column is missing from the header (and from every row).",
    )


@case
def extra_unknown_column() -> Case:
    t = Table(FIN)
    t.header.append("comment")
    for row in t.rows:
        row.append("")
    t.rows[0][-1] = "check with EXIM"
    return Case(
        "extra-unknown-column",
        FIN,
        t.bytes(),
        1,
        "comment",
        "comment",
        ["unknown column 'comment'", "column 23", "'note' column"],
        "An extra column that the schema does not know, added at the end.",
    )


@case
def misspelt_column() -> Case:
    t = Table(FIN)
    t.header[t.header.index("amount_as_written")] = "amount_as_writen"
    return Case(
        "misspelt-column",
        FIN,
        t.bytes(),
        1,
        "amount_as_writen",
        "amount_as_writen",
        ["unknown column 'amount_as_writen'", "did you mean 'amount_as_written'?"],
        "A header column with a typo: the message suggests the documented name.",
    )


@case
def columns_wrong_order() -> Case:
    t = Table(FIN)
    a, b = t.header.index("agency"), t.header.index("title")
    for row in [t.header, *t.rows]:
        row[a], row[b] = row[b], row[a]
    return Case(
        "columns-wrong-order",
        FIN,
        t.bytes(),
        1,
        "agency",
        "title",
        ["wrong order", "column 2 of the header is 'title' but should be 'agency'"],
        "All the documented columns, two of them swapped.",
    )


@case
def byte_order_mark() -> Case:
    return Case(
        "byte-order-mark",
        FIN,
        b"\xef\xbb\xbf" + Table(FIN).bytes(),
        1,
        "record_id",
        "record_id",
        ["byte-order mark", "remove the BOM"],
        "UTF-8 with a byte-order mark, as Excel and Notepad save 'UTF-8 with BOM'.",
    )


@case
def windows_1251_financing() -> Case:
    t = Table(FIN)
    return Case(
        "windows-1251-financing",
        FIN,
        t.text().encode("cp1251"),
        2,
        "amount_as_written",
        t.get("EXIM-01", "amount_as_written"),
        ["not UTF-8", "Windows-1251", "re-save the file as UTF-8"],
        "The whole financing file saved in Windows-1251 (Cyrillic) instead of UTF-8.",
    )


@case
def windows_1251_membership() -> Case:
    t = Table(MEM)
    return Case(
        "windows-1251-membership",
        MEM,
        t.text().encode("cp1251"),
        2,
        "name_as_written",
        t.get("HOST-01", "name_as_written"),
        ["not UTF-8", "Windows-1251", "re-save the file as UTF-8"],
        "A non-UTF-8 membership file (Windows-1251).",
    )


@case
def stray_non_utf8_byte() -> Case:
    t = Table(FIN)
    data = t.bytes()
    assert data.count(b"Reko Diq") == 1
    return Case(
        "stray-non-utf8-byte",
        FIN,
        data.replace(b"Reko Diq", b"Reko\xa0Diq"),
        t.line("EXIM-07"),
        "title",
        "Reko",
        ["byte A0", "not UTF-8", "retype the value"],
        "One Latin-1 byte (a non-breaking space pasted from another program) in an otherwise UTF-8 file.",
    )


@case
def blank_line() -> Case:
    t = Table(FIN)
    line = t.line("DOE-03") + 1
    lines = t.text().split("\n")
    lines.insert(line - 1, "")
    return Case(
        "blank-line",
        FIN,
        "\n".join(lines).encode(),
        line,
        None,
        "",
        ["blank line", "delete it"],
        "A blank line between two records.",
    )


@case
def comment_line() -> Case:
    t = Table(FIN)
    line = t.line("DOE-03")
    lines = t.text().split("\n")
    lines.insert(line - 1, "# TODO check the DOE amounts against the source")
    return Case(
        "comment-line",
        FIN,
        "\n".join(lines).encode(),
        line,
        "record_id",
        "# TODO check",
        ["comment lines are not allowed", "note column"],
        "A '#' comment line inside the data.",
    )


@case
def unclosed_quote() -> Case:
    t = Table(FIN)
    text = t.text()
    assert text.count(",Ambler Metals,") == 1
    return Case(
        "unclosed-quote",
        FIN,
        text.replace(",Ambler Metals,", ',"Ambler Metals,').encode(),
        t.line("DOD-01"),
        "title",
        '"Ambler Metals',
        ["malformed CSV", "not closed on this line", "runs on to line", "double any quote"],
        "Malformed quotes: a quoted title whose closing quote is missing, which swallows the next lines.",
    )


@case
def text_after_closing_quote() -> Case:
    t = Table(FIN)
    text = t.text()
    assert text.count(",Rare-earth demonstration facility,") == 1
    return Case(
        "text-after-closing-quote",
        FIN,
        text.replace(",Rare-earth demonstration facility,", ',"Rare-earth" demonstration facility,').encode(),
        t.line("DOE-01"),
        "title",
        '"Rare-earth" demonstration',
        ["malformed CSV", "text follows the closing quote", "double any quote"],
        "Malformed quotes: a quoted word at the start of a field, followed by more text.",
    )


@case
def control_character() -> Case:
    return cell(
        "control-character",
        FIN,
        "EXIM-07",
        "title",
        "Reko Diq\x00 copper and gold project",
        ["invisible character U+0000", "delete it"],
        "A NUL byte inside a title.",
        shown="Reko Diq",
    )


@case
def bidi_override() -> Case:
    return cell(
        "bidi-override",
        FIN,
        "EXIM-07",
        "title",
        "Reko Diq \u202etcejorp dlog\u202c",
        ["U+202E", "RIGHT-TO-LEFT OVERRIDE"],
        "A right-to-left override character, which makes text display differently from what it is.",
        shown="Reko Diq",
    )


@case
def empty_file() -> Case:
    return Case(
        "empty-file", FIN, b"", 1, None, "", ["the file is empty", "header line"], "An empty financing file (0 bytes)."
    )


@case
def header_only() -> Case:
    t = Table(FIN)
    return Case(
        "header-only",
        FIN,
        _write(t.header, []),
        2,
        None,
        "",
        ["header but no records"],
        "A financing file with its header and no records.",
    )


@case
def very_long_field() -> Case:
    note = "The source repeats this. " * 200
    return cell(
        "very-long-field",
        FIN,
        "DOE-03",
        "note",
        note.strip(),
        ["characters long", "limit is 2000", "shorten it"],
        "A 5,000-character note.",
        shown="The source repeats this.",
    )


# --- Ids and vocabularies ------------------------------------------------------------------------------------


@case
def blank_record_id() -> Case:
    t = Table(FIN)
    line = t.line("DOE-03")
    t.set("DOE-03", "record_id", "")
    return Case(
        "blank-record-id",
        FIN,
        t.bytes(),
        line,
        "record_id",
        "",
        ["required: this cell must not be empty"],
        "A row whose record_id is empty.",
    )


@case
def bad_record_id() -> Case:
    return cell(
        "bad-record-id",
        FIN,
        "EXIM-07",
        "record_id",
        "exim-7",
        ["must look like AGENCY-NN", "EXIM-07"],
        "A record_id in the wrong form (lower case, one digit).",
    )


@case
def duplicate_record_id() -> Case:
    t = Table(FIN)
    line, first = t.line("EXIM-05"), t.line("EXIM-04")
    t.set("EXIM-05", "record_id", "EXIM-04")
    return Case(
        "duplicate-record-id",
        FIN,
        t.bytes(),
        line,
        "record_id",
        "EXIM-04",
        ["duplicate record_id", f"already used on line {first}"],
        "Two rows with the same record_id.",
    )


@case
def duplicate_item() -> Case:
    t = Table(FIN)
    copy = list(t.rows[t.index("DOE-05")])
    copy[0] = "DOE-08"
    t.rows.append(copy)
    return Case(
        "duplicate-item",
        FIN,
        t.bytes(),
        len(t.rows) + 1,
        "record_id",
        "DOE-08",
        [f"same item as line {t.line('DOE-05')} (DOE-05)", "cite both paragraphs"],
        "The same item entered twice under two ids.",
    )


@case
def unknown_agency() -> Case:
    return cell(
        "unknown-agency",
        FIN,
        "DOE-01",
        "agency",
        "Министерство финансов",
        ["unknown agency", "EXIM, DOE, DOD, DFC, USTR, DOS", "financing.schema.md"],
        "An agency outside the vocabulary (the Treasury).",
    )


@case
def unknown_instrument() -> Case:
    return cell(
        "unknown-instrument",
        FIN,
        "DOE-01",
        "instrument_as_written",
        "субсидия",
        ["unknown instrument", "direct_loan", "leave it empty"],
        "An instrument outside the vocabulary.",
    )


@case
def mineral_outside_vocabulary() -> Case:
    return cell(
        "mineral-outside-vocabulary",
        FIN,
        "EXIM-07",
        "minerals_as_written",
        "меди; алмазов",
        ["'алмазов' matches no mineral", "valid minerals are"],
        "Diamonds, a mineral outside the vocabulary.",
    )


@case
def is_aggregate_invalid() -> Case:
    return cell(
        "is-aggregate-invalid",
        FIN,
        "DFC-01",
        "is_aggregate",
        "yes",
        ["must be 'true' or 'false'"],
        "is_aggregate written 'yes'.",
    )


@case
def unregistered_source() -> Case:
    return cell(
        "unregistered-source",
        FIN,
        "EXIM-07",
        "citations",
        "001:16;007:3",
        ["source 007 is not registered in sources.csv", "registered sources are 000, 001"],
        "A record cites a source that the registry does not list.",
    )


@case
def bad_citation() -> Case:
    return cell(
        "bad-citation",
        FIN,
        "EXIM-07",
        "citations",
        "¶16",
        ["is not a citation", "SOURCE:PARAGRAPH"],
        "A paragraph written with the pilcrow sign, no source.",
    )


@case
def membership_unregistered_source() -> Case:
    return cell(
        "membership-unregistered-source",
        MEM,
        "HOST-01",
        "citations",
        "001:4;002:1",
        ["source 002 is not registered"],
        "A membership row cites an unregistered source.",
    )


@case
def source_hash_mismatch() -> Case:
    good = "2175c1b0cdb9c68f3714ac44b882f3cea4fb4062f175bfaa947f52b57654d795"
    return cell(
        "source-hash-mismatch",
        SRC,
        "001",
        "sha256",
        good.replace("2175", "2176", 1),
        ["does not match the file 001_79e6948ded2d222d.txt"],
        "The registry's SHA-256 differs from the source file at hand (checked only where the seeds are).",
    )


@case
def conflict_with_one_citation() -> Case:
    return cell(
        "conflict-with-one-citation",
        FIN,
        "USTR-02",
        "conflict",
        "the article says two things",
        ["conflict note needs at least two cited paragraphs"],
        "A conflict note on a record citing one paragraph.",
    )


@case
def formula_cell() -> Case:
    return cell(
        "formula-cell",
        FIN,
        "DOE-03",
        "title",
        "=cmd|' /C calc'!A0",
        ["spreadsheet formula", "remove or rephrase the leading character"],
        "A formula-like cell (DDE injection) in a title.",
    )


@case
def formula_in_membership_note() -> Case:
    return cell(
        "formula-in-membership-note",
        MEM,
        "HOST-01",
        "note",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        ["spreadsheet formula"],
        "A formula-like cell starting with '@' in a membership note.",
    )


# --- Amounts -------------------------------------------------------------------------------------------------


@case
def unreadable_amount() -> Case:
    return cell(
        "unreadable-amount",
        FIN,
        "DOE-02",
        "amount_as_written",
        "сумма не раскрыта",
        ["no amount found", "write a number with a scale and the currency"],
        "Words instead of an amount.",
    )


@case
def zero_amount() -> Case:
    return cell(
        "zero-amount",
        FIN,
        "DOE-03",
        "amount_as_written",
        "$0 млн",
        ["zero amount", "must be positive"],
        "A zero amount.",
    )


@case
def negative_amount() -> Case:
    return cell(
        "negative-amount", FIN, "DOD-01", "amount_as_written", "-$35 млн", ["negative amount"], "A negative amount."
    )


@case
def other_currency() -> Case:
    return cell(
        "other-currency",
        FIN,
        "EXIM-07",
        "amount_as_written",
        "$1.3 млрд руб",
        ["Russian rouble (RUB)", "only US dollars"],
        "An amount in roubles (the README's example).",
    )


@case
def unknown_qualifier() -> Case:
    return cell(
        "unknown-qualifier",
        FIN,
        "DOE-04",
        "amount_as_written",
        "менее $500 млн",
        ["unknown qualifier 'менее'", "valid qualifiers are"],
        "'less than', a qualifier the parser refuses.",
    )


@case
def amount_without_currency() -> Case:
    return cell(
        "amount-without-currency",
        FIN,
        "DOE-04",
        "amount_as_written",
        "500 млн",
        ["names no currency", "none is assumed"],
        "An amount with no currency.",
    )


@case
def mobilized_without_from() -> Case:
    return cell(
        "mobilized-without-from",
        FIN,
        "DOD-02",
        "mobilized_from",
        "",
        ["mobilized_as_written is '$170.3 млн' but mobilized_from is empty", "частных инвесторов"],
        "A mobilised amount without mobilized_from.",
    )


# --- Countries -----------------------------------------------------------------------------------------------


@case
def unknown_country() -> Case:
    return cell(
        "unknown-country",
        FIN,
        "DFC-05",
        "countries",
        "Казахтане",
        ["unknown country name", "did you mean", "Казахстан", "KAZ"],
        "A misspelt country (Kazakhstan without its 's'): the message suggests the right name.",
    )


@case
def iso_code_not_exist() -> Case:
    return cell(
        "iso-code-not-exist",
        MEM,
        "PART-27",
        "name_as_written",
        "XKZ",
        ["'XKZ' is not an ISO 3166-1 alpha-3 code"],
        "An ISO-looking code that does not exist.",
    )


@case
def mixed_script_name() -> Case:
    return cell(
        "mixed-script-name",
        MEM,
        "PART-27",
        "name_as_written",
        "Кaзахстан",
        ["mixes Latin and Cyrillic", "write it in one alphabet"],
        "A name with a Latin 'a' inside Cyrillic text (a look-alike letter).",
    )


@case
def duplicate_membership_country() -> Case:
    t = Table(MEM)
    return cell(
        "duplicate-membership-country",
        MEM,
        "PART-02",
        "name_as_written",
        "Ангола",
        [
            f"Angola is already listed in group ministerial_participant on line {t.line('PART-01')}",
            "a country appears once per group",
        ],
        "The same country twice in one group.",
    )


@case
def unknown_membership_group() -> Case:
    return cell(
        "unknown-membership-group",
        MEM,
        "PART-01",
        "group",
        "observer",
        ["must be one of host, ministerial_participant"],
        "A membership group outside the vocabulary.",
    )


# --- Dates ---------------------------------------------------------------------------------------------------


@case
def date_wrong_format() -> Case:
    return cell(
        "date-wrong-format",
        FIN,
        "EXIM-01",
        "announced",
        "02.02.2026",
        ["YYYY-MM-DD", "2026-02-04"],
        "A date written day.month.year.",
    )


@case
def date_impossible() -> Case:
    return cell("date-impossible", FIN, "DOE-01", "announced", "2025-02-30", ["impossible date"], "30 February.")


@case
def date_out_of_range() -> Case:
    return cell(
        "date-out-of-range",
        FIN,
        "DOE-01",
        "announced",
        "2205-12-01",
        ["year outside 1990-2100"],
        "A mistyped year (2205).",
    )


# --- Totals and parts ----------------------------------------------------------------------------------------


@case
def parent_missing_total() -> Case:
    return cell(
        "parent-missing-total",
        FIN,
        "EXIM-03",
        "parent_id",
        "EXIM-99",
        ["points to a total that does not exist", "valid totals are EXIM-02, DFC-01"],
        "A part pointing to a total that does not exist.",
    )


@case
def parent_not_aggregate() -> Case:
    return cell(
        "parent-not-aggregate",
        FIN,
        "EXIM-04",
        "parent_id",
        "EXIM-03",
        ["not a stated total", "set is_aggregate=true"],
        "A part pointing to a row that is not a total.",
    )


@case
def parts_different_agency() -> Case:
    return cell(
        "parts-different-agency",
        FIN,
        "DOE-01",
        "parent_id",
        "EXIM-02",
        ["same agency as its total (EXIM, not DOE)"],
        "A DOE item listed as a part of an EXIM total.",
    )


@case
def parts_exceed_total() -> Case:
    t = Table(FIN)
    return cell(
        "parts-exceed-total",
        FIN,
        "EXIM-03",
        "amount_as_written",
        "$14.8 млрд",
        [
            "its parts (EXIM-03, EXIM-04, EXIM-05, EXIM-06) add up to $15,765,000,000",
            "more than the stated total $14,800,000,000",
            "fix an amount or a parent_id",
        ],
        "Parts adding up to more than their total (the error is on the total's line).",
        at="EXIM-02",
        shown=t.get("EXIM-02", "amount_as_written"),
    )


@case
def cycle_of_parts() -> Case:
    def edit(t: Table) -> None:
        t.set("EXIM-03", "is_aggregate", "true")

    return cell(
        "cycle-of-parts",
        FIN,
        "EXIM-02",
        "parent_id",
        "EXIM-03",
        ["cycle (EXIM-02 -> EXIM-03 -> EXIM-02)", "cannot be its own part"],
        "Two totals that are each other's part.",
        edit=edit,
    )


@case
def total_without_amount() -> Case:
    return cell(
        "total-without-amount",
        FIN,
        "EXIM-02",
        "amount_as_written",
        "",
        ["stated total (is_aggregate=true) with parts", "but no amount"],
        "A total with listed parts whose amount is empty.",
    )


@case
def stage_basis_not_in_source() -> Case:
    return cell(
        "stage-basis-not-in-source",
        FIN,
        "DOD-01",
        "stage_basis",
        "одобрено",
        ["'одобрено' is not in the cited paragraphs", "quote the source's own words"],
        "A stage basis the cited paragraphs do not contain: the stage must rest on the source's own words.",
    )


@case
def stage_without_basis() -> Case:
    return cell(
        "stage-without-basis",
        FIN,
        "EXIM-07",
        "stage_basis",
        "",
        ["quote the few words of the source that state the stage"],
        "A stated stage with no words of the source behind it (binding by inference).",
    )


@case
def commitment_with_amount() -> Case:
    return cell(
        "commitment-with-amount",
        FIN,
        "USTR-02",
        "mobilized_as_written",
        "$5 млн",
        ["a plan carries no money"],
        "A commitment without money (a plan) given money: it would be counted as financing.",
        edit=lambda t: t.set("USTR-02", "mobilized_from", "частных инвесторов"),
    )


@case
def subnational_misaligned() -> Case:
    return cell(
        "subnational-misaligned",
        FIN,
        "DOD-05",
        "subnational",
        "Tennessee",
        ["1 ';'-separated parts for 2 countries", "'; Tennessee'"],
        "A state that cannot be matched to one of the item's two countries.",
    )


def main() -> None:
    good = {name: config.raw_path(name).read_bytes() for name in (FIN, MEM, SRC)}
    if OUT.exists():
        shutil.rmtree(OUT)
    for number, make in enumerate(CASES, start=1):
        c = make()
        folder = OUT / f"{number:02d}-{c.name}"
        folder.mkdir(parents=True)
        for name, data in good.items():
            (folder / name).write_bytes(c.content if name == c.file else data)
        expected = {
            "file": c.file,
            "line": c.line,
            "column": c.column,
            "value_contains": c.value_contains,
            "message_contains": c.message_contains,
            "description": c.description,
        }
        (folder / "expected.json").write_text(
            json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    print(f"wrote {len(CASES)} cases to {OUT.relative_to(Path(__file__).resolve().parents[2])}")


if __name__ == "__main__":
    main()
