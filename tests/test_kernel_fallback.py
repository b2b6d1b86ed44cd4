"""The fresh-kernel fallback (``publish.execute`` with ``publish.kernels``): a brief whose forked kernel does not
answer or dies before its first answer, or that runs where kernels cannot be forked, still runs, in a fresh kernel, and says so.

Each case runs in a child process of its own, as a build worker does (a child subreaper that forks kernels from
its template), so that nothing here changes the test process. The forked kernel that does not answer is a real
child process that never speaks ZMQ: the fallback has to notice, kill it and start a fresh kernel.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import nbformat
import pytest

WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path

    import psutil

    from mineral_analysis.publish import execute, kernels

    mode, notebook, executed = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    kernels.prepare_process(worker=True)  # a build worker: kernels are forked from its template
    silent = []

    def fork_a_kernel_that_never_answers(argv, cwd, env):
        pid = os.fork()
        if pid == 0:  # what the template would hand back, but this "kernel" never opens its ports
            os.setsid()
            time.sleep(600)
            os._exit(0)
        silent.append(pid)
        return pid

    def fork_a_kernel_that_dies_at_once(argv, cwd, env):
        pid = os.fork()
        if pid == 0:
            os._exit(1)
        silent.append(pid)
        return pid

    if mode == "silent-fork":
        kernels.TEMPLATE.fork = fork_a_kernel_that_never_answers
        execute.FORKED_START_TIMEOUT = 5.0
    if mode == "dying-fork":
        kernels.TEMPLATE.fork = fork_a_kernel_that_dies_at_once
    if mode == "failing-fork":  # the real template, asked for a kernel in a folder that is gone
        real_fork = kernels.TEMPLATE.fork
        gone = Path(os.getcwd()) / "gone"

        def fork_into_a_missing_folder(argv, cwd, env):
            pid = real_fork(argv, str(gone), env)
            silent.append(pid)
            return pid

        kernels.TEMPLATE.fork = fork_into_a_missing_folder
    state = {}
    execute.execute(notebook, executed, {"value": 21}, 120, state)
    alive = [p for p in silent if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    print(json.dumps({"fork_available": kernels.fork_available(), "silent": silent, "alive": alive,
                      "kernel": state.get("kernel_note")}))
    kernels.TEMPLATE.stop()
    """
)


def _notebook(path):
    parameters = nbformat.v4.new_code_cell("value = 0")
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(
        cells=[parameters, nbformat.v4.new_code_cell("print(value * 2)")],
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
    )
    nbformat.write(notebook, path)
    return path


def _run_worker(tmp_path, mode: str, env: dict | None = None) -> tuple[dict, str]:
    import os

    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    notebook, executed = _notebook(tmp_path / "brief.ipynb"), tmp_path / "executed.ipynb"
    result = subprocess.run(
        [sys.executable, str(script), mode, str(notebook), str(executed)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        cwd=tmp_path,
    )
    # the start of the log says which run failed (the forked or the fresh one), the end why
    assert result.returncode == 0, f"{result.stderr[:2000]}\n[...]\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    outputs = nbformat.read(executed, as_version=4).cells[-1].outputs
    return report, "".join(o.get("text", "") for o in outputs)


@pytest.mark.slow
def test_a_forked_kernel_that_does_not_answer_is_replaced_by_a_fresh_one(tmp_path):
    report, printed = _run_worker(tmp_path, "silent-fork")
    assert report["fork_available"] and len(report["silent"]) == 1  # a fork was tried, and it stayed silent
    assert report["kernel"] == "fresh (the forked kernel did not answer in 5 s)"
    assert printed.strip() == "42"  # the brief ran, with its parameters, in the fresh kernel
    assert report["alive"] == []  # the silent kernel was killed, not left behind


@pytest.mark.slow
def test_a_forked_kernel_that_dies_before_answering_is_replaced_by_a_fresh_one(tmp_path):
    report, printed = _run_worker(tmp_path, "dying-fork")
    assert report["fork_available"] and len(report["silent"]) == 1
    assert report["kernel"] == "fresh (the forked kernel died before answering)"
    assert printed.strip() == "42"


@pytest.mark.slow
def test_a_forked_kernel_that_fails_to_start_says_why_in_the_brief_s_log_line(tmp_path):
    report, printed = _run_worker(tmp_path, "failing-fork")
    assert report["fork_available"] and len(report["silent"]) == 1
    note = report["kernel"]
    assert note.startswith("fresh (the forked kernel died before answering: exit code 1; FileNotFoundError: "), note
    assert str(tmp_path / "gone") in note and "template.py:" in note
    assert printed.strip() == "42"


@pytest.mark.slow
def test_where_kernels_cannot_be_forked_a_fresh_kernel_runs_the_brief(tmp_path):
    report, printed = _run_worker(tmp_path, "no-fork", env={"MINERAL_ANALYSIS_KERNELS": "fresh"})
    assert not report["fork_available"]
    assert report["kernel"] == "fresh"
    assert printed.strip() == "42"


def test_the_build_log_says_when_a_brief_ran_in_a_fresh_kernel_and_why():
    from mineral_analysis.publish.brief import BriefOutcome

    outcome = BriefOutcome("country:BOL", "country-bol", "Bolivia", "country", "BOL", "built", seconds=13.04)
    assert outcome.log_line() == "  built country:BOL (13.0 s)"
    outcome.kernel = "forked"
    assert outcome.log_line() == "  built country:BOL (13.0 s)"
    outcome.kernel = "fresh (the forked kernel did not answer in 30 s)"
    assert outcome.log_line() == (
        "  built country:BOL (13.0 s, in a fresh kernel: the forked kernel did not answer in 30 s)"
    )


def test_briefs_talk_to_their_kernels_with_the_build_client():
    # AsyncKernelManager fixes its client class in client_factory; overriding client_class alone changed nothing
    from jupyter_client.asynchronous.client import AsyncKernelClient

    from mineral_analysis.publish import kernels

    manager = kernels.BuildKernelManager()
    assert manager.client_factory is kernels.BuildKernelClient
    assert isinstance(manager.client(), kernels.BuildKernelClient)
    assert issubclass(kernels.BuildKernelClient, AsyncKernelClient)


def test_a_missing_provisioner_entry_point_is_a_clear_error(monkeypatch):
    """jupyter_client finds the fork provisioner through the package's entry points only: a bare source checkout
    on PYTHONPATH has none, and is told to install the package instead of failing inside jupyter_client."""
    import importlib.metadata

    from mineral_analysis.publish import kernels

    kernels.check_provisioner_installed()  # installed here
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **selection: [])
    with pytest.raises(RuntimeError, match="'mineral-analysis-fork' is not installed .* install the package"):
        kernels.check_provisioner_installed()
