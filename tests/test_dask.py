"""Briefs on a Dask cluster (``build --scheduler``): the same bytes as a local build, failures that stay local, a
worker killed mid-brief, an unreachable scheduler.

The cluster is real: ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 (ports chosen by the system,
read back from a scheduler file), started once for the module and always torn down.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from mineral_analysis import config
from mineral_analysis.clean.pipeline import build_processed
from mineral_analysis.publish import dask_engine
from mineral_analysis.publish.build import build_briefs
from mineral_analysis.publish.record import verify

CLI = [sys.executable, "-m", "mineral_analysis.cli"]
DASK = str(Path(sys.executable).parent / "dask")
EPOCH = "1767225600"
WAIT_SECONDS = 180  # bound on every wait for the cluster or a brief


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("processed")
    build_processed(config.RAW_DIR, folder)
    return folder


def _stop(process: subprocess.Popen) -> None:
    """Terminate a process and everything below it (kill what lingers)."""
    try:
        family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for member in family:
        try:
            member.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(family, timeout=10)
    for member in alive:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and one worker process (one thread) on 127.0.0.1, started as docs/building.md says (the
    scheduler leaves retries to the build: allowed-failures 0); yields the scheduler's address."""
    folder = tmp_path_factory.mktemp("cluster")
    scheduler_file = folder / "scheduler.json"
    env = {
        **os.environ,
        "MINERAL_ANALYSIS_ROOT": str(config.PROJECT_ROOT),
        "SOURCE_DATE_EPOCH": EPOCH,
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(dask_engine.SCHEDULER_ALLOWED_FAILURES),
    }
    processes = []
    try:
        processes.append(
            subprocess.Popen(
                [
                    DASK,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + WAIT_SECONDS
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        processes.append(
            subprocess.Popen(
                [
                    DASK,
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                ],
                env=env,
                cwd=config.PROJECT_ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _faulty_notebooks(folder: Path, marks: Path) -> Path:
    """The notebooks with a cell after the parameters: EXIM raises; DFC records its worker and sleeps (to be
    killed)."""
    shutil.copytree(config.NOTEBOOKS_DIR, folder)
    path = folder / "agency.ipynb"
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])) + 1
    nb.cells.insert(
        index,
        nbformat.v4.new_code_cell(
            "import os, pathlib, time  # planted faults\n"
            "if agency == 'EXIM':\n"
            "    raise ValueError('planted failure')\n"
            "if agency == 'DFC':\n"
            f"    pathlib.Path({str(marks)!r}, str(os.getpid())).write_text(str(os.getppid()))\n"
            "    time.sleep(600)\n"
        ),
    )
    nbformat.write(nb, path)
    return folder


@pytest.mark.slow
def test_cluster_build_equals_a_local_build(tmp_path, processed, cluster):
    """Several briefs built on the cluster: every published byte (briefs, index, manifest, checksums) is a local
    build's; the command exits 0 and the folder verifies."""
    specs = ["agency:DOE", "agency:EXIM"]
    only = [arg for spec in specs for arg in ("--only", spec)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    common = ["build", "--processed-dir", str(processed), "--no-progress", *only]
    on_cluster = subprocess.run(
        [*CLI, *common, "--reports-dir", str(tmp_path / "dask"), "--scheduler", cluster],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert on_cluster.returncode == 0, on_cluster.stderr + on_cluster.stdout
    assert "built 2, skipped 0 (up to date), failed 0 of 2 briefs" in on_cluster.stdout
    local = subprocess.run(
        [*CLI, *common, "--reports-dir", str(tmp_path / "local"), "--jobs", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert local.returncode == 0, local.stderr
    published = sorted(
        p.name
        for p in (tmp_path / "local").iterdir()
        if not p.name.startswith(".") and (p.suffix in (".html", ".pdf", ".json") or p.name == "SHA256SUMS")
    )
    assert len(published) == 2 * 2 + 3  # html and pdf per brief, index.html, MANIFEST.json, SHA256SUMS
    for name in published:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert verify(tmp_path / "dask") == []
    assert not list((tmp_path / "dask").glob(".*.tmp")) and not (tmp_path / "dask" / ".staging").exists()
    again = subprocess.run(
        [*CLI, *common, "--reports-dir", str(tmp_path / "dask"), "--scheduler", cluster],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "built 0, skipped 2 (up to date)" in again.stdout  # the same manifest: an unchanged build is a no-op


@pytest.mark.slow
def test_a_failing_brief_and_a_killed_worker_fail_alone(tmp_path, processed, cluster, monkeypatch):
    """EXIM's cell raises: it fails alone with notebook, cell and error (not retried). DFC's worker is killed
    mid-brief: the build runs the brief again (the scheduler retries nothing), its worker is killed again, and it
    is reported failed. DOE is built."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    marks = tmp_path / "marks"
    marks.mkdir()
    notebooks = _faulty_notebooks(tmp_path / "notebooks", marks)
    reports = tmp_path / "reports"
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(killed) < 2 and time.monotonic() < deadline:
            for mark in marks.iterdir():
                worker = int(mark.read_text())
                mark.unlink()
                os.kill(worker, signal.SIGKILL)  # the worker process itself (its nanny starts a new one)
                killed.append(worker)
            time.sleep(0.2)

    import threading

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    result = build_briefs(
        only=["agency:DOE", "agency:EXIM", "agency:DFC"],
        processed_dir=processed,
        reports_dir=reports,
        notebooks_dir=notebooks,
        formats=("html",),
        progress=False,
        scheduler=cluster,
        timeout=300,
    )
    thread.join(timeout=WAIT_SECONDS)
    outcomes = {o.spec: o for o in result.outcomes}
    assert len(killed) == 2 and killed[0] != killed[1]
    assert outcomes["agency:DOE"].status == "built"
    assert (reports / "agency-doe.html").is_file() and not (reports / "agency-doe.pdf").exists()
    exim = outcomes["agency:EXIM"]
    assert exim.status == "failed"
    assert exim.error.startswith("notebook agency.ipynb, cell ") and "ValueError: planted failure" in exim.error
    assert "# planted faults" in exim.error
    assert (reports / "failed" / "agency-exim.ipynb").is_file() and not (reports / "agency-exim.html").exists()
    dfc = outcomes["agency:DFC"]
    assert dfc.status == "failed" and "the worker building it died twice" in dfc.error
    manifest = json.loads((reports / "MANIFEST.json").read_text())["briefs"]
    assert {slug: e["status"] for slug, e in manifest.items()} == {
        "agency-doe": "built",
        "agency-exim": "failed",
        "agency-dfc": "failed",
    }
    assert verify(reports) == []


@pytest.mark.slow
def test_an_unreachable_scheduler_is_a_clear_error_and_nothing_is_written(tmp_path, processed):
    reports = tmp_path / "reports"
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    result = subprocess.run(
        [
            *CLI,
            "build",
            "--processed-dir",
            str(processed),
            "--reports-dir",
            str(reports),
            "--only",
            "agency:DOE",
            "--scheduler",
            address,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(f"refused in {time.monotonic() - started:.1f} s")
    assert result.returncode == 1
    assert f"error: no Dask scheduler answers at {address}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not reports.exists()


def test_the_build_retries_a_brief_once_whatever_the_scheduler_allows():
    """A brief survives one worker death in all: the build resubmits it when the scheduler gives up at the first
    death, not when the scheduler retried once itself; a scheduler that retries more is named, with the fix."""
    assert dask_engine.BRIEF_RETRIES == 1
    assert dask_engine.resubmissions_after_death(0) == (1, "")
    assert dask_engine.resubmissions_after_death(1) == (0, "")
    resubmissions, note = dask_engine.resubmissions_after_death(3)  # Dask's default
    assert resubmissions == 0
    assert (
        "up to 3 more times when its worker dies" in note and "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0" in note
    )


def test_processed_payload_leaves_out_hidden_files(tmp_path):
    (tmp_path / "financing.parquet").write_bytes(b"a")
    (tmp_path / ".processed.lock").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    assert dask_engine.processed_payload(tmp_path) == {"financing.parquet": b"a"}
    folder = dask_engine._unpacked({"financing.parquet": b"a"})
    assert (folder / "financing.parquet").read_bytes() == b"a"
    assert dask_engine._unpacked({"financing.parquet": b"a"}) == folder  # unpacked once per content


def test_data_slices_equal_hashing_each_briefs_own_records(processed):
    """The row hashes computed once give every brief the slice hash of its own records, hashed on their own."""
    import hashlib

    import pandas as pd

    from mineral_analysis.briefing import Tables
    from mineral_analysis.publish.catalogue import all_briefs, data_slices

    tables = Tables.load(processed)
    briefs = all_briefs(tables=tables)
    expected = {}
    for brief in briefs:
        data = tables.brief(brief.kind, brief.key)
        digest = hashlib.sha256(brief.kind.encode() + b"\0" + brief.key.encode() + b"\0")
        for frame in (data.financing, data.membership):
            digest.update(",".join(map(str, frame.columns)).encode())
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        expected[brief.slug] = digest.hexdigest()[:12]
    assert data_slices(briefs, tables=tables) == expected
    assert data_slices(briefs, tables=Tables.load(processed)) == expected  # without the catalogue's grouping


def test_the_preview_s_setting_starts_a_scheduler_that_leaves_retries_to_the_build():
    """The preview starts its in-process scheduler under the documented ``allowed-failures`` setting (no private
    keyword): the scheduler reads it when it starts, so a brief is given up at its worker's first death."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": dask_engine.SCHEDULER_ALLOWED_FAILURES}):
        cluster = LocalCluster(n_workers=0, processes=False, dashboard_address=None, scheduler_port=0)
    try:
        assert cluster.scheduler.allowed_failures == dask_engine.SCHEDULER_ALLOWED_FAILURES == 0
    finally:
        cluster.close()
