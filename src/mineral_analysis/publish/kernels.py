"""Disposable kernels for the build: every brief runs in a kernel no other brief has touched.

The wiring is Jupyter's own: a build-only kernelspec (``KERNEL_NAME``, written into a folder of the build's
on ``JUPYTER_PATH``) names this module's kernel provisioner (``ForkProvisioner``, registered under the entry
point group ``jupyter_client.kernel_provisioners``), so stock ``papermill.execute_notebook(...,
kernel_name=KERNEL_NAME)`` runs a brief in it, whatever kernel the notebook's own metadata asks for.

``ForkProvisioner`` forks each kernel from a warm template (``publish.template``: one per worker process, the
notebook stack already imported), about ten times cheaper than a fresh interpreter that imports it all again.
Where ``fork`` or Linux's ``prctl`` is missing, or ``MINERAL_ANALYSIS_KERNELS=fresh``, it starts a fresh kernel
instead (``LocalProvisioner``'s way). Either way the kernel is stopped after its one brief.

What a build's kernels ignore (``kernel_environment``): the account's matplotlib configuration (``MPLCONFIGDIR``
and ``MATPLOTLIBRC``), IPython profile (``IPYTHONDIR``) and Jupyter configuration (``JUPYTER_CONFIG_DIR``,
``JUPYTER_NO_CONFIG``): each build points them at empty folders of its own, so the same inputs give the same
bytes whatever account builds them.

Process hygiene (Linux): the worker is a child subreaper and the kernels are its children; a kernel dies with its
worker (``PR_SET_PDEATHSIG``), as does the template; ``sweep_children`` kills whatever a brief left running (a
notebook's child started in a session of its own included) once the brief is done.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import DottedObjectName, Type

from .. import config

KERNEL_NAME = "mineral-analysis-build"
PROVISIONER = "mineral-analysis-fork"
PROVISIONER_GROUP = "jupyter_client.kernel_provisioners"  # the entry point group jupyter_client reads
MODE_VARIABLE = "MINERAL_ANALYSIS_KERNELS"  # "fresh": no template, a new interpreter per brief
# Single-threaded BLAS and no jemalloc background thread (pyarrow): the template must hold no thread when it
# forks (a lock held by another thread would be held forever in the child); the same for fresh kernels, so both
# give the same bytes.
KERNEL_ENV = {
    "MPLBACKEND": "Agg",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "PYTHONWARNINGS": "ignore",
    "JUPYTER_NO_CONFIG": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
}
USER_CONFIG = ("MATPLOTLIBRC", "PYTHONSTARTUP", "JUPYTER_CONFIG_PATH")  # removed from a kernel's environment
# No IPython history database: a build's kernels would contend for the history file.
KERNEL_ARGUMENTS = ("--HistoryManager.enabled=False",)
TEMPLATE_START_SECONDS = 120.0
PR_SET_CHILD_SUBREAPER = 36


def kernel_spec() -> dict[str, Any]:
    """The build-only kernelspec: this interpreter's ipykernel, launched by ``ForkProvisioner``."""
    return {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", *KERNEL_ARGUMENTS],
        "display_name": "mineral-analysis (build only)",
        "language": "python",
        "metadata": {"kernel_provisioner": {"provisioner_name": PROVISIONER}},
    }


def kernel_environment(home: Path) -> dict[str, str]:
    """The variables a build's kernels run with: empty config folders under ``home`` (created here) and the
    kernelspec folder first on ``JUPYTER_PATH``."""
    folders = {name: home / name.lower() for name in ("MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR")}
    spec_dir = home / "share" / "kernels" / KERNEL_NAME
    for folder in [*folders.values(), spec_dir]:
        folder.mkdir(parents=True, exist_ok=True)
    (spec_dir / config.KERNEL_SPEC).write_text(json.dumps(kernel_spec(), indent=1), encoding="utf-8")
    paths = [str(home / "share"), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    # The kernels work on the build's project, whatever folder they start in (a forked kernel's template
    # imported the library elsewhere: template.py re-points config from this variable after the fork).
    project = {config.ROOT_VARIABLE: str(config.PROJECT_ROOT)} if config.PROJECT_ROOT is not None else {}
    return {**KERNEL_ENV, **{k: str(v) for k, v in folders.items()}, "JUPYTER_PATH": os.pathsep.join(paths), **project}


_HOME: Path | None = None
_SUBREAPER = False  # this process adopts its kernels (a build worker): kernels may be forked


def prepare_process(worker: bool = False) -> None:
    """Make this process ready to run briefs (idempotent): its kernel environment in ``os.environ`` (a temporary
    folder removed at exit) and the provisioner known to jupyter_client. A build ``worker`` (Linux) also becomes
    a child subreaper, which lets it fork kernels from a template; any other process starts fresh kernels."""
    global _HOME, _SUBREAPER
    if worker and not _SUBREAPER:
        with contextlib.suppress(OSError, AttributeError):
            _prctl(PR_SET_CHILD_SUBREAPER, 1)
            _SUBREAPER = True
    if _HOME is not None and _HOME.is_dir():
        return
    _HOME = Path(tempfile.mkdtemp(prefix="mineral-analysis-kernels-"))
    import atexit

    atexit.register(shutil.rmtree, _HOME, True)
    for name in USER_CONFIG:
        os.environ.pop(name, None)
    os.environ.update(kernel_environment(_HOME))
    check_provisioner_installed()


def check_provisioner_installed() -> None:
    """Raise a clear error when jupyter_client cannot find the provisioner: it finds it through the package's
    entry points, which exist only once the package is installed (``pip install -e .``), not in a bare source
    checkout on ``PYTHONPATH``."""
    from importlib.metadata import entry_points

    if not entry_points(group=PROVISIONER_GROUP, name=PROVISIONER):
        raise RuntimeError(
            f"the kernel provisioner {PROVISIONER!r} is not installed (no {PROVISIONER_GROUP!r} entry point): "
            "install the package (`make env`, or `pip install -e .` in the project) rather than putting its "
            "source on PYTHONPATH"
        )


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (Linux; elsewhere nothing)."""
    with contextlib.suppress(OSError, AttributeError):
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def fresh_kernels():
    """Within the block, this process starts fresh kernels instead of forking them."""
    previous = os.environ.get(MODE_VARIABLE)
    os.environ[MODE_VARIABLE] = "fresh"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(MODE_VARIABLE, None)
        else:
            os.environ[MODE_VARIABLE] = previous


def fork_available() -> bool:
    """Whether kernels can be forked from a template here (Linux with fork, and not switched off)."""
    return _SUBREAPER and hasattr(os, "fork") and os.environ.get(MODE_VARIABLE, "forked") != "fresh"


# --- The template ------------------------------------------------------------------------------------------------


class Template:
    """This process's warm template (``publish.template``), started on first use."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.lock = threading.Lock()
        self.unsafe = ""  # why this template must not fork (it holds threads), once known
        self.last_pid: int | None = None  # the kernel forked last

    @property
    def errors(self) -> Path:
        """Where a forked kernel that raises writes why (in this process's own kernel folder, made by
        ``prepare_process``; one kernel starts at a time)."""
        return _HOME / "kernel-error.txt"

    def why_last_kernel_died(self) -> str:
        """What is known of how the kernel forked last ended: its exit code (once reaped) and the exception that
        stopped it, if any ("" when nothing is known)."""
        code = EXIT_CODES.get(self.last_pid)
        try:
            error = self.errors.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            error = ""
        return "; ".join(filter(None, [f"exit code {code}" if code is not None else "", error]))

    def fork(self, argv: list[str], cwd: str, env: dict[str, str]) -> int | None:
        """Fork a kernel running ``argv`` in ``cwd`` with ``env``; return its pid (a child of this process), or
        None when the template cannot fork safely (then the caller starts a fresh kernel)."""
        with self.lock:
            self._running()
            if self.unsafe:
                return None
            self.errors.unlink(missing_ok=True)
            request = json.dumps({"argv": argv, "cwd": cwd, "env": env, "errors": str(self.errors)}) + "\n"
            self.process.stdin.write(request.encode())
            self.process.stdin.flush()
            self.last_pid = int(self._answer()["pid"])
            return self.last_pid

    def warm(self) -> int:
        """Start the template now unless it runs (a worker does this before its first brief, so that brief does
        not wait for the imports); return its pid."""
        with self.lock:
            self._running()
            return self.process.pid

    def _running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self._start()

    def _start(self) -> None:
        self.stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mineral_analysis.publish.template"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=tempfile.gettempdir(),
        )
        ready = self._answer()  # {"ready": pid, "threads": n}: everything imported, or {"error": why}
        if "error" in ready:
            self.stop()
            raise RuntimeError(ready["error"])
        if ready.get("threads", 1) != 1:
            self.unsafe = f"the template holds {ready['threads']} threads"

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait(timeout=TEMPLATE_START_SECONDS)
            raise RuntimeError(f"the kernel template exited before answering (exit code {code})")
        return json.loads(line)

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(OSError):  # BrokenPipeError: it has exited already
                self.process.stdin.close()
            self.process.kill()  # nothing when it has exited
            self.process.wait(timeout=5)
            self.process = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


TEMPLATE = Template()
LAST_LAUNCH = ""  # how this process's last kernel was started: forked, or fresh (and why)
EXIT_CODES: dict[int, int] = {}  # pid -> exit code of the forked kernels this process has reaped


class ForkedProcess:
    """The part of ``subprocess.Popen`` a provisioner uses, for a forked kernel (a child of this process)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere (sweep_children): its code is recorded there
                self.returncode = EXIT_CODES.get(self.pid, -signal.SIGKILL)
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                EXIT_CODES[self.pid] = self.returncode
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """A kernel provisioner that forks each kernel from this process's warm template (a fresh kernel where
    forking is unavailable). Signals go to the kernel's process group, as ``LocalProvisioner`` sends them."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        global LAST_LAUNCH
        LAST_LAUNCH = "fresh"
        if not fork_available():
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        env["JPY_PARENT_PID"] = str(os.getpid())
        cwd = str(kwargs.get("cwd") or os.getcwd())
        pid = TEMPLATE.fork(list(cmd), cwd, env)
        if pid is None:
            LAST_LAUNCH = f"fresh ({TEMPLATE.unsafe})"
            return await super().launch_kernel(cmd, **kwargs)
        LAST_LAUNCH = "forked"
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid  # the kernel leads a session of its own
        self.cwd = cwd
        return self.connection_info


# --- The client a brief talks to its kernel with -----------------------------------------------------------------

IOPUB_DRAIN_SECONDS = 0.02  # IOPub is local: what the kernel published while starting is there by now


class BuildKernelClient(AsyncKernelClient):
    """jupyter_client's asynchronous client, ready as soon as its kernel is.

    The stock wait ends by reading IOPub until it has been silent for 0.2 s: a fifth of a second idle at the
    start of every brief (about 15 s of a full build's worker time). This wait asks for ``kernel_info`` until a
    reply comes and IOPub carries a message (the kernel's welcome: then both channels are connected), then takes
    what IOPub already holds and returns. Its errors begin as jupyter_client's do ("Kernel didn't respond...",
    "Kernel died before replying..."), which the fresh-kernel fallback (``execute``) reads.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        from queue import Empty

        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass  # IOPub not connected yet: ask again
                else:
                    self._adapt_protocol(reply)
                    break
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=IOPUB_DRAIN_SECONDS)
            except Empty:
                return

    def _adapt_protocol(self, reply: dict) -> None:
        """Speak the kernel's protocol version, as jupyter_client's own wait does on the same reply."""
        from jupyter_client import protocol_version_info

        version = int(reply["content"]["protocol_version"].split(".")[0])
        if version != protocol_version_info[0]:
            self.session.adapt_version = version


class BuildKernelManager(AsyncKernelManager):
    """The kernel manager a brief runs with (``papermill.execute_notebook(..., kernel_manager_class=...)``): stock,
    but its clients are :class:`BuildKernelClient`."""

    client_class = DottedObjectName(f"{__name__}.BuildKernelClient")
    client_factory = Type(BuildKernelClient, klass=AsyncKernelClient)


def exit_code_of_last_kernel() -> int | None:
    """The exit code of the kernel this process reaped last (forked kernels), or None."""
    return next(reversed(EXIT_CODES.values()), None) if EXIT_CODES else None


def sweep_children(keep: tuple[int | None, ...] = ()) -> list[int]:
    """In a build worker: kill and reap every process below this one but the template and ``keep``: what a brief
    left running (a kernel that would not stop, a notebook's child, even in a session of its own: as this
    process is a subreaper, orphans come back to it). Elsewhere nothing. Return their pids."""
    if not _SUBREAPER:
        return []
    import psutil

    spared = {TEMPLATE.pid, *keep}
    try:
        victims = [
            p
            for p in psutil.Process().children(recursive=True)
            if p.pid not in spared and not any(parent.pid in spared for parent in _parents(p))
        ]
    except psutil.Error:
        return []
    for process in victims:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(victims, timeout=5)  # reaps the ones that are children of this process
    return [p.pid for p in victims]


def kill_children() -> None:
    """SIGKILL every process below this one, template included, without waiting (the worker is stopping)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        for process in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                process.kill()


def _parents(process) -> list:
    import psutil

    try:
        return process.parents()
    except psutil.Error:
        return []
