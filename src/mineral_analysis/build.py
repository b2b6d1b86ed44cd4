"""Build briefs: execute each notebook with papermill, export it to HTML and PDF, and write the index.

Design (see docs/building.md):

- The unit of work is one brief: a notebook, its parameters and its outputs (``run_brief``). It depends on
  nothing but its inputs, so an external scheduler can run it as a task.
- A brief is rebuilt only when the content hash of its inputs changes: the notebook, its parameters, its data
  slice (``briefs.data_slices``: only the records it draws on, so editing one record rebuilds only the briefs
  that show it), the boundaries, the library's source and templates, and the formats asked for. The slice hash
  is also the data version the brief prints, so an incremental build and a full build give the same briefs.
- Parameters are values, never code: ``--only`` specs are checked against the data (``briefs.select_briefs``)
  before anything is written or any kernel starts, ``run_brief`` checks a brief's parameters again, and output
  names are ``Brief.slug`` (``[a-z0-9-]`` only), checked once more to stay inside ``reports/``.
- Briefs run in a pool of worker processes (one per core by default). Each worker keeps papermill, nbconvert
  and WeasyPrint imported and one warm kernel, reset before every brief (see "The worker's kernel" below).

Failures. A brief fails alone: a cell that raises, a kernel that dies (``os._exit``), a brief that runs past
``timeout`` (seconds for all its cells together) or an export error fails that brief only. The summary names
its notebook, cell and error; the executed notebook (paths stripped) goes to ``reports/failed/<slug>.ipynb``;
the previous good HTML and PDF stay in place. Its kernel is stopped (killed on a timeout) and the worker starts
a new one for its next brief. A worker process that dies (killed, out of memory) breaks the pool: the
unfinished briefs run again in a new pool, one at a time until the brief whose worker died is found and failed.
``mineral-analysis build`` exits 1 when any brief failed.

Interrupts. SIGINT or SIGTERM stops the build: workers are terminated (each kills its kernel at once, cleans up
and exits, within ``WORKER_GRACE_SECONDS`` even if a library swallowed the interrupt) and killed if still alive
after ``WORKER_STOP_SECONDS``; a kernel whose worker was killed exits by itself (ipykernel watches its parent,
``JPY_PARENT_PID``); briefs finished so far are recorded in the manifest; temporaries
and staged notebooks are removed; the exception (``BuildInterrupted``) reaches the caller, and the command exits
128 + the signal number. Every output is written to a temporary file and renamed, and a brief's files are renamed
together with interrupts deferred, so ``reports/`` never holds a half-written file or a mixed set. The build only
reads ``data/processed/``. A build started afterwards completes normally.

One build at a time: a lock file in ``reports/``; a second build refuses (``BuildLockedError``, exit 3) or, with
``wait`` (``--wait``), queues behind the first.

The worker's kernel. A warm kernel per worker saves the heavy imports (a brief takes 1-2 s instead of 4-6 s).
Kernels run without IPython's history database (``KERNEL_ARGUMENTS``). The warm-up imports the libraries the
notebooks use and selects pyplot's backend (Agg), then ``KernelStateGuard`` (running inside the kernel) takes a
snapshot. Before each brief it wipes the user namespace (``%reset -f``) and restores the snapshot: working folder,
``os.environ`` (and the time zone), ``sys.path``, pyplot's backend and display hook, ``rcParams``, open figures,
warnings filters (and which warnings were already shown), logging levels, handlers and filters, pandas options,
NumPy error and print options, the random seeds (re-seeded from the OS, as a fresh kernel is), umask, locale,
recursion limit, switch interval, garbage collection, signal handlers, the decimal context, the execution
counter, and the attributes of the project's own modules (``mineral_analysis.*``: a rebound or added attribute,
such as ``config.PROCESSED_DIR = ...``, is undone). Modules imported from outside the Python installation (the
notebook's own helpers) and project modules the warm-up did not import are forgotten, so they are imported afresh.

Then it lists what it cannot restore, and the worker gives the brief a new kernel when anything changed: a name
added to, or a function or class replaced or removed in, any module or class imported by the warm-up (``textwrap.shorten
= ...``, ``pandas.DataFrame.to_html = ...``, ``builtins.x = ...``; data values are compared too in builtins,
numpy, pandas, matplotlib, seaborn, geopandas, shapely, PIL.Image and IPython.display); a module replaced in
``sys.modules``; in-place changes to the containers of the project's modules (``vocab.AGENCIES[...] = ...``);
IPython event callbacks, magics, extensions, formatters (``%precision``), input and AST transformers and
traceback mode; threads left running; replaced ``sys`` hooks or standard streams; registered matplotlib
colormaps. The outcome's ``kernel`` field says which happened (``warm``, ``new (the previous brief left: ...)``).
A failed brief always gets a new kernel, and a kernel is recycled every ``RECYCLE_AFTER`` briefs.
tests/test_build_failures.py proves it: after a notebook that changes everything in the first list, the next
brief runs in the same kernel and a probe sees exactly what it sees in a fresh kernel; after a notebook that does
everything in the second list, the kernel is replaced; and the brief's HTML is byte-identical (but for the build
time) to the same brief built in a fresh kernel (``run_brief(..., shared_kernel=False)``). None of the
project's notebooks trips the guard.

What the guard cannot see (a notebook that does any of it should be built with ``shared_kernel=False``):
data values rebound in modules other than those listed (libraries rebind their own lazy caches, e.g.
``matplotlib.dates._epoch``, so these are not compared); objects changed in place inside a third-party library
(a private dict, a cache or registry other than those above, e.g. matplotlib's font manager or unit converters);
anything done to modules first imported after warm-up (importing pandera, for one, patches
``typing._GenericAlias.__call__``: caught, because typing is imported at warm-up); objects changed in place
inside the project's caches through private helpers (``data._read_parquet``, ``geo._read``, the map paths, the
country index; the public loaders return copies); state held in C extensions; files, sockets and child
processes left open; memory growth (bounded by ``RECYCLE_AFTER``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import inspect
import json
import logging
import multiprocessing
import os
import re
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import __version__, config
from .atomic import remove_stale_temporaries, replace_files_atomic, write_text_atomic
from .briefs import KINDS, Brief
from .kernel_guard import KernelStateGuard

MANIFEST = ".build-manifest.json"
LOCK = ".build.lock"
FAILED_DIR = "failed"
STAGING_DIR = ".staging"
KERNEL_NAME = "python3"
KERNEL_ENV = {"MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONWARNINGS": "ignore"}
# No IPython history database: a build's kernels would contend for the user's history file, and a warm kernel,
# whose counter restarts at 1 for each brief, would print "Session/line number was not unique" into the brief.
KERNEL_ARGUMENTS = ("--HistoryManager.enabled=False",)
START_TIMEOUT = 120.0  # seconds for a kernel to start, warm up or reset
WORKER_STOP_SECONDS = 10.0  # after an interrupt, how long terminated workers get before they are killed
MAX_WORKER_DEATHS = 6  # worker processes that may die in one build before the remaining briefs are given up
ENGINE = "mineral-analysis"
_OUTPUT_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\.(?:html|pdf|ipynb)")


class BuildLockedError(RuntimeError):
    """Another build holds the lock on the reports folder."""


class BuildInterrupted(KeyboardInterrupt):
    """The build was stopped by SIGINT or SIGTERM (``signum``); finished briefs are in place."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


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
    failed_notebook: str = ""  # reports-relative path of the failed executed notebook, when one was written
    kernel: str = ""  # how the brief's kernel was obtained: warm, new, fresh, or why it was replaced


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
        lines = [(f"built {len(self.built)}, skipped {len(self.skipped)} (up to date), failed {len(self.failed)} "
                  f"of {len(self.outcomes)} briefs in {self.seconds:.1f} s")]
        for outcome in self.failed:
            kept = f" (executed notebook: {outcome.failed_notebook})" if outcome.failed_notebook else ""
            lines.append(f"  FAILED {outcome.spec}: {outcome.error}{kept}")
        if self.failed:
            lines.append("  the previous outputs of failed briefs were kept")
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
    """Content hash of everything a brief's output depends on (``data_hash``: its data slice and the boundaries)."""
    digest = hashlib.sha256()
    digest.update((Path(notebooks_dir or config.NOTEBOOKS_DIR) / brief.notebook.name).read_bytes())
    digest.update(json.dumps(brief.parameters, sort_keys=True).encode())
    digest.update(f"{data_hash}|{library_hash}|{','.join(sorted(formats))}|{__version__}".encode())
    return digest.hexdigest()[:16]


# --- Signals -----------------------------------------------------------------------------------------------------

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_deferred(redeliver: bool = True) -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends (main thread only), then deliver them to the old handlers.

    Python-level, unlike ``pthread_sigmask``: a signal the kernel hands to another thread (zmq, the heartbeat,
    the pool's manager) is held all the same. With ``redeliver=False`` they are dropped (used while the build
    is already stopping).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum)) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received and redeliver:
            handler = previous[received[0]]
            if callable(handler):
                handler(received[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(received[0])


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """During the build, SIGINT and SIGTERM raise BuildInterrupted in the main thread (so clean-up runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise BuildInterrupted(signum)

    previous = {sig: signal.signal(sig, stop) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- The worker's kernel -----------------------------------------------------------------------------------------

RECYCLE_AFTER = 25
WARM_UP = """
import importlib, io
import mineral_analysis, mineral_analysis.analysis, mineral_analysis.maps, mineral_analysis.narrative
import mineral_analysis.plots, mineral_analysis.countries, mineral_analysis.geo, mineral_analysis.data
import matplotlib.pyplot
for _name in ("seaborn", "geopandas", "shapely", "PIL.Image", "IPython.display"):
    try:
        importlib.import_module(_name)
    except ImportError:
        pass
mineral_analysis.geo.load_boundaries()
# First uses that initialise library state once (PIL's plugins, pickling caches), done before the snapshot.
# Not through pyplot: a pyplot figure hooks matplotlib into IPython, which a brief's own figures never do.
import matplotlib.figure
_fig = matplotlib.figure.Figure()
_fig.add_subplot().plot([0, 1], [0, 1])
_fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
del _fig
# pyplot's backend is chosen now, once (Agg, from MPLBACKEND), without the IPython hook pyplot adds on its first
# figure (it only redraws in interactive mode, which builds never use): a brief's pyplot use then changes nothing.
matplotlib.pyplot.switch_backend(matplotlib.get_backend())
matplotlib.pyplot.uninstall_repl_displayhook()
"""
GUARD_MODULE = "_mineral_analysis_kernel_guard"
RESET = """
get_ipython().run_line_magic("reset", "-f")
__import__("sys").modules[{module!r}].GUARD.reset({cwd!r})
get_ipython().execution_count = 1
"""


def _guard_installer() -> str:
    """Code that defines KernelStateGuard in the kernel (in a module of its own) and snapshots the kernel."""
    source = textwrap.dedent(inspect.getsource(KernelStateGuard))
    return (f"get_ipython().run_line_magic('reset', '-f')\n"  # the snapshot is of a kernel as reset leaves it
            f"import sys as _s, types as _t\n"
            f"_m = _t.ModuleType({GUARD_MODULE!r})\n"
            f"exec(compile({source!r}, '<mineral_analysis kernel guard>', 'exec'), _m.__dict__)\n"
            f"_s.modules[_m.__name__] = _m\n"
            f"_m.GUARD = _m.KernelStateGuard(get_ipython())\n"
            f"del _s, _t, _m\n")


_LIVE_KERNELS: set[_Kernel] = set()


def _kernel_env() -> dict[str, str]:
    return {**os.environ, **KERNEL_ENV}


class _Kernel:
    """A kernel of this worker: warm (imports done, reset before each brief) or fresh (one brief, then stopped)."""

    def __init__(self, warm: bool) -> None:
        self.warm = warm
        self.km = None
        self.kc = None
        self.uses = 0
        self.note = ""

    def start(self, cwd: str) -> None:
        from jupyter_client.manager import KernelManager

        # papermill's client talks to the kernel asynchronously; the worker's own set-up client blocks.
        self.km = KernelManager(kernel_name=KERNEL_NAME, client_class="jupyter_client.asynchronous.AsyncKernelClient")
        _LIVE_KERNELS.add(self)
        self.km.start_kernel(cwd=cwd, env=_kernel_env(), extra_arguments=list(KERNEL_ARGUMENTS))
        self.uses = 0
        if self.warm:
            from jupyter_client.blocking import BlockingKernelClient

            self.kc = BlockingKernelClient()
            self.kc.load_connection_info(self.km.get_connection_info())
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=START_TIMEOUT)
            self._run(WARM_UP)
            self._run(_guard_installer())

    def _run(self, code: str, user_expressions: dict | None = None) -> dict:
        reply = self.kc.execute_interactive(code, silent=True, store_history=False, timeout=START_TIMEOUT,
                                            user_expressions=user_expressions or {},
                                            output_hook=lambda msg: None)
        content = reply["content"]
        if content["status"] != "ok":
            raise RuntimeError(f"kernel set-up failed: {content.get('ename')}: {content.get('evalue')}")
        return content

    def _reset(self, cwd: str) -> list[str]:
        import ast

        content = self._run(RESET.format(module=GUARD_MODULE, cwd=cwd),
                            {"reasons": f"__import__('sys').modules[{GUARD_MODULE!r}].GUARD.reasons"})
        value = content.get("user_expressions", {}).get("reasons", {})
        if value.get("status") != "ok":
            raise RuntimeError(f"kernel reset failed: {value.get('ename')}: {value.get('evalue')}")
        return list(ast.literal_eval(value["data"]["text/plain"]))

    def ready(self, cwd: str):
        """Return the kernel manager, the kernel reset for a new brief (started or replaced when needed)."""
        note = "warm"
        for attempt in range(3):
            if self.km is None or not self.km.is_alive():
                note = "new" if note == "warm" else note
                self.stop()
                self.start(cwd)
            elif self.uses >= RECYCLE_AFTER:
                note = f"new (recycled after {self.uses} briefs)"
                self.stop()
                self.start(cwd)
            try:
                reasons = self._reset(cwd)
            except Exception as exc:
                self.stop()
                if attempt == 2:
                    raise
                note = f"new (the previous kernel did not reset: {exc})"
                continue
            if reasons and self.uses > 0:
                # The previous brief changed something a reset cannot undo: this brief gets a new kernel.
                note = f"new (the previous brief left: {'; '.join(reasons)})"
                self.stop()
                continue
            self.uses += 1
            self.note = note
            return self.km
        raise RuntimeError("no usable kernel")  # not reached: the last attempt returns or raises

    def kill_now(self) -> None:
        """SIGKILL the kernel's process group at once (from a signal handler: no messages, no waiting)."""
        provisioner = getattr(self.km, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        if not pid:
            return
        with contextlib.suppress(OSError):
            os.killpg(getattr(provisioner, "pgid", None) or pid, signal.SIGKILL)

    def exit_code(self) -> int | None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is None:
            return None
        with contextlib.suppress(Exception):
            process.wait(timeout=2)
        return process.returncode

    def stop(self) -> None:
        """Shut the kernel down now (after a failure, when recycling, when the worker exits)."""
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 - best effort on a dying kernel: make sure it is gone
                self.kill_now()
        _LIVE_KERNELS.discard(self)
        self.km = self.kc = None
        self.uses = 0


_KERNEL: _Kernel | None = None


def _worker_kernel() -> _Kernel:
    global _KERNEL
    if _KERNEL is None:
        from multiprocessing import util

        _KERNEL = _Kernel(warm=True)
        # Worker processes leave through os._exit, which skips atexit: a Finalize runs there.
        util.Finalize(None, _KERNEL.stop, exitpriority=20)
    return _KERNEL


def stop_worker_kernel() -> None:
    """Stop this process's warm kernel, if any (tests and embedding applications call it when done)."""
    if _KERNEL is not None:
        _KERNEL.stop()


def _kill_live_kernels() -> None:
    for kernel in list(_LIVE_KERNELS):
        kernel.kill_now()


_ENGINE_REGISTERED = False


def _register_engine() -> None:
    """A papermill engine that runs in a kernel this worker manages and remembers the notebook it runs."""
    global _ENGINE_REGISTERED
    if _ENGINE_REGISTERED:
        return
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class BriefEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, km=None,
                                     state=None, **kwargs):
            kwargs.pop("input_path", None)
            if state is not None:
                state["nb"] = nb_man.nb  # the notebook as executed so far, kept for reports/failed/
            client = PapermillNotebookClient(nb_man, km=km, timeout=execution_timeout,
                                             startup_timeout=start_timeout, kernel_name=kernel_name,
                                             log_output=log_output, stdout_file=stdout_file,
                                             stderr_file=stderr_file, log=_QUIET, **kwargs)
            try:
                return client.execute(cleanup_kc=False)
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(ENGINE, BriefEngine)
    _ENGINE_REGISTERED = True


_QUIET = logging.getLogger("mineral_analysis.build.kernel")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


def _execute(notebook: Path, staged: Path, parameters: dict, timeout: float, shared_kernel: bool, state: dict):
    """Run the notebook with papermill in the worker's warm kernel or in a fresh one; ``timeout`` is for the
    whole notebook. ``state`` receives the notebook being executed, the running cell and the kernel."""
    import papermill

    _register_engine()
    cwd = str(notebook.parent)
    kernel = _worker_kernel() if shared_kernel else _Kernel(warm=False)
    state["kernel"] = kernel
    try:
        if shared_kernel:
            km = kernel.ready(cwd)
            state["kernel_note"] = kernel.note
        else:
            kernel.start(cwd)
            km = kernel.km
            state["kernel_note"] = "fresh"
        deadline = time.monotonic() + timeout

        def cell_timeout(cell) -> float:
            return max(0.1, deadline - time.monotonic())

        def on_cell_start(cell, cell_index) -> None:
            state["cell"] = cell_index

        nb = papermill.execute_notebook(
            str(notebook), str(staged), parameters=parameters, kernel_name=KERNEL_NAME, engine_name=ENGINE,
            progress_bar=False, log_output=False, request_save_on_cell_execute=False, cwd=cwd,
            start_timeout=START_TIMEOUT, execution_timeout=timeout, km=km, state=state,
            timeout_func=cell_timeout, on_cell_start=on_cell_start, interrupt_on_timeout=False)
    except BaseException:
        if kernel.km is not None and not kernel.km.is_alive():
            state["exit_code"] = kernel.exit_code()
        kernel.stop()  # a failed brief never hands its kernel on; a timed-out kernel is killed
        raise
    if not shared_kernel:
        kernel.stop()
    return nb


# --- One brief (runs in a worker process) ------------------------------------------------------------------------

def _path_replacements(folders: dict[str, Path | None]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    root = str(config.PROJECT_ROOT)
    for name, folder in folders.items():
        if folder is None:
            continue
        text = str(Path(folder).resolve())
        if not (text + os.sep).startswith(root + os.sep):
            pairs += [(text + os.sep, f"<{name}>/"), (text, f"<{name}>")]
    pairs += [(root + os.sep, ""), (root, "."), (sys.prefix + os.sep, "<env>/"),
              (os.path.expanduser("~") + os.sep, "~/")]
    return sorted(pairs, key=lambda pair: -len(pair[0]))  # the most specific first


def _relative_paths(text: str, folders: dict[str, Path | None] | None = None) -> str:
    """Strip this machine's paths from text stored in an executed notebook (also as JSON escapes them)."""
    for old, new in _path_replacements(folders or {}):
        if len(old) > 2:
            text = text.replace(old, new)
            escaped = json.dumps(old, ensure_ascii=False)[1:-1]
            if escaped != old:
                text = text.replace(escaped, json.dumps(new, ensure_ascii=False)[1:-1])
    return text


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _describe_failure(exc: BaseException, nb, state: dict, timeout: float) -> tuple[int | None, str, str]:
    """The failing cell's index (in the executed notebook), the error's name and its message."""
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    index = state.get("cell")
    if isinstance(exc, PapermillExecutionError):
        index, name, message = exc.cell_index, exc.ename, _ANSI.sub("", str(exc.evalue))
    elif isinstance(exc, TimeoutError) and index is not None:
        name, message = "TimeoutError", f"the brief ran past its time limit of {timeout:g} s; its kernel was killed"
    elif isinstance(exc, DeadKernelError):
        code = state.get("exit_code")
        name = "DeadKernelError"
        message = "the kernel died while running this cell" + (f" (exit code {code})" if code is not None else "")
    else:
        name, message = type(exc).__name__, _ANSI.sub("", str(exc))
    return index, name, message[:300]


_PAPERMILL_MARKER = "papermill-error-cell-tag"  # the banner and anchor cells papermill adds to a failed notebook


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def _executed_cells(nb) -> list:
    """The cells as they were executed (the indices errors refer to): without papermill's error markers."""
    return [] if nb is None else [c for c in nb.cells if _PAPERMILL_MARKER not in _tags(c)]


def _cell_label(nb, index: int | None) -> str:
    """``cell 4 (`first line`)``: the index counts the cells of the notebook file from 0, as nbformat does (the
    injected parameters cell does not count)."""
    cells = _executed_cells(nb)
    if index is None or not (0 <= index < len(cells)):
        return "before any cell ran" if index is None else f"cell {index}"
    cell = cells[index]
    if "injected-parameters" in _tags(cell):
        return "the injected parameters cell"
    injected = sum(1 for c in cells[:index] if "injected-parameters" in _tags(c))
    first = " ".join(str(cell.get("source", "")).strip().splitlines()[:1])[:80]
    return f"cell {index - injected} (`{first}`)"


def _mark_failed_cell(nb, index: int | None, name: str, message: str) -> None:
    """Show a timeout or a dead kernel in the failed notebook, as an error output of the cell that ran."""
    import nbformat

    cells = _executed_cells(nb)
    if index is None or not (0 <= index < len(cells)):
        return
    cell = cells[index]
    if cell.get("cell_type") != "code" or any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
        return
    cell.outputs.append(nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"]))


def _output_path(reports: Path, name: str) -> Path:
    """``reports/<name>``, refused unless ``name`` is a plain output name that stays inside ``reports/``."""
    path = reports / name
    if not _OUTPUT_NAME.fullmatch(name) or path.resolve().parent != reports.resolve():
        from .errors import ParameterError

        raise ParameterError(f"unsafe output name {name!r}")
    return path


def run_brief(brief_data: dict, *, formats: tuple[str, ...], reports_dir: str, processed_dir: str | None,
              timeout: float, data_version: str, fingerprint: str, notebooks_dir: str | None = None,
              shared_kernel: bool = True) -> dict:
    """Execute one brief and write its outputs; return a BriefOutcome as a dict. Never raises for a brief error.

    The brief's kind and parameters are checked against the data before a kernel starts. Success writes
    ``<slug>.ipynb`` (executed, paths stripped), ``<slug>.html`` and/or ``<slug>.pdf`` (renamed together) and
    removes an old ``failed/<slug>.ipynb``; failure writes ``failed/<slug>.ipynb`` and leaves the previous
    outputs in place. ``shared_kernel=False`` runs the brief in a kernel of its own instead of the worker's warm
    one. Only KeyboardInterrupt (the build being stopped) propagates.
    """
    import nbformat

    from .briefs import validate_parameters
    from .errors import ParameterError

    started = time.perf_counter()
    brief = Brief(**brief_data)
    reports = Path(reports_dir)
    outcome = BriefOutcome(brief.spec, brief.slug, brief.title, brief.kind, brief.key, "built")

    def failed(error: str) -> dict:
        outcome.status, outcome.error = "failed", error
        return asdict(outcome) | {"seconds": time.perf_counter() - started}

    try:
        if brief.kind not in KINDS:
            raise ParameterError(f"unknown brief kind {brief.kind!r}; valid kinds: {', '.join(KINDS)}")
        parameters = validate_parameters(brief.kind, dict(brief.parameters), Path(processed_dir) if processed_dir else None)
        targets = {ext: _output_path(reports, f"{brief.slug}.{ext}") for ext in ("html", "pdf", "ipynb")}
        failed_path = _output_path(reports / FAILED_DIR, f"{brief.slug}.ipynb")
    except ParameterError as exc:
        return failed(f"refused before any kernel started: {exc}")
    except Exception as exc:  # noqa: BLE001 - e.g. the processed data went missing
        return failed(f"its parameters could not be checked: {type(exc).__name__}: {exc}")
    notebook = Path(notebooks_dir or config.NOTEBOOKS_DIR) / brief.notebook.name
    folders = {"reports": reports, "processed": Path(processed_dir) if processed_dir else None,
               "notebooks": notebook.parent}
    staging = reports / STAGING_DIR
    staging.mkdir(parents=True, exist_ok=True)
    staged = staging / f"{brief.slug}.{os.getpid()}.ipynb"
    if processed_dir:
        parameters["processed_dir"] = str(processed_dir)
    state: dict = {}

    def keep_failed(nb) -> str:
        """Write the failed executed notebook; return a note for the error when that was impossible."""
        if nb is None:
            return ""
        try:
            nb.metadata.get("papermill", {}).update({"input_path": f"notebooks/{notebook.name}",
                                                     "output_path": f"reports/{FAILED_DIR}/{brief.slug}.ipynb"})
            with _signals_deferred():
                write_text_atomic(failed_path, _relative_paths(nbformat.writes(nb), folders))
        except Exception as exc:  # noqa: BLE001 - the failure itself is what must be reported
            return f" (its executed notebook could not be kept: {type(exc).__name__}: {exc})"
        outcome.failed_notebook = f"{FAILED_DIR}/{brief.slug}.ipynb"
        return ""

    try:
        try:
            nb = _execute(notebook, staged, parameters, timeout, shared_kernel, state)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure of one brief is reported, not raised
            failed_nb = state.get("nb")
            with contextlib.suppress(Exception):
                if staged.exists():  # papermill saved it with its error banner
                    failed_nb = nbformat.read(staged, as_version=4)
            index, name, message = _describe_failure(exc, failed_nb, state, timeout)
            if failed_nb is not None and not staged.exists():
                _mark_failed_cell(failed_nb, index, name, message)
            outcome.kernel = state.get("kernel_note", "")
            note = keep_failed(failed_nb)
            return failed(f"notebook {notebook.name}, {_cell_label(failed_nb, index)}: {name}: {message}{note}")
        outcome.kernel = state.get("kernel_note", "")
        built_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        outcome.built_at = built_at
        nb.metadata["mineral_analysis"] = {
            "title": brief.title, "kind": brief.kind, "key": brief.key, "spec": brief.spec,
            "data_version": data_version, "built_at": built_at, "fingerprint": fingerprint,
            "library_version": __version__,
        }
        nb.metadata.get("papermill", {}).update({"input_path": f"notebooks/{notebook.name}",
                                                 "output_path": f"reports/{brief.slug}.ipynb"})
        outputs: dict[Path, bytes] = {}
        try:
            from .export import html_to_pdf, render_html

            html = render_html(nb)
            if "html" in formats:
                outputs[targets["html"]] = html.encode("utf-8")
            if "pdf" in formats:
                outputs[targets["pdf"]] = html_to_pdf(html)
            outputs[targets["ipynb"]] = _relative_paths(nbformat.writes(nb), folders).encode("utf-8")
        except Exception as exc:  # noqa: BLE001 - an export failure fails this brief only
            note = keep_failed(nb)
            return failed(f"export of {brief.slug} ({notebook.name} ran): {type(exc).__name__}: {exc}{note}")
        try:
            # The brief's files change together, and its old failure goes with them; a worker told to stop does
            # not start, and its watchdog waits for the renames to end.
            with _WRITING, _signals_deferred():
                if _STOPPING.is_set():
                    raise KeyboardInterrupt
                replace_files_atomic(outputs)
                failed_path.unlink(missing_ok=True)
        except OSError as exc:  # e.g. a full disk: nothing was replaced
            return failed(f"writing {brief.slug}'s outputs: {type(exc).__name__}: {exc}; the previous ones were kept")
        outcome.outputs = sorted(p.name for p in outputs)
    finally:
        staged.unlink(missing_ok=True)
    return asdict(outcome) | {"seconds": time.perf_counter() - started}


_BUSY = False  # this worker is inside a brief
_STOPPING = threading.Event()  # this worker was told to stop (SIGTERM)
_WRITING = threading.Lock()  # held while a brief's outputs are renamed into place
WORKER_GRACE_SECONDS = 3.0  # after SIGTERM, how long a worker gets to clean up before it exits regardless


def _worker_run(brief_data: dict, **kwargs) -> dict:
    """run_brief in a pool worker: an interrupt (SIGTERM from the coordinator) ends the worker after clean-up."""
    global _BUSY
    _BUSY = True
    try:
        outcome = run_brief(brief_data, **kwargs)
    except KeyboardInterrupt:
        _stop_kernels_and_exit()
    finally:
        _BUSY = False
    if _STOPPING.is_set():  # the interrupt was swallowed somewhere inside the brief
        _stop_kernels_and_exit()
    return outcome


def _stop_kernels_and_exit() -> None:
    _kill_live_kernels()
    for kernel in list(_LIVE_KERNELS):
        with contextlib.suppress(Exception):
            kernel.stop()  # the kernel is dead already: this removes its connection file
    with _WRITING:
        os._exit(128 + signal.SIGTERM)


def _exit_after(seconds: float) -> None:
    """A watchdog: end this worker after ``seconds`` even if the interrupt got lost (never during renames)."""
    def hard_exit() -> None:
        with _WRITING:
            os._exit(128 + signal.SIGTERM)

    timer = threading.Timer(seconds, hard_exit)
    timer.daemon = True
    timer.start()


def _worker_init() -> None:
    """Workers leave Ctrl-C to the coordinator; SIGTERM kills their kernels at once, then ends them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def stop(signum, frame):
        _kill_live_kernels()
        if not _STOPPING.is_set():
            _STOPPING.set()
            _exit_after(WORKER_GRACE_SECONDS)
        if _BUSY:
            raise KeyboardInterrupt  # run_brief removes its temporaries, then _worker_run exits
        _stop_kernels_and_exit()

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


def _write_manifest(reports: Path, manifest: dict) -> bool:
    """Write the manifest if its content changed; return whether it did."""
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    path = reports / MANIFEST
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        write_text_atomic(path, text)
        return True
    return False


def _outputs_present(reports: Path, slug: str, formats: tuple[str, ...]) -> bool:
    return all((reports / f"{slug}.{ext}").exists() for ext in (*formats, "ipynb"))


def _write_index(reports: Path, manifest: dict, data_version: str, processed: Path | None = None) -> None:
    """Write ``index.html`` listing every brief; unchanged content is not rewritten (a no-op build writes nothing)."""
    from .index_page import write_index

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
    staged = reports / STAGING_DIR / "index.html"
    write_index(entries, staged, data_version=data_version, built_at=max(built_times) if built_times else None,
                processed_dir=processed)
    if path.exists() and path.read_bytes() == staged.read_bytes():
        staged.unlink()
    else:
        os.replace(staged, path)


def _clean_staging(reports: Path) -> None:
    """Remove what an interrupted or killed build can leave: temporaries, staged notebooks, the staging folder."""
    staging = reports / STAGING_DIR
    for folder in (reports, reports / FAILED_DIR, staging):
        remove_stale_temporaries(folder)
    if staging.is_dir():
        for leftover in staging.iterdir():
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            staging.rmdir()


# --- The build ---------------------------------------------------------------------------------------------------

def _brief_list(processed_dir: Path, data_hash: str, library_hash: str, manifest: dict, only: list[str] | None,
                chosen: list[Brief] | None = None) -> tuple[list[Brief], dict[str, str]]:
    """The briefs to consider and each one's data slice hash (``briefs.data_slices``).

    Both are cached in the manifest per data hash, so a no-op build neither loads the tables nor imports pandas.
    """
    cached = manifest.get("catalogue", {})
    fresh = (cached.get("data_hash") == data_hash and cached.get("library") == library_hash
             and len(cached.get("slices", {})) == len(cached.get("briefs", [])))
    if fresh and chosen is None and only is None:
        return [Brief(**b) for b in cached["briefs"]], dict(cached.get("slices", {}))
    from .briefs import data_slices, select_briefs

    briefs = chosen if chosen is not None else select_briefs(only, processed_dir)
    slices = dict(cached.get("slices", {})) if fresh else {}
    if any(b.slug not in slices for b in briefs):
        slices = data_slices(briefs, processed_dir)
    return briefs, {b.slug: slices[b.slug] for b in briefs}


def build_briefs(*, only: list[str] | None = None, formats: tuple[str, ...] = ("html", "pdf"),
                 jobs: int | None = None, force: bool = False, processed_dir: Path | None = None,
                 reports_dir: Path | None = None, timeout: float = 300.0, progress: bool = True,
                 wait: bool = False, notebooks_dir: Path | None = None) -> BuildResult:
    """Build the chosen briefs (all by default) into ``reports_dir``; return every brief's outcome.

    Raises ParameterError for an unknown brief spec or format and FileNotFoundError when the processed data is
    missing (both before anything is written or any kernel starts), BuildLockedError when another build runs
    and ``wait`` is False, and BuildInterrupted (a KeyboardInterrupt) on SIGINT or SIGTERM, after clean-up.
    ``timeout`` is the seconds one brief's notebook may run.
    """
    from filelock import FileLock, Timeout

    from .errors import ParameterError

    started = time.perf_counter()
    bad = [f for f in formats if f not in ("html", "pdf")]
    if bad or not formats:
        raise ParameterError(f"unknown format(s) {', '.join(map(repr, bad)) or '(none given)'}; valid: html, pdf")
    if not timeout or timeout <= 0:
        raise ParameterError(f"timeout must be a positive number of seconds, not {timeout!r}")
    processed = Path(processed_dir or config.PROCESSED_DIR).resolve()
    reports = Path(reports_dir or config.REPORTS_DIR).resolve()
    notebooks = Path(notebooks_dir or config.NOTEBOOKS_DIR).resolve()
    data_fingerprint(processed)  # missing data: refused before anything is written
    chosen = None
    if only is not None:
        from .briefs import select_briefs

        chosen = select_briefs(only, processed)  # a bad spec is refused here, before anything is written
    with _interruptible():
        reports.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(reports / LOCK))
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            raise BuildLockedError(f"another build is running on {reports.name}/ (it holds {LOCK}); wait for it "
                                   "to finish, or pass --wait to queue behind it") from None
        try:
            return _build_locked(only, formats, jobs, force, processed, reports, timeout, progress, started,
                                 notebooks, chosen)
        finally:
            with _signals_deferred(redeliver=False):
                _clean_staging(reports)
                lock.release()


def _build_locked(only, formats, jobs, force, processed, reports, timeout, progress, started,
                  notebooks, chosen=None) -> BuildResult:
    _clean_staging(reports)
    data_hash = data_fingerprint(processed)
    library_hash = library_fingerprint()
    manifest = _read_manifest(reports)
    briefs, slices = _brief_list(processed, data_hash, library_hash, manifest, only, chosen)
    data_version = _data_version(processed)
    boundaries_hash = _hash_files([config.BOUNDARIES_FILE])[:16] if config.BOUNDARIES_FILE.exists() else ""
    todo: list[tuple[Brief, str]] = []
    outcomes: list[BriefOutcome] = []
    known = manifest.get("briefs", {})
    for brief in briefs:
        fingerprint = brief_fingerprint(brief, f"{slices[brief.slug]}|{boundaries_hash}", library_hash, formats,
                                        notebooks)
        entry = known.get(brief.slug, {})
        if (not force and entry.get("fingerprint") == fingerprint and entry.get("status") == "built"
                and _outputs_present(reports, brief.slug, formats)):
            outcomes.append(BriefOutcome(brief.spec, brief.slug, brief.title, brief.kind, brief.key, "skipped"))
        else:
            todo.append((brief, fingerprint))
    done: list[BriefOutcome] = []
    try:
        if todo:
            _run_pool(todo, formats, reports, processed, timeout, progress, slices, jobs, notebooks, done)
    finally:
        # Also after an interrupt: the briefs finished so far are recorded, so the next build skips them.
        with _signals_deferred():
            manifest = _updated_manifest(manifest, briefs, todo, outcomes + done, only, data_hash, library_hash,
                                         slices)
            changed = _write_manifest(reports, manifest)
            # The index depends only on the manifest and the outputs present: a no-op build leaves it alone
            # (and skips importing the exporters, which costs more than the rest of a no-op build).
            if changed or todo or not (reports / "index.html").exists():
                _write_index(reports, manifest, data_version, processed)
    return BuildResult(outcomes + done, time.perf_counter() - started)


def _updated_manifest(manifest: dict, briefs: list[Brief], todo, outcomes: list[BriefOutcome],
                      only: list[str] | None, data_hash: str, library_hash: str, slices: dict[str, str]) -> dict:
    by_slug = {b.slug: b for b in briefs}
    briefs_manifest = dict(manifest.get("briefs", {}))
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
        catalogue = {"data_hash": data_hash, "library": library_hash, "slices": slices,
                     "briefs": [{"kind": b.kind, "key": b.key, "title": b.title, "parameters": b.parameters}
                                for b in briefs]}
    return {"catalogue": catalogue, "briefs": briefs_manifest}


def _data_version(processed: Path) -> str:
    try:
        return json.loads((processed / "metadata.json").read_text(encoding="utf-8"))["data_version"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return "unknown"


def _stop_pool(executor: futures.ProcessPoolExecutor) -> None:
    """After an interrupt: terminate the workers (they kill their kernels first), kill the ones that linger."""
    with _signals_deferred(redeliver=False):  # a second Ctrl-C must not cut the clean-up short
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        deadline = time.monotonic() + WORKER_STOP_SECONDS
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=max(0.1, deadline - time.monotonic()))
        for process in processes:
            with contextlib.suppress(Exception):
                if process.is_alive():
                    process.kill()
                    process.join(timeout=5)


def _run_pool(todo, formats, reports, processed, timeout, progress, slices, jobs, notebooks,
              done: list[BriefOutcome]) -> None:
    """Run the briefs in worker processes; append each outcome to ``done`` as it arrives."""
    from tqdm import tqdm

    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    context = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
    bar = tqdm(total=len(todo), desc="briefs", unit="brief", disable=not progress, file=sys.stderr,
               dynamic_ncols=True)

    def record(outcome: BriefOutcome) -> None:
        done.append(outcome)
        bar.set_postfix_str(outcome.spec, refresh=False)
        bar.update()
        if not progress:
            print(f"{outcome.status:>7} {outcome.spec} ({outcome.seconds:.1f} s)", file=sys.stderr, flush=True)

    def died(brief: Brief, error: str) -> BriefOutcome:
        return BriefOutcome(brief.spec, brief.slug, brief.title, brief.kind, brief.key, "failed", error=error)

    # The overview and large briefs first, so the slowest work does not start last.
    queue = sorted(todo, key=lambda item: (item[0].kind != "overview", item[0].kind == "country"))
    deaths = 0
    isolate = False  # after a worker died: one worker at a time, so the brief that killed it can be named
    try:
        while queue:
            workers = 1 if isolate else min(jobs, len(queue))
            executor = futures.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                                   initializer=_worker_init)
            broken: list[tuple[Brief, str]] = []
            try:
                pending = {
                    executor.submit(_worker_run, {"kind": b.kind, "key": b.key, "title": b.title,
                                                  "parameters": b.parameters},
                                    formats=formats, reports_dir=str(reports),
                                    processed_dir=str(processed) if processed != config.PROCESSED_DIR.resolve() else None,
                                    timeout=timeout, data_version=slices[b.slug], fingerprint=fingerprint,
                                    notebooks_dir=str(notebooks)): (b, fingerprint)
                    for b, fingerprint in queue
                }
                for future in futures.as_completed(pending):
                    try:
                        record(BriefOutcome(**future.result()))
                    except futures.process.BrokenProcessPool:
                        broken.append(pending[future])
            except KeyboardInterrupt:
                _stop_pool(executor)
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
                record(died(culprit, f"notebook {culprit.notebook.name}: the worker process building it died "
                                     "(killed, or out of memory); its kernel stopped with it"))
            isolate = workers > 1
            if deaths >= MAX_WORKER_DEATHS and queue:
                for brief, _ in queue:
                    record(died(brief, f"not built: worker processes died {deaths} times in this build"))
                queue = []
    finally:
        bar.close()
