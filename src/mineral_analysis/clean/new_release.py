"""Making a release: validate the raw data (optionally as it stood with some sources) and store the processed
tables as a named, immutable snapshot in ``data/releases/NAME/`` (read back with ``mineral_analysis.releases``).

Releases are made one at a time: the releases folder's lock (``LOCK``) is held from reading the existing releases
to moving the new folder in, so two runs cannot take the same sequence number or both chain to the same release.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from .. import config
from ..clock import build_time
from ..releases import MANIFEST, NAME_PATTERN, TABLES, Release, ReleaseError, csv_bytes, list_releases
from .sources import sources_cited

LOCK = config.RELEASE_LOCK
PROJECT_NAME = "mineral-analysis critical-minerals tracker"


def check_name(name: str) -> None:
    """Refuse a release name with odd characters (lower-case letters, digits, '.', '_', '-'; at most 48)."""
    if not NAME_PATTERN.fullmatch(name):
        raise ReleaseError(
            f"release name {name!r} is not allowed: use 1-48 lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (e.g. 2026-03-update)"
        )


def citation_text(name: str, date: str, sources: tuple[str, ...], registry: dict | None = None) -> str:
    """The citation an analyst copies: project, release, date and the sources it rests on."""
    described = []
    for sid in sources:
        source = (registry or {}).get(sid)
        described.append(f"{sid} ({source.file}, {source.published})" if source else sid)
    return f"{PROJECT_NAME}, release {name} ({date}); sources: {', '.join(described) or 'none'}."


def make_release(
    name: str,
    *,
    raw_dir: Path | None = None,
    releases_dir: Path | None = None,
    only_sources: set[str] | None = None,
    date: str | None = None,
) -> Release:
    """Validate the raw data (optionally as it stood with ``only_sources``) and store it as release ``name``.

    Refuses an odd or existing name, data that fails validation (DataValidationError) and data equal to the
    latest release; writes the release folder complete or not at all.
    """
    from filelock import FileLock

    check_name(name)
    date = date or build_time().date().isoformat()
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        raise ReleaseError(f"release date {date!r} must be YYYY-MM-DD") from None
    folder = Path(releases_dir or config.RELEASES_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / LOCK).is_symlink():
        (folder / LOCK).unlink()  # a lock opened through a link would create or truncate its target
    with FileLock(str(folder / LOCK)):
        return _make_release_locked(name, folder, raw_dir, only_sources, date)


def release_files(name: str, clean, registry: dict) -> dict[str, bytes]:
    """Every file of release ``name`` made from ``clean``: the tables as CSV (the record, read back) and as Parquet
    (pandas' conventions, column meanings in the field metadata), and the Data Package describing them."""
    from .datapackage import SPECS
    from .pipeline import column_descriptions, parquet_bytes

    files = {config.csv_file(t): csv_bytes(getattr(clean, t)) for t in TABLES}
    files |= {config.parquet_file(t): parquet_bytes(getattr(clean, t), column_descriptions(SPECS[t])) for t in TABLES}
    files[config.DATAPACKAGE] = release_datapackage(name, clean, registry)
    return files


def release_datapackage(name: str, clean, registry: dict) -> bytes:
    """The ``datapackage.json`` of release ``name`` made from ``clean`` (the tables it stores)."""
    from . import datapackage

    headers = {t: list(getattr(clean, t).columns) for t in TABLES}
    cited = {sid: registry[sid] for sid in sources_cited(*(getattr(clean, t) for t in TABLES)) if sid in registry}
    return datapackage.to_bytes(datapackage.release_descriptor(name, headers, datapackage.source_entries(cited)))


def _make_release_locked(name: str, folder: Path, raw_dir, only_sources, date: str) -> Release:
    from .contract import check_processed
    from .pipeline import load_raw
    from .sources import load_sources

    existing = list_releases(folder)
    if any(r.name == name for r in existing) or os.path.lexists(folder / name):
        raise ReleaseError(
            f"release {name!r} already exists; a release never changes: choose a new name "
            f"(existing: {', '.join(r.name for r in existing)})"
        )
    clean = load_raw(raw_dir, only_sources=only_sources)
    check_processed(clean.financing, clean.membership)  # the contract, before the release is written
    data = release_files(name, clean, load_sources(raw_dir))
    hashes = {file: hashlib.sha256(content).hexdigest() for file, content in data.items()}
    tables_of = lambda files: {f: h for f, h in files.items() if f.endswith(".csv")}  # noqa: E731 - the records
    if existing and tables_of(hashes) == tables_of(existing[-1].files):
        raise ReleaseError(
            f"the data equal the latest release, {existing[-1].name}: nothing new to release; add or change records "
            "first (`mineral-analysis changes --since` lists what differs)"
        )
    sources = tuple(sources_cited(*(getattr(clean, t) for t in TABLES)))
    latest = existing[-1] if existing else None
    release = Release(
        name,
        (latest.sequence + 1) if latest else 1,
        date,
        sources,
        citation_text(name, date, sources, load_sources(raw_dir)),
        hashes,
        {"name": latest.name, "sha256": latest.record_sha256} if latest else None,
    )
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=folder))
    try:
        for file, content in data.items():
            (staging / file).write_bytes(content)
        record = (json.dumps(release.record(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        (staging / MANIFEST).write_bytes(record)
        os.replace(staging, folder / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return replace(release, record_sha256=hashlib.sha256(record).hexdigest())
