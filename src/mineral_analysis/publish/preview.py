"""``mineral-analysis preview``: build what is stale, serve ``reports/`` on 127.0.0.1, rebuild on every save.

* **Warm workers.** The briefs run on a local Dask cluster (``dask_engine``) started once: its worker processes
  keep their imports and their kernel template between rebuilds, so a rebuild pays only for the briefs an edit
  affects. The cleaning runs on a worker too. The build itself (plan, lock, record, index) runs in a planner
  process (``Planner``), warm between rebuilds as well. A change to the library restarts the workers and
  replaces the planner (both hold the old code); a change to raw data or a notebook does not.
* **Watching.** ``watchfiles`` watches ``data/raw/``, ``notebooks/`` and the package. A change re-runs the
  cleaning (``pipeline.build_processed``) and the build (``build_briefs``: only briefs whose fingerprint changed).
* **Reloading.** The files on disk are exactly a build's. Only the server's responses change: an HTML page is
  served with a small script that waits (long poll on ``/__preview__/wait``) for the next rebuild and reloads.
  The briefs' Content-Security-Policy forbids scripts, so the served copy's policy gets ``script-src`` for that
  one script's nonce and ``connect-src 'self'`` (nothing else is loosened). A validation error or a failed brief
  is shown in a banner on every page while the last good briefs stay in place.
* **Stopping.** Ctrl-C (or SIGTERM) stops the watcher, the server and the cluster (workers and their kernels);
  a build in progress is interrupted like any build (no partial file).
"""

from __future__ import annotations

import contextlib
import errno
import html
import json
import logging
import os
import re
import secrets
import signal
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .. import config

HOST = "127.0.0.1"
WAIT_PATH = "/__preview__/wait"
POLL_SECONDS = 25.0  # a long poll is answered after at most this long, changed or not
SOCKET_TIMEOUT = 30.0  # a connection that sends nothing for this long is closed (a half-open one, say)
MAX_CONNECTIONS = 32  # connections served at once; more are closed at once (a page holds one long poll)
MAX_PAGE_BYTES = 256 * 1024 * 1024  # a brief's HTML or PDF is a few MB
_META = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)
TYPES = {".html": "text/html; charset=utf-8", ".pdf": "application/pdf"}
# What an editor or a tool writes beside the file it saves (sed -i's sedXXXXXX, vim's .swp/.swx and 4913, emacs'
# .#lock and backup~, temporaries): a change to these alone is not an edit and rebuilds nothing.
EDITOR_TEMPORARY = re.compile(r"(sed[A-Za-z0-9]{6}|\..*\.sw[a-p]|.*~|\.#.*|#.*#|4913|.*\.tmp|\..*)\Z")


class PreviewState:
    """What the pages show besides the files: the rebuild count (``generation``) and the current error."""

    def __init__(self) -> None:
        self.generation = 0
        self.error = ""
        self.changed = threading.Condition()

    def publish(self, error: str) -> None:
        """A rebuild finished (or failed with ``error``): wake every waiting page."""
        with self.changed:
            self.generation += 1
            self.error = error
            self.changed.notify_all()

    def wait(self, since: int, timeout: float) -> int:
        """The generation once it differs from ``since`` (or after ``timeout`` seconds)."""
        with self.changed:
            self.changed.wait_for(lambda: self.generation != since, timeout=timeout)
            return self.generation


def preview_csp(policy: str, nonce: str) -> str:
    """``policy`` with the preview's script (by ``nonce``) and its long poll to this server allowed."""
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    kept = [d for d in directives if d.split()[0].lower() not in ("script-src", "connect-src")]
    return "; ".join([*kept, f"script-src 'nonce-{nonce}'", "connect-src 'self'"])


def _with_preview_csp(tag: str, nonce: str) -> str:
    """A ``<meta>`` tag with its Content-Security-Policy loosened for the preview (``preview_csp``), whatever the
    order, quoting and case of its attributes; any other tag unchanged."""
    attributes = list(_ATTRIBUTE.finditer(tag, 5, len(tag) - 1))
    values = {m.group(1).lower(): next((g for g in m.groups()[1:] if g is not None), "") for m in attributes}
    if values.get("http-equiv", "").strip().lower() != "content-security-policy":
        return tag
    content = next((m for m in attributes if m.group(1).lower() == "content"), None)
    if content is None:
        return tag
    policy = html.escape(preview_csp(html.unescape(values["content"]), nonce), quote=True)
    return tag[: content.start()] + f'content="{policy}"' + tag[content.end() :]


def inject(page: str, generation: int, error: str, nonce: str) -> str:
    """The page as the preview serves it: the reload script and, when there is one, the error banner.

    Positions are found in the page itself (never in a lower-cased copy, whose length can differ: "İ" lower-cases
    to two characters), so the script lands before ``</body>`` whatever the text holds."""
    script = (
        f'<script nonce="{nonce}">(async () => {{ const since = {generation}; for (;;) {{ try {{ '
        f"const answer = await (await fetch('{WAIT_PATH}?since=' + since)).json(); "
        "if (answer.generation !== since) { location.reload(); return; } } catch (e) { "
        "await new Promise(r => setTimeout(r, 1000)); } } })();</script>"
    )
    banner = ""
    if error:
        banner = (
            '<div id="preview-error" style="position:sticky;top:0;z-index:9;background:#fde8e8;color:#7a0000;'
            'border-bottom:2px solid #7a0000;padding:0.6em 1em"><strong>Preview: the last change was not '
            f'built</strong> (the pages below are the last good build)<pre style="white-space:pre-wrap">'
            f"{html.escape(error)}</pre></div>"
        )
    page = _META.sub(lambda m: _with_preview_csp(m.group(0), nonce), page)
    body = _BODY_OPEN.search(page)
    at = body.end() if body else 0
    page = page[:at] + banner + page[at:]
    closes = list(_BODY_CLOSE.finditer(page))
    if not closes:
        return page + script
    end = closes[-1].start()
    return page[:end] + script + page[end:]


def allowed_hosts(port: int) -> set[str]:
    """The ``Host`` values the preview answers: its bound address and ``localhost``, with or without the port
    (any other name is refused, so a web page cannot reach the preview through DNS rebinding)."""
    return {HOST, "localhost", f"{HOST}:{port}", f"localhost:{port}"}


def served_name(request_path: str, published: set[str]) -> str | None:
    """The published file a request asks for (``/`` is the index), or None: only a plain name the build published
    (listed in SHA256SUMS) is served; anything else (a folder, a notebook, ``failed/``, the build's bookkeeping,
    ``..``, an encoded NUL) is not found."""
    from urllib.parse import unquote

    from .record import INDEX

    path = request_path.split("?", 1)[0].split("#", 1)[0]
    name = unquote(path, errors="strict") if "%" in path else path
    name = INDEX if name == "/" else name.removeprefix("/")
    return name if name in published else None


def make_server(reports: Path, state: PreviewState, port: int) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1:``port`` serving the briefs ``reports`` publishes, with the preview's additions.

    Only files the build published (SHA256SUMS) are served, read as regular files inside ``reports`` without
    following a link; a ``Host`` other than the bound address or localhost is refused; a connection idle for
    SOCKET_TIMEOUT seconds is closed, and at most MAX_CONNECTIONS are served at once."""
    from ..safe_files import read_regular_bytes
    from .record import read_sums

    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    class Handler(BaseHTTPRequestHandler):
        timeout = SOCKET_TIMEOUT  # socket timeout: a half-open or silent connection does not hold a thread
        protocol_version = "HTTP/1.0"

        def log_message(self, format, *args):
            pass

        def do_GET(self):
            host = (self.headers.get("Host") or "").strip().lower()
            if host not in allowed_hosts(self.server.server_address[1]):
                return self._refuse(HTTPStatus.MISDIRECTED_REQUEST, "this preview answers only 127.0.0.1 and localhost")
            path = self.path.split("?", 1)[0]
            if path == WAIT_PATH:
                since = re.search(r"since=(-?\d{1,12})", self.path)
                generation = state.wait(int(since.group(1)) if since else -1, POLL_SECONDS)
                return self._send(json.dumps({"generation": generation}).encode(), "application/json")
            try:
                name = served_name(self.path, set(read_sums(reports)))
            except UnicodeDecodeError:
                name = None
            if name is None:
                return self._refuse(HTTPStatus.NOT_FOUND, "not a published brief")
            try:
                data = read_regular_bytes(reports / name, MAX_PAGE_BYTES)
            except OSError:
                return self._refuse(HTTPStatus.NOT_FOUND, "not a published brief")
            if name.endswith(".html"):
                nonce = secrets.token_urlsafe(12)
                page = inject(data.decode("utf-8", errors="replace"), state.generation, state.error, nonce)
                return self._send(page.encode("utf-8"), TYPES[".html"])
            return self._send(data, TYPES[Path(name).suffix])

        def do_HEAD(self):
            return self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "GET only")

        do_POST = do_PUT = do_DELETE = do_HEAD

        def _refuse(self, status: HTTPStatus, message: str) -> None:
            self._send(f"{status.value} {status.phrase}: {message}\n".encode(), "text/plain; charset=utf-8", status)

        def _send(self, data: bytes, kind: str, status: HTTPStatus = HTTPStatus.OK) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(data)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def process_request(self, request, client_address):
            if not slots.acquire(blocking=False):  # too many connections: this one is closed at once
                self.shutdown_request(request)
                return
            try:
                super().process_request(request, client_address)
            except BaseException:
                slots.release()
                raise

        def process_request_thread(self, request, client_address):
            try:
                super().process_request_thread(request, client_address)
            finally:
                slots.release()

        def handle_error(self, request, client_address):
            pass  # a client that went away or sent garbage: nothing to report, no traceback

    try:
        return Server((HOST, port), Handler)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise OSError(
                exc.errno,
                f"port {port} on {HOST} is {'in use' if exc.errno == errno.EADDRINUSE else 'not allowed'}; "
                f"choose another with --port (e.g. --port {port + 1 if port < 65535 else 8001})",
            ) from None
        raise


def editor_temporary(path: str) -> bool:
    """Whether ``path`` is an editor's or tool's temporary file (``EDITOR_TEMPORARY``), not an edit."""
    return bool(EDITOR_TEMPORARY.match(Path(path).name))


def _watched(change, path: str) -> bool:
    """The watcher's filter: the default one (caches, version control), and no editor temporaries."""
    import watchfiles

    return watchfiles.DefaultFilter()(change, path) and not editor_temporary(path)


def _clean_on_worker(raw_dir: str | None, processed_dir: str | None) -> dict:
    """``build_processed`` on a worker: the summary, or ``{"error": report}`` for invalid raw data."""
    from ..clean.pipeline import build_processed
    from ..errors import DataValidationError

    try:
        return build_processed(raw_dir, processed_dir, wait=True)
    except DataValidationError as exc:
        return {"error": exc.report()}


class PlannerError(RuntimeError):
    """The planner process failed outside any brief (its traceback is the message), or ended."""


def _build_on_cluster(address: str, **options):
    """``build_briefs`` on the Dask cluster at ``address``, from the planner process (its client kept)."""
    from .build import build_briefs

    client = _CLIENTS.get(address)
    if client is None:
        from distributed import Client

        client = _CLIENTS[address] = Client(address, set_as_default=False)
    return build_briefs(client=client, **options)


_CLIENTS: dict[str, object] = {}  # in the planner process: its client of the preview's cluster


def _planner_main(connection) -> None:
    """The planner process: import the build's modules, then run each call it is sent (``Planner.call``) until
    told to stop (an empty message), the preview goes away (end of file), or a build is interrupted."""
    try:  # only a head start: the first build imports them anyway, and reports the same error with its brief
        from .. import briefing  # noqa: F401
        from . import build, index_page  # noqa: F401
    except Exception as exc:  # e.g. a syntax error being typed in the library
        print(f"preview: the planner could not import the build: {type(exc).__name__}: {exc}", file=sys.stderr)
    try:
        _serve_calls(connection)
    finally:
        for client in _CLIENTS.values():
            try:
                client.close()
            except Exception as exc:  # the cluster went first: say so, and close the others
                print(f"preview: closing the planner's cluster client: {type(exc).__name__}: {exc}", file=sys.stderr)


def _serve_calls(connection) -> None:
    """Answer ``Planner.call``'s messages: ``(kind, value)``, kind ok, parameter, missing, error or interrupted."""
    import pickle
    import traceback

    from ..errors import ParameterError

    while True:
        try:
            message = connection.recv_bytes()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if message == b"":
            return
        try:
            function, args, kwargs = pickle.loads(message)
            answer = ("ok", function(*args, **kwargs))
        except KeyboardInterrupt:  # BuildInterrupted: the build cleaned up; this process ends with it
            connection.send(("interrupted", ""))
            return
        except (ParameterError, FileNotFoundError) as exc:  # what a build refuses before it starts
            answer = ("parameter" if isinstance(exc, ParameterError) else "missing", str(exc))
        except Exception:  # anything else goes back to the preview, which shows it and goes on watching
            answer = ("error", traceback.format_exc())
        connection.send(answer)


class Planner:
    """A process of its own for the preview's builds, kept warm between rebuilds and replaced when the library
    changes.

    A build plans (catalogue, data slices, fingerprints), records and writes the index with library code: run in
    the preview's own long-lived process it would go on using the code imported at start after a library edit.
    The planner is started with ``spawn`` (a fresh interpreter that imports the library from disk)."""

    def __init__(self) -> None:
        self.process = None
        self.connection = None
        self.busy = False
        self.start()

    def start(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_planner_main, args=(child,), name="mineral-analysis-planner")
        self.process.start()
        child.close()

    def call(self, function, *args, **kwargs):
        """``function(*args, **kwargs)`` run in the planner process (``function`` is found there by its name, in
        the library as it is on disk when the planner started). Its errors come back as ParameterError,
        FileNotFoundError or PlannerError; an interrupted build as KeyboardInterrupt."""
        import pickle

        from ..errors import ParameterError

        self.busy = True  # until the answer is in (an interrupt here leaves it set: ``stop`` then stops the build)
        try:
            self.connection.send_bytes(pickle.dumps((function, args, kwargs)))
            kind, value = self.connection.recv()
        except (EOFError, OSError):
            self.busy = False
            self.process.join(timeout=5)
            code = self.process.exitcode
            self.restart()
            raise PlannerError(
                f"the preview's planner process ended (exit code {code}); a new one was started"
            ) from None
        self.busy = False
        if kind == "ok":
            return value
        if kind == "interrupted":
            raise KeyboardInterrupt
        raise {"parameter": ParameterError, "missing": FileNotFoundError}.get(kind, PlannerError)(value)

    def restart(self) -> None:
        """A new planner process: the library imported again."""
        self.stop()
        self.start()

    def stop(self, timeout: float = 30.0) -> None:
        """End the planner: when idle, at once; during a build, by SIGTERM (the build stops cleanly, as on
        Ctrl-C); killed if it is still there after ``timeout`` seconds."""
        if self.process is None:
            return
        if self.busy:
            self.process.join(1.0)  # a Ctrl-C reached it too: it is already stopping its build
            if self.process.is_alive():
                self.process.terminate()
        else:
            with contextlib.suppress(OSError):
                self.connection.send_bytes(b"")
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()
        self.process = self.connection = None


def _library_changed(changes, package: Path) -> bool:
    return any(Path(path).is_relative_to(package) and Path(path).suffix == ".py" for _, path in changes)


def run_preview(
    *,
    port: int = 8000,
    only: list[str] | None = None,
    jobs: int | None = None,
    raw_dir: Path | None = None,
    processed_dir: Path | None = None,
    reports_dir: Path | None = None,
    log=print,
    stop: threading.Event | None = None,
) -> None:
    """Build what is stale, serve it, and rebuild on every change until Ctrl-C (or ``stop`` is set)."""
    import dask
    import watchfiles
    from distributed import Client, LocalCluster

    from ..errors import ParameterError
    from .catalogue import select_briefs
    from .dask_engine import SCHEDULER_ALLOWED_FAILURES, warm_worker

    raw = Path(raw_dir or config.RAW_DIR).resolve()
    processed = Path(processed_dir or config.PROCESSED_DIR).resolve()
    reports = Path(reports_dir or config.REPORTS_DIR).resolve()
    package, notebooks = config.PACKAGE_DIR.resolve(), config.NOTEBOOKS_DIR.resolve()
    if only and (processed / config.parquet_file("financing")).exists():
        select_briefs(only, processed)  # a bad spec is refused before any worker starts
    reports.mkdir(parents=True, exist_ok=True)
    stop = stop or threading.Event()
    state = PreviewState()
    server = make_server(reports, state, port)  # a busy port is refused before any worker starts
    if config.PROJECT_ROOT is not None:
        os.environ[config.ROOT_VARIABLE] = str(config.PROJECT_ROOT)  # the workers find the same project
    previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)
    cluster = client = serving = planner = None
    try:
        planner = Planner()  # imports the build's modules while the cluster starts
        with dask.config.set({"distributed.scheduler.allowed-failures": SCHEDULER_ALLOWED_FAILURES}):
            cluster = LocalCluster(  # the scheduler reads allowed-failures when it starts: retries are the build's
                n_workers=max(1, jobs or os.cpu_count() or 1),
                threads_per_worker=1,
                processes=True,
                host=HOST,
                scheduler_port=0,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        client = Client(cluster, set_as_default=False)
        client.run(warm_worker)
        serving = threading.Thread(target=server.serve_forever, daemon=True)
        serving.start()

        def refresh(clean: bool) -> None:
            if clean:
                summary = client.submit(_clean_on_worker, str(raw), str(processed), pure=False).result()
                if "error" in summary:
                    log(f"preview: raw data invalid, briefs left as they were:\n{summary['error']}")
                    state.publish(summary["error"])
                    return
            try:
                result = planner.call(
                    _build_on_cluster,
                    cluster.scheduler_address,
                    only=only,
                    processed_dir=processed,
                    reports_dir=reports,
                    progress=False,
                    wait=True,
                )
            except (FileNotFoundError, ParameterError, PlannerError) as exc:  # e.g. no tables yet: say so, go on
                log(f"preview: nothing built: {exc}")
                state.publish(str(exc))
                return
            log(f"preview: {result.summary()}")
            failures = "\n".join(f"{o.spec}: {o.error}" for o in result.failed)
            state.publish(f"brief(s) failed:\n{failures}" if failures else "")

        refresh(clean=True)
        log(
            f"preview: serving {reports.name}/ at http://{HOST}:{server.server_address[1]}/ ; watching "
            f"{raw.name}/, {notebooks.name}/ and the library; Ctrl-C stops"
        )
        for changes in watchfiles.watch(
            raw,
            notebooks,
            package,
            watch_filter=_watched,
            stop_event=stop,
            debounce=400,
            step=50,
            rust_timeout=500,
            yield_on_timeout=False,
        ):
            if _library_changed(changes, package):
                log("preview: the library changed: restarting the workers and the planner")
                planner.restart()
                client.restart()
                try:
                    client.run(warm_worker)
                except Exception as exc:  # e.g. a syntax error being typed: shown, and the build names it too
                    log(f"preview: the workers could not load the library: {type(exc).__name__}: {exc}")
            names = sorted({Path(p).name for _, p in changes})
            log(f"preview: changed {', '.join(names)}")
            clean = any(Path(p).is_relative_to(raw) for _, p in changes) or _library_changed(changes, package)
            refresh(clean)
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        if serving is not None:
            server.shutdown()
        server.server_close()
        if planner is not None:
            planner.stop()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        sys.stderr.flush()
