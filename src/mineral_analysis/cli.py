"""The ``mineral-analysis`` command: ``data``, ``validate``, ``build`` and ``list``.

Exit codes: 0 success; 1 the raw data failed validation or a brief failed; 2 a usage or parameter error;
3 another build holds the lock; 128 + the signal number when a build is interrupted (130 SIGINT, 143 SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


def _usd(value: float) -> str:
    from .amounts import format_usd

    return format_usd(value)


def _cmd_data(args: argparse.Namespace) -> int:
    from .errors import DataValidationError
    from .pipeline import build_processed

    try:
        summary = build_processed(args.raw_dir, args.processed_dir)
    except DataValidationError as exc:
        print(f"error: {exc.report()}", file=sys.stderr)
        print(f"nothing was written; {args.processed_dir or 'data/processed/'} is unchanged", file=sys.stderr)
        return EXIT_FAILED
    changed = ", ".join(summary["changed"]) or "nothing (already up to date)"
    print(f"data version {summary['data_version']}: {summary['financing_records']} financing records, "
          f"{summary['membership_rows']} membership rows; "
          f"total {_usd(summary['total_usd'])}, binding {_usd(summary['binding_usd'])}, "
          f"mobilised {_usd(summary['mobilized_usd'])}")
    print(f"wrote {changed}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from .errors import DataValidationError
    from .pipeline import load_raw, summarize

    try:
        tables = load_raw(args.raw_dir)
    except DataValidationError as exc:
        print(f"error: {exc.report()}", file=sys.stderr)
        return EXIT_FAILED
    summary = summarize(tables)
    print(f"raw data valid (data version {summary['data_version']}): {summary['financing_records']} financing "
          f"records, {summary['membership_rows']} membership rows; nothing written")
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    from .briefs import all_briefs

    for brief in all_briefs(args.processed_dir):
        print(f"{brief.spec:<24} {brief.title}")
    return EXIT_OK


def _cmd_build(args: argparse.Namespace) -> int:
    from .build import BuildLockedError, build_briefs
    from .errors import ParameterError

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
            progress=not args.no_progress,
            wait=args.wait,
        )
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BuildLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:  # SIGINT or SIGTERM: the build cleaned up before this
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"error: build interrupted ({signal.Signals(signum).name}); briefs finished so far are in place, "
              "the others kept their previous outputs; run the build again to finish", file=sys.stderr)
        return 128 + signum
    print(result.summary())
    return EXIT_FAILED if result.failed else EXIT_OK


# --- Releases and changes (the tracker) -------------------------------------------------------------------

def _cmd_release(args: argparse.Namespace) -> int:
    from .errors import DataValidationError
    from .releases import ReleaseError, make_release

    only = {s.strip() for s in args.sources.split(",") if s.strip()} if args.sources else None
    try:
        release = make_release(args.name, raw_dir=args.raw_dir, releases_dir=args.releases_dir,
                               only_sources=only, date=args.date)
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DataValidationError as exc:
        print(f"error: {exc.report()}", file=sys.stderr)
        print(f"no release was made; fix the raw data and run `mineral-analysis release {args.name}` again",
              file=sys.stderr)
        return EXIT_FAILED
    print(f"release {release.name} ({release.date}, sources {', '.join(release.sources)}) made; "
          "run `mineral-analysis data` so that the briefs name it")
    print(release.citation)
    return EXIT_OK


def _cmd_releases(args: argparse.Namespace) -> int:
    from .releases import ReleaseError, list_releases

    try:
        releases = list_releases(args.releases_dir)
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for release in releases:
        print(f"{release.name}\t{release.date}\tsources {','.join(release.sources)}\t{release.citation}")
    return EXIT_OK


def _cmd_changes(args: argparse.Namespace) -> int:
    from .changes import changes_between, format_changes
    from .releases import ReleaseError

    try:
        changes, deltas = changes_between(args.since, args.until, args.processed_dir, args.releases_dir)
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    sys.stdout.write(format_changes(changes, deltas, args.format))
    return EXIT_OK


def _add_tracker_commands(sub: argparse._SubParsersAction) -> None:
    """The parser entries of ``release``, ``releases`` and ``changes``."""
    def releases_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument("--releases-dir", type=Path, default=None, help="folder of the releases (default: data/releases)")

    p = sub.add_parser("release", help="validate data/raw and store it as a named, immutable release")
    p.add_argument("name", help="release name: lower-case letters, digits, '.', '_', '-' (e.g. 2026-03-update)")
    p.add_argument("--raw-dir", type=Path, default=None, help="folder of the raw files (default: data/raw)")
    p.add_argument("--sources", default=None, metavar="IDS",
                   help="comma-separated source ids: build the release from the records citing these alone "
                        "(for past releases, e.g. 000)")
    p.add_argument("--date", default=None, help="release date YYYY-MM-DD (default: today)")
    releases_dir(p)
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser("releases", help="list the releases, oldest first, one per line, name first")
    releases_dir(p)
    p.set_defaults(func=_cmd_releases)

    p = sub.add_parser("changes", help="records added, removed or changed since a release")
    p.add_argument("--since", required=True, metavar="NAME", help="the release to compare from")
    p.add_argument("--until", default=None, metavar="NAME", help="a later release (default: the current processed data)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--processed-dir", type=Path, default=None, help="folder of the processed tables (default: data/processed)")
    releases_dir(p)
    p.set_defaults(func=_cmd_changes)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so the tests and docs can inspect it)."""
    parser = argparse.ArgumentParser(prog="mineral-analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def dirs(p: argparse.ArgumentParser, raw: bool = True, processed: bool = True) -> None:
        if raw:
            p.add_argument("--raw-dir", type=Path, default=None,
                           help="folder with financing.csv and membership.csv (default: data/raw)")
        if processed:
            p.add_argument("--processed-dir", type=Path, default=None,
                           help="folder of the processed tables (default: data/processed)")

    p = sub.add_parser("data", help="validate data/raw and rebuild data/processed atomically")
    dirs(p)
    p.set_defaults(func=_cmd_data)

    p = sub.add_parser("validate", help="check data/raw; write nothing")
    dirs(p, processed=False)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("list", help="list every brief the build would make")
    dirs(p, raw=False)
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("build", help="build briefs (HTML and PDF) into reports/")
    dirs(p, raw=False)
    p.add_argument("--only", action="append", metavar="SPEC",
                   help="build only this brief: overview, agency:DFC, country:KOR (or a name), mineral:copper; "
                        "repeatable; a kind alone (country) builds all of that kind")
    p.add_argument("--formats", default="html,pdf", help="comma-separated: html, pdf (default: both)")
    p.add_argument("--jobs", type=int, default=None, help="parallel workers (default: one per core)")
    p.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    p.add_argument("--reports-dir", type=Path, default=None, help="output folder (default: reports)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds a brief may run before it fails")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (cron logs)")
    p.add_argument("--wait", action="store_true", help="wait for a running build instead of refusing")
    p.set_defaults(func=_cmd_build)
    _add_tracker_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = make_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
