"""Same briefs on any machine: with the same inputs and SOURCE_DATE_EPOCH, whole builds give the same bytes
whatever the number of workers, whether the machine has any font, and whether a brief was built now or skipped
because an earlier run built it. Compared: every HTML and PDF brief, the index and SHA256SUMS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SPECS = ("agency:DOE", "country:SGP", "mineral:gallium")
EPOCH = "1770163200"  # 2026-02-04 00:00 UTC
PUBLISHED = ("*.html", "*.pdf", "SHA256SUMS")


def build(processed: Path, reports: Path, *specs: str, jobs: int, env: dict | None = None) -> None:
    command = [
        sys.executable,
        "-m",
        "mineral_analysis.cli",
        "build",
        "--processed-dir",
        str(processed),
        "--reports-dir",
        str(reports),
        "--jobs",
        str(jobs),
    ]
    for spec in specs:
        command += ["--only", spec]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH, **(env or {})},
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def published(reports: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for pattern in PUBLISHED for p in sorted(reports.glob(pattern))}


@pytest.fixture(scope="module")
def reference(processed_dir, tmp_path_factory) -> dict[str, bytes]:
    """Three briefs built from scratch with two workers."""
    reports = tmp_path_factory.mktemp("reference")
    build(processed_dir, reports, *SPECS, jobs=2)
    files = published(reports)
    assert {f"{s.replace(':', '-').lower()}.{ext}" for s in SPECS for ext in ("html", "pdf")} <= set(files)
    return files


@pytest.mark.slow
def test_one_worker_and_no_system_font_give_the_same_bytes(reference, processed_dir, tmp_path):
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    reports = tmp_path / "reports"
    build(processed_dir, reports, *SPECS, jobs=1, env={"FONTCONFIG_FILE": str(conf)})
    assert published(reports) == reference


@pytest.mark.slow
def test_an_incremental_build_gives_the_bytes_of_a_build_from_scratch(reference, processed_dir, tmp_path):
    reports = tmp_path / "reports"
    build(processed_dir, reports, SPECS[0], jobs=1)  # one brief first; the next run skips it
    build(processed_dir, reports, *SPECS, jobs=2)
    assert published(reports) == reference
