"""The ``mineral-analysis`` command: ``data``, ``validate``, ``build``, ``preview``, ``verify`` and ``list``.

Exit codes: 0 success; 1 the raw data failed validation, a brief failed or ``verify`` found a difference; 2 a usage
or parameter error (or no project folder); 3 another build holds the lock; 128 + the signal number when a build is
interrupted (130 SIGINT, 143 SIGTERM).

Every command takes ``--project DIR`` (the project folder; see ``config``) and ``--no-progress``. When a run's
output is not a terminal (cron, CI, a pipe into a log), each line it writes starts with an ISO 8601 UTC timestamp
and no progress bar is drawn; ``MINERAL_ANALYSIS_LOG=plain`` (or ``timestamped``) forces one or the other.
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
LOG_VARIABLE = "MINERAL_ANALYSIS_LOG"
# Commands whose output is a log (timestamped off a terminal); the others print data (lists, tables, CSV).
LOGGING_COMMANDS = {"data", "validate", "build", "release", "verify", "preview"}


class TimestampedStream(io.TextIOBase):
    """A text stream that starts every line written through it with an ISO 8601 UTC timestamp."""

    def __init__(self, stream, clock=None) -> None:
        self._stream = stream
        self._clock = clock or (lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self._at_line_start = True

    def write(self, text: str) -> int:
        for piece in text.splitlines(keepends=True):
            if self._at_line_start:
                self._stream.write(f"{self._clock()} ")
            self._stream.write(piece)
            self._at_line_start = piece.endswith(("\n", "\r"))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()


class DescriptorTimestamps:
    """Every line written to file descriptors 1 and 2, by this process or any child it starts (the preview's
    workers, planner and kernels write straight to them), relayed with an ISO 8601 UTC timestamp at its start.

    Each descriptor is replaced by a pipe; a thread reads whole lines from it and writes them, stamped, to the
    original. ``close`` puts the descriptors back and lets the threads finish what the children wrote."""

    def __init__(self, clock=None) -> None:
        import threading

        self._clock = clock or (lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self._saved: list[tuple[int, int]] = []
        self._threads = []
        for fd in (1, 2):
            original = os.dup(fd)
            read_end, write_end = os.pipe()
            os.dup2(write_end, fd)
            os.close(write_end)
            self._saved.append((fd, original))
            thread = threading.Thread(target=self._relay, args=(read_end, os.dup(original)), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _relay(self, read_end: int, target: int) -> None:
        with os.fdopen(read_end, "rb") as source, os.fdopen(target, "wb", buffering=0) as sink:
            for line in source:
                sink.write(f"{self._clock()} ".encode() + line)

    def close(self, timeout: float = 5.0) -> None:
        for fd, original in self._saved:
            os.dup2(original, fd)  # the pipe's last writer in this process is gone
            os.close(original)
        for thread in self._threads:
            thread.join(timeout)  # a child still holding the pipe keeps its thread: it is a daemon


def timestamps_wanted(stream, environ=None) -> bool:
    """Whether a run's lines get timestamps: off a terminal, unless ``MINERAL_ANALYSIS_LOG`` says otherwise."""
    setting = (os.environ if environ is None else environ).get(LOG_VARIABLE, "").strip().lower()
    if setting in ("plain", "timestamped"):
        return setting == "timestamped"
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):
        return True


def _is_real_stream(stream) -> bool:
    """Whether ``stream`` writes to a file descriptor of this process (not a test's capture)."""
    try:
        return stream.fileno() == 2
    except (AttributeError, ValueError, OSError):
        return False


def _usd(value: float) -> str:
    from .usd import format_usd

    return format_usd(value)


def _error(message: object, code: int) -> int:
    """Print ``error: message`` on stderr and return the exit code ``code``."""
    print(f"error: {message}", file=sys.stderr)
    return code


def _cmd_data(args: argparse.Namespace) -> int:
    from .clean.pipeline import DataLockedError, build_processed
    from .errors import DataValidationError
    from .releases import ReleaseError

    try:
        summary = build_processed(args.raw_dir, args.processed_dir, wait=args.wait)
    except ReleaseError as exc:  # the releases the metadata names are refused (an edited one, a broken chain)
        return _error(f"{exc}; nothing was written", EXIT_FAILED)
    except DataValidationError as exc:
        print(f"error: {exc.report()}", file=sys.stderr)
        from . import config

        print(f"nothing was written; {args.processed_dir or config.PROCESSED_DIR} is unchanged", file=sys.stderr)
        return EXIT_FAILED
    except DataLockedError as exc:
        return _error(exc, EXIT_LOCKED)
    except OSError as exc:  # a symlinked processed folder, a full disk, no permission: nothing half-written
        return _error(f"the processed tables were not replaced: {exc}", EXIT_FAILED)
    changed = ", ".join(summary["changed"]) or "nothing (already up to date)"
    print(
        f"dataset {summary['dataset_version']} (data version {summary['data_version']}): "
        f"{summary['financing_items']} financing items and {summary['commitments']} commitments without money, "
        f"{summary['membership_rows']} membership rows; "
        f"total {_usd(summary['total_usd'])}, binding {_usd(summary['binding_usd'])} "
        f"({_usd(summary['binding_if_alternative_usd'])} under the alternative readings), "
        f"not binding {_usd(summary['non_binding_usd'])}, stage not stated {_usd(summary['not_stated_usd'])}; "
        f"mobilised apart: private {_usd(summary['mobilized_private_usd'])}, public "
        f"{_usd(summary['mobilized_public_usd'])}, not split {_usd(summary['mobilized_unsplit_usd'])}"
    )
    print(f"wrote {changed}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from .clean.pipeline import load_raw, summarize
    from .errors import DataValidationError

    try:
        tables = load_raw(args.raw_dir)
    except DataValidationError as exc:
        return _error(exc.report(), EXIT_FAILED)
    summary = summarize(tables)
    print(
        f"raw data valid (data version {summary['data_version']}): {summary['financing_records']} financing "
        f"records, {summary['membership_rows']} membership rows; nothing written"
    )
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    from .publish.catalogue import all_briefs

    for brief in all_briefs(args.processed_dir):
        print(f"{brief.spec:<24} {brief.title}")
    return EXIT_OK


def _cmd_build(args: argparse.Namespace) -> int:
    from .errors import ParameterError
    from .publish.build import BuildLockedError, build_briefs
    from .publish.dask_engine import SchedulerUnreachable

    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    try:
        result = build_briefs(
            only=args.only or None,
            formats=formats,
            jobs=args.jobs,
            force=args.force,
            processed_dir=args.processed_dir,
            reports_dir=args.reports_dir,
            timeout=args.timeout,
            progress=not args.no_progress and sys.stderr.isatty(),
            wait=args.wait,
            scheduler=args.scheduler,
        )
    except ParameterError as exc:
        return _error(exc, EXIT_USAGE)
    except BuildLockedError as exc:
        return _error(exc, EXIT_LOCKED)
    except (FileNotFoundError, SchedulerUnreachable) as exc:
        return _error(exc, EXIT_FAILED)
    except KeyboardInterrupt as exc:  # SIGINT or SIGTERM: the build cleaned up before this
        signum = getattr(exc, "signum", signal.SIGINT)
        print(
            f"error: build interrupted ({signal.Signals(signum).name}); briefs finished so far are in place, "
            "the others kept their previous outputs; run the build again to finish",
            file=sys.stderr,
        )
        return 128 + signum
    except OSError as exc:  # a full disk or an unwritable reports folder before any brief ran
        return _error(f"{type(exc).__name__}: {exc}; nothing was published", EXIT_FAILED)
    print(result.summary())
    return EXIT_FAILED if result.failed or result.error else EXIT_OK


def _cmd_preview(args: argparse.Namespace) -> int:
    from .errors import ParameterError
    from .publish.preview import run_preview

    try:
        run_preview(
            port=args.port,
            only=args.only or None,
            jobs=args.jobs,
            raw_dir=args.raw_dir,
            processed_dir=args.processed_dir,
            reports_dir=args.reports_dir,
            log=lambda message: print(message, file=sys.stderr, flush=True),
        )
    except ParameterError as exc:
        return _error(exc, EXIT_USAGE)
    except OSError as exc:  # e.g. the port is taken
        return _error(f"the preview could not start: {exc}", EXIT_FAILED)
    except KeyboardInterrupt:
        from . import config

        print(f"preview stopped; {args.reports_dir or config.REPORTS_DIR} holds the last good build", file=sys.stderr)
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from . import config
    from .publish.record import SUMS, verify

    reports = Path(args.reports_dir or config.REPORTS_DIR)
    try:
        problems = verify(reports)
    except OSError as exc:
        return _error(f"cannot read {reports}: {exc.strerror or exc}", EXIT_FAILED)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{reports.name}/: {len(problems)} problem(s); its files are not the ones published", file=sys.stderr)
        return EXIT_FAILED
    print(f"{reports.name}/: every file matches {SUMS} and MANIFEST.json")
    return EXIT_OK


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of seconds above zero (``20.5``, ``0``, ``inf``, ``nan`` refused)."""
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds, not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above zero, not {text!r}")
    return value


def _brief_spec(text: str) -> str:
    """An argparse type: a brief spec with no empty part (``country:`` is what an unset variable gives)."""
    kind, colon, value = text.partition(":")
    if not kind.strip() or (colon and not value.strip()):
        raise argparse.ArgumentTypeError(
            f"empty brief spec {text!r}: write overview, agency:DFC, country:KOR, "
            "mineral:copper, or a kind alone (country) for all of that kind"
        )
    return text


# --- Releases and changes (the tracker) -------------------------------------------------------------------


def _cmd_release(args: argparse.Namespace) -> int:
    from .clean.new_release import make_release
    from .errors import DataValidationError
    from .releases import ReleaseError

    only = {s.strip() for s in args.sources.split(",") if s.strip()} if args.sources else None
    try:
        release = make_release(
            args.name, raw_dir=args.raw_dir, releases_dir=args.releases_dir, only_sources=only, date=args.date
        )
    except ReleaseError as exc:
        return _error(exc, EXIT_USAGE)
    except DataValidationError as exc:
        print(f"error: {exc.report()}", file=sys.stderr)
        print(
            f"no release was made; fix the raw data and run `mineral-analysis release {args.name}` again",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(
        f"release {release.name} ({release.date}, sources {', '.join(release.sources)}) made; "
        "run `mineral-analysis data` so that the briefs name it"
    )
    print(release.citation)
    return EXIT_OK


def _cmd_releases(args: argparse.Namespace) -> int:
    from .releases import ReleaseError, list_releases

    try:
        releases = list_releases(args.releases_dir)
    except ReleaseError as exc:
        return _error(exc, EXIT_FAILED)
    for release in releases:
        print(f"{release.name}\t{release.date}\tsources {','.join(release.sources)}\t{release.citation}")
    return EXIT_OK


def _cmd_changes(args: argparse.Namespace) -> int:
    from .changes import changes_between, format_changes
    from .releases import ReleaseError

    try:
        changes, deltas = changes_between(args.since, args.until, args.processed_dir, args.releases_dir)
    except ReleaseError as exc:
        return _error(exc, EXIT_USAGE)
    except FileNotFoundError as exc:
        return _error(exc, EXIT_FAILED)
    sys.stdout.write(format_changes(changes, deltas, args.format))
    return EXIT_OK


def _add_tracker_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """The parser entries of ``release``, ``releases`` and ``changes``."""

    def releases_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--releases-dir", type=Path, default=None, help="folder of the releases (default: data/releases)"
        )

    p = command("release", help="validate data/raw and store it as a named, immutable release")
    p.add_argument("name", help="release name: lower-case letters, digits, '.', '_', '-' (e.g. 2026-03-update)")
    p.add_argument("--raw-dir", type=Path, default=None, help="folder of the raw files (default: data/raw)")
    p.add_argument(
        "--sources",
        default=None,
        metavar="IDS",
        help="comma-separated source ids: build the release from the records citing these alone "
        "(for past releases, e.g. 000)",
    )
    p.add_argument("--date", default=None, help="release date YYYY-MM-DD (default: today, or SOURCE_DATE_EPOCH's day)")
    releases_dir(p)
    p.set_defaults(func=_cmd_release)

    p = command("releases", help="list the releases, oldest first, one per line, name first")
    releases_dir(p)
    p.set_defaults(func=_cmd_releases)

    p = command("changes", help="records added, removed or changed since a release")
    p.add_argument("--since", required=True, metavar="NAME", help="the release to compare from")
    p.add_argument(
        "--until", default=None, metavar="NAME", help="a later release (default: the current processed data)"
    )
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument(
        "--processed-dir", type=Path, default=None, help="folder of the processed tables (default: data/processed)"
    )
    releases_dir(p)
    p.set_defaults(func=_cmd_changes)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so the tests and docs can inspect it)."""
    # Options every command takes (before or after the command's name), so one ARGS can serve them all.
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--project",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="the project folder (default: MINERAL_ANALYSIS_ROOT, else the folder holding "
        "data/raw/ at or above the working directory)",
    )
    shared.add_argument(
        "--no-progress",
        action="store_true",
        default=argparse.SUPPRESS,
        help="never draw a progress bar (none is drawn off a terminal anyway)",
    )
    parser = argparse.ArgumentParser(prog="mineral-analysis", description=__doc__.splitlines()[0], parents=[shared])
    command = functools.partial(parser.add_subparsers(dest="command", required=True).add_parser, parents=[shared])

    def dirs(p: argparse.ArgumentParser, raw: bool = True, processed: bool = True) -> None:
        if raw:
            p.add_argument(
                "--raw-dir",
                type=Path,
                default=None,
                help="folder with financing.csv and membership.csv (default: data/raw)",
            )
        if processed:
            p.add_argument(
                "--processed-dir",
                type=Path,
                default=None,
                help="folder of the processed tables (default: data/processed)",
            )

    p = command("data", help="validate data/raw and rebuild data/processed atomically")
    dirs(p)
    p.add_argument("--wait", action="store_true", help="wait for a build or data run holding the data lock")
    p.set_defaults(func=_cmd_data)

    p = command("validate", help="check data/raw; write nothing")
    dirs(p, processed=False)
    p.set_defaults(func=_cmd_validate)

    p = command("list", help="list every brief the build would make")
    dirs(p, raw=False)
    p.set_defaults(func=_cmd_list)

    p = command("build", help="build briefs (HTML and PDF) into reports/")
    dirs(p, raw=False)
    p.add_argument(
        "--only",
        action="append",
        metavar="SPEC",
        type=_brief_spec,
        help="build only this brief: overview, agency:DFC, country:KOR (or a name), mineral:copper; "
        "repeatable; a kind alone (country) builds all of that kind",
    )
    p.add_argument("--formats", default="html,pdf", help="comma-separated: html, pdf (default: both)")
    p.add_argument("--jobs", type=int, default=None, help="parallel workers (default: one per core)")
    p.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    p.add_argument("--reports-dir", type=Path, default=None, help="output folder (default: reports)")
    p.add_argument(
        "--timeout",
        type=_positive_int,
        default=300,
        help="whole seconds a brief may run before it fails (default: 300)",
    )
    p.add_argument("--wait", action="store_true", help="wait for a running build instead of refusing")
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="run the briefs on this Dask scheduler's workers (outputs come back as bytes; see docs/building.md)",
    )
    p.set_defaults(func=_cmd_build)

    p = command("preview", help="build what is stale, serve reports/ on 127.0.0.1 and rebuild on every save")
    dirs(p)
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000)")
    p.add_argument(
        "--only",
        action="append",
        metavar="SPEC",
        type=_brief_spec,
        help="preview only this brief (as for build); repeatable",
    )
    p.add_argument("--jobs", type=int, default=None, help="warm worker processes (default: one per core)")
    p.add_argument("--reports-dir", type=Path, default=None, help="output folder (default: reports)")
    p.set_defaults(func=_cmd_preview)

    p = command("verify", help="check reports/ against its SHA256SUMS and MANIFEST.json")
    p.add_argument("--reports-dir", type=Path, default=None, help="the folder to check (default: reports)")
    p.set_defaults(func=_cmd_verify)
    _add_tracker_commands(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    from . import config

    args = make_parser().parse_args(argv)
    args.no_progress = getattr(args, "no_progress", False)
    project = getattr(args, "project", None)
    if project is not None:
        if not project.is_dir():
            return _error(f"--project {project}: no such folder", EXIT_USAGE)
        config.use_project(project)
    if args.command in LOGGING_COMMANDS:
        streams = (sys.stdout, sys.stderr)
        relay = None
        if timestamps_wanted(sys.stderr) and args.command == "preview" and _is_real_stream(sys.stderr):
            # The preview's children (workers, planner, kernels) write to the descriptors themselves.
            sys.stdout.flush()
            sys.stderr.flush()
            relay = DescriptorTimestamps()
        elif timestamps_wanted(sys.stderr):
            sys.stdout, sys.stderr = TimestampedStream(sys.stdout), TimestampedStream(sys.stderr)
        try:
            return _run(args)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = streams
            if relay is not None:
                relay.close()
    return _run(args)


# The modules of the optional dependencies (pyproject.toml's extras) and the extra that brings each.
OPTIONAL_MODULES = {
    **dict.fromkeys(
        ("pandera", "filelock", "papermill", "nbformat", "nbclient", "nbconvert", "ipykernel", "jupyter_client"),
        "build",
    ),
    **dict.fromkeys(("weasyprint", "fontTools", "nh3", "bs4", "mistune", "jinja2", "tqdm", "psutil"), "build"),
    **dict.fromkeys(("dask", "distributed"), "dask"),
    "watchfiles": "preview",
}


def _needs_project(args: argparse.Namespace) -> bool:
    """Every command works on a project folder, unless its folders are all named on the command line."""

    def given(name: str) -> bool:
        return getattr(args, name, None) is not None

    if args.command == "validate":
        return not given("raw_dir")
    if args.command == "data":
        return not (given("raw_dir") and given("processed_dir"))
    if args.command == "list":
        return not given("processed_dir")
    if args.command == "verify":
        return not given("reports_dir")
    return True


def _run(args: argparse.Namespace) -> int:
    from . import config

    try:
        if _needs_project(args):
            config.require_project()
        return args.func(args)
    except config.ProjectNotFound as exc:
        return _error(exc, EXIT_USAGE)
    except ModuleNotFoundError as exc:
        extra = OPTIONAL_MODULES.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        return _error(
            f"`mineral-analysis {args.command}` needs {exc.name}, which the core install leaves out; "
            f"install it with: pip install 'mineral-analysis[{extra}]'",
            EXIT_USAGE,
        )
    except BrokenPipeError:  # `mineral-analysis list | head`: the reader left; not an error of ours
        sys.stdout = None
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
