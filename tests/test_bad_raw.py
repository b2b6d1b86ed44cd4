"""The corpus of broken raw files (tests/corpus/bad_raw/): every case is refused with a located, clear error.

Each case folder is a complete raw directory with one broken file and ``expected.json`` (file, line, column,
value and message fragments). Every case is run through ``mineral-analysis validate`` and
``mineral-analysis data`` (the venv's console script, each run its own process, all computed once per module)
and through ``pipeline.load_raw`` in process. Checked: exit code 1, one stderr line naming file, line, column
and value with the expected message, no traceback, and every file of the case folder and of the processed
folder byte-for-byte unchanged. Regenerate the corpus with ``tests/corpus/make_bad_raw.py``.

Speed: a cold start of the command costs about 1.2 s of CPU (pandas, pandera, pycountry), so 2 x 50 cold runs
would take a minute or more on two cores. The runs are therefore made by a launcher process that imports the
library once and then forks one child per run; each child executes the console script file itself (its own
argv, working folder, stdout, stderr and exit status). A sample of cases is also run fully cold with plain
subprocesses, and their output must be identical, so the launcher cannot hide a start-up difference. Where
``os.fork`` is missing (Windows), every run is a plain subprocess.
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
from mineral_analysis.clean.pipeline import load_raw
from mineral_analysis.errors import DataValidationError, Problem

CORPUS = Path(__file__).resolve().parent / "corpus" / "bad_raw"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []
CASE_IDS = [p.name for p in CASES]
COMMANDS = ("validate", "data")
WORKERS = max(2, min(4, os.cpu_count() or 2))
EXIT_FAILED = 1
# Run cold too (plain subprocess of the console script): one case per stage of the pipeline.
COLD_SAMPLE = ["07-byte-order-mark", "09-windows-1251-membership", "39-unknown-country", "51-cycle-of-parts"]

# Imports the library once, then forks one child per run; the child runs the console script file as __main__.
_LAUNCHER = r"""
import json, os, runpy, sys, time, traceback
script, workers = sys.argv[1], int(sys.argv[2])
jobs = json.load(sys.stdin)
import mineral_analysis.cli, mineral_analysis.clean.pipeline
from mineral_analysis.countries import resolve_countries
resolve_countries("Казахстане; США")  # the country index and the morphology dictionaries
try:
    mineral_analysis.clean.pipeline.load_raw()  # first-call costs (pandera, pandas) paid once, not in every child
except mineral_analysis.clean.pipeline.DataValidationError:
    pass
import gc
gc.collect()
gc.freeze()  # children must not copy the parent's pages just to traverse them in a collection
sys.stdout.flush(); sys.stderr.flush()

def child(job):
    os.chdir(job["cwd"])
    for fd, name in ((1, "stdout"), (2, "stderr")):
        os.dup2(os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    sys.argv = [script, *job["argv"]]
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush(); sys.stderr.flush()
    os._exit(code)

results, running = [None] * len(jobs), {}
def reap():
    pid, status = os.wait()
    index, started = running.pop(pid)
    results[index] = {"returncode": os.waitstatus_to_exitcode(status), "seconds": time.perf_counter() - started}
for index, job in enumerate(jobs):
    while len(running) >= workers:
        reap()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        child(job)
    running[pid] = (index, started)
while running:
    reap()
json.dump(results, sys.stdout)
"""

# The issue's list of broken inputs, each covered by at least one case folder (by name).
REQUIRED = [
    "too-many-fields",
    "too-few-fields",
    "missing-required-column",
    "extra-unknown-column",
    "byte-order-mark",
    "windows-1251-financing",
    "windows-1251-membership",
    "blank-line",
    "comment-line",
    "duplicate-record-id",
    "unknown-agency",
    "unreadable-amount",
    "zero-amount",
    "negative-amount",
    "other-currency",
    "unknown-qualifier",
    "unknown-country",
    "iso-code-not-exist",
    "date-wrong-format",
    "date-impossible",
    "parent-missing-total",
    "parts-exceed-total",
    "cycle-of-parts",
    "mineral-outside-vocabulary",
    "empty-file",
    "header-only",
    "very-long-field",
    "formula-cell",
    "unclosed-quote",
    "blank-record-id",
    "parent-not-aggregate",
    "parts-different-agency",
    "duplicate-membership-country",
    "unknown-membership-group",
    "mobilized-without-from",
    "mixed-script-name",
    "unregistered-source",
    "bad-citation",
    "source-hash-mismatch",
]


def _console_script() -> str:
    beside = Path(sys.executable).parent / "mineral-analysis"
    found = str(beside) if beside.exists() else shutil.which("mineral-analysis")
    if not found:
        pytest.fail("the mineral-analysis console script is not installed (pip install -e .)")
    return found


# A hash, and quoted words, are checked only where the source file is at hand.
NEEDS_SEEDS = {"source-hash-mismatch", "stage-basis-not-in-source"}


def _expected(case: Path) -> dict:
    if case.name.split("-", 1)[1] in NEEDS_SEEDS and not config.SEEDS_DIR.is_dir():
        pytest.skip("shared/seeds is not beside this checkout, so source hashes cannot be checked")
    return json.loads((case / "expected.json").read_text(encoding="utf-8"))


def _hashes(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` (so added or removed files show too)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


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
    cold: dict[str, Run]


@pytest.fixture(scope="module")
def good_processed(processed_dir) -> Path:
    """A processed folder built from the real raw data (conftest's): what a bad run must leave untouched."""
    return processed_dir


def _is_python_script(script: str) -> bool:
    """True for pip's console-script wrapper (Python source with a python shebang), which runpy can execute."""
    try:
        first = Path(script).read_bytes().split(b"\n", 1)[0]
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory, good_processed) -> dict[str, CaseRuns]:
    """Run validate and data on every case once; hash the case and processed folders around all the runs."""
    script = _console_script()
    work = tmp_path_factory.mktemp("bad-raw-runs")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}

    def cold(argv: list[str]) -> Run:
        started = time.perf_counter()
        done = subprocess.run(
            [script, *argv],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="backslashreplace",
            cwd=work,
            env=env,
            timeout=300,
        )
        return Run(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)

    def warm(all_argv: list[list[str]]) -> list[Run]:
        if not hasattr(os, "fork") or not _is_python_script(script):
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                return list(pool.map(cold, all_argv))
        outputs = work / "outputs"
        outputs.mkdir(exist_ok=True)
        jobs = [
            {"argv": argv, "cwd": str(work), "stdout": str(outputs / f"{i}.out"), "stderr": str(outputs / f"{i}.err")}
            for i, argv in enumerate(all_argv)
        ]
        done = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, script, str(WORKERS)],
            input=json.dumps(jobs),
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        return [
            Run(
                r["returncode"],
                Path(job["stdout"]).read_text("utf-8", "backslashreplace"),
                Path(job["stderr"]).read_text("utf-8", "backslashreplace"),
                r["seconds"],
            )
            for r, job in zip(json.loads(done.stdout), jobs)
        ]

    processed = {}
    for case in CASES:
        processed[case.name] = work / case.name / "processed"
        shutil.copytree(good_processed, processed[case.name])
    before = {c.name: (_hashes(c), _hashes(processed[c.name])) for c in CASES}
    jobs = {(c.name, "validate"): ["validate", "--raw-dir", str(c)] for c in CASES}
    jobs |= {(c.name, "data"): ["data", "--raw-dir", str(c), "--processed-dir", str(processed[c.name])] for c in CASES}

    sample = [key for key in jobs if key[0] in COLD_SAMPLE]
    started = time.perf_counter()
    results = dict(zip(jobs, warm(list(jobs.values()))))
    warm_wall = time.perf_counter() - started
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        cold_results = dict(zip(sample, pool.map(cold, [jobs[key] for key in sample])))
    cold_wall = time.perf_counter() - started - warm_wall
    print(
        f"\nbad-raw corpus: {len(jobs)} CLI runs over {len(CASES)} cases in {warm_wall:.1f} s (launcher); "
        f"{len(sample)} cold runs in {cold_wall:.1f} s ({WORKERS} at a time)"
    )
    return {
        c.name: CaseRuns(
            {cmd: results[(c.name, cmd)] for cmd in COMMANDS},
            before[c.name][0],
            _hashes(c),
            before[c.name][1],
            _hashes(processed[c.name]),
            {cmd: cold_results[(c.name, cmd)] for cmd in COMMANDS if (c.name, cmd) in cold_results},
        )
        for c in CASES
    }


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
        if value is not None and not (
            f"(value '{value}" in line or f'(value "{value}' in line or _shown(value) in line
            if value
            else "(value ''" in line
        ):
            continue
        if all(fragment in line for fragment in expected["message_contains"]):
            return line
    return None


def _problem_matches(problem: Problem, expected: dict) -> bool:
    value = expected["value_contains"]
    return (
        problem.file == expected["file"]
        and problem.line == expected["line"]
        and problem.column == expected["column"]
        and (value is None or (problem.value is not None and value in problem.value))
        and all(fragment in problem.message for fragment in expected["message_contains"])
    )


# --- The corpus itself ---------------------------------------------------------------------------------------


def test_corpus_covers_the_issue():
    assert len(CASES) >= 30, f"only {len(CASES)} cases in {CORPUS}"
    names = {case.name.split("-", 1)[1] for case in CASES}
    assert not [name for name in REQUIRED if name not in names]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_case_folder_is_complete(case: Path):
    expected = _expected(case)
    assert sorted(p.name for p in case.iterdir()) == [
        "expected.json",
        config.RAW_FINANCING,
        config.RAW_MEMBERSHIP,
        config.RAW_SOURCES,
    ]
    assert expected["file"] in (config.RAW_FINANCING, config.RAW_MEMBERSHIP, config.RAW_SOURCES)
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


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cli_refuses_with_a_located_message(cli_runs, case: Path, command: str):
    expected = _expected(case)
    run = cli_runs[case.name].runs[command]
    assert run.returncode == EXIT_FAILED, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    assert "error: raw data failed validation" in run.stderr
    line = _matching_line(run.stderr, expected)
    assert line is not None, f"no stderr line names {expected}:\n{run.stderr}"
    if command == "data":
        assert "nothing was written" in run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", [c for c in CASES if c.name in COLD_SAMPLE], ids=lambda c: c.name)
def test_cold_start_gives_the_same_output(cli_runs, case: Path, command: str):
    runs = cli_runs[case.name]
    cold, warm = runs.cold[command], runs.runs[command]
    assert (cold.returncode, cold.stdout, cold.stderr) == (warm.returncode, warm.stdout, warm.stderr)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cli_changes_no_file(cli_runs, case: Path):
    _expected(case)  # a case that needs the source articles skips without them (the data is then valid)
    runs = cli_runs[case.name]
    assert runs.raw_after == runs.raw_before
    assert runs.processed_after == runs.processed_before
    assert (
        len(runs.processed_before) == 12
    )  # four tables (CSV and Parquet), the long tables of places and minerals (likewise), the dictionary, the data package, the sources registry and metadata.json


@pytest.mark.slow
def test_default_folders_unchanged_by_a_bad_run(tmp_path, good_processed):
    """Without --raw-dir/--processed-dir: a project whose data/raw is broken keeps data/ byte-for-byte."""
    case = CORPUS / "01-too-many-fields"
    root = tmp_path / "project"
    shutil.copytree(case, root / "data" / "raw", ignore=shutil.ignore_patterns("expected.json"))
    shutil.copytree(good_processed, root / "data" / "processed")
    before = _hashes(root)
    done = subprocess.run(
        [_console_script(), "data"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env={**os.environ, "MINERAL_ANALYSIS_ROOT": str(root)},
        timeout=300,
    )
    assert done.returncode == EXIT_FAILED
    assert _matching_line(done.stderr, _expected(case))
    # The folder named is the project's, wherever the command runs (here: not from the project folder)
    assert f"nothing was written; {root / 'data' / 'processed'} is unchanged" in done.stderr
    # The data lock (an empty file beside the processed folder) is taken before the raw files are read.
    after = {name: digest for name, digest in _hashes(root).items() if name != "data/.processed.lock"}
    assert after == before


# --- Files that cannot be read at all -------------------------------------------------------------------------


def test_missing_and_unreadable_files_are_reported(tmp_path):
    (tmp_path / config.RAW_FINANCING).mkdir()  # a folder where the file should be
    with pytest.raises(DataValidationError) as caught:
        load_raw(tmp_path)
    shown = {p.file: p.message for p in caught.value.problems}
    assert "cannot read the file" in shown[config.RAW_FINANCING]
    assert "file not found" in shown[config.RAW_MEMBERSHIP]
