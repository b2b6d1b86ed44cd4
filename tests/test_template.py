"""The kernel template (``publish.template``): a forked kernel starts however the scheduler orders its processes.

Each kernel is forked twice; the middle process exits at once so that the kernel is re-parented to the worker.
The kernel used to learn the middle's pid by asking for its parent: when the middle was already gone by then
(about one kernel in a hundred with two busy workers), the kernel waited forever to be re-parented and the brief
lost 30 s to the fresh-kernel fallback. Here the kernel is made to start late on purpose.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

TEMPLATE = textwrap.dedent(
    """
    import os, sys, time, types
    from mineral_analysis.publish import template

    template.PRELOAD = ()  # nothing to import or warm: this test needs no kernel stack
    template._warm = lambda: None
    template_pid, real_fork = os.getpid(), os.fork

    def fork_with_a_late_kernel():
        pid = real_fork()
        if pid == 0 and os.getppid() != template_pid:  # the kernel (grandchild): descheduled for a while
            time.sleep(0.5)
        return pid

    def run_module(name, **kwargs):  # what ipykernel_launcher would be: say it started, and end
        with open(os.environ["STARTED"], "w") as marker:
            marker.write(str(os.getpid()))
        raise SystemExit(0)

    os.fork = fork_with_a_late_kernel
    sys.modules["runpy"] = types.SimpleNamespace(run_module=run_module)
    template.serve()
    """
)

WORKER = textwrap.dedent(
    """
    import ctypes, json, os, subprocess, sys, time

    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER, as a build worker is
    started = sys.argv[2]
    template = subprocess.Popen([sys.executable, sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    json.loads(template.stdout.readline())  # ready
    request = {"argv": ["python", "-m", "ipykernel_launcher"], "cwd": os.getcwd(), "env": {"STARTED": started}}
    template.stdin.write((json.dumps(request) + "\\n").encode())
    template.stdin.flush()
    kernel = json.loads(template.stdout.readline())["pid"]
    deadline = time.monotonic() + 10
    while not os.path.exists(started) and time.monotonic() < deadline:
        time.sleep(0.05)
    ran = os.path.exists(started)
    if not ran:
        os.kill(kernel, 9)
    os.waitpid(kernel, 0)
    template.stdin.close()
    template.wait(timeout=10)
    print(json.dumps({"kernel_started": ran, "started_pid": open(started).read() if ran else None, "pid": kernel}))
    """
)


@pytest.mark.slow
def test_a_kernel_that_starts_after_its_middle_process_exited_still_runs(tmp_path):
    (tmp_path / "template.py").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "worker.py").write_text(WORKER, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(tmp_path / "worker.py"), str(tmp_path / "template.py"), str(tmp_path / "started")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["kernel_started"], "the kernel never left its wait for re-parenting"
    assert report["started_pid"] == str(report["pid"])


WARM_CHECK = textwrap.dedent(
    """
    import json, os
    from matplotlib import font_manager
    from mineral_analysis import geo, map_layers
    from mineral_analysis import countries
    from mineral_analysis.publish import template

    template._preload()
    template._warm()
    filled = {
        "country names": countries._index,
        "boundaries": geo._read,
        "drawing paths": map_layers.base_layer,
        "fonts": font_manager._get_font,
    }
    print(json.dumps({
        "threads": len(os.listdir("/proc/self/task")),
        "empty": [name for name, cache in filled.items() if not cache.cache_info().currsize],
    }))
    """
)


@pytest.mark.slow
def test_the_template_fills_the_briefs_caches_and_stays_single_threaded(tmp_path):
    """What every brief would otherwise do first (about 0.6 s of it: the country-name index above all) is done
    once in the template; it still holds a single thread, so its kernels are forked, not started fresh."""
    from mineral_analysis.publish.kernels import KERNEL_ENV

    result = subprocess.run(
        [sys.executable, "-c", WARM_CHECK],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, **KERNEL_ENV},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["empty"] == [], f"caches the template left empty: {report['empty']}"
    assert report["threads"] == 1, f"the warm template holds {report['threads']} threads: it may not fork"


BROKEN_WARM = textwrap.dedent(
    """
    import json, os, subprocess, sys

    from mineral_analysis import style

    def unreadable_fonts():
        raise OSError("bundled font file unreadable")

    style.preload = unreadable_fonts  # a package file the template warms from cannot be read
    from mineral_analysis.publish import template

    template.PRELOAD = ()
    template.serve()
    """
)


@pytest.mark.slow
def test_a_template_that_cannot_warm_up_says_why_instead_of_ready(tmp_path):
    """A broken installation is not hidden behind caches left empty: the worker gets the error, and every brief
    it would have run fails naming it."""
    (tmp_path / "template.py").write_text(BROKEN_WARM, encoding="utf-8")
    worker = textwrap.dedent(
        f"""
        import json, subprocess, sys
        template = subprocess.Popen([sys.executable, {str(tmp_path / "template.py")!r}], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE)
        print(template.stdout.readline().decode().strip())
        template.stdin.close()
        print(template.wait(timeout=30))
        """
    )
    done = subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    answer, code = done.stdout.strip().splitlines()[-2:]
    assert json.loads(answer) == {
        "error": "the kernel template could not warm up: OSError: bundled font file unreadable"
    }
    assert code == "0"


def test_the_worker_raises_the_template_s_error_and_stops_it(monkeypatch):
    from mineral_analysis.publish import kernels

    class Answers:
        pid = 12345

        def __init__(self):
            self.stdout = self

        def readline(self):
            return b'{"error": "the kernel template could not warm up: OSError: gone"}\n'

    template = kernels.Template()
    stopped = []
    monkeypatch.setattr(kernels.subprocess, "Popen", lambda *a, **k: Answers())
    monkeypatch.setattr(template, "stop", lambda: stopped.append(True))
    with pytest.raises(RuntimeError, match="could not warm up: OSError: gone"):
        template.warm()
    assert stopped == [True, True]  # before starting, and after the error
