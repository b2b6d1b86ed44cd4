"""Releases: named, immutable snapshots of the processed tables, with a date, their sources and a citation.

A release is a folder ``data/releases/NAME/`` holding ``financing.csv`` and ``membership.csv`` (the processed
tables as CSV, small and diffable) and ``release.json`` (name, sequence, date, sources, citation and the SHA-256
of both tables). Reading a release checks both hashes, so a corrupted or hand-edited snapshot is refused.
Releases are listed in the order they were made (``sequence``), oldest first; ``clean.new_release`` makes one.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import columns, config

MANIFEST = "release.json"
TABLES = ("financing", "membership")


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
    """Every release, oldest first (in the order they were made)."""
    folder = Path(releases_dir or config.RELEASES_DIR)
    if not folder.is_dir():
        return []
    found = [
        _manifest(path)
        for path in sorted(folder.iterdir())
        if not path.name.startswith(".") and (path / MANIFEST).is_file()
    ]
    return sorted(found, key=lambda r: r.sequence)


def _manifest(folder: Path) -> Release:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return Release(
            data["name"],
            int(data["sequence"]),
            data["date"],
            tuple(data["sources"]),
            data["citation"],
            dict(data["files"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ReleaseError(f"release {folder.name}: {MANIFEST} is unreadable ({exc}); restore it from git") from None


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
    folder = Path(releases_dir or config.RELEASES_DIR) / name
    tables = {}
    for table in TABLES:
        file = f"{table}.csv"
        path = folder / file
        if not path.is_file():
            raise ReleaseError(f"release {name}: {file} is missing; restore the release folder from git")
        data = path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != release.files.get(file):
            raise ReleaseError(
                f"release {name}: {file} is corrupted (SHA-256 {actual[:12]}..., expected "
                f"{str(release.files.get(file))[:12]}...); a release never changes: restore it "
                "from git, and make a new release for new data"
            )
        tables[table] = read_table_csv(data, table)
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
