"""The pool of worker processes that runs briefs, and how it stops.

Workers are started with ``forkserver``; each runs one brief at a time, in a kernel of its own forked from its
template (``kernels``). A worker that dies breaks the pool: the unfinished briefs run again, one worker at a time
until the brief that killed it is named. A worker that answers nothing for ``timeout`` plus ``STALL_GRACE_SECONDS``
(stopped, hung outside its notebook) is killed the same way. SIGTERM makes a worker kill its kernels at once and
exit within ``WORKER_GRACE_SECONDS``; a worker whose build died (SIGKILL included) dies with it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent import futures

from .. import config
from . import kernels
from .brief import BriefOutcome, export_brief, run_brief
from .catalogue import Brief
from .signals import STOPPING, WRITING, signals_deferred

WORKER_STOP_SECONDS = 10.0  # after an interrupt, how long terminated workers get before they are killed
MAX_WORKER_DEATHS = 6  # worker processes that may die in one build before the remaining briefs are given up
STALL_GRACE_SECONDS = 30  # beyond a brief's own --timeout, how long a silent pool is given before it is killed
_BUSY = False  # this worker is inside a brief
WORKER_GRACE_SECONDS = 3.0  # after SIGTERM, how long a worker gets to clean up before it exits regardless


def _worker_run(brief_data: dict, export_only: bool = False, **kwargs) -> dict:
    """run_brief (or export_brief) in a pool worker: an interrupt (SIGTERM from the coordinator) ends the worker
    after clean-up."""
    global _BUSY
    _BUSY = True
    try:
        outcome = export_brief(brief_data, **kwargs) if export_only else run_brief(brief_data, **kwargs)
    except KeyboardInterrupt:
        _stop_kernels_and_exit()
    finally:
        _BUSY = False
    if STOPPING.is_set():  # the interrupt was swallowed somewhere inside the brief
        _stop_kernels_and_exit()
    kernels.sweep_children()  # whatever the brief left running (its kernel stopped already)
    return outcome


def _stop_kernels_and_exit() -> None:
    kernels.kill_children()
    with WRITING:
        os._exit(128 + signal.SIGTERM)


def _exit_after(seconds: float) -> None:
    """A watchdog: end this worker after ``seconds`` even if the interrupt got lost (never during renames)."""

    def hard_exit() -> None:
        with WRITING:
            os._exit(128 + signal.SIGTERM)

    timer = threading.Timer(seconds, hard_exit)
    timer.daemon = True
    timer.start()


def _watch_coordinator(coordinator: int) -> None:
    """End this worker (kernels and template first) as soon as the build's process is gone, even by SIGKILL.

    The fork server cannot tell: every worker keeps it alive (each holds its "alive" pipe). Linux: a pidfd
    becomes readable when the process ends; elsewhere the pid is polled.
    """

    def watch() -> None:
        try:
            import select

            fd = os.pidfd_open(coordinator)
            select.select([fd], [], [])
        except (AttributeError, OSError):
            while True:
                time.sleep(0.5)
                try:
                    os.kill(coordinator, 0)
                except ProcessLookupError:
                    break
        kernels.kill_children()
        os._exit(128 + signal.SIGKILL)

    threading.Thread(target=watch, name="mineral-analysis-watch-build", daemon=True).start()


def _worker_init(coordinator: int, started) -> None:
    """Workers say who they are (``started``: the pool's own record of its processes), leave Ctrl-C to the
    coordinator; SIGTERM kills their kernels at once, then ends them; they end with the build's process. An
    interrupt that lands while a worker is still starting ends it quietly (the coordinator reports the
    interrupt): no traceback from a half-done start-up reaches the build's log."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import psutil  # imported before the handler exists: a handler that imports it mid-import fails

    started.put((os.getpid(), psutil.Process().create_time()))

    def stop(signum, frame):
        first = not STOPPING.is_set()
        STOPPING.set()
        kernels.kill_children()
        if first:
            _exit_after(WORKER_GRACE_SECONDS)
        if _BUSY:
            raise KeyboardInterrupt  # run_brief removes its temporaries, then _worker_run exits
        _stop_kernels_and_exit()

    signal.signal(signal.SIGTERM, stop)
    try:
        _start_worker(coordinator)
    except BaseException:
        if STOPPING.is_set() or isinstance(sys.exc_info()[1], KeyboardInterrupt):
            _stop_kernels_and_exit()
        raise


def _start_worker(coordinator: int) -> None:
    """What a worker sets up once: the build watch, quiet kernels' stderr, the kernel template, heavy imports."""
    _watch_coordinator(coordinator)
    # Kernels inherit file descriptor 2; their start-up chatter (transport warnings) would flood the build's
    # log, so they write to /dev/null while this worker keeps its own stderr for real errors.
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(saved, "w", buffering=1)
    kernels.prepare_process(worker=True)
    # nbclient reports a dead or timed-out kernel through papermill's logger; the summary says it better.
    papermill_log = logging.getLogger("papermill")
    papermill_log.addHandler(logging.NullHandler())
    papermill_log.propagate = False
    # Import the heavy modules once per worker, not once per brief.
    import nbformat  # noqa: F401
    import papermill  # noqa: F401

    from . import export  # noqa: F401


class Workers:
    """The worker processes of one pool, as they report themselves when they start (``concurrent.futures`` has
    no public list of its processes)."""

    def __init__(self, context) -> None:
        self.started = context.SimpleQueue()
        self.known: dict[int, float] = {}  # pid -> start time (a pid reused by another process is not ours)

    def processes(self) -> list:
        import psutil

        while not self.started.empty():
            pid, created = self.started.get()
            self.known[pid] = created
        found = []
        for pid, created in self.known.items():
            with contextlib.suppress(psutil.NoSuchProcess):  # it has exited
                process = psutil.Process(pid)
                if process.create_time() == created:
                    found.append(process)
        return found

    def kill(self) -> None:
        """SIGKILL every worker (stopped ones too); their kernels die with them."""
        import psutil

        for process in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()

    def stop(self, executor: futures.ProcessPoolExecutor) -> None:
        """After an interrupt: terminate the workers (they kill their kernels first), kill the ones that linger."""
        import psutil

        with signals_deferred(redeliver=False):  # a second Ctrl-C must not cut the clean-up short
            processes = self.processes()
            executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.terminate()
            _, lingering = psutil.wait_procs(processes, timeout=WORKER_STOP_SECONDS)
            for process in lingering:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
            psutil.wait_procs(lingering, timeout=5)


def run_pool(
    todo,
    formats,
    reports,
    processed,
    timeout,
    progress,
    fingerprints,
    version,
    built_at,
    jobs,
    notebooks,
    done: list[BriefOutcome],
) -> None:
    """Run the briefs in worker processes; append each outcome to ``done`` as it arrives."""
    from tqdm import tqdm

    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    context = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
    bar = tqdm(total=len(todo), desc="briefs", unit="brief", disable=not progress, file=sys.stderr, dynamic_ncols=True)

    def arrived(outcome: BriefOutcome) -> None:
        done.append(outcome)
        bar.set_postfix_str(outcome.spec, refresh=False)
        bar.update()
        if not progress:
            print(outcome.log_line(), file=sys.stderr, flush=True)

    def died(brief: Brief, error: str) -> BriefOutcome:
        return BriefOutcome(brief.spec, brief.slug, brief.title, brief.kind, brief.key, "failed", error=error)

    # The overview and large briefs first, so the slowest work does not start last.
    queue = sorted(todo, key=lambda item: (item[0].kind != "overview", item[0].kind == "country"))
    deaths = 0
    isolate = False  # after a worker died: one worker at a time, so the brief that killed it can be named
    try:
        while queue:
            workers = 1 if isolate else min(jobs, len(queue))
            pool = Workers(context)
            executor = futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=_worker_init, initargs=(os.getpid(), pool.started)
            )
            broken: list[tuple[Brief, str]] = []
            stalled = False
            try:
                pending = {}
                for b, action in queue:
                    brief_data = {"kind": b.kind, "key": b.key, "title": b.title, "parameters": b.parameters}
                    if action == "export":
                        future = executor.submit(
                            _worker_run, brief_data, export_only=True, formats=formats, reports_dir=str(reports)
                        )
                    else:
                        future = executor.submit(
                            _worker_run,
                            brief_data,
                            formats=formats,
                            reports_dir=str(reports),
                            processed_dir=str(processed) if processed != config.PROCESSED_DIR.resolve() else None,
                            timeout=timeout,
                            data_version=version[b.slug],
                            fingerprint=fingerprints[b.slug],
                            notebooks_dir=str(notebooks),
                            built_at=built_at,
                        )
                    pending[future] = (b, action)
                remaining = set(pending)
                while remaining:
                    finished, remaining = futures.wait(
                        remaining, timeout=timeout + STALL_GRACE_SECONDS, return_when=futures.FIRST_COMPLETED
                    )
                    if not finished:
                        # No answer for longer than a brief may run: a worker is stopped or hung outside its
                        # notebook. Kill the pool; its briefs run again, one worker at a time.
                        pool.kill()
                        stalled = True
                    for future in finished:
                        try:
                            arrived(BriefOutcome(**future.result()))
                        except futures.process.BrokenProcessPool:
                            broken.append(pending[future])
            except KeyboardInterrupt:
                pool.stop(executor)
                raise
            finally:
                executor.shutdown(wait=True, cancel_futures=True)
            queue = [item for item in queue if item in broken]  # in submission order
            if not queue:
                break
            deaths += 1
            if workers == 1:
                # One worker runs its briefs in order: the first unfinished one was running when it died.
                culprit = queue.pop(0)[0]
                if stalled:
                    why = (
                        f"answered nothing for {timeout + STALL_GRACE_SECONDS} s (stopped or hung outside the "
                        "notebook) and was killed"
                    )
                else:
                    why = "died (killed, or out of memory); its kernel stopped with it"
                arrived(died(culprit, f"notebook {culprit.notebook.name}: the worker process building it {why}"))
            isolate = workers > 1
            if deaths >= MAX_WORKER_DEATHS and queue:
                for brief, _ in queue:
                    arrived(died(brief, f"not built: worker processes died {deaths} times in this build"))
                queue = []
    finally:
        bar.close()
