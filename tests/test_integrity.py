"""Integrity that holds when someone tries (issue 20): the record is computed from the bytes on disk, a changed
published file is rebuilt or left unrecorded, and `verify` is safe on any folder. The fast tests write a record by
hand; the slow one runs real builds of one brief."""

from __future__ import annotations

import json
import os
import threading

import pytest

from mineral_analysis import cli
from mineral_analysis.publish import record
from mineral_analysis.publish.build import build_briefs
from mineral_analysis.safe_files import UnsafeFileError, read_regular_bytes, spreadsheet_safe

FILES = {
    "agency-dfc.html": b"<html>dfc</html>\n",
    "agency-dfc.pdf": b"%PDF-1.7 dfc\n%%EOF\n",
    "country-kor.html": b"<html>kor</html>\n",
    "index.html": b"<html>index</html>\n",
}


def _manifest(files: dict[str, bytes]) -> dict:
    return {
        "dataset_version": "v1",
        "index": {"index.html": record.sha256_bytes(files["index.html"])},
        "briefs": {
            slug: {
                "kind": slug.split("-")[0],
                "key": slug.split("-")[1].upper(),
                "title": slug,
                "outputs": {n: record.sha256_bytes(d) for n, d in files.items() if n.startswith(slug)},
            }
            for slug in ("agency-dfc", "country-kor")
        },
    }


@pytest.fixture
def published(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    for name, data in FILES.items():
        (reports / name).write_bytes(data)
    assert record.write_record(reports, _manifest(FILES)) == (True, [])
    assert record.verify(reports) == []
    return reports


def _edit_manifest(reports, change) -> None:
    manifest = json.loads((reports / record.MANIFEST).read_text())
    change(manifest)
    (reports / record.MANIFEST).write_text(json.dumps(manifest))


# --- 1. The record is the bytes on disk ------------------------------------------------------------------------


def test_a_file_changed_with_its_manifest_hash_is_untrusted_and_not_laundered_into_the_record(published):
    tampered = b"<html>tampered</html>\n"
    (published / "country-kor.html").write_bytes(tampered)
    _edit_manifest(
        published,
        lambda m: m["briefs"]["country-kor"]["outputs"].update({"country-kor.html": record.sha256_bytes(tampered)}),
    )
    assert "changed: country-kor.html is recorded differently in MANIFEST.json and SHA256SUMS" in record.verify(
        published
    )
    manifest = record.read_manifest(published)
    untrusted = record.untrusted_outputs(published, manifest, record.read_sums(published))
    assert untrusted == {"country-kor.html": "SHA256SUMS records it differently"}
    # What a build that does not rebuild it does: the file is left out of both records, so verify names it.
    written, dropped = record.write_record(published, manifest, set(untrusted))
    assert written and dropped == ["country-kor.html"]
    assert record.verify(published) == ["unexpected: country-kor.html (not in SHA256SUMS)"]


def test_a_flipped_byte_is_untrusted_and_the_record_is_never_rewritten_from_the_manifest(published):
    data = bytearray(FILES["agency-dfc.pdf"])
    data[3] ^= 1
    (published / "agency-dfc.pdf").write_bytes(bytes(data))
    manifest = record.read_manifest(published)
    assert record.untrusted_outputs(published, manifest, record.read_sums(published)) == {
        "agency-dfc.pdf": "its sha256 differs from MANIFEST.json"
    }
    _, dropped = record.write_record(published, manifest)  # computed from disk: the changed file is not vouched for
    assert dropped == ["agency-dfc.pdf"]
    assert "agency-dfc.pdf" not in (published / record.SUMS).read_text()


def test_a_manifest_entry_missing_from_sha256sums_is_untrusted_and_named_by_verify(published):
    (published / "agency-evil.html").write_bytes(b"<html>evil</html>\n")
    _edit_manifest(
        published,
        lambda m: m["briefs"].update(
            {
                "agency-evil": {
                    "kind": "agency",
                    "key": "EVIL",
                    "title": "Evil",
                    "outputs": {"agency-evil.html": record.sha256_bytes(b"<html>evil</html>\n")},
                },
                "agency-bare": {"outputs": {}},  # no kind, key or title: left out by the build, not a KeyError
            }
        ),
    )
    problems = record.verify(published)
    assert "changed: agency-evil.html is in MANIFEST.json but not in SHA256SUMS" in problems
    assert "unexpected: agency-evil.html (not in SHA256SUMS)" in problems
    manifest = record.read_manifest(published)
    assert "agency-bare" not in manifest["briefs"]
    assert record.untrusted_outputs(published, manifest, record.read_sums(published)) == {
        "agency-evil.html": "not in SHA256SUMS"
    }


def test_sha256sums_entry_missing_from_the_manifest_is_named(published):
    _edit_manifest(published, lambda m: m["briefs"].pop("country-kor"))
    assert "changed: country-kor.html is in SHA256SUMS but not in MANIFEST.json" in record.verify(published)


# --- 2. verify is safe on anything -----------------------------------------------------------------------------


def _verify_in_thread(reports, seconds: float = 20.0) -> list[str]:
    """verify, which must come back (a FIFO would block it forever)."""
    answer: list = []
    thread = threading.Thread(target=lambda: answer.append(record.verify(reports)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert answer, "verify did not return: it blocked on a file"
    return answer[0]


def test_verify_does_not_print_the_file_sha256sums_links_to(published, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the secret line\n")
    (published / record.SUMS).unlink()
    (published / record.SUMS).symlink_to(secret)
    problems = _verify_in_thread(published)
    assert problems == ["changed: SHA256SUMS: SHA256SUMS is a symbolic link; a link is not followed here"]
    assert not any("secret line" in p for p in problems)


def test_verify_does_not_hash_files_outside_through_a_linked_folder(published, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.html").write_text("outside")
    (published / "sub").symlink_to(outside)
    problems = _verify_in_thread(published)
    assert problems == ["unexpected: sub (a link) (not in SHA256SUMS)"]
    (published / record.SUMS).write_text((published / record.SUMS).read_text() + f"{'0' * 64}  sub/x.html\n")
    problems = _verify_in_thread(published)
    assert "SHA256SUMS line 5 names a file that cannot be published here: 'sub/x.html'" in problems


@pytest.mark.parametrize("name", [record.MANIFEST, record.SUMS, "country-kor.html"])
def test_verify_refuses_a_fifo_and_a_device_without_reading_them(published, name):
    (published / name).unlink()
    os.mkfifo(published / name)
    problems = _verify_in_thread(published)
    assert any(name in p and "FIFO" in p for p in problems), problems
    (published / name).unlink()
    (published / name).symlink_to("/dev/zero")
    problems = _verify_in_thread(published)
    assert any(name in p and "symbolic link" in p for p in problems), problems


def test_verify_bounds_what_it_reads(published, monkeypatch):
    monkeypatch.setattr(record, "RECORD_LIMIT", 64)
    problems = record.verify(published)
    assert "changed: SHA256SUMS: SHA256SUMS is larger than 64 bytes; refused" in problems
    assert "changed: MANIFEST.json: MANIFEST.json is larger than 64 bytes; refused" in problems


def test_a_manifest_key_outside_the_folder_is_refused_by_verify_and_ignored_by_the_build(published):
    _edit_manifest(
        published, lambda m: m["briefs"].update({"../outside/evil": {"outputs": {"../outside/evil.html": "0" * 64}}})
    )
    problems = record.verify(published)
    assert (
        "changed: MANIFEST.json entry '../outside/evil' names a file it cannot publish: '../outside/evil.html'"
        in problems
    )
    assert "../outside/evil" not in record.read_manifest(published)["briefs"]


def test_every_problem_is_one_line(published):
    (published / record.SUMS).write_bytes(b"\x00\xff garbage\nline\r two\n" + b"x" * 500)
    for problem in record.verify(published):
        assert "\n" not in problem and len(problem) < 300


# --- 5. Files read are regular, bounded; CSV neutralised --------------------------------------------------------


def test_read_regular_bytes_refuses_links_fifos_and_large_files(tmp_path):
    (tmp_path / "a").write_bytes(b"12345")
    assert read_regular_bytes(tmp_path / "a", 5) == b"12345"
    with pytest.raises(UnsafeFileError, match="larger than 4 bytes"):
        read_regular_bytes(tmp_path / "a", 4)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        read_regular_bytes(tmp_path / "link", 10)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(UnsafeFileError, match="FIFO"):
        read_regular_bytes(tmp_path / "fifo", 10)


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=x"])
def test_spreadsheet_safe_neutralises_formulas(text):
    assert spreadsheet_safe(text) == "'" + text
    assert spreadsheet_safe("plain") == "plain" and spreadsheet_safe(-2.5) == -2.5


# --- 1. with real builds ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_build_rebuilds_a_changed_brief_and_never_launders_one(tmp_path, processed_dir, capsys, monkeypatch):
    reports = tmp_path / "reports"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # a rebuild gives the same bytes

    def build(*only, force=False):
        return build_briefs(
            only=list(only), processed_dir=processed_dir, reports_dir=reports, progress=False, jobs=1, force=force
        )

    first = build("country:SGP")
    assert [o.status for o in first.outcomes] == ["built"], first.summary()
    genuine_pdf = (reports / "country-sgp.pdf").read_bytes()
    genuine_html = (reports / "country-sgp.html").read_bytes()

    # A PDF with one byte flipped: the next build rebuilds it and says so (it used to say "skipped 1").
    flipped = bytearray(genuine_pdf)
    flipped[len(flipped) // 2] ^= 0x20
    (reports / "country-sgp.pdf").write_bytes(bytes(flipped))
    second = build("country:SGP")
    assert [o.status for o in second.outcomes] == ["built"], second.summary()
    assert "changed since it was published: country-sgp.pdf (its sha256 differs from MANIFEST.json)" in second.summary()
    assert (reports / "country-sgp.pdf").read_bytes() == genuine_pdf
    assert record.verify(reports) == []

    # The HTML changed together with its hash in MANIFEST.json: rebuilt, verify passes on the genuine file.
    tampered = genuine_html.replace(b"Singapore", b"Sinqapore")
    (reports / "country-sgp.html").write_bytes(tampered)
    _edit_manifest(
        reports,
        lambda m: m["briefs"]["country-sgp"]["outputs"].update({"country-sgp.html": record.sha256_bytes(tampered)}),
    )
    third = build("country:SGP", force=True)
    assert "changed since it was published: country-sgp.html (SHA256SUMS records it differently)" in third.summary()
    assert (reports / "country-sgp.html").read_bytes() == genuine_html
    assert cli.main(["verify", "--reports-dir", str(reports)]) == 0, capsys.readouterr().err

    # Changed, and outside this build's --only: left out of the record, never laundered into it.
    (reports / "country-sgp.html").write_bytes(tampered)
    _edit_manifest(
        reports,
        lambda m: m["briefs"]["country-sgp"]["outputs"].update({"country-sgp.html": record.sha256_bytes(tampered)}),
    )
    fourth = build("mineral:tin")
    assert [o.status for o in fourth.outcomes] == ["built"], fourth.summary()
    assert "not recorded: country-sgp.html is not the file a build wrote" in fourth.summary()
    assert record.verify(reports) == ["unexpected: country-sgp.html (not in SHA256SUMS)"]
    fifth = build("country:SGP")  # and the next build of it puts the genuine brief back
    assert "changed since it was published: country-sgp.html (not recorded in MANIFEST.json)" in fifth.summary()
    assert record.verify(reports) == [] and (reports / "country-sgp.html").read_bytes() == genuine_html


# --- 5. Raw inputs that are not files ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["link", "dev-zero", "fifo", "large"])
def test_a_raw_file_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path, kind, monkeypatch):
    import shutil

    from mineral_analysis import config
    from mineral_analysis.clean import pipeline, rawio
    from mineral_analysis.errors import DataValidationError

    raw = tmp_path / "raw"
    shutil.copytree(config.RAW_DIR, raw)
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:the secret line\n")
    target = raw / "membership.csv"
    target.unlink()
    if kind == "link":
        target.symlink_to(secret)
    elif kind == "dev-zero":
        target.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.write_bytes(b"x" * 100)
        monkeypatch.setattr(rawio, "MAX_RAW_BYTES", 50)
    answer: list = []

    def load():
        try:
            pipeline.load_raw(raw)
        except DataValidationError as exc:
            answer.append(exc.report())

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(60)
    assert answer, "load_raw did not return (it blocked on the file) or raised something else"
    report = answer[0]
    assert "membership.csv" in report and "secret line" not in report
    expected = {"link": "symbolic link", "dev-zero": "symbolic link", "fifo": "FIFO", "large": "larger than 50 bytes"}
    assert expected[kind] in report, report


# --- 4. Releases are closed ------------------------------------------------------------------------------------


@pytest.fixture
def releases(tmp_path):
    import shutil

    from mineral_analysis import config

    folder = tmp_path / "releases"
    shutil.copytree(config.RELEASES_DIR, folder)
    return folder


def _first_title(text: str) -> str:
    """The title of the first financing record in the raw CSV ``text``."""
    import csv
    import io

    return next(csv.DictReader(io.StringIO(text)))["title"]


def _edited_raw(tmp_path, marker: str):
    import shutil

    from mineral_analysis import config

    raw = tmp_path / f"raw-{marker}"
    shutil.copytree(config.RAW_DIR, raw)
    text = (raw / "financing.csv").read_text(encoding="utf-8")
    title = _first_title(text)
    (raw / "financing.csv").write_text(text.replace(title, f"{title} ({marker})", 1), encoding="utf-8")
    return raw


def test_the_shipped_releases_form_a_chain(releases):
    from mineral_analysis.releases import list_releases

    found = list_releases(releases)
    assert [r.name for r in found] == ["r1-preview", "r2-full-article", "r3-stages"]
    assert found[0].previous is None and found[1].previous == {"name": "r1-preview", "sha256": found[0].record_sha256}
    assert found[2].previous == {"name": "r2-full-article", "sha256": found[1].record_sha256}


def test_a_release_json_naming_another_folder_is_refused(releases):
    from mineral_analysis.releases import ReleaseError, list_releases

    record_path = releases / "r2-full-article" / "release.json"
    data = json.loads(record_path.read_text())
    data["name"] = "../../../outside"
    record_path.write_text(json.dumps(data))
    with pytest.raises(
        ReleaseError, match="names the release '../../../outside', but a release is named by its folder"
    ):
        list_releases(releases)


def test_a_linked_release_folder_or_table_is_refused(releases, tmp_path):
    from mineral_analysis.releases import ReleaseError, list_releases, read_release

    (releases / "r1-preview" / "financing.csv").rename(tmp_path / "elsewhere.csv")
    (releases / "r1-preview" / "financing.csv").symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(ReleaseError, match="financing.csv cannot be read .*symbolic link"):
        read_release("r1-preview", releases)
    (releases / "r3-elsewhere").symlink_to(releases / "r2-full-article", target_is_directory=True)
    with pytest.raises(ReleaseError, match="release r3-elsewhere: not a folder"):
        list_releases(releases)


def test_an_old_snapshot_edited_with_its_own_hash_breaks_the_chain(releases):
    from mineral_analysis.releases import ReleaseError, read_release

    folder = releases / "r1-preview"
    edited = (folder / "membership.csv").read_bytes().replace(b"\n", b"\r\n", 1)
    (folder / "membership.csv").write_bytes(edited)
    data = json.loads((folder / "release.json").read_text())
    data["files"]["membership.csv"] = record.sha256_bytes(edited)
    (folder / "release.json").write_text(json.dumps(data, indent=2) + "\n")
    with pytest.raises(ReleaseError, match="release r2-full-article: the chain of releases is broken: r1-preview"):
        read_release("r1-preview", releases)


def test_two_release_runs_at_once_take_distinct_sequence_numbers(releases, tmp_path):
    from mineral_analysis.clean.new_release import make_release
    from mineral_analysis.releases import ReleaseError, list_releases

    raws = [_edited_raw(tmp_path, "a"), _edited_raw(tmp_path, "b")]
    outcomes: list = []
    start = threading.Barrier(2)

    def run(name, raw):
        start.wait()
        try:
            outcomes.append(make_release(name, raw_dir=raw, releases_dir=releases, date="2026-03-01"))
        except ReleaseError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=run, args=(f"r3-{i}", raw)) for i, raw in enumerate(raws)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(outcomes) == 2 and not any(isinstance(o, Exception) for o in outcomes), outcomes
    found = list_releases(releases)  # the chain holds: each chained to the one made before it
    assert [r.sequence for r in found] == [1, 2, 3, 4, 5]


# --- 5. Seeds and citations ------------------------------------------------------------------------------------


def _raw_with_registry(tmp_path, change):
    import shutil

    from mineral_analysis import config

    raw = tmp_path / "raw"
    shutil.copytree(config.RAW_DIR, raw)
    text = (raw / "sources.csv").read_text(encoding="utf-8")
    (raw / "sources.csv").write_text(change(text), encoding="utf-8")
    return raw


def test_a_citation_beyond_the_recorded_paragraphs_is_refused_without_the_articles(tmp_path):
    import shutil

    from mineral_analysis import config
    from mineral_analysis.clean.pipeline import load_raw
    from mineral_analysis.errors import DataValidationError

    raw = tmp_path / "raw"
    shutil.copytree(config.RAW_DIR, raw)
    text = (raw / "financing.csv").read_text(encoding="utf-8")
    (raw / "financing.csv").write_text(text.replace("001:12;001:14;001:15", "001:12;001:999", 1), encoding="utf-8")
    no_seeds = tmp_path / "no-seeds"
    no_seeds.mkdir()
    from unittest import mock

    with mock.patch.object(config, "SEEDS_DIR", no_seeds), pytest.raises(DataValidationError) as caught:
        load_raw(raw)
    assert "source 001 has 47 paragraphs; there is no paragraph 999" in caught.value.report()


def test_a_paragraph_count_that_disagrees_with_the_article_at_hand_is_named(tmp_path):
    from mineral_analysis import config
    from mineral_analysis.clean.sources import load_sources

    if not config.SEEDS_DIR.is_dir():
        pytest.skip("shared/seeds is not beside this checkout: there is no article at hand to count")
    from mineral_analysis.errors import DataValidationError

    raw = _raw_with_registry(tmp_path, lambda text: text.replace(",47\n", ",48\n"))
    with pytest.raises(DataValidationError) as caught:
        load_sources(raw)
    problem = caught.value.problems[0]
    assert (problem.line, problem.column, problem.value) == (3, "paragraphs", "48")
    assert "has 47 paragraphs" in problem.message


def test_a_registered_seed_that_is_not_utf8_is_a_clean_error(tmp_path):
    import hashlib

    from mineral_analysis.clean.sources import load_sources
    from mineral_analysis.errors import DataValidationError

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    data = "Заголовок\nтекст\n".encode("cp1251")
    (seeds / "000_5eec764572c4282a.txt").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    raw = _raw_with_registry(
        tmp_path,
        lambda text: text.replace("db511edc27fd5926b58a58b9184584a9be2a6a844d71332f93fe8cf474083518,23", f"{digest},2"),
    )
    with pytest.raises(DataValidationError) as caught:
        load_sources(raw, seeds_dir=seeds)
    report = caught.value.report()
    assert "000_5eec764572c4282a.txt line 1, column 1: byte 0xc7 is not UTF-8" in report, report


def test_exported_csv_is_neutralised_for_spreadsheets():
    import base64
    import re

    import pandas as pd

    from mineral_analysis.changes import format_changes
    from mineral_analysis.citing import csv_link

    hostile = pd.DataFrame(
        {
            "record_id": ["X-01"],
            "change": ["changed"],
            "field": ["title"],
            "old": ['=HYPERLINK("x")'],
            "new": ["@SUM(1)"],
        }
    )
    text = format_changes(hostile, pd.DataFrame(), "csv")
    assert "'=HYPERLINK" in text and "'@SUM(1)" in text and "\n=" not in text and ",=" not in text
    link = csv_link(pd.DataFrame({"title": ["+1 cmd"], "amount": [-5.0]}), "x.csv", "x")
    data = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]*)", link).group(1)).decode()
    assert data == "title,amount\n'+1 cmd,-5.0\n"


def test_formula_text_in_the_sources_registry_is_refused(tmp_path):
    from mineral_analysis.clean.sources import load_sources
    from mineral_analysis.errors import DataValidationError

    raw = _raw_with_registry(tmp_path, lambda text: text.replace('"Preview of the first', '"=Preview of the first', 1))
    with pytest.raises(DataValidationError) as caught:
        load_sources(raw)
    problem = caught.value.problems[0]
    assert (problem.line, problem.column) == (2, "title") and "spreadsheet formula" in problem.message
