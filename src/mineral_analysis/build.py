"""Build briefs: execute each notebook with papermill, export it to HTML and PDF, and write the index.

Design (see docs/building.md):
- The unit of work is one brief: a notebook, its parameters and its outputs (``run_brief``). It depends on
  nothing but its inputs, so an external scheduler can run it as a task.
- A brief is rebuilt only when the content hash of its inputs changes: the notebook, its parameters, the
  processed tables, the library's source and templates, and the formats asked for.
- Briefs run in a pool of worker processes (one per core by default); each worker keeps papermill, nbconvert
  and WeasyPrint imported, and every brief gets a fresh kernel, so no state passes from one brief to the next.
- Outputs are written atomically; a failed brief keeps the previous good output, writes its executed notebook
  to ``reports/failed/`` for debugging, and makes the command exit non-zero without stopping the others.
- One build at a time: a lock file in ``reports/``; a second build waits (``--wait``) or refuses.
"""

from __future__ import annotations

import concurrent.futures as futures
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import re
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import __version__, config
from .atomic import remove_stale_temporaries, write_bytes_atomic, write_text_atomic
from .briefs import Brief

MANIFEST = ".build-manifest.json"
LOCK = ".build.lock"
FAILED_DIR = "failed"
KERNEL_NAME = "python3"
KERNEL_ENV = {"MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONWARNINGS": "ignore"}


class BuildLockedError(RuntimeError):
    """Another build holds the lock on the reports folder."""


@dataclass
class BriefOutcome:
    """What happened to one brief."""

    spec: str
    slug: str
    title: str
    kind: str
    key: str
    status: str  # built, skipped, failed
    seconds: float = 0.0
    error: str = ""
    outputs: list[str] = field(default_factory=list)
    built_at: str = ""


@dataclass
class BuildResult:
    """Every brief's outcome and the build's wall time."""

    outcomes: list[BriefOutcome]
    seconds: float

    @property
    def built(self) -> list[BriefOutcome]:
        return [o for o in self.outcomes if o.status == "built"]

    @property
    def skipped(self) -> list[BriefOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]

    @property
    def failed(self) -> list[BriefOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self) -> str:
        """A short report: counts, then every failure with its notebook, cell and error."""
        lines = [f"built {len(self.built)}, skipped {len(self.skipped)} (up to date), failed {len(self.failed)} "
                 f"of {len(self.outcomes)} briefs in {self.seconds:.1f} s"]
        for outcome in self.failed:
            lines.append(f"  FAILED {outcome.spec}: {outcome.error}")
        return "\n".join(lines)


# --- Input hashing -----------------------------------------------------------------------------------------------

def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def library_fingerprint() -> str:
    """Hash of the library's own source and templates: a code change rebuilds every brief."""
    files = [p for p in config.PACKAGE_DIR.rglob("*") if p.is_file() and p.suffix in {".py", ".j2", ".css", ".json", ".csv", ".html"}]
    return _hash_files(files)[:16]


def data_fingerprint(processed_dir: Path) -> str:
    """Hash of the processed tables the notebooks read (and the boundaries the maps draw)."""
    files = [processed_dir / "financing.parquet", processed_dir / "membership.parquet"]
    missing = [p.name for p in files if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} missing from {processed_dir.name}/; run `make data` first")
    boundaries = [config.BOUNDARIES_FILE] if config.BOUNDARIES_FILE.exists() else []
    return _hash_files(files + boundaries)[:16]


def brief_fingerprint(brief: Brief, data_hash: str, library_hash: str, formats: tuple[str, ...],
                      notebooks_dir: Path | None = None) -> str:
    """Content hash of everything a brief's output depends on."""
    digest = hashlib.sha256()
    digest.update((Path(notebooks_dir or config.NOTEBOOKS_DIR) / brief.notebook.name).read_bytes())
    digest.update(json.dumps(brief.parameters, sort_keys=True).encode())
    digest.update(f"{data_hash}|{library_hash}|{','.join(sorted(formats))}|{__version__}".encode())
    return digest.hexdigest()[:16]


# --- The worker's kernel -----------------------------------------------------------------------------------------
#
# Each worker keeps one warm kernel (the heavy imports done once) and resets it before every brief: the user
# namespace is wiped (%reset -f), matplotlib's settings and figures, the working folder and the environment are
# restored, and the execution counter restarts. After any failed brief the kernel is replaced, and it is
# recycled every RECYCLE_AFTER briefs. tests/test_build.py proves that no state passes between briefs.

RECYCLE_AFTER = 25
WARM_UP = """
import mineral_analysis, mineral_analysis.analysis, mineral_analysis.maps, mineral_analysis.narrative
import mineral_analysis.plots, mineral_analysis.countries, mineral_analysis.geo
mineral_analysis.geo.load_boundaries()
"""
RESET = """
get_ipython().run_line_magic("reset", "-f")
import os as _os, sys as _sys, matplotlib as _mpl, matplotlib.pyplot as _plt, warnings as _warnings, random as _random
_plt.close("all"); _mpl.rcdefaults(); _mpl.use("Agg")
_os.chdir({cwd!r}); _os.environ.clear(); _os.environ.update({env!r})
_warnings.resetwarnings(); _random.seed()
get_ipython().execution_count = 1
del _os, _sys, _mpl, _plt, _warnings, _random
"""


class _WorkerKernel:
    """The worker's warm kernel: started lazily, reset before each brief, replaced when it failed or aged."""

    def __init__(self) -> None:
        self.km = None
        self.kc = None
        self.uses = 0

    def _start(self, cwd: str) -> None:
        from jupyter_client.blocking import BlockingKernelClient
        from jupyter_client.manager import KernelManager

        # papermill's client talks to the kernel asynchronously; this worker's own set-up client blocks.
        self.km = KernelManager(kernel_name=KERNEL_NAME, client_class="jupyter_client.asynchronous.AsyncKernelClient")
        self.km.start_kernel(cwd=cwd, env={**os.environ, **KERNEL_ENV})
        self.kc = BlockingKernelClient()
        self.kc.load_connection_info(self.km.get_connection_info())
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.env = {**os.environ, **KERNEL_ENV}
        self._run(WARM_UP)
        self.uses = 0

    def _run(self, code: str, timeout: float = 120) -> None:
        reply = self.kc.execute_interactive(code, silent=True, store_history=False, timeout=timeout,
                                            output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel set-up failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")

    def ready(self, cwd: str):
        """Return the kernel manager, its kernel reset and ready for a new brief."""
        if self.km is None or not self.km.is_alive() or self.uses >= RECYCLE_AFTER:
            self.stop()
            self._start(cwd)
        self._run(RESET.format(cwd=cwd, env=self.env))
        self.uses += 1
        return self.km

    def stop(self) -> None:
        """Shut the kernel down (after a failure, when recycling, and when the worker exits)."""
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:  # noqa: BLE001 - best effort on a dying kernel
                pass
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001
                pass
        self.km = self.kc = None


_KERNEL: _WorkerKernel | None = None


def _worker_kernel() -> _WorkerKernel:
    global _KERNEL
    if _KERNEL is None:
        from multiprocessing import util

        _KERNEL = _WorkerKernel()
        # Worker processes leave through os._exit, which skips atexit: a Finalize runs there.
        util.Finalize(None, _KERNEL.stop, exitpriority=20)
    return _KERNEL


def _execute(notebook: Path, staged: Path, parameters: dict, timeout: float, shared_kernel: bool):
    """Run the notebook with papermill, in the worker's warm kernel or in a fresh one."""
    import papermill
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    common = dict(parameters=parameters, kernel_name=KERNEL_NAME, progress_bar=False, log_output=False,
                  request_save_on_cell_execute=False, cwd=str(notebook.parent), execution_timeout=timeout,
                  start_timeout=120)
    if not shared_kernel:
        return papermill.execute_notebook(str(notebook), str(staged), **common)
    kernel = _worker_kernel()
    km = kernel.ready(str(notebook.parent))

    class SharedKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            client = PapermillNotebookClient(nb_man, km=km, timeout=execution_timeout, startup_timeout=start_timeout,
                                             kernel_name=kernel_name, log_output=log_output,
                                             stdout_file=stdout_file, stderr_file=stderr_file)
            try:
                return client.execute(cleanup_kc=False)
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register("mineral-analysis-shared", SharedKernelEngine)
    try:
        return papermill.execute_notebook(str(notebook), str(staged), engine_name="mineral-analysis-shared", **common)
    except BaseException:
        kernel.stop()  # a failed brief never hands its kernel to the next one
        raise


# --- One brief (runs in a worker process) ------------------------------------------------------------------------

def _relative_paths(text: str) -> str:
    """Strip this machine's paths from text stored in an executed notebook."""
    replacements = [(str(config.PROJECT_ROOT) + os.sep, ""), (str(config.PROJECT_ROOT), "."),
                    (sys.prefix + os.sep, "<env>/"), (os.path.expanduser("~") + os.sep, "~/")]
    for old, new in replacements:
        if len(old) > 2:
            text = text.replace(old, new)
    return text


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _describe_failure(exc: BaseException, nb) -> str:
    """Name the cell and the error of a failed execution."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        source = " ".join(exc.source.strip().splitlines()[:1])[:80]
        return f"cell {exc.cell_index} (`{source}`): {exc.ename}: {_ANSI.sub('', str(exc.evalue))[:300]}"
    name = type(exc).__name__
    cell = ""
    if nb is not None:
        for index, cell_obj in enumerate(nb.cells):
            if cell_obj.get("cell_type") == "code" and cell_obj.get("execution_count") is None and cell_obj.source.strip():
                cell = f"cell {index}: "
                break
    return f"{cell}{name}: {_ANSI.sub('', str(exc))[:300]}"


def run_brief(brief_data: dict, *, formats: tuple[str, ...], reports_dir: str, processed_dir: str | None,
              timeout: float, data_version: str, fingerprint: str, notebooks_dir: str | None = None,
              shared_kernel: bool = True) -> dict:
    """Execute one brief and write its outputs; return a BriefOutcome as a dict. Never raises for a brief error.

    Success writes ``<slug>.ipynb`` (executed, paths stripped), ``<slug>.html`` and/or ``<slug>.pdf`` atomically
    and removes an old ``failed/<slug>.ipynb``; failure writes ``failed/<slug>.ipynb`` and leaves the previous
    outputs in place.
    """
    import nbformat

    brief = Brief(**brief_data)
    notebook = Path(notebooks_dir or config.NOTEBOOKS_DIR) / brief.notebook.name
    reports = Path(reports_dir)
    started = time.perf_counter()
    outcome = BriefOutcome(brief.spec, brief.slug, brief.title, brief.kind, brief.key, "built")
    staging = reports / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    staged = staging / f"{brief.slug}.{os.getpid()}.ipynb"
    parameters = dict(brief.parameters)
    if processed_dir:
        parameters["processed_dir"] = str(processed_dir)
    nb = None
    try:
        for key, value in KERNEL_ENV.items():
            os.environ.setdefault(key, value)
        try:
            nb = _execute(notebook, staged, parameters, timeout, shared_kernel)
        except BaseException as exc:  # noqa: BLE001 - every failure of one brief is reported, not raised
            if isinstance(exc, KeyboardInterrupt):
                raise
            failed_nb = nbformat.read(staged, as_version=4) if staged.exists() else nb
            outcome.status = "failed"
            outcome.error = f"notebook {notebook.name}: {_describe_failure(exc, failed_nb)}"
            if failed_nb is not None:
                text = _relative_paths(nbformat.writes(failed_nb))
                write_text_atomic(reports / FAILED_DIR / f"{brief.slug}.ipynb", text)
            return asdict(outcome) | {"seconds": time.perf_counter() - started}
        built_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        outcome.built_at = built_at
        nb.metadata["mineral_analysis"] = {
            "title": brief.title, "kind": brief.kind, "key": brief.key, "spec": brief.spec,
            "data_version": data_version, "built_at": built_at, "fingerprint": fingerprint,
            "library_version": __version__,
        }
        nb.metadata.get("papermill", {}).update({"input_path": f"notebooks/{notebook.name}",
                                                 "output_path": f"reports/{brief.slug}.ipynb"})
        outputs: dict[Path, bytes] = {}
        from .export import html_to_pdf, render_html

        html = render_html(nb)
        if "html" in formats:
            outputs[reports / f"{brief.slug}.html"] = html.encode("utf-8")
        if "pdf" in formats:
            outputs[reports / f"{brief.slug}.pdf"] = html_to_pdf(html)
        outputs[reports / f"{brief.slug}.ipynb"] = _relative_paths(nbformat.writes(nb)).encode("utf-8")
        for path, data in outputs.items():
            write_bytes_atomic(path, data)
        (reports / FAILED_DIR / f"{brief.slug}.ipynb").unlink(missing_ok=True)
        outcome.outputs = sorted(p.name for p in outputs)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - an export failure fails this brief only
        outcome.status = "failed"
        outcome.error = f"export of {brief.slug}: {type(exc).__name__}: {exc}"
    finally:
        staged.unlink(missing_ok=True)
    return asdict(outcome) | {"seconds": time.perf_counter() - started}


def _worker_init() -> None:
    """Workers leave Ctrl-C to the coordinator and turn SIGTERM into a clean stop (kernels shut down)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # Kernels inherit file descriptor 2; their start-up chatter (transport warnings) would flood the build's
    # log, so they write to /dev/null while this worker keeps its own stderr for real errors.
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(saved, "w", buffering=1)
    for key, value in KERNEL_ENV.items():
        os.environ.setdefault(key, value)
    # Import the heavy modules once per worker, not once per brief.
    import nbformat  # noqa: F401
    import papermill  # noqa: F401

    from . import export  # noqa: F401


# --- Manifest and index ------------------------------------------------------------------------------------------

def _read_manifest(reports: Path) -> dict:
    path = reports / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _write_manifest(reports: Path, manifest: dict) -> None:
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    path = reports / MANIFEST
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        write_text_atomic(path, text)


def _outputs_present(reports: Path, slug: str, formats: tuple[str, ...]) -> bool:
    return all((reports / f"{slug}.{ext}").exists() for ext in (*formats, "ipynb"))


def _write_index(reports: Path, manifest: dict, data_version: str) -> None:
    """Write ``index.html`` listing every brief; unchanged content is not rewritten (a no-op build writes nothing)."""
    from .export import write_index

    entries = []
    for slug, entry in manifest.get("briefs", {}).items():
        entries.append({
            "kind": entry["kind"], "key": entry["key"], "title": entry["title"],
            "html": f"{slug}.html" if (reports / f"{slug}.html").exists() else None,
            "pdf": f"{slug}.pdf" if (reports / f"{slug}.pdf").exists() else None,
            "status": entry.get("status", "built"),
        })
    order = {"overview": 0, "agency": 1, "country": 2, "mineral": 3}
    entries.sort(key=lambda e: (order.get(e["kind"], 9), e["title"]))
    built_times = [e.get("built_at", "") for e in manifest.get("briefs", {}).values() if e.get("built_at")]
    path = reports / "index.html"
    staged = reports / ".staging" / "index.html"
    write_index(entries, staged, data_version=data_version, built_at=max(built_times) if built_times else None)
    if path.exists() and path.read_bytes() == staged.read_bytes():
        staged.unlink()
    else:
        os.replace(staged, path)


# --- The build ---------------------------------------------------------------------------------------------------

def _brief_list(processed_dir: Path, data_hash: str, manifest: dict, only: list[str] | None) -> list[Brief]:
    """The briefs to consider; the full list is cached in the manifest per data hash so a no-op build stays fast."""
    cached = manifest.get("catalogue", {})
    if only is None and cached.get("data_hash") == data_hash and cached.get("library") == __version__:
        return [Brief(**b) for b in cached["briefs"]]
    from .briefs import select_briefs

    return select_briefs(only, processed_dir)


def build_briefs(*, only: list[str] | None = None, formats: tuple[str, ...] = ("html", "pdf"),
                 jobs: int | None = None, force: bool = False, processed_dir: Path | None = None,
                 reports_dir: Path | None = None, timeout: float = 300.0, progress: bool = True,
                 wait: bool = False, notebooks_dir: Path | None = None) -> BuildResult:
    """Build the chosen briefs (all by default) into ``reports_dir``; return every brief's outcome.

    Raises ParameterError for an unknown brief spec or format (before any kernel starts), BuildLockedError
    when another build runs and ``wait`` is False, FileNotFoundError when the processed data is missing.
    """
    from filelock import FileLock, Timeout

    from .errors import ParameterError

    started = time.perf_counter()
    bad = [f for f in formats if f not in ("html", "pdf")]
    if bad or not formats:
        raise ParameterError(f"unknown format(s) {', '.join(bad) or '(none given)'}; valid: html, pdf")
    processed = Path(processed_dir or config.PROCESSED_DIR).resolve()
    reports = Path(reports_dir or config.REPORTS_DIR).resolve()
    reports.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(reports / LOCK))
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        raise BuildLockedError(f"another build is running on {reports.name}/ (lock {LOCK}); "
                               "wait for it, or pass --wait to queue behind it") from None
    try:
        notebooks = Path(notebooks_dir or config.NOTEBOOKS_DIR).resolve()
        return _build_locked(only, formats, jobs, force, processed, reports, timeout, progress, started, notebooks)
    finally:
        lock.release()


def _build_locked(only, formats, jobs, force, processed, reports, timeout, progress, started,
                  notebooks) -> BuildResult:
    for folder in (reports, reports / FAILED_DIR, reports / ".staging"):
        remove_stale_temporaries(folder)
    for leftover in (reports / ".staging").glob("*.ipynb"):
        leftover.unlink(missing_ok=True)
    data_hash = data_fingerprint(processed)
    library_hash = library_fingerprint()
    manifest = _read_manifest(reports)
    briefs = _brief_list(processed, data_hash, manifest, only)
    data_version = _data_version(processed)
    todo: list[tuple[Brief, str]] = []
    outcomes: list[BriefOutcome] = []
    known = manifest.get("briefs", {})
    for brief in briefs:
        fingerprint = brief_fingerprint(brief, data_hash, library_hash, formats, notebooks)
        entry = known.get(brief.slug, {})
        if (not force and entry.get("fingerprint") == fingerprint and entry.get("status") == "built"
                and _outputs_present(reports, brief.slug, formats)):
            outcomes.append(BriefOutcome(brief.spec, brief.slug, brief.title, brief.kind, brief.key, "skipped"))
        else:
            todo.append((brief, fingerprint))
    if todo:
        outcomes += _run_pool(todo, formats, reports, processed, timeout, progress, data_version, jobs, notebooks)
    by_slug = {b.slug: b for b in briefs}
    briefs_manifest = dict(known)
    fingerprints = {b.slug: f for b, f in todo}
    for outcome in outcomes:
        brief = by_slug[outcome.slug]
        if outcome.status == "built":
            briefs_manifest[outcome.slug] = {"kind": brief.kind, "key": brief.key, "title": brief.title,
                                             "spec": brief.spec, "fingerprint": fingerprints[outcome.slug],
                                             "status": "built", "built_at": outcome.built_at}
        elif outcome.status == "failed":
            previous = briefs_manifest.get(outcome.slug, {"kind": brief.kind, "key": brief.key,
                                                          "title": brief.title, "spec": brief.spec})
            briefs_manifest[outcome.slug] = previous | {"status": "failed", "fingerprint": ""}
    if only is None:
        current = {b.slug for b in briefs}
        briefs_manifest = {slug: e for slug, e in briefs_manifest.items() if slug in current}
    catalogue = manifest.get("catalogue", {})
    if only is None:
        catalogue = {"data_hash": data_hash, "library": __version__,
                     "briefs": [{"kind": b.kind, "key": b.key, "title": b.title, "parameters": b.parameters}
                                for b in briefs]}
    new_manifest = {"catalogue": catalogue, "briefs": briefs_manifest}
    _write_manifest(reports, new_manifest)
    _write_index(reports, new_manifest, data_version)
    return BuildResult(outcomes, time.perf_counter() - started)


def _data_version(processed: Path) -> str:
    try:
        return json.loads((processed / "metadata.json").read_text(encoding="utf-8"))["data_version"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return "unknown"


def _run_pool(todo, formats, reports, processed, timeout, progress, data_version, jobs,
              notebooks) -> list[BriefOutcome]:
    from tqdm import tqdm

    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    context = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
    outcomes: list[BriefOutcome] = []
    bar = tqdm(total=len(todo), desc="briefs", unit="brief", disable=not progress, file=sys.stderr,
               dynamic_ncols=True)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM,)}

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # The overview and large briefs first, so the slowest work does not start last.
    ordered = sorted(todo, key=lambda item: (item[0].kind != "overview", item[0].kind == "country"))
    executor = futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init)
    try:
        pending = {
            executor.submit(run_brief, {"kind": b.kind, "key": b.key, "title": b.title, "parameters": b.parameters},
                            formats=formats, reports_dir=str(reports),
                            processed_dir=str(processed) if processed != config.PROCESSED_DIR.resolve() else None,
                            timeout=timeout, data_version=data_version, fingerprint=fingerprint,
                            notebooks_dir=str(notebooks)): b
            for b, fingerprint in ordered
        }
        for future in futures.as_completed(pending):
            brief = pending[future]
            try:
                outcome = BriefOutcome(**future.result())
            except futures.process.BrokenProcessPool as exc:
                outcome = BriefOutcome(brief.spec, brief.slug, brief.title, brief.kind, brief.key, "failed",
                                       error=f"worker process died: {exc}")
            outcomes.append(outcome)
            bar.set_postfix_str(brief.spec, refresh=False)
            bar.update()
            if not progress:
                print(f"{outcome.status:>7} {outcome.spec} ({outcome.seconds:.1f} s)", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        executor.shutdown(wait=False, cancel_futures=True)
        for process in list(getattr(executor, "_processes", {}).values()):
            process.terminate()
        for process in list(getattr(executor, "_processes", {}).values()):
            process.join(timeout=15)
        raise
    finally:
        bar.close()
        executor.shutdown(wait=True, cancel_futures=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return outcomes
