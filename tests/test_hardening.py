"""Publishing that cannot be turned against its folder (issue 11): links out of reports/, kill -9 of the build,
a stalled worker, a notebook's child in a session of its own, a full disk, the data lock, odd options.

Each test failed against the build before these changes. The slow ones run real builds (subprocesses where
signals and exit codes matter) into temporary folders.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from filelock import ReadWriteLock

from mineral_analysis import cli, config
from mineral_analysis.publish import build as build_module
from mineral_analysis.publish import record
from mineral_analysis.publish.brief import BriefOutcome

CLI = [sys.executable, "-m", "mineral_analysis.cli"]


def _build(
    processed: Path, reports: Path, *specs: str, extra: tuple = (), env: dict | None = None, wait: bool = True, **popen
) -> subprocess.CompletedProcess | subprocess.Popen:
    args = [*CLI, "build", "--processed-dir", str(processed), "--reports-dir", str(reports), "--no-progress", *extra]
    for spec in specs:
        args += ["--only", spec]
    if not wait:
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)
    return subprocess.run(args, capture_output=True, text=True, timeout=600, env=env, check=False)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- Options validated before any work (fast) --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["20.5", "0.5", "inf", "nan", "0", "-3", ""])
def test_timeout_must_be_a_positive_whole_number(value, capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        cli.main(["build", "--timeout", value, "--reports-dir", str(tmp_path / "r")])
    assert stop.value.code == 2
    assert "--timeout" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("spec", ["country:", "agency: ", ":", "", ":KOR"])
def test_empty_brief_specs_are_refused(spec, capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        cli.main(["build", "--only", spec, "--reports-dir", str(tmp_path / "r")])
    assert stop.value.code == 2
    assert "empty brief spec" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_library_refuses_an_empty_value_too(processed_dir, tmp_path):
    from mineral_analysis.errors import ParameterError

    with pytest.raises(ParameterError, match="empty value"):
        build_module.build_briefs(only=["country:"], processed_dir=processed_dir, reports_dir=tmp_path / "r")
    with pytest.raises(ParameterError, match="whole number"):
        build_module.build_briefs(timeout=20.5, processed_dir=processed_dir, reports_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists()


# --- A full disk (fast: the pool and the disk are stand-ins) -----------------------------------------------------


def test_a_full_disk_gives_an_error_and_the_summary_not_a_traceback(processed_dir, tmp_path, monkeypatch, capsys):
    def one_failed_brief(todo, *args, done, **kwargs):
        brief = todo[0][0]
        done.append(
            BriefOutcome(
                brief.spec,
                brief.slug,
                brief.title,
                brief.kind,
                brief.key,
                "failed",
                error="writing its outputs: OSError: [Errno 28] No space left on device",
            )
        )

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("mineral_analysis.publish.pool.run_pool", one_failed_brief)
    monkeypatch.setattr(build_module, "_write_index", no_space)
    code = cli.main(
        [
            "build",
            "--only",
            "agency:DOE",
            "--processed-dir",
            str(processed_dir),
            "--reports-dir",
            str(tmp_path / "reports"),
            "--no-progress",
        ]
    )
    out = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out.out + out.err
    assert "built 0, skipped 0 (up to date), failed 1 of 1 briefs" in out.out
    assert "ERROR writing the index and the published record" in out.out and "No space left on device" in out.out


# --- Links out of reports/ (slow) --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """One brief built (HTML) into a reports folder, and its processed tables."""
    processed = tmp_path_factory.mktemp("processed")
    from mineral_analysis.clean.pipeline import build_processed

    build_processed(config.RAW_DIR, processed)
    reports = tmp_path_factory.mktemp("reports-base") / "reports"
    result = _build(processed, reports, "agency:DOE", extra=("--formats", "html", "--jobs", "1"))
    assert result.returncode == 0, result.stderr
    return processed, reports


LINKS = {  # name in reports/ -> what the link points at ("dir" or "file")
    ".staging": "dir",
    "failed": "dir",
    "agency-doe.html": "file",
    "agency-doe.ipynb": "file",
    "index.html": "file",
    "MANIFEST.json": "file",
    "SHA256SUMS": "file",
    ".build.lock": "file",
    ".build-cache.json": "file",
}


def _plant_link(reports: Path, name: str, outside: Path) -> Path:
    """Replace ``reports/name`` with a symbolic link to a folder (or a file in it) holding files to keep."""
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me\n")
    (outside / ".precious.tmp").write_text("keep me too\n")
    target = outside if LINKS[name] == "dir" else outside / "precious.txt"
    path = reports / name
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.symlink_to(target, target_is_directory=LINKS[name] == "dir")
    return path


def _assert_links_replaced(reports: Path, planted: dict[str, tuple[Path, dict]], run: str) -> None:
    for name, (outside, before) in planted.items():
        assert _tree(outside) == before, f"{name}: a file outside reports/ changed ({run})"
        assert not (reports / name).is_symlink(), f"{name} is still a link ({run})"
    assert record.verify(reports) == [], record.verify(reports)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LINKS))
def test_a_link_in_reports_is_replaced_never_followed(built, tmp_path, name):
    """A no-op build with ``name`` a symbolic link out of reports/ (the case that deleted a folder's files):
    nothing outside changes, the link is gone (a regular file or folder of the build's stands there or nothing),
    the folder verifies."""
    processed, base = built
    reports = tmp_path / "reports"
    shutil.copytree(base, reports, symlinks=True)
    outside = tmp_path / "outside"
    _plant_link(reports, name, outside)
    planted = {name: (outside, _tree(outside))}
    result = _build(processed, reports, "agency:DOE", extra=("--formats", "html", "--jobs", "1"))
    assert result.returncode == 0, result.stderr
    _assert_links_replaced(reports, planted, "no-op build")


@pytest.mark.slow
def test_a_forced_build_replaces_every_kind_of_link_never_following_one(built, tmp_path):
    """The same links, all at once, under a build that runs the brief and writes every file it publishes."""
    processed, base = built
    reports = tmp_path / "reports"
    shutil.copytree(base, reports, symlinks=True)
    planted = {}
    for number, name in enumerate(sorted(LINKS)):
        outside = tmp_path / f"outside-{number}"
        _plant_link(reports, name, outside)
        planted[name] = (outside, _tree(outside))
    result = _build(processed, reports, "agency:DOE", extra=("--formats", "html", "--jobs", "1", "--force"))
    assert result.returncode == 0, result.stderr
    _assert_links_replaced(reports, planted, "forced build")


# --- The build's processes die with it (slow) --------------------------------------------------------------------


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(processes) -> list[psutil.Process]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            pass
    return alive


def _command_line(process: psutil.Process) -> str:
    """The process's command line, or "" once it has gone (it may end between being listed and being read)."""
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied, FileNotFoundError):
        return ""


@pytest.mark.slow
def test_kill_9_of_the_build_leaves_no_process_and_the_next_build_recovers(built, tmp_path):
    processed, _ = built
    reports = tmp_path / "reports"
    specs = ("overview", "agency:DFC", "agency:DOE", "agency:USTR")
    proc = _build(processed, reports, *specs, extra=("--jobs", "2"), wait=False, start_new_session=True)
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 120
    kernels = 0
    while time.monotonic() < deadline and proc.poll() is None:
        for child in _descendants(proc.pid):
            seen.setdefault(child.pid, child)
        kernels = sum(1 for p in _alive(seen.values()) if "mineral_analysis.publish.template" in _command_line(p))
        if kernels >= 3:  # both templates and at least one kernel forked from them
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    assert kernels >= 3, f"no kernel seen: {[_command_line(p) for p in _alive(seen.values())]}"
    for child in _descendants(proc.pid):
        seen.setdefault(child.pid, child)
    os.kill(proc.pid, signal.SIGKILL)
    killed = time.monotonic()
    proc.communicate(timeout=60)  # returns once every process holding its output pipes has ended
    left = _alive(seen.values())
    while left and time.monotonic() - killed < 15:
        time.sleep(0.2)
        left = _alive(left)
    session = [p for p in psutil.process_iter() if _session(p) == proc.pid]
    print(f"\n{len(seen)} processes of the build; all gone {time.monotonic() - killed:.1f} s after kill -9")
    assert not left, f"left after 15 s: {[(p.pid, _command_line(p)) for p in left]}"
    assert not _alive(session), f"processes of the build's session remain: {session}"

    (reports / "failed").mkdir(exist_ok=True)
    (reports / "failed" / "agency-dfc.ipynb").write_text("{}")  # as a dying worker could have left it
    result = _build(processed, reports, *specs, extra=("--jobs", "2"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (reports / ".staging").exists()
    assert not (reports / "failed" / "agency-dfc.ipynb").exists()  # stale: the brief is built
    assert not list(reports.glob(".*.tmp"))
    assert record.verify(reports) == []


def _session(process: psutil.Process) -> int | None:
    try:
        return os.getsid(process.pid)
    except OSError:
        return None


@pytest.mark.slow
def test_a_stopped_worker_is_killed_and_its_brief_built_again(built, tmp_path):
    processed, _ = built
    reports = tmp_path / "reports"
    env = {**os.environ}
    started = time.monotonic()
    # The stall timer is the brief's --timeout plus 30 s. The second brief (one of the quickest, about 3 s alone)
    # gets 20 s in the new worker: at 10 s, agency:DOE ran out of time on a loaded two-core machine.
    proc = _build(
        processed, reports, "agency:DFC", "country:SGP", extra=("--jobs", "1", "--timeout", "20"), wait=False, env=env
    )
    worker = None
    while time.monotonic() - started < 120 and proc.poll() is None and worker is None:
        for child in _descendants(proc.pid):
            command = _command_line(child)
            if "mineral_analysis.publish.template" in command:
                with contextlib.suppress(psutil.NoSuchProcess):
                    worker = child.parent()
        time.sleep(0.05)
    assert worker is not None, proc.communicate()
    worker.send_signal(signal.SIGSTOP)
    out, err = proc.communicate(timeout=300)
    seconds = time.monotonic() - started
    print(f"\nbuild with a stopped worker: exit {proc.returncode} in {seconds:.1f} s\n{out}")
    assert proc.returncode == 1, out + err
    assert (
        "FAILED agency:DFC: notebook agency.ipynb: the worker process building it answered nothing for 50 s "
        "(stopped or hung outside the notebook) and was killed"
    ) in out
    assert "built 1, skipped 0 (up to date), failed 1 of 2 briefs" in out  # SGP, in a new worker
    assert not psutil.pid_exists(worker.pid) or worker.status() == psutil.STATUS_ZOMBIE


SESSION_CHILD = """import json, os, subprocess
_child = subprocess.Popen(["sleep", "600"], start_new_session=True)
with open("child.json", "w") as _f:
    json.dump({"pid": _child.pid}, _f)
"""


@pytest.mark.slow
def test_a_notebooks_child_in_its_own_session_does_not_outlive_the_brief(built, tmp_path):
    processed, _ = built
    notebooks = tmp_path / "notebooks"
    shutil.copytree(config.NOTEBOOKS_DIR, notebooks)
    nb = nbformat.read(notebooks / "agency.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(SESSION_CHILD, metadata={"tags": ["remove-cell"]}))
    nbformat.write(nb, notebooks / "agency.ipynb")
    result = build_module.build_briefs(
        only=["agency:DOE"],
        processed_dir=processed,
        reports_dir=tmp_path / "r",
        notebooks_dir=notebooks,
        jobs=1,
        progress=False,
        formats=("html",),
    )
    assert not result.failed, result.summary()
    child = json.loads((notebooks / "child.json").read_text())["pid"]
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"the notebook's child {child} outlived the build"
        time.sleep(0.1)


# --- The data lock (slow: a subprocess build) --------------------------------------------------------------------


@pytest.mark.slow
def test_a_build_refuses_while_data_rewrites_the_tables(built, tmp_path):
    processed, _ = built
    with ReadWriteLock(
        config.data_lock_path(processed), is_singleton=False
    ).write_lock():  # what `mineral-analysis data` holds while it writes
        result = _build(processed, tmp_path / "reports", "agency:DOE", extra=("--formats", "html"))
    assert result.returncode == 3, result.stderr
    assert "is being rewritten by `mineral-analysis data`" in result.stderr and "--wait" in result.stderr
    assert not list((tmp_path / "reports").glob("*.html"))


# --- A brief's files replaced together or not at all (fast) ------------------------------------------------------


def test_a_failed_rename_puts_back_the_files_already_replaced(tmp_path, monkeypatch):
    from mineral_analysis import atomic

    html, pdf, new = tmp_path / "b.html", tmp_path / "b.pdf", tmp_path / "b.ipynb"
    html.write_bytes(b"old html")
    pdf.write_bytes(b"old pdf")
    real_replace = os.replace

    def replace(source, target, *args, **kwargs):
        if Path(target) == pdf and not Path(source).name.endswith(".old.tmp"):
            raise PermissionError(errno.EPERM, "Operation not permitted", str(pdf))  # as `chattr +i` gives
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(PermissionError):
        atomic.replace_files_atomic({html: b"new html", new: b"new notebook", pdf: b"new pdf"})
    assert html.read_bytes() == b"old html" and pdf.read_bytes() == b"old pdf"
    assert not new.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.html", "b.pdf"]  # no temporary, no backup left


def test_an_immutable_file_stops_the_set_before_anything_is_replaced(tmp_path, monkeypatch):
    from mineral_analysis import atomic

    html, pdf = tmp_path / "b.html", tmp_path / "b.pdf"
    html.write_bytes(b"old html")
    pdf.write_bytes(b"old pdf")
    real_link = os.link

    def link(source, target, *args, **kwargs):
        if Path(source) == pdf:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(pdf))  # link(2) of an immutable file
        return real_link(source, target, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "link", link)
    with pytest.raises(PermissionError):
        atomic.replace_files_atomic({html: b"new html", pdf: b"new pdf"})
    assert html.read_bytes() == b"old html" and pdf.read_bytes() == b"old pdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.html", "b.pdf"]


def test_the_message_says_none_of_the_files_was_replaced(tmp_path, monkeypatch):
    from mineral_analysis.publish import brief

    outcome = BriefOutcome("agency:DOE", "agency-doe", "t", "agency", "DOE", "built")

    def refuse(files):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(brief, "replace_files_atomic", refuse)
    error = brief.replace_outputs(
        {tmp_path / "agency-doe.html": b"x"}, tmp_path / "failed" / "agency-doe.ipynb", outcome
    )
    assert "none of its files was replaced (the previous ones are in place)" in error
