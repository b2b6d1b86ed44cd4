"""Releases: named, immutable snapshots of the processed tables, with a date, their sources and a citation.

A release is a folder ``data/releases/NAME/`` holding ``financing.csv`` and ``membership.csv`` (the processed
tables as CSV, small and diffable: the record read back), the same tables as Parquet, ``datapackage.json`` (their
Frictionless description) and ``release.json`` (name, sequence, date, sources, citation, the SHA-256 of every
other file, and ``previous``: the name and the SHA-256 of the previous release's ``release.json``). Reading a
release checks every hash, so a corrupted or hand-edited snapshot is refused; listing the releases checks the
chain, so an old snapshot edited together with its own hashes is refused too (its ``release.json`` no longer has
the hash the next release recorded). Releases are listed in the order they were made (``sequence``), oldest first;
``clean.new_release`` makes one.

A release is its folder: only a real folder (not a link) whose name matches ``NAME_PATTERN`` is one, its
``release.json`` must give that same name, and its files are read inside it as regular files (no link followed).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import columns, config
from .safe_files import MiB, read_regular_bytes

MANIFEST = config.RELEASE_MANIFEST
TABLES = ("financing", "membership")
#: What a release may hold beside its CSV tables, each recorded with its SHA-256: the tables as Parquet (pandas'
#: conventions, each column's meaning in its field metadata) and the Frictionless Data Package describing them.
OPTIONAL_FILES = (*(config.parquet_file(t) for t in TABLES), config.DATAPACKAGE)
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,47}")  # a release's folder name (and so its name)
MANIFEST_LIMIT = 1 * MiB
TABLE_LIMIT = 256 * MiB
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ReleaseError(ValueError):
    """A release cannot be made or read: the message says which and why."""


@dataclass(frozen=True)
class Release:
    """What ``release.json`` records about one release."""

    name: str
    sequence: int
    date: str
    sources: tuple[str, ...]
    citation: str
    files: dict[str, str]
    previous: dict | None = None  # {"name", "sha256"} of the previous release's release.json; None for the first
    record_sha256: str = ""  # the SHA-256 of this release's release.json as read (what the next one records)

    def record(self) -> dict:
        """What ``release.json`` holds (``record_sha256`` is not in it: it is the hash of these bytes)."""
        value = {
            "name": self.name,
            "sequence": self.sequence,
            "date": self.date,
            "sources": list(self.sources),
            "citation": self.citation,
            "files": dict(self.files),
        }
        if self.previous is not None:
            value["previous"] = dict(self.previous)
        return value

    def summary(self) -> dict:
        """The release as the metadata and the index show it: name, date, citation."""
        return {"name": self.name, "date": self.date, "citation": self.citation}


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A processed table as the CSV bytes written to ``data/processed`` and into releases (one definition)."""
    out = frame.copy()
    if "announced_date" in out:
        out["announced_date"] = pd.to_datetime(out["announced_date"]).dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n", float_format="%.2f").encode("utf-8")


def read_table_csv(data: bytes, table: str) -> pd.DataFrame:
    """Read a processed table's CSV bytes back with the types of ``columns`` (floats, bools, ints, text)."""
    spec = columns.FINANCING if table == "financing" else columns.MEMBERSHIP
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    for name, (dtype, _) in spec.items():
        if name not in frame:
            continue
        if dtype == "float":
            frame[name] = pd.to_numeric(frame[name].replace("", None), errors="raise").astype("float64")
        elif dtype == "bool":
            frame[name] = frame[name].map({"True": True, "False": False}).astype(bool)
        elif dtype == "int":
            frame[name] = frame[name].astype("int64")
        elif dtype == "date":
            frame[name] = pd.to_datetime(frame[name].replace("", None))
    return frame


def list_releases(releases_dir: Path | None = None) -> list[Release]:
    """Every release, oldest first (in the order they were made), after checking the chain: the first has no
    ``previous``, every other records the previous release's name and ``release.json`` hash. ReleaseError names
    the first release that breaks it (an edited old snapshot, a release removed or inserted)."""
    folder = Path(releases_dir or config.RELEASES_DIR)
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or not NAME_PATTERN.fullmatch(entry.name):
            continue  # not a release (a release's folder name matches NAME_PATTERN)
        if entry.is_symlink() or not entry.is_dir(follow_symlinks=False):
            raise ReleaseError(
                f"release {entry.name}: not a folder inside {folder.name}/ (a link or a file); a release is a "
                "folder of its own: restore it from git"
            )
        if os.path.lexists(Path(entry.path) / MANIFEST):
            found.append(_manifest(Path(entry.path)))
    found.sort(key=lambda r: r.sequence)
    for before, release in zip([None, *found], found, strict=False):
        expected = None if before is None else {"name": before.name, "sha256": before.record_sha256}
        if release.previous != expected:
            if before is None:
                why = f"it records a previous release ({release.previous}) but is the first"
            elif release.previous is None:
                why = f"it records no previous release; {before.name} came before it"
            elif release.previous.get("name") != before.name:
                why = f"it records {release.previous.get('name')!r} as the previous release, not {before.name}"
            else:
                why = f"{before.name}/{MANIFEST} is not the one it recorded (that release was edited after it was made)"
            raise ReleaseError(
                f"release {release.name}: the chain of releases is broken: {why}; a release never changes: "
                f"restore {folder.name}/ from git"
            )
        if before is not None and release.sequence == before.sequence:
            raise ReleaseError(f"releases {before.name} and {release.name} have the same sequence {release.sequence}")
    return found


def _manifest(folder: Path) -> Release:
    """The release in ``folder``: its release.json read as a regular file (bounded), every field checked, its
    name that of the folder."""
    try:
        raw = read_regular_bytes(folder / MANIFEST, MANIFEST_LIMIT)
        data = json.loads(raw.decode("utf-8"))
        release = Release(
            data["name"],
            data["sequence"],
            data["date"],
            tuple(data["sources"]),
            data["citation"],
            dict(data["files"]),
            data.get("previous"),
            hashlib.sha256(raw).hexdigest(),
        )
    except OSError as exc:
        raise ReleaseError(f"release {folder.name}: {MANIFEST} cannot be read ({exc}); restore it from git") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReleaseError(f"release {folder.name}: {MANIFEST} is unreadable ({exc}); restore it from git") from None
    problems = []
    if release.name != folder.name:
        problems.append(f"it names the release {str(release.name)[:80]!r}, but a release is named by its folder")
    if isinstance(release.sequence, bool) or not isinstance(release.sequence, int) or release.sequence < 1:
        problems.append(f"sequence {release.sequence!r} is not a whole number from 1")
    if not isinstance(release.date, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", release.date):
        problems.append(f"date {str(release.date)[:40]!r} is not YYYY-MM-DD")
    if not isinstance(release.citation, str) or not all(isinstance(x, str) for x in release.sources):
        problems.append("sources and citation must be text")
    required = {f"{t}.csv" for t in TABLES}
    if not (required <= set(release.files) <= required | set(OPTIONAL_FILES)) or not all(
        isinstance(d, str) and _SHA256.fullmatch(d) for d in release.files.values()
    ):
        problems.append(
            f"files must give the SHA-256 of {' and '.join(sorted(required))} (and of "
            f"{', '.join(OPTIONAL_FILES)} where the release has them), and of nothing else"
        )
    previous = release.previous
    if previous is not None and not (
        isinstance(previous, dict)
        and set(previous) == {"name", "sha256"}
        and isinstance(previous["name"], str)
        and isinstance(previous["sha256"], str)
        and _SHA256.fullmatch(previous["sha256"])
    ):
        problems.append("previous must be {name, sha256} of the previous release's release.json")
    if problems:
        raise ReleaseError(f"release {folder.name}: {MANIFEST}: {'; '.join(problems)}; restore it from git")
    return release


def get_release(name: str, releases_dir: Path | None = None) -> Release:
    """The release called ``name``; an unknown name is refused with the valid ones."""
    releases = list_releases(releases_dir)
    for release in releases:
        if release.name == name:
            return release
    valid = ", ".join(r.name for r in releases) or "none (make one with `mineral-analysis release NAME`)"
    raise ReleaseError(f"unknown release {name!r}; valid releases are: {valid}")


def read_release(name: str, releases_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """The release's tables (``financing``, ``membership``), after checking each file's SHA-256."""
    release = get_release(name, releases_dir)
    folder = Path(releases_dir or config.RELEASES_DIR) / release.name  # the folder's own name, checked
    tables = {}
    for file in release.files:  # every recorded file, not only the tables read: a Parquet copy is checked too
        try:
            data = read_regular_bytes(folder / file, TABLE_LIMIT)  # inside the folder, no link followed
        except FileNotFoundError:
            raise ReleaseError(f"release {name}: {file} is missing; restore the release folder from git") from None
        except OSError as exc:
            raise ReleaseError(f"release {name}: {file} cannot be read ({exc}); restore it from git") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != release.files.get(file):
            raise ReleaseError(
                f"release {name}: {file} is corrupted (SHA-256 {actual[:12]}..., expected "
                f"{str(release.files.get(file))[:12]}...); a release never changes: restore it "
                "from git, and make a new release for new data"
            )
        if file.endswith(".csv"):
            tables[file.removesuffix(".csv")] = read_table_csv(data, file.removesuffix(".csv"))
    # No contract check here: make_release checked it before writing, and the hashes prove the bytes are those.
    # (Briefs read releases; pandera would register pandas accessors inside their kernels.)
    return tables


def latest_release(releases_dir: Path | None = None) -> Release | None:
    """The most recent release, or None when there is none."""
    releases = list_releases(releases_dir)
    return releases[-1] if releases else None


def current_release(releases_dir: Path | None = None) -> tuple[str, str] | None:
    """(name, date) of the latest release, for the index page; None when there is none."""
    release = latest_release(releases_dir)
    return (release.name, release.date) if release else None


def dataset_version(table_bytes: dict[str, bytes], releases_dir: Path | None = None) -> tuple[str, dict | None]:
    """The data version a brief prints, and the latest release's name, date and citation (or None).

    The version is the latest release's name when the processed tables equal it byte for byte, otherwise
    ``"<latest release> + unreleased changes"`` (``"unreleased"`` when no release exists).
    """
    release = latest_release(releases_dir)
    if release is None:
        return "unreleased", None
    same = all(hashlib.sha256(table_bytes[f"{t}.csv"]).hexdigest() == release.files.get(f"{t}.csv") for t in TABLES)
    return (release.name if same else f"{release.name} + unreleased changes"), release.summary()
