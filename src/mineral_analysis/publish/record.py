"""The published record of a reports folder, and its check (``mineral-analysis verify``).

Every build leaves two files beside the briefs:

* ``SHA256SUMS``: one ``<sha256>  <name>`` line per published file (every brief's HTML and PDF, and
  ``index.html``), sorted by name; ``sha256sum -c SHA256SUMS`` checks it inside the folder.
* ``MANIFEST.json``: per brief its parameters, the dataset version it shows, its input fingerprint, its build time,
  the versions of the tools that made it and each output's sha256. No timing and no machine path: the same
  inputs give the same bytes.

Executed notebooks (``<slug>.ipynb``), ``failed/``, hidden files and logs are the build's working records, not
published files: they are neither listed nor reported as unexpected.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import stat
from pathlib import Path

from ..atomic import write_text_atomic

SUMS = "SHA256SUMS"
MANIFEST = "MANIFEST.json"
INDEX = "index.html"
PUBLISHED_SUFFIXES = (".html", ".pdf")
TOOLS = (
    "mineral-analysis",
    "papermill",
    "nbclient",
    "nbconvert",
    "nbformat",
    "ipykernel",
    "jupyter-client",
    "weasyprint",
    "pydyf",
    "matplotlib",
    "pandas",
    "numpy",
    "geopandas",
    "shapely",
)
_SUMS_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")


def sha256_bytes(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tool_versions() -> dict[str, str]:
    """Python's and each build tool's installed version (``TOOLS``; "not installed" when absent)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def published_files(manifest: dict) -> dict[str, str]:
    """Every published file the manifest records (briefs' HTML and PDF, the index) and its sha256."""
    files = dict(manifest.get("index", {}))
    for entry in manifest.get("briefs", {}).values():
        files.update(entry.get("outputs", {}))
    return files


def sums_text(files: dict[str, str]) -> str:
    """``files`` in the ``sha256sum`` format, sorted by name."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(files.items()))


def read_manifest(reports: Path) -> dict:
    """The folder's MANIFEST.json, or an empty one when it is missing or unreadable (the build starts over)."""
    try:
        manifest = json.loads((reports / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if not path.is_symlink() and path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, ValueError):
        pass
    write_text_atomic(path, text)
    return True


def write_record(reports: Path, manifest: dict) -> bool:
    """Write MANIFEST.json, then SHA256SUMS, where their content changed; return whether anything was written.

    Only files present on disk are listed in SHA256SUMS (a brief built without PDF lists its HTML only).
    """
    changed = _write_if_changed(reports / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    files = {name: digest for name, digest in published_files(manifest).items() if (reports / name).is_file()}
    return _write_if_changed(reports / SUMS, sums_text(files)) or changed


def _listed(reports: Path) -> tuple[dict[str, str], list[str]]:
    """SHA256SUMS as {name: sha256}, and a problem for each line that is not ``<sha256>  <name>``."""
    listed: dict[str, str] = {}
    problems: list[str] = []
    text = (reports / SUMS).read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        match = _SUMS_LINE.fullmatch(line)
        if not match:
            problems.append(f"{SUMS} line {number} is not `<sha256>  <file name>`: {line[:80]!r}")
            continue
        name = match.group(2)
        if name.startswith("/") or ".." in name.split("/"):
            problems.append(f"{SUMS} line {number} names a file outside the folder: {name!r}")
            continue
        listed[name] = match.group(1)
    return listed, problems


def _is_bookkeeping(relative: Path) -> bool:
    """The build's own working files, which are not published: hidden, failed/, executed notebooks, logs."""
    return (
        any(part.startswith(".") for part in relative.parts)
        or relative.parts[0] == "failed"
        or relative.name in (SUMS, MANIFEST)
        or relative.suffix in (".ipynb", ".log")
    )


def verify(reports: Path) -> list[str]:
    """Recompute the published record of ``reports``; return one line per problem (empty: everything matches).

    Problems: a listed file changed, missing or not a regular file; a file that is not listed (anything but the
    build's bookkeeping); SHA256SUMS or MANIFEST.json missing, malformed, or disagreeing with each other.
    """
    reports = Path(reports)
    if not reports.is_dir():
        return [f"{reports.name}/ is not a folder"]
    if not (reports / SUMS).is_file():
        return [f"{SUMS} is missing from {reports.name}/: nothing to verify against (run the build first)"]
    listed, problems = _listed(reports)
    for name, expected in sorted(listed.items()):
        path = reports / name
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            problems.append(f"missing: {name}")
            continue
        if not stat.S_ISREG(mode):
            problems.append(f"changed: {name} (no longer a regular file)")
        elif sha256_file(path) != expected:
            problems.append(f"changed: {name} (sha256 differs from {SUMS})")
    for path in sorted(reports.rglob("*")):
        relative = path.relative_to(reports)
        if _is_bookkeeping(relative) or (path.is_dir() and not path.is_symlink()):
            continue
        if relative.as_posix() not in listed:
            problems.append(f"unexpected: {relative.as_posix()} (not in {SUMS})")
    manifest_path = reports / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        recorded = published_files(manifest)
    except FileNotFoundError:
        problems.append(f"missing: {MANIFEST}")
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        problems.append(f"changed: {MANIFEST} is not a readable manifest ({type(exc).__name__})")
    else:
        for name, digest in sorted(listed.items()):
            if recorded.get(name) != digest:
                problems.append(f"changed: {name} is recorded differently in {MANIFEST} and {SUMS}")
    return problems
