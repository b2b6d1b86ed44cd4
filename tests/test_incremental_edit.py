"""An edit rebuilds what it changed (issue 23): after a release, editing one DOE record rebuilds the briefs that
draw on it and leaves every other brief's files byte for byte; the version each brief prints describes its own
records (before, the first edit after a release made every brief print "+ unreleased changes" and rebuilt all)."""

from __future__ import annotations

import hashlib
import re
import shutil

import pytest

from mineral_analysis import config
from mineral_analysis.clean.pipeline import build_processed
from mineral_analysis.publish.build import build_briefs

SPECS = ["agency:DOE", "agency:EXIM"]


def _hashes(reports) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(reports.glob("agency-*.*"))}


@pytest.mark.slow
def test_editing_one_record_after_a_release_keeps_the_other_briefs_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1770163200")
    raw, processed, reports = tmp_path / "raw", tmp_path / "processed", tmp_path / "reports"
    shutil.copytree(config.RAW_DIR, raw)
    assert build_processed(raw, processed)["dataset_version"] == "r3-stages"  # the data are the latest release
    first = build_briefs(only=SPECS, processed_dir=processed, reports_dir=reports, progress=False, jobs=1)
    assert not first.failed, first.summary()
    before = _hashes(reports)
    assert "Data version r3-stages<" in (reports / "agency-exim.html").read_text(encoding="utf-8")

    # One DOE amount (the source's own words in a cited paragraph): the first edit since the release.
    path = raw / config.RAW_FINANCING
    text = path.read_text(encoding="utf-8")
    edited = text.replace("$134 млн", "$355 млн", 1).replace("001:21;001:22", "001:21;001:22;001:23", 1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    assert build_processed(raw, processed)["dataset_version"] == "r3-stages + unreleased changes"

    second = build_briefs(only=SPECS, processed_dir=processed, reports_dir=reports, progress=False, jobs=1)
    assert {o.spec: o.status for o in second.outcomes} == {"agency:DOE": "built", "agency:EXIM": "skipped"}
    after = _hashes(reports)
    untouched = {name for name in before if name.startswith("agency-exim.")}
    assert untouched == {"agency-exim.html", "agency-exim.pdf", "agency-exim.ipynb"}
    assert {name: after[name] for name in untouched} == {name: before[name] for name in untouched}
    doe = re.sub(r"<[^>]+>", "", (reports / "agency-doe.html").read_text(encoding="utf-8"))  # its text
    assert after["agency-doe.html"] != before["agency-doe.html"]
    assert "Data version r3-stages + unreleased changes" in doe, doe[-3000:]
    assert "data version r3-stages + unreleased changes" in doe  # how to cite it
    assert "Since release r3-stages (0 added, 0 removed, 1 changed)" in doe  # its "What changed"
