"""The corpus of broken raw files (tests/corpus/bad_raw/): every case is refused with a located, clear error.

Each case folder is a complete raw directory with one broken file and ``expected.json`` (file, line, column,
value and message fragments). Every case is run through ``mineral-analysis validate`` and
``mineral-analysis data`` as real subprocesses (the venv's console script, in parallel, once per module) and
through ``pipeline.load_raw`` in process. Checked: exit code 1, one stderr line naming file, line, column and
value with the expected message, no traceback, and every file of the case folder and of the processed folder
byte-for-byte unchanged. Regenerate the corpus with ``tests/corpus/make_bad_raw.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from mineral_analysis import config
from mineral_analysis.errors import DataValidationError, Problem
from mineral_analysis.pipeline import build_processed, load_raw

CORPUS = Path(__file__).resolve().parent / "corpus" / "bad_raw"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []
CASE_IDS = [p.name for p in CASES]
COMMANDS = ("validate", "data")
WORKERS = max(2, min(4, os.cpu_count() or 2))
EXIT_FAILED = 1

# The issue's list of broken inputs, each covered by at least one case folder (by name).
REQUIRED = [
    "too-many-fields", "too-few-fields", "missing-required-column", "extra-unknown-column", "byte-order-mark",
    "windows-1251-financing", "windows-1251-membership", "blank-line", "comment-line", "duplicate-record-id",
    "unknown-agency", "unreadable-amount", "zero-amount", "negative-amount", "other-currency", "unknown-qualifier",
    "unknown-country", "iso-code-not-exist", "date-wrong-format", "date-impossible", "parent-missing-total",
    "parts-exceed-total", "cycle-of-parts", "mineral-outside-vocabulary", "empty-file", "header-only",
    "very-long-field", "formula-cell", "unclosed-quote", "blank-record-id", "parent-not-aggregate",
    "parts-different-agency", "duplicate-membership-country", "unknown-membership-group", "mobilized-without-from",
    "mixed-script-name",
]


def _console_script() -> str:
    beside = Path(sys.executable).parent / "mineral-analysis"
    found = str(beside) if beside.exists() else shutil.which("mineral-analysis")
    if not found:
        pytest.fail("the mineral-analysis console script is not installed (pip install -e .)")
    return found


def _expected(case: Path) -> dict:
    return json.loads((case / "expected.json").read_text(encoding="utf-8"))


def _hashes(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` (so added or removed files show too)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class CaseRuns:
    runs: dict[str, Run]
    raw_before: dict[str, str]
    raw_after: dict[str, str]
    processed_before: dict[str, str]
    processed_after: dict[str, str]


@pytest.fixture(scope="module")
def good_processed(tmp_path_factory) -> Path:
    """A processed folder built from the real raw data: what a bad run must leave untouched."""
    folder = tmp_path_factory.mktemp("processed-good")
    build_processed(config.RAW_DIR, folder)
    return folder


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory, good_processed) -> dict[str, CaseRuns]:
    """Run validate and data on every case once, in parallel; hash the case and processed folders around it."""
    script = _console_script()
    work = tmp_path_factory.mktemp("bad-raw-runs")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONWARNINGS": "ignore"}

    def run(argv: list[str]) -> Run:
        started = time.perf_counter()
        done = subprocess.run([script, *argv], capture_output=True, text=True, encoding="utf-8",
                              errors="backslashreplace", cwd=work, env=env, timeout=300)
        return Run(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)

    processed = {}
    for case in CASES:
        processed[case.name] = work / case.name / "processed"
        shutil.copytree(good_processed, processed[case.name])
    before = {c.name: (_hashes(c), _hashes(processed[c.name])) for c in CASES}
    jobs = {(c.name, "validate"): ["validate", "--raw-dir", str(c)] for c in CASES}
    jobs |= {(c.name, "data"): ["data", "--raw-dir", str(c), "--processed-dir", str(processed[c.name])]
             for c in CASES}
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = dict(zip(jobs, pool.map(run, jobs.values())))
    wall = time.perf_counter() - started
    cpu = sum(r.seconds for r in results.values())
    print(f"\nbad-raw corpus: {len(jobs)} CLI runs over {len(CASES)} cases in {wall:.1f} s wall "
          f"({cpu:.1f} s summed, {WORKERS} at a time)")
    return {c.name: CaseRuns({cmd: results[(c.name, cmd)] for cmd in COMMANDS}, before[c.name][0], _hashes(c),
                             before[c.name][1], _hashes(processed[c.name])) for c in CASES}


def _shown(value: str) -> str:
    """How Problem.__str__ shows a value fragment (repr without its quotes)."""
    return repr(value)[1:-1]


def _matching_line(stderr: str, expected: dict) -> str | None:
    """The stderr line that names the expected file, line, column, value and message fragments, if any."""
    for line in stderr.splitlines():
        if not line.lstrip().startswith(f"- {expected['file']}"):
            continue
        if expected["line"] is not None and f", line {expected['line']}" not in line:
            continue
        if expected["column"] is not None and f", column '{expected['column']}'" not in line:
            continue
        value = expected["value_contains"]
        if value is not None and not (f"(value '{value}" in line or f'(value "{value}' in line
                                      or _shown(value) in line if value else "(value ''" in line):
            continue
        if all(fragment in line for fragment in expected["message_contains"]):
            return line
    return None


def _problem_matches(problem: Problem, expected: dict) -> bool:
    value = expected["value_contains"]
    return (problem.file == expected["file"] and problem.line == expected["line"]
            and problem.column == expected["column"]
            and (value is None or (problem.value is not None and value in problem.value))
            and all(fragment in problem.message for fragment in expected["message_contains"]))


# --- The corpus itself ---------------------------------------------------------------------------------------

def test_corpus_covers_the_issue():
    assert len(CASES) >= 30, f"only {len(CASES)} cases in {CORPUS}"
    names = {case.name.split("-", 1)[1] for case in CASES}
    assert not [name for name in REQUIRED if name not in names]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_case_folder_is_complete(case: Path):
    expected = _expected(case)
    assert sorted(p.name for p in case.iterdir()) == ["expected.json", config.RAW_FINANCING, config.RAW_MEMBERSHIP]
    assert expected["file"] in (config.RAW_FINANCING, config.RAW_MEMBERSHIP)
    assert set(expected) == {"file", "line", "column", "value_contains", "message_contains", "description"}
    assert expected["message_contains"] and expected["description"]


# --- In process: the error carries file, line, column and value ---------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_load_raw_locates_the_problem(case: Path):
    expected = _expected(case)
    with pytest.raises(DataValidationError) as caught:
        load_raw(case)
    problems = caught.value.problems
    assert any(_problem_matches(p, expected) for p in problems), "\n".join(map(str, problems))
    # Only the broken file is blamed: the other file of the folder is the good copy.
    assert {p.file for p in problems} == {expected["file"]}
    for problem in problems:
        assert problem.message.strip() and "Traceback" not in problem.message and "Error(" not in problem.message


# --- Through the command line --------------------------------------------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cli_refuses_with_a_located_message(cli_runs, case: Path, command: str):
    expected = _expected(case)
    run = cli_runs[case.name].runs[command]
    assert run.returncode == EXIT_FAILED, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    assert run.stderr.startswith("error: raw data failed validation")
    line = _matching_line(run.stderr, expected)
    assert line is not None, f"no stderr line names {expected}:\n{run.stderr}"
    if command == "data":
        assert "nothing was written" in run.stderr


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cli_changes_no_file(cli_runs, case: Path):
    runs = cli_runs[case.name]
    assert runs.raw_after == runs.raw_before
    assert runs.processed_after == runs.processed_before
    assert len(runs.processed_before) == 6  # the four tables, the dictionary and metadata.json


def test_default_folders_unchanged_by_a_bad_run(tmp_path, good_processed):
    """Without --raw-dir/--processed-dir: a project whose data/raw is broken keeps data/ byte-for-byte."""
    case = CORPUS / "01-too-many-fields"
    root = tmp_path / "project"
    shutil.copytree(case, root / "data" / "raw", ignore=shutil.ignore_patterns("expected.json"))
    shutil.copytree(good_processed, root / "data" / "processed")
    before = _hashes(root)
    done = subprocess.run([_console_script(), "data"], capture_output=True, text=True, encoding="utf-8",
                          cwd=tmp_path, env={**os.environ, "MINERAL_ANALYSIS_ROOT": str(root)}, timeout=300)
    assert done.returncode == EXIT_FAILED
    assert _matching_line(done.stderr, _expected(case))
    assert "nothing was written; data/processed/ is unchanged" in done.stderr
    assert _hashes(root) == before


# --- Files that cannot be read at all -------------------------------------------------------------------------

def test_missing_and_unreadable_files_are_reported(tmp_path):
    (tmp_path / config.RAW_FINANCING).mkdir()  # a folder where the file should be
    with pytest.raises(DataValidationError) as caught:
        load_raw(tmp_path)
    shown = {p.file: p.message for p in caught.value.problems}
    assert "cannot read the file" in shown[config.RAW_FINANCING]
    assert "file not found" in shown[config.RAW_MEMBERSHIP]
