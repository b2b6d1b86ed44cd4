"""The warm template a build worker forks its kernels from (run as ``python -m mineral_analysis.publish.template``).

It imports what a brief's kernel needs (ipykernel, IPython, the project's notebook modules, matplotlib, pandas,
geopandas) and fills the caches every brief fills first from the package's own files (``_warm``), then serves
requests, one JSON line each on stdin: ``{"argv": [...], "cwd": ..., "env": {...}}``,
answering ``{"pid": N}`` on stdout (a kernel that raises writes why to the request's ``errors`` file, which
its worker reads). Each kernel is forked twice (the middle process exits at once), so it is
re-parented to the worker, which is a child subreaper: the worker, not the template, waits for it, signals it
and sees its exit code. In the kernel, before ipykernel starts: a new session (its own process group), death
with the worker (``PR_SET_PDEATHSIG``), the request's folder, environment and arguments, default signal
handlers, fresh random seeds. The template itself never starts a thread or reads a project's data, so nothing a
brief does can reach another brief: every kernel starts from the same interpreter, in the same state.

Ends when its stdin closes (the worker exited) or its parent dies.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "IPython.core.interactiveshell",
    "IPython.display",
    "matplotlib_inline.backend_inline",
    "jupyter_client.session",
    "zmq",
    "tornado.ioloop",
    "mineral_analysis",
    "mineral_analysis.analysis",
    "mineral_analysis.maps",
    "mineral_analysis.briefing",
    "mineral_analysis.narrative",
    "mineral_analysis.display",
    "mineral_analysis.brief_tables",
    "mineral_analysis.alt_text",
    "mineral_analysis.citing",
    "mineral_analysis.changes",
    "mineral_analysis.plots",
    "mineral_analysis.countries",
    "mineral_analysis.geo",
    "mineral_analysis.data",
    "matplotlib.pyplot",
    "seaborn",
    "geopandas",
    "shapely",
    "PIL.Image",
    "pyarrow.parquet",
)


def die_with_parent(libc=None) -> None:
    """Ask Linux to SIGKILL this process when its parent dies."""
    libc = libc or ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def _preload() -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _warm() -> None:
    """Fill the caches every brief fills first, from the package's own files (never a project's data): the
    country-name index, the boundaries' drawing paths, matplotlib's fonts. Nothing here starts a thread. These
    files ship with the package: one that cannot be read is a broken installation, and the template says so."""
    from mineral_analysis import countries, map_layers, style

    for preload in (countries.preload, map_layers.preload, style.preload):
        preload()


def _become_kernel(request: dict, worker: int, middle: int, base_path: list[str]) -> None:
    """In the forked grandchild: wait to be re-parented to the worker, then run ipykernel as ``argv`` asks."""
    code = 1
    try:
        os.setsid()
        while os.getppid() == middle:  # the middle process exits at once
            time.sleep(0.0005)
        die_with_parent()
        if os.getppid() != worker:  # the worker died meanwhile
            os._exit(1)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE, signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        sys.path[:] = [request["cwd"], *base_path]
        if "mineral_analysis.config" in sys.modules:  # imported in the template's folder: find the project again
            config = sys.modules["mineral_analysis.config"]
            config.use_project(config.find_project_root())
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()  # as a fresh interpreter would (random reseeds itself on fork)
        sys.argv = ["ipykernel_launcher", *request["argv"][3:]]
        import runpy

        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # reported to the worker, which names it in the brief's log line
        _report_failure(request, exc)
    finally:
        try:
            from mineral_analysis.dependency_internals import run_exit_handlers

            run_exit_handlers()
        finally:
            os._exit(code)


def _report_failure(request: dict, exc: BaseException) -> None:
    """Write why this kernel failed where its worker reads it (``request["errors"]``)."""
    import traceback

    where = traceback.extract_tb(exc.__traceback__)[-1:] or [None]
    place = f" ({where[0].filename}:{where[0].lineno})" if where[0] is not None else ""
    if request.get("errors"):
        with open(request["errors"], "w", encoding="utf-8") as file:
            file.write(f"{type(exc).__name__}: {exc}{place}")


def serve() -> None:
    """Preload, say ready, then fork a kernel per request until stdin closes."""
    worker = os.getppid()
    die_with_parent()
    if os.getppid() != worker:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker handles interrupts
    base_path = sys.path[1:]  # a fresh interpreter's path, without the folder this one started in
    out = os.fdopen(os.dup(1), "w", buffering=1)
    _preload()
    try:
        _warm()
    except Exception as exc:  # answered to the worker instead of "ready": every brief of it names the error
        out.write(json.dumps({"error": f"the kernel template could not warm up: {type(exc).__name__}: {exc}"}) + "\n")
        return
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1
    out.write(json.dumps({"ready": os.getpid(), "threads": threads}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        middle = os.fork()
        if middle == 0:
            middle = os.getpid()  # taken before the second fork: the middle may be gone before the kernel asks
            kernel = os.fork()
            if kernel == 0:
                out.close()
                _become_kernel(request, worker, middle, base_path)
            out.write(json.dumps({"pid": kernel}) + "\n")
            out.flush()
            os._exit(0)
        os.waitpid(middle, 0)


if __name__ == "__main__":
    serve()
