"""Files in their places: the Parquet tables say what each column means, and the build's own lock and cache live
beside reports/, which holds only what is published."""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from mineral_analysis import columns, config
from mineral_analysis.clean.pipeline import column_descriptions


@pytest.mark.parametrize(("table", "spec"), [("financing", columns.FINANCING), ("membership", columns.MEMBERSHIP)])
def test_every_parquet_column_carries_its_description(processed_dir, table, spec):
    schema = pq.read_schema(processed_dir / f"{table}.parquet")
    described = {field.name: (field.metadata or {}).get(b"description", b"").decode() for field in schema}
    assert described == column_descriptions(spec)
    assert all(described.values()), [name for name, text in described.items() if not text]


def test_the_build_state_lives_beside_the_reports_folder(tmp_path):
    reports = tmp_path / "site" / "reports"
    lock = config.build_state_path(reports, config.BUILD_LOCK)
    assert lock.parent == reports.parent and lock.name == ".reports.build.lock"
    assert config.build_state_path(reports, config.BUILD_CACHE).name == ".reports.build-cache.json"


@pytest.mark.slow
def test_reports_holds_only_what_is_published(tmp_path, processed_dir):
    """A build leaves no lock or cache in reports/ (and removes those an earlier version left there)."""
    reports = tmp_path / "reports"
    reports.mkdir()
    for legacy in (".build.lock", ".build-cache.json"):
        (reports / legacy).write_text("{}")
    command = [sys.executable, "-m", "mineral_analysis.cli", "build", "--only", "agency:DOE", "--formats", "html"]
    command += ["--processed-dir", str(processed_dir), "--reports-dir", str(reports), "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    hidden = sorted(p.name for p in reports.iterdir() if p.name.startswith("."))
    assert hidden in ([], [".staging"]), hidden
    assert (tmp_path / ".reports.build.lock").exists() and (tmp_path / ".reports.build-cache.json").exists()
    assert {"agency-doe.html", "index.html", "MANIFEST.json", "SHA256SUMS"} <= {p.name for p in reports.iterdir()}
