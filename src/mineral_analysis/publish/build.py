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
def data_lock(processed: Path, wait: bool):
    """Hold the processed folder's data lock shared while the build reads it: builds share it, ``mineral-analysis
    data`` (which takes it exclusively, ``config.data_lock_path``) waits for them and they for it. BuildLockedError
    when ``data`` holds it and ``wait`` is False. POSIX ``flock``; elsewhere no lock."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path = (
        config.data_lock_path(processed)
        if hasattr(config, "data_lock_path")
        else processed.parent / f".{processed.name}.lock"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise BuildLockedError(
                    f"{processed.name}/ is being rewritten by `mineral-analysis data` (it holds "
                    f"{path.name}); wait for it to finish, or pass --wait to queue behind it"
                ) from None
            fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _write_index(reports: Path, manifest: dict, data_version: str, processed: Path | None = None) -> str:
    """Write ``index.html`` listing every brief (unchanged content is not rewritten); return its sha256."""
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


def _brief_list(
    processed_dir: Path,
    data_hash: str,
    library_hash: str,
    cache: dict,
    only: list[str] | None,
    chosen: list[Brief] | None = None,
) -> tuple[list[Brief], dict[str, str]]:
    """The briefs to consider and each one's data slice hash (``catalogue.data_slices``).

    Both are cached (``CACHE``) per data hash, so a no-op build neither loads the tables nor imports pandas.
    """
    fresh = (
        cache.get("data_hash") == data_hash
        and cache.get("library") == library_hash
        and len(cache.get("slices", {})) == len(cache.get("briefs", []))
    )
    if fresh and chosen is None and only is None:
        return [Brief(**b) for b in cache["briefs"]], dict(cache.get("slices", {}))
    from ..briefing import Tables
    from .catalogue import data_slices, select_briefs

    tables = Tables.load(processed_dir)
    briefs = chosen if chosen is not None else select_briefs(only, tables=tables)
    slices = dict(cache.get("slices", {})) if fresh else {}
    if any(b.slug not in slices for b in briefs):
        slices = data_slices(briefs, tables=tables, sources=fingerprint.source_rows(processed_dir))
    return briefs, {b.slug: slices[b.slug] for b in briefs}


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
    from filelock import FileLock, Timeout

    from ..errors import ParameterError

    started = time.perf_counter()
    bad = [f for f in formats if f not in ("html", "pdf")]
    if bad or not formats:
        raise ParameterError(f"unknown format(s) {', '.join(map(repr, bad)) or '(none given)'}; valid: html, pdf")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise ParameterError(f"timeout must be a positive whole number of seconds, not {timeout!r}")
    processed = Path(processed_dir or config.PROCESSED_DIR).resolve()
    reports = Path(reports_dir or config.REPORTS_DIR).resolve()
    notebooks = Path(notebooks_dir or config.NOTEBOOKS_DIR).resolve()
    fingerprint.data_fingerprint(processed)  # missing data: refused before anything is written
    chosen = None
    if only is not None:
        from .catalogue import select_briefs

        chosen = select_briefs(only, processed)  # a bad spec is refused here, before anything is written
    if scheduler is not None and client is None:
        from .dask_engine import connect

        with contextlib.closing(connect(scheduler)) as own_client:  # unreachable: refused before any write
            return build_briefs(
                only=only,
                formats=formats,
                jobs=jobs,
                force=force,
                processed_dir=processed,
                reports_dir=reports,
                timeout=timeout,
                progress=progress,
                wait=wait,
                notebooks_dir=notebooks,
                client=own_client,
            )
    with interruptible():
        reports.mkdir(parents=True, exist_ok=True)
        lock_path = config.build_state_path(reports, config.BUILD_LOCK)
        if lock_path.is_symlink():
            lock_path.unlink()  # a lock file opened through a link would truncate its target
        lock = FileLock(str(lock_path))
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            raise BuildLockedError(
                f"another build is running on {reports.name}/ (it holds {lock_path.name}); wait for it "
                "to finish, or pass --wait to queue behind it"
            ) from None
        for legacy in (LOCK, CACHE):  # an earlier version's, inside reports/: not published
            (reports / legacy).unlink(missing_ok=True)
        try:
            with data_lock(processed, wait):
                return _build_locked(
                    only,
                    formats,
                    jobs,
                    force,
                    processed,
                    reports,
                    timeout,
                    progress,
                    started,
                    notebooks,
                    chosen,
                    client,
                )
        finally:
            with signals_deferred(redeliver=False):
                _clean_staging(reports)
                lock.release()


def _plan(
    briefs: list[Brief],
    fingerprints: dict[str, str],
    known: dict,
    reports: Path,
    formats,
    force: bool,
    untrusted: dict[str, str] | None = None,
) -> dict[str, str]:
    """What each brief needs: ``skip`` (current), ``export`` (its executed notebook is current, a format asked
    for is missing) or ``execute`` (also when a published file of it is ``untrusted``: changed since the build
    that recorded it)."""
    plan = {}
    untrusted = untrusted or {}
    for brief in briefs:
        entry = known.get(brief.slug, {})
        current = (
            not force
            and not any(f"{brief.slug}.{ext}" in untrusted for ext in ("html", "pdf"))
            and entry.get("fingerprint") == fingerprints[brief.slug]
            and entry.get("status") == "built"
            and _present(reports, brief.slug, ("ipynb",))
        )
        if current and _present(reports, brief.slug, formats):
            plan[brief.slug] = "skip"
        else:
            plan[brief.slug] = "export" if current else "execute"
    return plan


def _build_locked(
    only, formats, jobs, force, processed, reports, timeout, progress, started, notebooks, chosen=None, client=None
) -> BuildResult:
    _clean_staging(reports)
    data_hash = fingerprint.data_fingerprint(processed)
    cache_path = config.build_state_path(reports, config.BUILD_CACHE)
    if cache_path.is_symlink():
        cache_path.unlink()  # replaced by a regular file, never written through
    cache = _read_json(cache_path)
    library_cache = dict(cache.get("library_modules", {}))
    library_hash = fingerprint.library_fingerprint(notebooks, library_cache)
    manifest = record.read_manifest(reports)
    untrusted = record.untrusted_outputs(reports, manifest, record.read_sums(reports))
    _clear_stale_failures(reports, manifest)
    briefs, slices = _brief_list(processed, data_hash, library_hash, cache, only, chosen)
    version = fingerprint.dataset_version(processed)
    fingerprints = fingerprint.brief_fingerprints(briefs, slices, processed, library_hash, notebooks)
    plan = _plan(briefs, fingerprints, manifest.get("briefs", {}), reports, formats, force, untrusted)
    planned = {f"{b.slug}.{ext}": b.spec for b in briefs for ext in ("html", "pdf")}
    notes = [
        f"changed since it was published: {name} ({why}); "
        + (f"{planned[name]} is rebuilt" if name in planned else "the index is rewritten")
        for name, why in untrusted.items()
        if name in planned or name == record.INDEX
    ]
    todo = [(b, plan[b.slug]) for b in briefs if plan[b.slug] != "skip"]
    outcomes = [
        BriefOutcome(b.spec, b.slug, b.title, b.kind, b.key, "skipped") for b in briefs if plan[b.slug] == "skip"
    ]
    done: list[BriefOutcome] = []
    error = ""
    built_at = build_time().isoformat(timespec="seconds")  # one build time for every brief this build runs
    run = {
        "formats": formats,
        "reports": reports,
        "processed": processed,
        "timeout": timeout,
        "progress": progress,
        "fingerprints": fingerprints,
        "version": version,
        "built_at": built_at,
        "notebooks": notebooks,
        "done": done,
    }  # what either engine needs to run the briefs
    try:
        if todo and client is not None:
            from .dask_engine import run_cluster

            run_cluster(client, todo, **run)
        elif todo:
            from .pool import run_pool

            run_pool(todo, jobs=jobs, **run)
    finally:
        # Also after an interrupt: the briefs finished so far are recorded, so the next build skips them.
        with signals_deferred():
            manifest = _updated_manifest(manifest, briefs, fingerprints, outcomes + done, only, version)
            if only is None:
                cache = {
                    "data_hash": data_hash,
                    "library": library_hash,
                    "slices": slices,
                    "briefs": [
                        {"kind": b.kind, "key": b.key, "title": b.title, "parameters": b.parameters} for b in briefs
                    ],
                }
            _write_json(cache_path, cache | {"library_modules": library_cache})
            # The index depends only on the manifest and the outputs present: a no-op build leaves it alone
            # (and skips importing the exporters, which costs more than the rest of a no-op build).
            try:
                if (
                    todo
                    or record.INDEX in untrusted
                    or manifest != record.read_manifest(reports)
                    or not (reports / record.INDEX).exists()
                ):
                    manifest["index"] = {record.INDEX: _write_index(reports, manifest, version, processed)}
                rewritten = {name for o in outcomes + done for name in o.sums}
                # The record is computed from the bytes on disk; a file found changed and not rewritten by this
                # build (outside --only, or its brief failed) is left out of it, so `verify` keeps naming it.
                _, dropped = record.write_record(reports, manifest, set(untrusted) - rewritten - {record.INDEX})
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
    manifest: dict,
    briefs: list[Brief],
    fingerprints: dict[str, str],
    outcomes: list[BriefOutcome],
    only: list[str] | None,
    version: str,
) -> dict:
    """The published manifest after this build's outcomes (without its tools, which ``record`` adds)."""
    by_slug = {b.slug: b for b in briefs}
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
                "dataset_version": version,
                "fingerprint": fingerprints[outcome.slug],
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
        current = {b.slug for b in briefs}
        entries = {slug: e for slug, e in entries.items() if slug in current}
    result = {"dataset_version": version, "briefs": entries}
    if "index" in manifest:
        result["index"] = manifest["index"]
    return result
