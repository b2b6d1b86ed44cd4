"""A brief's fingerprint covers everything it prints (issue 20): editing an input a brief reads changes the
fingerprints of exactly the briefs that print it (planned, not executed): a source's row in the registry (the briefs
whose items or membership rows cite it), the release's date and citation in metadata.json (every brief), a template
and a font (every brief)."""

from __future__ import annotations

import json
import shutil

import pytest

from mineral_analysis import config
from mineral_analysis.briefing import Tables
from mineral_analysis.citing import sources_cited
from mineral_analysis.publish import fingerprint
from mineral_analysis.publish.catalogue import all_briefs, data_slices


def _fingerprints(processed, library_hash=None) -> dict[str, str]:
    library_hash = library_hash or fingerprint.library_fingerprint(config.NOTEBOOKS_DIR)
    tables = Tables.load(processed)
    briefs = all_briefs(tables=tables)
    slices = data_slices(briefs, tables=tables, sources=fingerprint.source_rows(processed))
    return fingerprint.brief_fingerprints(briefs, slices, processed, library_hash, config.NOTEBOOKS_DIR)


@pytest.fixture
def processed(tmp_path, processed_dir):
    folder = tmp_path / "processed"
    shutil.copytree(processed_dir, folder)
    return folder


def _printing(processed, source_id: str) -> set[str]:
    """The briefs that list ``source_id`` among their sources, as the notebooks compute it."""
    from mineral_analysis.publish.catalogue import select_briefs

    tables = Tables.load(processed)
    found = set()
    for brief in select_briefs(None, tables=tables):
        data = tables.brief(brief.kind, brief.key)
        if source_id in sources_cited(data.items, data.membership):
            found.add(brief.slug)
    return found


def test_editing_a_sources_title_rebuilds_exactly_the_briefs_that_list_it(processed):
    before = _fingerprints(processed)
    for source_id in ("000", "001"):
        path = processed / config.RAW_SOURCES
        lines = path.read_text(encoding="utf-8").split("\n")
        lines = [line.replace(",", ",Edited: ", 2) if line.startswith(f"{source_id},") else line for line in lines]
        path.write_text("\n".join(lines), encoding="utf-8")
        after = _fingerprints(processed)
        changed = {slug for slug in before if before[slug] != after[slug]}
        expected = _printing(processed, source_id)
        assert changed == expected, (source_id, changed ^ expected)
        assert expected, source_id
        before = after
    assert len(before) > len(_printing(processed, "000"))  # some briefs do not list 000: not every brief rebuilt


@pytest.mark.parametrize("field", ["date", "citation"])
def test_editing_the_release_printed_rebuilds_every_brief(processed, field):
    before = _fingerprints(processed)
    path = processed / config.PROCESSED_METADATA
    metadata = json.loads(path.read_text(encoding="utf-8"))
    metadata["release"] = dict(metadata.get("release") or {"name": "r2-full-article"}) | {field: "edited"}
    path.write_text(json.dumps(metadata), encoding="utf-8")
    after = _fingerprints(processed)
    assert all(before[slug] != after[slug] for slug in before)


def test_editing_what_no_brief_prints_rebuilds_nothing(processed):
    before = _fingerprints(processed)
    path = processed / config.PROCESSED_METADATA
    metadata = json.loads(path.read_text(encoding="utf-8"))
    metadata["processed_dir"] = "elsewhere"  # not printed
    metadata["data_version"] = "0123456789ab"  # changes with every raw edit; printed only without a dataset version
    metadata["files"] = {}
    path.write_text(json.dumps(metadata), encoding="utf-8")
    assert _fingerprints(processed) == before


@pytest.mark.parametrize("relative", ["templates/brief", "resources/fonts"])
def test_editing_a_template_or_a_font_changes_the_library_every_brief_uses(tmp_path, monkeypatch, relative):
    package = tmp_path / "mineral_analysis"
    shutil.copytree(config.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(config, "PACKAGE_DIR", package)
    before = fingerprint.library_fingerprint(config.NOTEBOOKS_DIR)
    target = next(p for p in sorted((package / relative).rglob("*")) if p.is_file())
    target.write_bytes(target.read_bytes() + b"\n")
    assert fingerprint.library_fingerprint(config.NOTEBOOKS_DIR) != before


def test_the_first_edit_after_a_release_changes_the_fingerprints_of_the_briefs_it_touches_only(tmp_path, processed):
    """Issue 23: each brief prints its own records' version, so editing DOE-03 after a release changes the
    fingerprints of exactly the briefs whose records changed (before, every brief's printed version changed)."""
    from mineral_analysis.clean.pipeline import build_processed

    before = _fingerprints(processed)
    tables = Tables.load(processed)
    slices_before = data_slices(all_briefs(tables=tables), tables=tables)
    raw = tmp_path / "raw"
    shutil.copytree(config.RAW_DIR, raw)
    path = raw / config.RAW_FINANCING
    text = path.read_text(encoding="utf-8")
    assert "\nDOE-03,Министерство энергетики,financing,Critical Minerals and Materials Accelerator," in text
    path.write_text(text.replace(",Critical Minerals and Materials Accelerator,", ",Edited accelerator,", 1), "utf-8")
    assert build_processed(raw, processed)["dataset_version"].endswith("+ unreleased changes")
    after = _fingerprints(processed)
    tables = Tables.load(processed)
    slices_after = data_slices(all_briefs(tables=tables), tables=tables)
    touched = {slug for slug in slices_before if slices_before[slug] != slices_after[slug]}
    changed = {slug for slug in before if before[slug] != after[slug]}
    assert changed == touched and "agency-doe" in touched and "overview" in touched
    assert len(changed) < len(before) / 4  # most briefs are left as they are
