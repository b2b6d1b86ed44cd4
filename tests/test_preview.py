"""``mineral-analysis preview``: an edit rebuilds the brief (bytes of a one-shot build), pages reload in the
preview only, a validation error is shown while the last good brief stays, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from mineral_analysis import config
from mineral_analysis.publish.catalogue import OVERVIEW_TITLE, make_brief
from mineral_analysis.publish.index_page import BRIEF_CSP
from mineral_analysis.publish.preview import Planner, PlannerError, PreviewState, inject, preview_csp

CLI = [sys.executable, "-m", "mineral_analysis.cli"]
EPOCH = "1767225600"
WAIT_SECONDS = 180  # bound on every wait


def test_preview_csp_allows_only_its_own_script_and_this_server():
    policy = preview_csp(BRIEF_CSP, "abc")
    assert "script-src 'nonce-abc'" in policy and "connect-src 'self'" in policy
    assert policy.startswith("default-src 'none'; img-src data:;")  # nothing else loosened
    assert preview_csp("default-src 'none'; script-src 'none'", "n").count("script-src") == 1


def test_inject_adds_the_reload_script_and_the_banner_to_the_response_only():
    page = (
        f'<html><head><meta http-equiv="Content-Security-Policy" content="{BRIEF_CSP}"></head>'
        "<body><p>brief</p></body></html>"
    )
    served = inject(page, 3, "financing.csv, line 4: <bad>", "N1")
    assert '<script nonce="N1">' in served and "const since = 3;" in served
    assert served.index("<script") < served.index("</body>")
    assert "financing.csv, line 4: &lt;bad&gt;" in served and served.index("preview-error") < served.index("brief")
    assert "script-src &#x27;nonce-N1&#x27;" in served or "script-src 'nonce-N1'" in served
    assert "preview-error" not in inject(page, 3, "", "N1")


def test_preview_state_wakes_waiting_pages():
    state = PreviewState()
    threading.Timer(0.2, state.publish, args=("",)).start()
    assert state.wait(0, timeout=30) == 1
    assert state.wait(1, timeout=0.1) == 1  # nothing new: answered after the timeout


@pytest.mark.slow
def test_the_planner_runs_the_library_as_it_is_on_disk_once_restarted(tmp_path, monkeypatch):
    """The preview builds in a planner process, kept warm between rebuilds: it keeps the library it imported until
    the preview replaces it (on a library change); the new one runs the edited code. Its errors come back."""
    copy = tmp_path / "src"
    shutil.copytree(config.PACKAGE_DIR, copy / "mineral_analysis", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(copy))  # the planner, a spawned interpreter, imports the library from the copy
    catalogue = copy / "mineral_analysis" / "publish" / "catalogue.py"
    planner = Planner()
    try:
        assert planner.call(make_brief, "overview", "").title == OVERVIEW_TITLE
        catalogue.write_text(catalogue.read_text(encoding="utf-8").replace(OVERVIEW_TITLE, "Edited"), encoding="utf-8")
        assert planner.call(make_brief, "overview", "").title == OVERVIEW_TITLE  # warm: imported before the edit
        planner.restart()
        assert planner.call(make_brief, "overview", "").title == "Edited"
        with pytest.raises(PlannerError, match="KeyError: 'NOT-AN-AGENCY'"):
            planner.call(make_brief, "agency", "NOT-AN-AGENCY")
        assert planner.call(make_brief, "overview", "").title == "Edited"  # an error leaves the planner serving
    finally:
        planner.stop()
    assert planner.process is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _set_field(path: Path, record_id: str, field: str, value) -> str:
    """Set one field of one raw financing record (``value(old) -> new``); return the new value."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    column = header.index(field)
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{record_id},"))
    row = next(csv.reader([lines[index]]))
    row[column] = value(row[column])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    lines[index] = buffer.getvalue()
    path.write_text("".join(lines), encoding="utf-8")
    return row[column]


def _wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"waited {WAIT_SECONDS} s for {what}")


def _get(port: int, name: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{name}", timeout=30) as response:
        return response.read().decode("utf-8")


@pytest.mark.slow
def test_an_edit_rebuilds_the_brief_and_ctrl_c_leaves_nothing(tmp_path):
    raw, processed, reports = tmp_path / "raw", tmp_path / "processed", tmp_path / "reports"
    shutil.copytree(config.RAW_DIR, raw)
    port = _free_port()
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "MINERAL_ANALYSIS_LOG": "plain"}
    preview = subprocess.Popen(
        [
            *CLI,
            "preview",
            "--port",
            str(port),
            "--only",
            "agency:DOE",
            "--jobs",
            "1",
            "--raw-dir",
            str(raw),
            "--processed-dir",
            str(processed),
            "--reports-dir",
            str(reports),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(iter(preview.stderr.readline, "")), daemon=True).start()
    brief = reports / "agency-doe.html"
    try:
        _wait_for(lambda: any("preview: serving" in line for line in log), "the preview to serve")
        family = psutil.Process(preview.pid).children(recursive=True)
        assert family  # the scheduler's workers (and their kernel template)

        # Served pages reload by themselves; the file on disk is a build's.
        first = brief.read_bytes()
        served = _get(port, "agency-doe.html")
        assert "<script nonce=" in served and "/__preview__/wait" in served
        assert b"<script" not in first and b"__preview__" not in first
        assert "<script nonce=" in _get(port, "")  # the index too

        # One title edited (an amount must stay the source's words): the brief on disk changes, to the bytes of a
        # one-shot build of the edited data.
        _set_field(raw / config.RAW_FINANCING, "DOE-03", "title", lambda old: f"{old}, edited")
        second = _wait_for(lambda: brief.read_bytes() != first and brief.read_bytes(), "the brief to change")
        _wait_for(lambda: any("built 1, skipped 0" in line for line in log[-5:]), "the rebuild to finish")
        check = tmp_path / "check"
        for command in (
            ["data", "--raw-dir", str(raw), "--processed-dir", str(tmp_path / "check-processed")],
            [
                "build",
                "--only",
                "agency:DOE",
                "--processed-dir",
                str(tmp_path / "check-processed"),
                "--reports-dir",
                str(check),
                "--jobs",
                "1",
            ],
        ):
            done = subprocess.run([*CLI, *command], env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr
        assert (check / "agency-doe.html").read_bytes() == brief.read_bytes() == second
        assert (check / "agency-doe.pdf").read_bytes() == (reports / "agency-doe.pdf").read_bytes()

        # Invalid raw data: the error is on the page, the last good brief stays.
        _set_field(raw / config.RAW_FINANCING, "DOE-03", "amount_as_written", lambda old: "сколько-то денег")
        page = _wait_for(
            lambda: (text := _get(port, "agency-doe.html")) and "preview-error" in text and text, "the error banner"
        )
        assert "financing.csv" in page  # the report names the file, line, column and value
        assert brief.read_bytes() == second
    finally:
        preview.send_signal(signal.SIGINT)
        code = preview.wait(timeout=60)
    assert code == 0, "".join(log[-20:])
    assert any("preview stopped" in line for line in log)
    _, alive = psutil.wait_procs(family, timeout=15)
    assert not alive, alive
    assert not list(reports.rglob("*.tmp")) and not (reports / ".staging").exists()
