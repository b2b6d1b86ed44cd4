"""The published record (SHA256SUMS, MANIFEST.json) and `mineral-analysis verify`; formats exported without
running a brief again. The fast tests build a record by hand; the slow ones run real builds of one brief."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from mineral_analysis import cli
from mineral_analysis.publish import record
from mineral_analysis.publish.build import build_briefs


@pytest.fixture
def published(tmp_path):
    """A reports folder with two briefs' files, an index and the record a build writes for them."""
    reports = tmp_path / "reports"
    reports.mkdir()
    files = {
        "agency-dfc.html": b"<html>dfc</html>\n",
        "agency-dfc.pdf": b"%PDF-1.7 dfc\n%%EOF\n",
        "country-kor.html": b"<html>kor</html>\n",
        "index.html": b"<html>index</html>\n",
    }
    for name, data in files.items():
        (reports / name).write_bytes(data)
    (reports / "agency-dfc.ipynb").write_text("{}")  # the build's working record, not published
    (reports / "failed").mkdir()
    (reports / "failed" / "country-usa.ipynb").write_text("{}")
    manifest = {
        "dataset_version": "v1",
        "index": {"index.html": record.sha256_bytes(files["index.html"])},
        "briefs": {
            slug: {"outputs": {n: record.sha256_bytes(d) for n, d in files.items() if n.startswith(slug)}}
            for slug in ("agency-dfc", "country-kor")
        },
    }
    assert record.write_record(reports, manifest) == (True, [])
    assert record.write_record(reports, manifest) == (False, [])  # unchanged: nothing rewritten
    return reports


def _verify(reports, capsys) -> tuple[int, str]:
    code = cli.main(["verify", "--reports-dir", str(reports)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_published_folder_verifies(published, capsys):
    code, text = _verify(published, capsys)
    assert code == 0, text
    assert "every file matches SHA256SUMS and MANIFEST.json" in text


def test_sha256sum_checks_the_folder(published):
    result = subprocess.run(
        ["sha256sum", "--strict", "-c", record.SUMS], cwd=published, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(result.stdout.splitlines()) == sorted(
        f"{n}: OK" for n in ("agency-dfc.html", "agency-dfc.pdf", "country-kor.html", "index.html")
    )


def test_verify_names_a_one_byte_change(published, capsys):
    path = published / "agency-dfc.pdf"
    data = bytearray(path.read_bytes())
    data[3] ^= 1
    path.write_bytes(bytes(data))
    code, text = _verify(published, capsys)
    assert code == 1
    assert "changed: agency-dfc.pdf" in text
    assert "Traceback" not in text and "country-kor" not in text


def test_verify_names_a_missing_file(published, capsys):
    (published / "country-kor.html").unlink()
    code, text = _verify(published, capsys)
    assert code == 1
    assert "missing: country-kor.html" in text


@pytest.mark.parametrize("name", ["extra.html", "notes.txt", "sub/agency-dfc.pdf"])
def test_verify_names_an_unexpected_file(published, capsys, name):
    (published / name).parent.mkdir(exist_ok=True)
    (published / name).write_bytes(b"not published by the build")
    code, text = _verify(published, capsys)
    assert code == 1
    assert f"unexpected: {name}" in text


def test_verify_names_a_file_replaced_by_a_link(published, capsys, tmp_path):
    target = tmp_path / "elsewhere.html"
    shutil.copy(published / "country-kor.html", target)
    (published / "country-kor.html").unlink()
    (published / "country-kor.html").symlink_to(target)
    code, text = _verify(published, capsys)
    assert code == 1
    assert "changed: country-kor.html (no longer a regular file: country-kor.html is a symbolic link" in text


@pytest.mark.parametrize("damage", ["no sums", "bad line", "no manifest", "bad manifest", "manifest differs"])
def test_verify_reports_a_damaged_record_without_a_traceback(published, capsys, damage):
    sums, manifest = published / record.SUMS, published / record.MANIFEST
    if damage == "no sums":
        sums.unlink()
    elif damage == "bad line":
        sums.write_text(sums.read_text() + "not a checksum line\n")
    elif damage == "no manifest":
        manifest.unlink()
    elif damage == "bad manifest":
        manifest.write_text("[1, 2")
    else:
        manifest.write_text(manifest.read_text().replace(record.sha256_file(published / "index.html"), "0" * 64))
    code, text = _verify(published, capsys)
    assert code == 1
    assert "Traceback" not in text
    assert {
        "no sums": "SHA256SUMS is missing",
        "bad line": "SHA256SUMS line 5 is not",
        "no manifest": "missing: MANIFEST.json",
        "bad manifest": "MANIFEST.json is not a readable manifest",
        "manifest differs": "index.html is recorded differently",
    }[damage] in text


def test_verify_of_a_folder_that_does_not_exist(tmp_path, capsys):
    code, text = _verify(tmp_path / "nowhere", capsys)
    assert code == 1 and "is not a folder" in text


# --- Real builds (slow) ------------------------------------------------------------------------------------------

BUILT = re.compile(r"Published \d{1,2} [A-Z][a-z]+ \d{4}")  # the date of publication a brief shows


def _pdf_text(path) -> str:
    return " ".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


@pytest.mark.slow
def test_another_format_is_exported_without_running_the_brief_again(tmp_path, processed_dir, monkeypatch, capsys):
    reports = tmp_path / "reports"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01 00:00 UTC
    first = build_briefs(
        only=["agency:DOE"], formats=("html",), processed_dir=processed_dir, reports_dir=reports, progress=False, jobs=1
    )
    assert [o.status for o in first.outcomes] == ["built"], first.summary()
    assert not (reports / "agency-doe.pdf").exists()
    executed = (reports / "agency-doe.ipynb").read_bytes()
    html = (reports / "agency-doe.html").read_bytes()

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1798761600")  # a year later: a re-run would print 2027
    second = build_briefs(
        only=["agency:DOE"],
        formats=("html", "pdf"),
        processed_dir=processed_dir,
        reports_dir=reports,
        progress=False,
        jobs=1,
    )
    assert [o.status for o in second.outcomes] == ["exported"], second.summary()
    assert "exported 1 (formats only, not re-run)" in second.summary()
    assert (reports / "agency-doe.ipynb").read_bytes() == executed  # not executed again
    assert (reports / "agency-doe.html").read_bytes() == html
    shown = BUILT.findall(html.decode("utf-8"))
    assert shown and set(shown) == {"Published 1 January 2026"}
    assert "Published 1 January 2026" in _pdf_text(reports / "agency-doe.pdf")
    assert "2027" not in _pdf_text(reports / "agency-doe.pdf")

    third = build_briefs(only=["agency:DOE"], processed_dir=processed_dir, reports_dir=reports, progress=False)
    assert [o.status for o in third.outcomes] == ["skipped"]
    assert cli.main(["verify", "--reports-dir", str(reports)]) == 0, capsys.readouterr().err
    manifest = json.loads((reports / record.MANIFEST).read_text())
    entry = manifest["briefs"]["agency-doe"]
    assert entry["parameters"] == {"agency": "DOE"} and entry["built_at"] == "2026-01-01T00:00:00+00:00"
    assert set(entry["outputs"]) == {"agency-doe.html", "agency-doe.pdf"}
    assert entry["tools"]["papermill"] and entry["dataset_version"] == manifest["dataset_version"]
    assert str(tmp_path) not in (reports / record.MANIFEST).read_text()


@pytest.mark.slow
def test_a_re_run_with_fewer_formats_leaves_no_output_of_an_older_build(tmp_path, processed_dir, monkeypatch):
    reports = tmp_path / "reports"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    build_briefs(only=["agency:DOE"], processed_dir=processed_dir, reports_dir=reports, progress=False, jobs=1)
    assert (reports / "agency-doe.pdf").exists()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1798761600")
    result = build_briefs(
        only=["agency:DOE"],
        formats=("html",),
        processed_dir=processed_dir,
        reports_dir=reports,
        progress=False,
        jobs=1,
        force=True,
    )
    assert [o.status for o in result.outcomes] == ["built"]
    assert not (reports / "agency-doe.pdf").exists()  # the 2026 PDF went with the 2026 HTML
    assert "Published 1 January 2027" in (reports / "agency-doe.html").read_text(encoding="utf-8")
    assert record.verify(reports) == []


@pytest.mark.slow
def test_briefs_and_index_print_the_dataset_version_and_plans_agree(tmp_path, processed_dir, monkeypatch):
    """A version (not a slice hash) in the brief and the index: the brief's own records' (they equal the latest
    release's), the whole dataset's on the index; the fingerprint a scheduler computes with the library's functions
    (docs/building.md) is the one the build records."""
    from mineral_analysis.briefing import Tables
    from mineral_analysis.publish import fingerprint
    from mineral_analysis.publish.catalogue import all_briefs, data_slices
    from mineral_analysis.releases import list_releases

    processed = tmp_path / "processed"
    shutil.copytree(processed_dir, processed)
    metadata = json.loads((processed / "metadata.json").read_text())
    metadata["dataset_version"] = "r9-test + unreleased changes"
    (processed / "metadata.json").write_text(json.dumps(metadata))
    reports = tmp_path / "reports"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    result = build_briefs(
        only=["agency:DOE"], formats=("html",), processed_dir=processed, reports_dir=reports, progress=False, jobs=1
    )
    assert not result.failed, result.summary()
    latest = list_releases()[-1].name
    for name, version in (("agency-doe.html", latest), ("index.html", "r9-test + unreleased changes")):
        text = (reports / name).read_text(encoding="utf-8")
        assert f"Data version {version}<" in text, name
        assert metadata["data_version"] not in text, name

    tables = Tables.load(processed)
    (brief,) = [b for b in all_briefs(tables=tables) if b.spec == "agency:DOE"]
    slices = data_slices([brief], tables=tables, sources=fingerprint.source_rows(processed))
    planned = fingerprint.brief_fingerprints([brief], slices, processed, fingerprint.library_fingerprint())[brief.slug]
    assert json.loads((reports / record.MANIFEST).read_text())["briefs"]["agency-doe"]["fingerprint"] == planned


def test_the_library_fingerprint_ignores_the_command_line_the_cleaning_and_the_publishing_code():
    from mineral_analysis import config
    from mineral_analysis.publish.fingerprint import brief_modules

    names = {str(p.relative_to(config.PACKAGE_DIR)) for p in brief_modules()}
    assert {"analysis.py", "plots.py", "maps.py", "narrative.py", "publish/export.py", "data.py"} <= names
    assert "cli.py" not in names and "build.py" not in names
    # cleaning: only what reads the sources registry (the name resolver and the vocabularies are shared, not cleaning)
    assert {n for n in names if n.startswith("clean/")} <= {"clean/__init__.py", "clean/sources.py", "clean/rawio.py"}
    # the exporter (with its sanitizer and the pages' CSP) reads the catalogue for a brief's title;
    # nothing else of the publishing code counts
    exporter = {"publish/export.py", "publish/sanitize.py", "publish/index_page.py"}
    assert {n for n in names if n.startswith("publish/")} <= {"publish/__init__.py", "publish/catalogue.py", *exporter}


def test_editing_the_command_line_or_the_cleaning_rebuilds_nothing_but_editing_a_chart_module_does(
    tmp_path, monkeypatch
):
    from mineral_analysis import config
    from mineral_analysis.publish.fingerprint import library_fingerprint

    package = tmp_path / "mineral_analysis"
    shutil.copytree(config.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(config, "PACKAGE_DIR", package)
    before = library_fingerprint(config.NOTEBOOKS_DIR)
    for name in ("cli.py", "publish/pool.py", "publish/build.py", "clean/pipeline.py", "clean/amounts.py"):
        assert (package / name).is_file(), name
        with open(package / name, "a", encoding="utf-8") as handle:
            handle.write("\n# an edit\n")
    assert library_fingerprint(config.NOTEBOOKS_DIR) == before
    with open(package / "plots.py", "a", encoding="utf-8") as handle:
        handle.write("\n# an edit\n")
    assert library_fingerprint(config.NOTEBOOKS_DIR) != before
