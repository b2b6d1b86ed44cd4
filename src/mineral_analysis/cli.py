"""The ``mineral-analysis`` command: ``data``, ``validate``, ``build``, ``verify`` and ``list``.

Exit codes: 0 success; 1 the raw data failed validation, a brief failed or ``verify`` found a difference;
2 a usage or parameter error;
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


def _cmd_verify(args: argparse.Namespace) -> int:
    from . import config
    from .publish.record import SUMS, verify

    reports = Path(args.reports_dir or config.REPORTS_DIR)
    try:
        problems = verify(reports)
    except OSError as exc:
        print(f"error: cannot read {reports}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
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
        raise argparse.ArgumentTypeError(f"empty brief spec {text!r}: write overview, agency:DFC, country:KOR, "
                                         "mineral:copper, or a kind alone (country) for all of that kind")
    return text


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
    p.add_argument("--only", action="append", metavar="SPEC", type=_brief_spec,
                   help="build only this brief: overview, agency:DFC, country:KOR (or a name), mineral:copper; "
                        "repeatable; a kind alone (country) builds all of that kind")
    p.add_argument("--formats", default="html,pdf", help="comma-separated: html, pdf (default: both)")
    p.add_argument("--jobs", type=int, default=None, help="parallel workers (default: one per core)")
    p.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    p.add_argument("--reports-dir", type=Path, default=None, help="output folder (default: reports)")
    p.add_argument("--timeout", type=_positive_int, default=300,
                   help="whole seconds a brief may run before it fails (default: 300)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (cron logs)")
    p.add_argument("--wait", action="store_true", help="wait for a running build instead of refusing")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("verify", help="check reports/ against its SHA256SUMS and MANIFEST.json")
    p.add_argument("--reports-dir", type=Path, default=None, help="the folder to check (default: reports)")
    p.set_defaults(func=_cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = make_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
