"""Briefs on a Dask cluster: ``mineral-analysis build --scheduler tcp://HOST:PORT`` (and the preview's warm pool).

The build plans, locks and records exactly as a local build (``publish.build``); only the pool is replaced. Each
brief is one Dask task (``brief_task``) that assumes no shared filesystem:

* the processed tables travel with each task (a few tens of kilobytes; unpacked once per worker and content);
* the worker runs the stock per-brief function (``brief.run_brief``) into a scratch folder of its own, with the
  notebooks of its own checkout (refused when they differ from the client's: same environment everywhere);
* the task returns the brief's files as bytes; the client puts them in place with the same atomic replacement,
  manifest and checksums as a local build, so the published bytes equal a local build's.

A brief's own error fails it alone (notebook, cell, error): it is an outcome, never retried. The retry policy
is the build's, per brief (``BRIEF_RETRIES``): a brief whose worker dies mid-brief (killed, out of memory) is run
once more, and so is a task that raised (an error of this engine, not of the brief: each task is submitted with
``retries=BRIEF_RETRIES``); a second failure fails the brief. Dask counts worker deaths per task only on the
scheduler (``distributed.scheduler.allowed-failures``, default 3, for every task of every client), so the build
leaves that setting alone and does the retry itself: the scheduler it connects to should be started with
``allowed-failures`` 0 (``SCHEDULER_ALLOWED_FAILURES``; docs/building.md), as the preview's own cluster is.
With 1 the scheduler makes the one retry and the build none; with more, a brief whose worker dies runs as often
as the scheduler allows, and the build says so.
An unreachable scheduler, or one without workers, is ``SchedulerUnreachable`` within ``CONNECT_SECONDS``, raised
before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import threading
import uuid
from pathlib import Path

from .. import config

# Light at import (the command line imports SchedulerUnreachable for every build, and a no-op build must not
# load pandas): the publishing modules are imported where they are used.

CONNECT_SECONDS = (
    8  # how long the client tries to reach the scheduler and find a worker (the whole refusal stays under 30 s)
)
BRIEF_RETRIES = 1  # a brief whose worker died, or whose task raised, runs once more; then it is reported failed
SCHEDULER_ALLOWED_FAILURES = 0  # the scheduler setting under which the build alone decides retries (see above)
_TASK_LOCK = threading.Lock()  # one brief at a time per worker process (the kernel template belongs to it)
_DATA_CACHE: dict[str, Path] = {}  # processed tables unpacked on this worker, by content hash


class SchedulerUnreachable(RuntimeError):
    """The Dask scheduler could not be reached, or has no worker."""


def connect(address: str, timeout: float | None = None):
    """A ``distributed.Client`` on ``address`` with at least one worker; SchedulerUnreachable within ``timeout``
    seconds (default ``CONNECT_SECONDS``)."""
    from distributed import Client

    timeout = CONNECT_SECONDS if timeout is None else timeout

    try:
        client = Client(address, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerUnreachable(
            f"no Dask scheduler answers at {address} (tried for {timeout:g} s: {exc}); "
            "start one with `dask scheduler` and its workers with `dask worker "
            f"{address} --nthreads 1`"
        ) from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise SchedulerUnreachable(
            f"the Dask scheduler at {address} has no worker (waited {timeout:g} s: "
            f"{type(exc).__name__}); start one with `dask worker {address} --nthreads 1`"
        ) from None
    return client


def resubmissions_after_death(scheduler_retries: int) -> tuple[int, str]:
    """How often the build submits a brief again after the scheduler gave up on it (``KilledWorker``, after
    ``scheduler_retries + 1`` worker deaths), so that a brief survives ``BRIEF_RETRIES`` deaths in all; and a
    note for the user when the scheduler alone retries more than that ("" otherwise)."""
    deaths_per_give_up = scheduler_retries + 1
    resubmissions = max(0, BRIEF_RETRIES + 1 - deaths_per_give_up) // deaths_per_give_up
    note = ""
    if scheduler_retries > BRIEF_RETRIES:
        note = (
            f"note: this Dask scheduler runs a task up to {scheduler_retries} more times when its worker dies "
            f"(distributed.scheduler.allowed-failures), the build's policy {BRIEF_RETRIES}: start the scheduler with "
            f"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES={SCHEDULER_ALLOWED_FAILURES} (docs/building.md)"
        )
    return resubmissions, note


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


# --- On the worker -----------------------------------------------------------------------------------------------


def processed_payload(processed: Path) -> dict[str, bytes]:
    """The processed folder's files (name -> bytes), as a task carries them; hidden files left out."""
    return {
        p.name: p.read_bytes() for p in sorted(Path(processed).iterdir()) if p.is_file() and not p.name.startswith(".")
    }


def _payload_hash(payload: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name, data in sorted(payload.items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def _unpacked(payload: dict[str, bytes]) -> Path:
    """The payload as a processed folder on this worker (written once per content, removed at exit)."""
    key = _payload_hash(payload)
    folder = _DATA_CACHE.get(key)
    if folder is None or not folder.is_dir():
        folder = Path(tempfile.mkdtemp(prefix=f"mineral-analysis-data-{key}-"))
        import atexit

        atexit.register(shutil.rmtree, folder, True)
        for name, data in payload.items():
            (folder / name).write_bytes(data)
        _DATA_CACHE[key] = folder
    return folder


def warm_worker() -> int:
    """Prepare this worker process for briefs (kernel environment, heavy imports, the kernel template); its pid."""
    from . import kernels

    kernels.prepare_process(worker=True)
    import nbformat  # noqa: F401
    import papermill  # noqa: F401

    from . import export  # noqa: F401

    with _TASK_LOCK:
        if kernels.fork_available():
            try:
                kernels.TEMPLATE.warm()
            except (OSError, RuntimeError, ValueError) as exc:  # the first brief tries again and fails, named
                print(f"worker {os.getpid()}: the kernel template did not start: {exc}", file=sys.stderr, flush=True)
    return os.getpid()


def brief_task(
    brief_data: dict,
    payload: dict[str, bytes],
    *,
    notebook_sha256: str,
    formats: tuple[str, ...],
    timeout: int,
    data_version: str,
    fingerprint: str,
    built_at: str,
    notebooks_dir: str | None = None,
) -> dict:
    """Run one brief on this worker (``run_brief`` into a scratch folder); return its outcome and its files.

    ``{"outcome": BriefOutcome as a dict, "files": {"<slug>.html": bytes, ..., "failed/<slug>.ipynb": bytes}}``.
    Never raises for a brief's own error. Refuses (a failed outcome) when this worker's notebook is not the one
    the client fingerprinted.
    """
    from . import kernels
    from .brief import FAILED_DIR, BriefOutcome, run_brief
    from .catalogue import Brief

    brief = Brief(**brief_data)
    notebook = Path(notebooks_dir or config.NOTEBOOKS_DIR) / brief.notebook.name
    try:
        mine = hashlib.sha256(notebook.read_bytes()).hexdigest()
    except OSError as exc:
        mine = f"unreadable ({exc.strerror or exc})"
    if mine != notebook_sha256:
        outcome = BriefOutcome(
            brief.spec,
            brief.slug,
            brief.title,
            brief.kind,
            brief.key,
            "failed",
            error=f"notebook {notebook.name} on worker {os.uname().nodename} is not the client's "
            f"({mine[:12]} vs {notebook_sha256[:12]}): every machine needs the same "
            "checkout and environment",
        )
        from dataclasses import asdict

        return {"outcome": asdict(outcome), "files": {}}
    with _TASK_LOCK:
        kernels.prepare_process(worker=True)
        processed = _unpacked(payload)
        scratch = Path(tempfile.mkdtemp(prefix=f"mineral-analysis-brief-{brief.slug}-"))
        try:
            outcome = run_brief(
                brief_data,
                formats=formats,
                reports_dir=str(scratch),
                processed_dir=str(processed),
                timeout=timeout,
                data_version=data_version,
                fingerprint=fingerprint,
                notebooks_dir=notebooks_dir,
                built_at=built_at,
            )
            files = {}
            for path in [*scratch.glob(f"{brief.slug}.*"), *(scratch / FAILED_DIR).glob(f"{brief.slug}.ipynb")]:
                files[str(path.relative_to(scratch))] = path.read_bytes()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            kernels.sweep_children()
    return {"outcome": outcome, "files": files}


# --- On the client -----------------------------------------------------------------------------------------------


def _put_in_place(reports: Path, formats: tuple[str, ...], result: dict):
    """Write a task's files into ``reports`` as ``run_brief`` does locally; return the brief's BriefOutcome."""
    from ..atomic import write_bytes_atomic
    from .brief import FAILED_DIR, BriefOutcome, output_path, replace_outputs
    from .signals import signals_deferred

    outcome = BriefOutcome(**result["outcome"])
    files: dict[str, bytes] = result["files"]
    failed_path = output_path(reports / FAILED_DIR, f"{outcome.slug}.ipynb")
    if outcome.status == "failed":
        kept = files.get(f"{FAILED_DIR}/{outcome.slug}.ipynb")
        if kept is not None:
            with signals_deferred():
                write_bytes_atomic(failed_path, kept)
        return outcome
    outputs: dict[Path, bytes | None] = {}
    for ext in ("html", "pdf", "ipynb"):
        name = f"{outcome.slug}.{ext}"
        if ext == "ipynb" or ext in formats:
            if name not in files:
                outcome.status, outcome.error = "failed", f"the worker returned no {name}"
                return outcome
            outputs[output_path(reports, name)] = files[name]
        else:
            outputs[output_path(reports, name)] = None  # a format not asked for: dropped, as locally
    error = replace_outputs(outputs, failed_path, outcome)
    if error:
        outcome.status, outcome.error = "failed", error
    return outcome


def run_cluster(
    client, todo, formats, reports, processed, timeout, progress, fingerprints, version, built_at, notebooks, done: list
) -> None:
    """``pool.run_pool`` on a Dask cluster: append each brief's outcome (BriefOutcome) to ``done`` as it arrives."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker
    from tqdm import tqdm

    from .brief import BriefOutcome, export_brief

    bar = tqdm(total=len(todo), desc="briefs", unit="brief", disable=not progress, file=sys.stderr, dynamic_ncols=True)

    def arrived(outcome) -> None:
        done.append(outcome)
        bar.set_postfix_str(outcome.spec, refresh=False)
        bar.update()
        if not progress:
            print(outcome.log_line(), file=sys.stderr, flush=True)

    # Exporting a current executed notebook needs no kernel and reads the client's reports folder: done here.
    for brief, action in todo:
        if action == "export":
            arrived(BriefOutcome(**export_brief(_brief_data(brief), formats=formats, reports_dir=str(reports))))
    jobs = [brief for brief, action in todo if action != "export"]
    if not jobs:
        bar.close()
        return
    custom_notebooks = None if Path(notebooks).resolve() == config.NOTEBOOKS_DIR.resolve() else str(notebooks)
    # The tables go with every task (not scattered once: data held by a worker is lost with it, and every
    # brief depending on it would fail with the one worker that died).
    payload = processed_payload(processed)
    # The overview and large briefs first, so the slowest work does not start last.
    jobs.sort(key=lambda b: (b.kind != "overview", b.kind == "country"))
    noted = False
    run = uuid.uuid4().hex[:8]
    futures = {}
    priorities = {brief.slug: priority for priority, brief in enumerate(reversed(jobs))}

    def submit(brief, attempt: int):
        notebook = Path(notebooks) / brief.notebook.name
        future = client.submit(
            brief_task,
            _brief_data(brief),
            payload,
            notebook_sha256=hashlib.sha256(notebook.read_bytes()).hexdigest(),
            formats=formats,
            timeout=timeout,
            data_version=version[brief.slug],
            fingerprint=fingerprints[brief.slug],
            built_at=built_at,
            notebooks_dir=custom_notebooks,
            key=f"brief-{brief.slug}-{run}-{attempt}",
            pure=False,
            priority=priorities[brief.slug],
            retries=BRIEF_RETRIES,  # an error the task raises (the engine's; a brief's own error is an outcome)
        )
        futures[future] = (brief, attempt)
        return future

    for brief in reversed(jobs):
        submit(brief, 0)
    try:
        arriving = as_completed(list(futures), loop=client.loop)
        for future in arriving:
            brief, attempt = futures[future]
            try:
                result = future.result()
            except KilledWorker as exc:
                # The scheduler's own retries (allowed-failures) come with its verdict
                resubmissions, note = resubmissions_after_death(exc.allowed_failures)
                if note and not noted:
                    print(note, file=sys.stderr, flush=True)
                    noted = True
                if attempt < resubmissions:
                    arriving.add(submit(brief, attempt + 1))
                    continue
                deaths = (attempt + 1) * (exc.allowed_failures + 1)
                arrived(
                    _failed(
                        brief,
                        f"notebook {brief.notebook.name}: the worker building it died {_times(deaths)} (killed, "
                        f"or out of memory; the brief was run {_times(deaths)}, on a new worker after each death)",
                    )
                )
                continue
            except Exception as exc:
                arrived(
                    _failed(
                        brief,
                        f"notebook {brief.notebook.name}: the Dask task failed {_times(BRIEF_RETRIES + 1)}: "
                        f"{type(exc).__name__}: {exc}",
                    )
                )
                continue
            arrived(_put_in_place(reports, formats, result))
    except KeyboardInterrupt:
        client.cancel(list(futures), force=True)
        raise
    finally:
        bar.close()


def _brief_data(brief) -> dict:
    return {"kind": brief.kind, "key": brief.key, "title": brief.title, "parameters": brief.parameters}


def _failed(brief, error: str):
    from .brief import BriefOutcome

    return BriefOutcome(brief.spec, brief.slug, brief.title, brief.kind, brief.key, "failed", error=error)
