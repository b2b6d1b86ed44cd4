"""The build: which briefs need work, the pool that does it, and the record it leaves.

``build_briefs`` checks its options and the data before anything is written, takes the reports folder's lock,
plans every brief (``skip`` when current, ``export`` when only a format is missing, ``execute`` otherwise), runs
the pool, then writes the index and the published record (``record``) with the outcomes so far, also after an
interrupt. See docs/building.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from ..atomic import holds, remove_stale_temporaries, write_if_changed
from ..clock import build_time
from . import fingerprint, record
from .brief import FAILED_DIR, STAGING_DIR, BriefOutcome
from .catalogue import Brief
from .record import SUMS
from .signals import interruptible, signals_deferred

# The build's lock and cache (the catalogue of briefs and their slice hashes per data hash, so no-op builds stay
# light) live beside reports/ (config.build_state_path); these names are where earlier versions kept them in it.
CACHE = f".{config.BUILD_CACHE}"
LOCK = f".{config.BUILD_LOCK}"


class BuildLockedError(RuntimeError):
    """Another build holds the lock on the reports folder."""


@dataclass
class BuildResult:
    """Every brief's outcome and the build's wall time."""

    outcomes: list[BriefOutcome]
    seconds: float
    error: str = ""  # what went wrong outside any brief (writing the index or the record)
    notes: list[str] = field(default_factory=list)  # published files found changed, rebuilt or left unrecorded

    @property
    def built(self) -> list[BriefOutcome]:
        return [o for o in self.outcomes if o.status == "built"]

    @property
    def exported(self) -> list[BriefOutcome]:
        return [o for o in self.outcomes if o.status == "exported"]

    @property
    def skipped(self) -> list[BriefOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]

    @property
    def failed(self) -> list[BriefOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary(self) -> str:
        """A short report: counts, then every failure with its notebook, cell and error."""
        exported = f"exported {len(self.exported)} (formats only, not re-run), " if self.exported else ""
        lines = [
            (
                f"built {len(self.built)}, {exported}skipped {len(self.skipped)} (up to date), "
                f"failed {len(self.failed)} of {len(self.outcomes)} briefs in {self.seconds:.1f} s"
            )
        ]
        lines += [f"  {note}" for note in self.notes]
        for outcome in self.failed:
            kept = f" (executed notebook: {outcome.failed_notebook})" if outcome.failed_notebook else ""
            lines.append(f"  FAILED {outcome.spec}: {outcome.error}{kept}")
        if self.failed:
            lines.append("  the previous outputs of failed briefs were kept")
        if self.error:
            lines.append(f"  ERROR {self.error}")
        return "\n".join(lines)


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_json(path: Path, value: dict) -> bool:
    """Write ``value`` as JSON if the file's content differs; return whether it did."""
    return write_if_changed(path, (json.dumps(value, indent=1, sort_keys=True) + "\n").encode())


def _present(reports: Path, slug: str, extensions) -> bool:
    """Whether every one of the brief's files is there as a regular file (a link is replaced, never followed)."""
    return all(
        (reports / f"{slug}.{ext}").is_file() and not (reports / f"{slug}.{ext}").is_symlink() for ext in extensions
    )


def _clear_stale_failures(reports: Path, manifest: dict) -> list[str]:
    """Remove ``failed/<slug>.ipynb`` records the manifest proves stale (the brief was built since); return them."""
    failed = reports / FAILED_DIR
    cleared = []
    if failed.is_dir() and not failed.is_symlink():
        for path in sorted(failed.glob("*.ipynb")):
            if manifest.get("briefs", {}).get(path.stem, {}).get("status") == "built":
                path.unlink(missing_ok=True)
                cleared.append(path.name)
    return cleared


@contextlib.contextmanager
def held(path: Path, mode: str, who: str, wait: bool):
    """Hold filelock's read/write lock at ``path`` (``mode`` read: shared, write: exclusive). BuildLockedError
    saying ``who`` holds it when it is busy and ``wait`` is False. A link where the lock file belongs is removed,
    never written through.

    The build takes two: the processed tables' data lock shared (``config.data_lock_path``: builds read them
    together; ``mineral-analysis data`` takes it exclusively to rewrite them), then its reports folder's lock
    exclusively (``config.build_state_path``: one build per folder)."""
    from filelock import ReadWriteLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()
    lock = ReadWriteLock(path, is_singleton=False)
    try:
        with getattr(lock, f"{mode}_lock")(timeout=-1, blocking=wait):
            yield
    except Timeout:
        raise BuildLockedError(
            f"{who} (it holds {path.name}); wait for it to finish, or pass --wait to queue behind it"
        ) from None
    finally:
        lock.close()


def _write_index(reports: Path, manifest: dict, data_version: str, processed: Path, tables=None) -> str:
    """Write ``index.html`` listing every brief (unchanged content is not rewritten); return its sha256.
    ``tables`` (``briefing.Tables``), the plan's, saves reading them again."""
    from .index_page import write_index

    entries = []
    for slug, entry in manifest.get("briefs", {}).items():
        entries.append(
            {
                "kind": entry["kind"],
                "key": entry["key"],
                "title": entry["title"],
                "html": f"{slug}.html" if (reports / f"{slug}.html").exists() else None,
                "pdf": f"{slug}.pdf" if (reports / f"{slug}.pdf").exists() else None,
                "status": entry.get("status", "built"),
            }
        )
    order = {"overview": 0, "agency": 1, "country": 2, "mineral": 3}
    entries.sort(key=lambda e: (order.get(e["kind"], 9), e["title"]))
    built_times = [e.get("built_at", "") for e in manifest.get("briefs", {}).values() if e.get("built_at")]
    path = reports / record.INDEX
    (reports / STAGING_DIR).mkdir(exist_ok=True)
    staged = reports / STAGING_DIR / record.INDEX
    write_index(
        entries,
        staged,
        data_version=data_version,
        built_at=max(built_times) if built_times else None,
        processed_dir=processed,
        tables=tables,
    )
    data = staged.read_bytes()
    if holds(path, data):
        staged.unlink()
    else:
        os.replace(staged, path)
    return record.sha256_bytes(data)


OWN_NAMES = (STAGING_DIR, FAILED_DIR, LOCK, CACHE, record.MANIFEST, SUMS, record.INDEX)


def unlink_links(reports: Path) -> list[str]:
    """Replace nothing through a link: remove every symbolic link among the build's own names in ``reports``
    (the link itself, never its target); a brief's linked outputs count as missing (``_present``) and are
    replaced by regular files. Return the names removed."""
    removed = []
    for name in OWN_NAMES:
        if (reports / name).is_symlink():
            (reports / name).unlink()
            removed.append(name)
    return removed


def _clean_staging(reports: Path) -> None:
    """Remove what an interrupted or killed build can leave: temporaries, staged notebooks, the staging folder."""
    unlink_links(reports)
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


@dataclass(frozen=True)
class BuildOptions:
    """What a build is asked to do, checked (``checked``) before anything is written."""

    only: tuple[str, ...] | None
    formats: tuple[str, ...]
    jobs: int | None
    force: bool
    processed: Path
    reports: Path
    notebooks: Path
    timeout: int
    progress: bool
    wait: bool

    @classmethod
    def checked(
        cls, *, only, formats, jobs, force, processed_dir, reports_dir, notebooks_dir, timeout, progress, wait
    ) -> BuildOptions:
        """The options with the project's folders by default; ParameterError for a bad format or timeout."""
        from ..errors import ParameterError

        bad = [f for f in formats if f not in ("html", "pdf")]
        if bad or not formats:
            raise ParameterError(f"unknown format(s) {', '.join(map(repr, bad)) or '(none given)'}; valid: html, pdf")
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
            raise ParameterError(f"timeout must be a positive whole number of seconds, not {timeout!r}")
        return cls(
            only=None if only is None else tuple(only),
            formats=tuple(formats),
            jobs=jobs,
            force=force,
            processed=Path(processed_dir or config.PROCESSED_DIR).resolve(),
            reports=Path(reports_dir or config.REPORTS_DIR).resolve(),
            notebooks=Path(notebooks_dir or config.NOTEBOOKS_DIR).resolve(),
            timeout=timeout,
            progress=progress,
            wait=wait,
        )


@dataclass(frozen=True)
class BuildPlan:
    """Every brief the build considers and what it needs, from one reading of the tables (none when the cache,
    ``CACHE``, already holds the catalogue, slices and versions of these data, library and releases)."""

    briefs: tuple[Brief, ...]
    slices: dict[str, str]  # slug -> hash of the records it draws on (``catalogue.data_slices``)
    versions: dict[str, tuple[str, str | None]]  # slug -> (the version it prints, the release it compares with)
    fingerprints: dict[str, str]
    actions: dict[str, str]  # slug -> skip, export or execute
    tables: object  # briefing.Tables, or None when the plan came from the cache

    @property
    def todo(self) -> list[tuple[Brief, str]]:
        return [(b, self.actions[b.slug]) for b in self.briefs if self.actions[b.slug] != "skip"]


def build_briefs(
    *,
    only: list[str] | None = None,
    formats: tuple[str, ...] = ("html", "pdf"),
    jobs: int | None = None,
    force: bool = False,
    processed_dir: Path | None = None,
    reports_dir: Path | None = None,
    timeout: int = 300,
    progress: bool = True,
    wait: bool = False,
    notebooks_dir: Path | None = None,
    scheduler: str | None = None,
    client=None,
) -> BuildResult:
    """Build the chosen briefs (all by default) into ``reports_dir``; return every brief's outcome.

    Raises ParameterError for an unknown brief spec or format and FileNotFoundError when the processed data is
    missing (both before anything is written or any kernel starts), BuildLockedError when another build runs
    and ``wait`` is False, and BuildInterrupted (a KeyboardInterrupt) on SIGINT or SIGTERM, after clean-up.
    ``timeout`` is the whole seconds one brief's notebook may run. With ``scheduler`` (``tcp://HOST:PORT``) or a
    ``distributed.Client`` the briefs run on that Dask cluster (``dask_engine``; SchedulerUnreachable before
    anything is written when it cannot be reached); the plan, lock and record are the same.
    """
    started = time.perf_counter()
    run = BuildOptions.checked(
        only=only,
        formats=formats,
        jobs=jobs,
        force=force,
        processed_dir=processed_dir,
        reports_dir=reports_dir,
        notebooks_dir=notebooks_dir,
        timeout=timeout,
        progress=progress,
        wait=wait,
    )
    fingerprint.require_tables(run.processed)  # missing data: refused before any lock or write
    rewriting = f"{run.processed.name}/ is being rewritten by `mineral-analysis data`"
    with contextlib.ExitStack() as stack:
        # The data are read under their lock, once: the hash, the tables and the plan are of the same files.
        stack.enter_context(held(config.data_lock_path(run.processed), "read", rewriting, run.wait))
        data_hash = fingerprint.data_fingerprint(run.processed)
        tables = chosen = None
        if only is not None:
            from ..briefing import Tables
            from .catalogue import select_briefs

            tables = Tables.load(run.processed)
            chosen = select_briefs(only, tables=tables)  # a bad spec is refused here, before anything is written
        if scheduler is not None and client is None:
            from .dask_engine import connect

            client = stack.enter_context(contextlib.closing(connect(scheduler)))  # unreachable: refused here
        with interruptible():
            run.reports.mkdir(parents=True, exist_ok=True)
            building = f"another build is running on {run.reports.name}/"
            with held(config.build_state_path(run.reports, config.BUILD_LOCK), "write", building, run.wait):
                try:
                    for legacy in (LOCK, CACHE):  # an earlier version's, inside reports/: not published
                        (run.reports / legacy).unlink(missing_ok=True)
                    return _build_locked(run, data_hash, tables, chosen, client, started)
                finally:
                    with signals_deferred(redeliver=False):
                        _clean_staging(run.reports)


def make_plan(run: BuildOptions, cache: dict, key: dict, manifest: dict, untrusted: dict, tables, chosen) -> BuildPlan:
    """Plan the build: the briefs (``chosen``, or every one), their slices and versions (from the cache when it
    was made under the same ``key``: data, library and releases hashes), their fingerprints and actions.

    The tables are read at most once, and not at all by a build of every brief whose plan is cached."""
    fresh = all(cache.get(name) == value for name, value in key.items()) and "versions" in cache
    if fresh and chosen is None:
        briefs = [Brief(**b) for b in cache["briefs"]]
        slices, versions = dict(cache["slices"]), {slug: tuple(v) for slug, v in cache["versions"].items()}
    else:
        from ..briefing import Tables
        from ..changes import BriefVersions
        from .catalogue import all_briefs, data_slices

        tables = tables or Tables.load(run.processed)
        briefs = chosen if chosen is not None else all_briefs(tables=tables)
        slices = data_slices(briefs, tables=tables, sources=fingerprint.source_rows(run.processed))
        releases = BriefVersions(run.processed)
        versions = {b.slug: releases.of(b.kind, b.key) for b in briefs}
    fingerprints = fingerprint.brief_fingerprints(
        briefs, slices, run.processed, key["library"], run.notebooks, versions, key["releases"]
    )
    known = manifest.get("briefs", {})
    actions = {}
    for brief in briefs:
        entry = known.get(brief.slug, {})
        current = (
            not run.force
            and not any(f"{brief.slug}.{ext}" in untrusted for ext in ("html", "pdf"))
            and entry.get("fingerprint") == fingerprints[brief.slug]
            and entry.get("status") == "built"
            and _present(run.reports, brief.slug, ("ipynb",))
        )
        if current and _present(run.reports, brief.slug, run.formats):
            actions[brief.slug] = "skip"
        else:  # ``export`` when only a format is missing, ``execute`` otherwise (or a published file changed)
            actions[brief.slug] = "export" if current else "execute"
    return BuildPlan(tuple(briefs), slices, versions, fingerprints, actions, tables)


def _build_locked(run: BuildOptions, data_hash: str, tables, chosen, client, started: float) -> BuildResult:
    _clean_staging(run.reports)
    cache_path = config.build_state_path(run.reports, config.BUILD_CACHE)
    if cache_path.is_symlink():
        cache_path.unlink()  # replaced by a regular file, never written through
    cache = _read_json(cache_path)
    library_cache = dict(cache.get("library_modules", {}))
    key = {
        "data_hash": data_hash,
        "library": fingerprint.library_fingerprint(run.notebooks, library_cache),
        "releases": fingerprint.releases_fingerprint(),
    }
    manifest = record.read_manifest(run.reports)
    untrusted = record.untrusted_outputs(run.reports, manifest, record.read_sums(run.reports))
    _clear_stale_failures(run.reports, manifest)
    plan = make_plan(run, cache, key, manifest, untrusted, tables, chosen)
    version = fingerprint.dataset_version(run.processed)  # the whole dataset's: the index and the manifest
    planned = {f"{b.slug}.{ext}": b.spec for b in plan.briefs for ext in ("html", "pdf")}
    notes = [
        f"changed since it was published: {name} ({why}); "
        + (f"{planned[name]} is rebuilt" if name in planned else "the index is rewritten")
        for name, why in untrusted.items()
        if name in planned or name == record.INDEX
    ]
    outcomes = [
        BriefOutcome(b.spec, b.slug, b.title, b.kind, b.key, "skipped")
        for b in plan.briefs
        if plan.actions[b.slug] == "skip"
    ]
    done: list[BriefOutcome] = []
    error = ""
    engine = {  # what either engine needs to run the briefs
        "formats": run.formats,
        "reports": run.reports,
        "processed": run.processed,
        "timeout": run.timeout,
        "progress": run.progress,
        "fingerprints": plan.fingerprints,
        "version": {slug: printed for slug, (printed, _) in plan.versions.items()},
        "built_at": build_time().isoformat(timespec="seconds"),  # one build time for every brief this build runs
        "notebooks": run.notebooks,
        "done": done,
    }
    try:
        if plan.todo and client is not None:
            from .dask_engine import run_cluster

            run_cluster(client, plan.todo, **engine)
        elif plan.todo:
            from .pool import run_pool

            run_pool(plan.todo, jobs=run.jobs, **engine)
    finally:
        # Also after an interrupt: the briefs finished so far are recorded, so the next build skips them.
        with signals_deferred():
            manifest = _updated_manifest(manifest, plan, outcomes + done, run.only, version)
            if run.only is None:
                cache = key | {
                    "slices": plan.slices,
                    "versions": plan.versions,
                    "briefs": [
                        {"kind": b.kind, "key": b.key, "title": b.title, "parameters": b.parameters}
                        for b in plan.briefs
                    ],
                }
            _write_json(cache_path, cache | {"library_modules": library_cache})
            # The index depends only on the manifest, the outputs present and the tables: a no-op build leaves it
            # alone (and skips importing the exporters, which costs more than the rest of a no-op build).
            try:
                if (
                    plan.todo
                    or record.INDEX in untrusted
                    or manifest != record.read_manifest(run.reports)
                    or not (run.reports / record.INDEX).exists()
                ):
                    digest = _write_index(run.reports, manifest, version, run.processed, plan.tables)
                    manifest["index"] = {record.INDEX: digest}
                rewritten = {name for o in outcomes + done for name in o.sums}
                # The record is computed from the bytes on disk; a file found changed and not rewritten by this
                # build (outside --only, or its brief failed) is left out of it, so `verify` keeps naming it.
                _, dropped = record.write_record(run.reports, manifest, set(untrusted) - rewritten - {record.INDEX})
                notes += [
                    f"not recorded: {name} is not the file a build wrote (it changed, or its brief was not rebuilt); "
                    "build its brief to publish it again"
                    for name in dropped
                ]
            except OSError as exc:  # a full disk, say: the briefs written stay; say what was not
                error = (
                    f"writing the index and the published record ({record.INDEX}, {record.MANIFEST}, "
                    f"{SUMS}) failed: {type(exc).__name__}: {exc}; `mineral-analysis verify` will not match "
                    "until a build completes"
                )
    return BuildResult(outcomes + done, time.perf_counter() - started, error, notes)


def _updated_manifest(
    manifest: dict, plan: BuildPlan, outcomes: list[BriefOutcome], only: tuple[str, ...] | None, version: str
) -> dict:
    """The published manifest after this build's outcomes (without its tools, which ``record`` adds); ``version``
    is the whole dataset's, each brief's entry records the version it prints."""
    by_slug = {b.slug: b for b in plan.briefs}
    entries = dict(manifest.get("briefs", {}))
    tools = record.tool_versions() if any(o.status == "built" for o in outcomes) else {}
    for outcome in outcomes:
        brief = by_slug[outcome.slug]
        previous = entries.get(outcome.slug, {})
        if outcome.status == "built":
            entries[outcome.slug] = {
                "kind": brief.kind,
                "key": brief.key,
                "title": brief.title,
                "spec": brief.spec,
                "parameters": dict(brief.parameters),
                "dataset_version": plan.versions[outcome.slug][0],
                "fingerprint": plan.fingerprints[outcome.slug],
                "status": "built",
                "built_at": outcome.built_at,
                "tools": tools,
                "outputs": dict(outcome.sums),
            }
        elif outcome.status == "exported":
            entries[outcome.slug] = previous | {"outputs": previous.get("outputs", {}) | outcome.sums}
        elif outcome.status == "failed":
            base = previous or {
                "kind": brief.kind,
                "key": brief.key,
                "title": brief.title,
                "spec": brief.spec,
                "parameters": dict(brief.parameters),
                "outputs": {},
            }
            entries[outcome.slug] = base | {"status": "failed", "fingerprint": ""}
    if only is None:
        current = {b.slug for b in plan.briefs}
        entries = {slug: e for slug, e in entries.items() if slug in current}
    result = {"dataset_version": version, "briefs": entries}
    if "index" in manifest:
        result["index"] = manifest["index"]
    return result
