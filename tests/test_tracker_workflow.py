"""docs/tracker.md's analyst workflow, run end to end on a temporary copy of the project.

A synthetic third source arrives. One DOE amount changes (with a conflict note), one DOE record is added and one
DOS record is removed. The steps: validate, rebuild the data, read the changes, make a release, rebuild, build
the DOE brief, and find the change under "What changed" in its HTML.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mineral_analysis import config

SYNTHETIC_SOURCE = "002_00000000000000aa.txt"
SYNTHETIC_TEXT = (
    "Synthetic follow-up for the tracker test\n"
    "The rare-earth demonstration facility notice is now given as $143 млн.\n"
    "A new notice of funding opportunity: $12 млн for a graphite pilot.\n"
)


def _cli() -> str:
    return str(Path(sys.executable).with_name("mineral-analysis"))


def _edit_csv(path: Path, edit) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    body = edit(header, body)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.fixture()
def project(tmp_path) -> Path:
    """A copy of the project's data, releases and notebooks; the seeds beside it, plus a synthetic source."""
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    shutil.copytree(config.RAW_DIR, root / "data" / "raw")
    shutil.copytree(config.RELEASES_DIR, root / "data" / "releases")
    (root / "data" / "external").symlink_to(config.EXTERNAL_DIR, target_is_directory=True)
    shutil.copytree(config.NOTEBOOKS_DIR, root / "notebooks")
    seeds = tmp_path / "shared" / "seeds"
    seeds.mkdir(parents=True)
    if config.SEEDS_DIR.is_dir():
        for path in config.SEEDS_DIR.glob("*.txt"):
            shutil.copy(path, seeds / path.name)
    (seeds / SYNTHETIC_SOURCE).write_text(SYNTHETIC_TEXT, encoding="utf-8")
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MINERAL_ANALYSIS_ROOT": str(root), "MPLBACKEND": "Agg"}
    return subprocess.run([_cli(), *args], capture_output=True, text=True, env=env, cwd=root, timeout=600)


@pytest.mark.slow
def test_analyst_workflow_on_a_synthetic_third_release(project: Path):
    raw = project / "data" / "raw"
    digest = hashlib.sha256((project.parent / "shared" / "seeds" / SYNTHETIC_SOURCE).read_bytes()).hexdigest()

    # 1. Register the source.
    with open(raw / "sources.csv", "a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(
            [
                "002",
                SYNTHETIC_SOURCE,
                "Synthetic follow-up used by the workflow test",
                "the test suite",
                "2026-03-01",
                "as stated: written for the test",
                "en",
                digest,
                str(sum(1 for line in SYNTHETIC_TEXT.splitlines() if line.strip())),  # its paragraphs
            ]
        )

    # 2. One amount changed, one record added, one removed.
    def edit(header, body):
        col = {name: i for i, name in enumerate(header)}
        out = []
        for row in body:
            if row[0] == "DOS-01":
                continue
            if row[0] == "DOE-01":
                row[col["amount_as_written"]] = "$143 млн"
                row[col["citations"]] = "001:22;002:2"
                row[col["conflict"]] = "001:22 says $134 млн; 002:2 says $143 млн; chosen 002, the later source."
            out.append(row)
            if row[0] == "DOE-07":
                new = [""] * len(header)
                new[col["record_id"]], new[col["agency"]] = "DOE-08", "DOE"
                new[col["title"]], new[col["amount_as_written"]] = "Graphite pilot", "$12 млн"
                new[col["kind"]], new[col["minerals_as_written"]] = "financing", "graphite"
                new[col["stage"]], new[col["stage_basis"]] = "funding_opportunity", "notice of funding opportunity"
                new[col["is_aggregate"]], new[col["announced_inferred"]] = "false", "false"
                new[col["citations"]] = "002:3"
                out.append(new)
        return out

    _edit_csv(raw / "financing.csv", edit)

    # 3. Validate, 4. rebuild the data.
    done = _run(project, "validate")
    assert done.returncode == 0, done.stderr
    done = _run(project, "data")
    assert done.returncode == 0, done.stderr
    metadata = json.loads((project / "data" / "processed" / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["dataset_version"] == "r3-stages + unreleased changes"

    # 5. Read the changes.
    done = _run(project, "changes", "--since", "r3-stages", "--format", "csv")
    assert done.returncode == 0, done.stderr
    changes = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {(r["record_id"], r["change"]) for r in changes} == {
        ("DOE-08", "added"),
        ("DOS-01", "removed"),
        ("DOE-01", "changed"),
    }
    fields = {r["field"]: (r["old"], r["new"]) for r in changes if r["record_id"] == "DOE-01"}
    assert fields["amount_as_written"] == ("$134 млн", "$143 млн")
    assert fields["amount_usd"] == ("134000000.00", "143000000.00") and "source_count" in fields
    table = _run(project, "changes", "--since", "r3-stages").stdout
    assert "DOE   total +$21 m (now $1.13 bn)" in table

    # 6. Make the release; bad names and existing names are refused and change nothing.
    assert _run(project, "release", "r2-full-article").returncode == 2
    assert _run(project, "release", "Bad Name").returncode == 2
    done = _run(project, "release", "r4-synthetic", "--date", "2026-03-01")
    assert done.returncode == 0, done.stderr
    listed = _run(project, "releases").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["r1-preview", "r2-full-article", "r3-stages", "r4-synthetic"]
    assert "sources 000,001,002" in listed[-1]

    # 7. Rebuild the data and the DOE brief: it names the release and shows what changed.
    assert _run(project, "data").returncode == 0
    metadata = json.loads((project / "data" / "processed" / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["dataset_version"] == "r4-synthetic" and metadata["release"]["date"] == "2026-03-01"
    done = _run(project, "build", "--only", "agency:DOE", "--formats", "html", "--jobs", "1", "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr
    html = next((project / "reports").rglob("*doe*.html")).read_text(encoding="utf-8")
    section = re.sub(r"<[^>]+>", "", html.split("What changed", 1)[1])  # the text: amounts sit in no-break spans
    assert "r3-stages" in section and "DOE-01" in section and "DOE-08" in section
    assert "143 млн" in section and "DOS-01" not in section  # DOS-01 is not a DOE record
