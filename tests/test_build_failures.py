"""Failures while building, interrupts, concurrent builds, hostile parameters, and the shared kernel's hygiene.

Faults are injected into copies of the notebooks; processed data is built into a temporary folder; nothing
here touches the project's own reports/ or data/processed/. The slow tests run real builds (`mineral-analysis
build` as a subprocess where exit codes and signals matter) on small subsets of briefs.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mineral_analysis import config
from mineral_analysis.briefing import KINDS
from mineral_analysis.clean.pipeline import build_processed
from mineral_analysis.errors import ParameterError
from mineral_analysis.publish import brief as brief_module
from mineral_analysis.publish import build
from mineral_analysis.publish.catalogue import Brief
from mineral_analysis.publish.execute import relative_paths
from mineral_analysis.publish.record import MANIFEST

CLI = [sys.executable, "-m", "mineral_analysis.cli"]
SENTINEL_HTML = b"<!DOCTYPE html>\n<html><body><p>previous good brief (sentinel)</p></body></html>\n"
SENTINEL_PDF = b"%PDF-1.4\n% previous good brief (sentinel)\n%%EOF\n"
BUILT_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00|\d{4}-\d\d-\d\d \d\d:\d\d UTC")


# --- Helpers -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("processed")
    build_processed(config.RAW_DIR, folder)
    return folder


def _notebooks_copy(folder: Path) -> Path:
    shutil.copytree(config.NOTEBOOKS_DIR, folder)
    return folder


def _insert_cell(path: Path, source: str, *, tags: tuple[str, ...] = (), at_end: bool = False) -> int:
    """Insert a code cell right after the parameters cell (or at the end); return its index in the file."""
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    if at_end:
        index = len(nb.cells)
    else:
        index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])) + 1
    nb.cells.insert(index, cell)
    nbformat.write(nb, path)
    return index


def _replace_notebook(path: Path, parameters: str, source: str) -> None:
    """Make ``path`` a two-cell notebook: a parameters cell and ``source``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class _Strict(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags = 0

    def handle_starttag(self, tag, attrs) -> None:
        self.tags += 1


def _check_reports(reports: Path) -> dict[str, int]:
    """No temporary or partial file anywhere under reports/; every brief's files form one consistent set."""
    counts = {"html": 0, "pdf": 0, "ipynb": 0}
    for path in sorted(reports.rglob("*")):
        if path.is_dir():
            assert path.name in ("failed", ".staging"), f"unexpected folder {path}"
            assert not any(path.iterdir()) or path.name == "failed", f"leftovers in {path}: {list(path.iterdir())}"
            continue
        name = path.name
        assert (not name.endswith(".tmp") and not name.startswith(".")) or name in (build.LOCK, build.CACHE), (
            f"temporary or unexpected file left: {path.relative_to(reports)}"
        )
        data = path.read_bytes()
        if name.endswith(".html"):
            text = data.decode("utf-8")
            assert text.rstrip().endswith("</html>"), f"{name} is cut short"
            parser = _Strict()
            parser.feed(text)
            parser.close()
            assert parser.tags > 2, name
            counts["html"] += 1
        elif name.endswith(".pdf"):
            assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF"), f"{name} is cut short"
            counts["pdf"] += 1
        elif name.endswith((".ipynb", ".json")):
            document = json.loads(data)
            if name.endswith(".ipynb"):
                nbformat.validate(nbformat.from_dict(document))
                counts["ipynb"] += 1
        elif name in (build.LOCK, build.SUMS):
            pass
        else:
            raise AssertionError(f"unexpected file {path.relative_to(reports)}")
    # A brief's HTML, PDF and notebook come from the same build (never a mix of an old and a new one).
    for notebook in reports.glob("*.ipynb"):
        built_at = json.loads(notebook.read_text())["metadata"].get("mineral_analysis", {}).get("built_at", "sentinel")
        html = notebook.with_suffix(".html")
        pdf = notebook.with_suffix(".pdf")
        if built_at == "sentinel":
            assert not html.exists() or html.read_bytes() == SENTINEL_HTML, f"{html.name} is newer than its notebook"
            assert not pdf.exists() or pdf.read_bytes() == SENTINEL_PDF, f"{pdf.name} is newer than its notebook"
        else:
            assert built_at in html.read_text(encoding="utf-8"), f"{html.name} and {notebook.name} differ in age"
            if pdf.exists():
                assert pdf.read_bytes() != SENTINEL_PDF, f"{pdf.name} is older than its notebook"
    return counts


def _write_sentinels(reports: Path, slugs: list[str], *, notebook: bool) -> None:
    reports.mkdir(parents=True, exist_ok=True)
    for slug in slugs:
        (reports / f"{slug}.html").write_bytes(SENTINEL_HTML)
        (reports / f"{slug}.pdf").write_bytes(SENTINEL_PDF)
        if notebook:
            nb = nbformat.v4.new_notebook()
            nb.metadata["mineral_analysis"] = {"built_at": "sentinel"}
            nbformat.write(nb, reports / f"{slug}.ipynb")


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _is_kernel(command: str) -> bool:
    """A kernel started fresh, or forked from a build worker's template (which shares its command line)."""
    return "ipykernel_launcher" in command or "mineral_analysis.publish.template" in command


def _kernels_of(pids: set[int]) -> list[psutil.Process]:
    """Kernels still running whose parent (JPY_PARENT_PID) was one of ``pids``."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if not _is_kernel(" ".join(process.info["cmdline"] or [])):
                continue
            parent = int(process.environ().get("JPY_PARENT_PID", "0") or 0)
            if parent in pids and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
            continue
    return found


def _build_args(processed: Path, reports: Path, *specs: str, formats: str = "html", extra: tuple = ()) -> list[str]:
    args = [
        *CLI,
        "build",
        "--processed-dir",
        str(processed),
        "--reports-dir",
        str(reports),
        "--no-progress",
        "--formats",
        formats,
        *extra,
    ]
    for spec in specs:
        args += ["--only", spec]
    return args


def _run(args: list[str], timeout: float = 300, env: dict | None = None) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    return result, time.monotonic() - started


# --- Hostile parameters (fast) -----------------------------------------------------------------------------------

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@settings(max_examples=300, deadline=None)
@given(kind=st.one_of(st.sampled_from(KINDS), st.text()), key=st.text())
def test_slug_is_a_plain_name_inside_reports(tmp_path_factory, kind, key):
    reports = tmp_path_factory.getbasetemp() / "slug-reports"
    slug = Brief(kind, key, "title").slug
    assert SLUG.fullmatch(slug), slug
    assert len(slug) <= 80
    for ext in ("html", "pdf", "ipynb"):
        path = brief_module.output_path(reports, f"{slug}.{ext}")
        assert path.resolve().parent == reports.resolve()


@pytest.mark.parametrize(
    "name", ["../x.html", "/etc/passwd", "a/b.html", ".hidden.html", "x.html\n", "X.html", "x.exe", "..html", "-x.pdf"]
)
def test_output_names_outside_the_pattern_are_refused(tmp_path, name):
    with pytest.raises(ParameterError):
        brief_module.output_path(tmp_path, name)


@settings(max_examples=300, deadline=None)
@given(value=st.text())
def test_parameters_reach_the_notebook_as_literals(value):
    """Papermill writes a parameter as a string literal: whatever the text, it can never become code."""
    from papermill.translators import translate_parameters

    code = translate_parameters("python3", "python", {"processed_dir": value, "country": value}, "Parameters")
    tree = ast.parse(code)
    assignments = [node for node in tree.body if isinstance(node, ast.Assign)]
    assert len(assignments) == len(tree.body) == 2
    for node in assignments:
        assert isinstance(node.value, ast.Constant) and node.value.value == value


BAD_SPECS = [
    "country:../../etc",
    "mineral:<script>",
    "agency:NOPE",
    "country:/etc/passwd",
    "mineral:../../../tmp/x",
    "agency:DFC; rm -rf /",
    "overview:../../x",
    "../../etc",
    "/etc/passwd",
    "mineral:copper\n__import__('os').system('touch pwned')",
    "country:KOR/../../x",
    "agency:" + "A" * 5000,
    "nope:DFC",
]


@pytest.mark.parametrize("spec", BAD_SPECS, ids=lambda s: repr(s[:30]))
def test_bad_specs_are_refused_before_anything_is_written(tmp_path, processed, monkeypatch, spec):
    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr("mineral_analysis.publish.execute.execute", no_kernel)
    monkeypatch.setattr("mineral_analysis.publish.pool.run_pool", no_kernel)
    reports = tmp_path / "reports"
    with pytest.raises(ParameterError) as error:
        build.build_briefs(only=[spec], processed_dir=processed, reports_dir=reports, progress=False)
    assert "valid" in str(error.value) or "overview takes no value" in str(error.value)
    assert not reports.exists()
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("formats", [("html", "exe"), ("../x",), ()])
def test_bad_formats_are_refused(tmp_path, processed, formats):
    with pytest.raises(ParameterError, match="valid: html, pdf"):
        build.build_briefs(
            only=["overview"],
            formats=formats,
            processed_dir=processed,
            reports_dir=tmp_path / "reports",
            progress=False,
        )
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    "brief_data",
    [
        {
            "kind": "agency",
            "key": "DFC",
            "title": "t",
            "parameters": {"agency": "__import__('os').system('touch pwned')"},
        },
        {"kind": "country", "key": "KOR", "title": "t", "parameters": {"country": "../../etc"}},
        {"kind": "mineral", "key": "copper", "title": "t", "parameters": {"mineral": "copper", "code": "1/0"}},
        {"kind": "../../etc", "key": "x", "title": "t", "parameters": {}},
        {"kind": "agency", "key": "DFC", "title": "t", "parameters": {"agency": ["DFC"]}},
    ],
    ids=["code-as-value", "path-as-country", "unknown-parameter", "unknown-kind", "not-text"],
)
def test_run_brief_refuses_bad_parameters_before_a_kernel_starts(tmp_path, processed, monkeypatch, brief_data):
    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr("mineral_analysis.publish.execute.execute", no_kernel)
    monkeypatch.chdir(tmp_path)
    outcome = brief_module.run_brief(
        brief_data,
        formats=("html",),
        reports_dir=str(tmp_path / "reports"),
        processed_dir=str(processed),
        timeout=30,
        data_version="v",
        fingerprint="f",
    )
    assert outcome["status"] == "failed"
    assert outcome["error"].startswith("refused before any kernel started")
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").rglob("*.*"))


@pytest.mark.slow
def test_cli_refuses_bad_specs_fast_with_the_valid_values(tmp_path, processed):
    """Exit 2, the valid values listed, and nothing written (no kernel is started: nothing is in reports/)."""
    reports = tmp_path / "reports"
    for spec, expected in [
        ("country:../../etc", "Valid countries: "),
        ("mineral:<script>", "valid values: "),
        ("agency:NOPE", "valid values: EXIM, DOE, DOD, DFC, USTR, DOS"),
        ("/etc/passwd", "valid kinds: overview, agency, country, mineral"),
    ]:
        result, _ = _run(_build_args(processed, reports, spec), timeout=60)
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr
        assert "Traceback" not in result.stderr
        assert not reports.exists()


def test_path_stripping_covers_folders_outside_the_project(tmp_path):
    odd = tmp_path / 'odd "name"'
    text = json.dumps({"a": f"{odd}/data.parquet", "b": str(tmp_path / "reports"), "c": f"{sys.prefix}/lib/x.py"})
    stripped = relative_paths(text, {"processed": odd, "reports": tmp_path / "reports"})
    assert str(tmp_path) not in stripped and sys.prefix not in stripped
    assert json.loads(stripped) == {"a": "<processed>/data.parquet", "b": "<reports>", "c": "<env>/lib/x.py"}


# --- A failing brief fails alone (slow) --------------------------------------------------------------------------

FAULTS = """import json, os, signal, time  # injected faults
import psutil

def _alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False

_earlier = [json.load(open(n)) for n in sorted(os.listdir(".")) if n.startswith("kernel-")]
with open(f"kernel-{agency}.json", "w") as _f:
    json.dump({"agency": agency, "kernel": os.getpid(), "worker": os.getppid(), "time": time.time(),
               "alive_before": {e["agency"]: _alive(e["kernel"]) for e in _earlier}}, _f)
if agency == "DFC":
    raise ValueError("injected fault in a cell")
if agency == "DOE":
    os._exit(3)  # the kernel dies
if agency == "EXIM":
    time.sleep(600)  # past the time limit
if agency == "DOD":
    os.kill(os.getppid(), signal.SIGKILL)  # the worker process dies (its kernel must not outlive it)
    time.sleep(600)
"""
TIME_LIMIT = 15


@pytest.mark.slow
def test_failing_briefs_fail_alone(tmp_path, processed):
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "data" / "external").symlink_to(config.EXTERNAL_DIR, target_is_directory=True)
    notebooks = _notebooks_copy(root / "notebooks")
    fault_cell = _insert_cell(notebooks / "agency.ipynb", FAULTS)
    reports = root / "reports"
    failing = ["agency-dfc", "agency-doe", "agency-exim", "agency-dod"]
    _write_sentinels(reports, failing, notebook=False)
    specs = ["agency:DFC", "agency:DOE", "agency:EXIM", "agency:DOD", "agency:USTR", "agency:DOS"]
    env = {**os.environ, "MINERAL_ANALYSIS_ROOT": str(root)}

    result, seconds = _run(
        _build_args(
            processed, reports, *specs, formats="html,pdf", extra=("--jobs", "1", "--timeout", str(TIME_LIMIT))
        ),
        env=env,
    )
    print(f"\nbuild with 4 faults: {seconds:.1f} s\n{result.stdout}{result.stderr[-2000:]}")
    assert result.returncode == 1, result.stderr

    # The summary names the notebook, the cell and the error of each failure.
    label = f"notebook agency.ipynb, cell {fault_cell} (`import json, os, signal, time  # injected faults`)"
    out = result.stdout
    assert f"FAILED agency:DFC: {label}: ValueError: injected fault in a cell" in out
    assert f"FAILED agency:DOE: {label}: DeadKernelError: the kernel died while running this cell (exit code 3)" in out
    assert (
        f"FAILED agency:EXIM: {label}: TimeoutError: the brief ran past its time limit of {TIME_LIMIT} s; "
        "its kernel was killed"
    ) in out
    assert "FAILED agency:DOD: notebook agency.ipynb: the worker process building it died" in out
    assert "built 2, skipped 0 (up to date), failed 4 of 6 briefs" in out

    # The previous good HTML and PDF stay; the other briefs are built.
    for slug in failing:
        assert (reports / f"{slug}.html").read_bytes() == SENTINEL_HTML
        assert (reports / f"{slug}.pdf").read_bytes() == SENTINEL_PDF
    for slug in ("agency-ustr", "agency-dos"):
        assert (reports / f"{slug}.html").read_bytes() != SENTINEL_HTML
        assert (reports / f"{slug}.pdf").read_bytes().startswith(b"%PDF")
        assert not (reports / "failed" / f"{slug}.ipynb").exists()
    manifest = json.loads((reports / MANIFEST).read_text())["briefs"]
    assert {slug: e["status"] for slug, e in manifest.items()} == {
        "agency-dfc": "failed",
        "agency-doe": "failed",
        "agency-exim": "failed",
        "agency-dod": "failed",
        "agency-ustr": "built",
        "agency-dos": "built",
    }
    _check_reports(reports)

    # The failed executed notebooks are kept, show the error, and carry no path of this machine.
    expected_errors = {"agency-dfc": "ValueError", "agency-doe": "DeadKernelError", "agency-exim": "TimeoutError"}
    for slug, ename in expected_errors.items():
        path = reports / "failed" / f"{slug}.ipynb"
        assert f"(executed notebook: failed/{slug}.ipynb)" in out
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert errors and errors[0].ename == ename, slug
        for machine_path in (str(tmp_path), str(config.PROJECT_ROOT), sys.prefix, os.path.expanduser("~") + os.sep):
            assert machine_path not in text, f"{slug}: {machine_path!r} left in the failed notebook"
        assert "<processed>" in text  # the processed folder's path was replaced, not dropped
    assert not (reports / "failed" / "agency-dod.ipynb").exists()  # its worker died with the notebook

    # Every brief got a kernel of its own; a failure left the worker in place; no kernel outlived its brief.
    records = {
        a: json.loads((notebooks / f"kernel-{a}.json").read_text())
        for a in ("DFC", "DOE", "EXIM", "DOD", "USTR", "DOS")
    }
    assert len({records[a]["worker"] for a in ("DFC", "DOE", "EXIM", "DOD")}) == 1
    assert records["USTR"]["worker"] == records["DOS"]["worker"] != records["DOD"]["worker"]
    assert len({records[a]["kernel"] for a in records}) == 6
    assert records["DOE"]["alive_before"] == {"DFC": False}
    assert records["USTR"]["alive_before"] == {"DFC": False, "DOE": False, "EXIM": False, "DOD": False}
    for record in records.values():
        assert (
            not psutil.pid_exists(record["kernel"]) or psutil.Process(record["kernel"]).status() == psutil.STATUS_ZOMBIE
        )


# --- Interrupts (slow) -------------------------------------------------------------------------------------------


def _phase(processes: dict[int, psutil.Process], reports: Path, outputs_before: dict[str, str]) -> str:
    kernels = workers = 0
    for process in processes.values():
        try:
            if not process.is_running():
                continue
            command = " ".join(process.cmdline())
        except psutil.NoSuchProcess:
            continue
        kernels += _is_kernel(command)
        workers += "forkserver" in command
    written = sum(
        1
        for name, digest in _tree_digest(reports).items()
        if name.endswith((".html", ".pdf")) and outputs_before.get(name) != digest
    )
    return f"{max(workers - 1, 0)} worker(s), {kernels} kernel(s), {written} new output file(s)"


@pytest.mark.slow
def test_interrupted_builds_leave_no_partial_files_and_no_processes(tmp_path, processed):
    reports = tmp_path / "reports"
    _write_sentinels(reports, ["agency-dfc", "agency-doe"], notebook=True)
    processed_before = _tree_digest(processed)
    args = _build_args(processed, reports, "agency:DFC", "agency:DOE", formats="html,pdf", extra=("--force",))
    points = [(1.0, signal.SIGINT), (4.0, signal.SIGTERM), (8.0, signal.SIGINT), ("first output", signal.SIGTERM)]
    report = []
    for when, signum in points:
        outputs_before = _tree_digest(reports)
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen: dict[int, psutil.Process] = {}
        started = time.monotonic()
        while proc.poll() is None and time.monotonic() - started < 120:
            for child in _descendants(proc.pid):
                seen.setdefault(child.pid, child)
            if when == "first output":
                changed = [
                    n for n, d in _tree_digest(reports).items() if n.endswith(".pdf") and outputs_before.get(n) != d
                ]
                if changed:
                    break
            elif time.monotonic() - started >= when:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the build ended before the signal ({when}): {proc.communicate()}"
        phase = _phase(seen, reports, outputs_before)
        signalled = time.monotonic()
        proc.send_signal(signum)
        # A build that does not stop hangs here (and fails); how fast it stops is reported, not asserted: on a
        # loaded machine terminating workers and their kernels takes longer (2-3 s quiet, 39 s seen under load).
        _, err = proc.communicate(timeout=180)
        stopped = time.monotonic() - signalled
        at = when if isinstance(when, str) else f"{when:g} s"
        report.append(f"{signal.Signals(signum).name} at {at} ({phase}): exit {proc.returncode} in {stopped:.1f} s")
        assert proc.returncode != 0, err
        _, alive = psutil.wait_procs(list(seen.values()), timeout=5)
        assert not alive, f"processes left after {at}: {alive}"
        assert not _kernels_of({proc.pid, *seen}), f"kernels left after {at}"
        _check_reports(reports)
        assert _tree_digest(processed) == processed_before
        if proc.returncode in (130, 143):
            assert "build interrupted" in err and "Traceback" not in err, f"after {at}:\n{err}"

    result, seconds = _run(args)
    report.append(f"next build: exit {result.returncode} in {seconds:.1f} s")
    print("\n" + "\n".join(report))
    assert result.returncode == 0, result.stderr
    assert "built 2, skipped 0 (up to date), failed 0 of 2" in result.stdout
    counts = _check_reports(reports)
    assert counts == {"html": 3, "pdf": 2, "ipynb": 2}  # two briefs and the index
    for name in ("agency-dfc.html", "agency-doe.html"):
        assert (reports / name).read_bytes() != SENTINEL_HTML


# --- Two builds at once (slow) -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_second_build_refuses_or_waits(tmp_path, processed):
    reports = tmp_path / "reports"
    args = _build_args(processed, reports, "agency:DOE", extra=("--force",))
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _descendants(first.pid):  # the pool starts after the lock is taken
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)

    refused, _ = _run(args, timeout=60)
    assert refused.returncode == 3, refused.stderr
    assert "another build is running on reports/" in refused.stderr and "--wait" in refused.stderr
    assert first.poll() is None  # refused while the first build still runs, which it did not disturb

    waiting = subprocess.Popen([*args, "--wait"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    assert waiting.poll() is None
    first_out, first_err = first.communicate(timeout=300)
    first_done = time.time()
    assert first.returncode == 0, first_err
    waiting_out, waiting_err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, waiting_err
    assert "built 1" in first_out and "built 1" in waiting_out
    # The waiting build wrote only after the first had finished: its outputs are newer, never interleaved.
    assert (reports / "agency-doe.html").stat().st_mtime >= first_done - 1
    _check_reports(reports)


# --- Every brief in a kernel of its own (slow) ------------------------------------------------------------------

PROBE = r"""import json as _json, os as _os
with open(f"probe-{_os.getpid()}.json", "w") as _f:
    _json.dump({"worker": _os.getppid(), "kernel": _os.getpid()}, _f)
"""

# A brief that changes its interpreter in ways no reset could see: a library class monkeypatched, a matplotlib
# unit converter registered (a registry changed in place), builtins edited, the project's vocabulary and
# matplotlib's settings changed, a thread left running.
POLLUTER = r"""import builtins, json, os, threading, time
import matplotlib as mpl, matplotlib.units as munits, matplotlib.ticker as mticker, numpy as np, pandas as pd
import mineral_analysis.vocab as vocab

class _Loud(munits.ConversionInterface):
    @staticmethod
    def axisinfo(unit, axis):
        return munits.AxisInfo(majfmt=mticker.FuncFormatter(lambda value, pos: "POLLUTED"))

    @staticmethod
    def convert(value, unit, axis):
        return value

for _type in (float, int, np.float64, np.int64, str):
    munits.registry[_type] = _Loud()
pd.DataFrame.to_html = lambda self, *args, **kwargs: "<p>POLLUTED</p>"
pd.DataFrame._repr_html_ = lambda self: "<p>POLLUTED</p>"
builtins.round = lambda number, ndigits=None: 0
builtins.sorted = lambda iterable, *args, **kwargs: list(iterable)[::-1]
vocab.AGENCIES.pop("DOE", None)
mpl.rcParams["axes.facecolor"] = "red"
mpl.rcParams["font.size"] = 30
threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
with open(f"polluter-{os.getpid()}.json", "w") as _f:
    json.dump({"worker": os.getppid(), "kernel": os.getpid()}, _f)
"""


@pytest.mark.slow
def test_a_polluting_brief_leaves_the_next_one_in_the_same_worker_untouched(tmp_path, processed, monkeypatch):
    """Built after the polluter by the same worker, a brief is byte for byte the brief built without it."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    notebooks = _notebooks_copy(tmp_path / "notebooks")
    _replace_notebook(notebooks / "overview.ipynb", 'processed_dir = ""', POLLUTER)  # the overview runs first
    _insert_cell(notebooks / "agency.ipynb", PROBE, tags=("remove-cell",), at_end=True)
    polluted, clean = tmp_path / "polluted", tmp_path / "clean"
    first = build.build_briefs(
        only=["overview", "agency:DFC"],
        processed_dir=processed,
        reports_dir=polluted,
        notebooks_dir=notebooks,
        jobs=1,
        progress=False,
    )
    assert not first.failed, first.summary()
    [polluter] = [json.loads(p.read_text()) for p in notebooks.glob("polluter-*.json")]
    [probe] = [json.loads(p.read_text()) for p in notebooks.glob("probe-*.json")]
    assert probe["worker"] == polluter["worker"] and probe["kernel"] != polluter["kernel"]  # same worker
    assert not psutil.pid_exists(polluter["kernel"])
    second = build.build_briefs(
        only=["agency:DFC"], processed_dir=processed, reports_dir=clean, notebooks_dir=notebooks, jobs=1, progress=False
    )
    assert not second.failed, second.summary()
    for ext in ("html", "pdf"):
        assert (polluted / f"agency-dfc.{ext}").read_bytes() == (clean / f"agency-dfc.{ext}").read_bytes()
    assert "POLLUTED" not in (polluted / "agency-dfc.html").read_text(encoding="utf-8")


USER_CONFIG = {
    ".config/matplotlib/matplotlibrc": "axes.facecolor: red\nfont.size: 30\n",
    ".matplotlib/matplotlibrc": "axes.facecolor: red\n",
    "rc/matplotlibrc": "axes.facecolor: red\n",  # named by MATPLOTLIBRC
    ".ipython/profile_default/startup/00-polluted.py": "import matplotlib; matplotlib.rcParams['axes.facecolor'] = 'red'\n",
    ".ipython/profile_default/ipython_kernel_config.py": "c.IPKernelApp.exec_lines = ['print(\"POLLUTED\")']\n",
    ".jupyter/ipython_kernel_config.py": "c.IPKernelApp.exec_lines = ['print(\"POLLUTED\")']\n",
}


@pytest.mark.slow
def test_the_accounts_own_configuration_does_not_reach_the_briefs(tmp_path, processed):
    """matplotlibrc, IPython profile and Jupyter config of the account building: same bytes as without them."""
    home = tmp_path / "home"
    for name, text in USER_CONFIG.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text)
    plain = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR")}
    plain["SOURCE_DATE_EPOCH"] = "1767225600"
    odd = {
        **plain,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "MATPLOTLIBRC": str(home / "rc"),
        "MPLCONFIGDIR": str(home / ".config/matplotlib"),
        "IPYTHONDIR": str(home / ".ipython"),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
    }
    outputs = {}
    for name, env in (("plain", plain), ("odd", odd)):
        reports = tmp_path / name
        result, _ = _run(
            _build_args(processed, reports, "agency:DOE", formats="html,pdf", extra=("--jobs", "1")), env=env
        )
        assert result.returncode == 0, result.stderr
        outputs[name] = {ext: (reports / f"agency-doe.{ext}").read_bytes() for ext in ("html", "pdf")}
    assert outputs["odd"] == outputs["plain"]
