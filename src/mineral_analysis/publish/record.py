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
from pathlib import Path

from .. import config
from ..atomic import write_if_changed
from ..safe_files import MiB, UnsafeFileError, read_regular_text, sha256_regular

SUMS = config.REPORTS_SUMS
MANIFEST = config.REPORTS_MANIFEST
INDEX = config.REPORTS_INDEX
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
_PUBLISHED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.(?:html|pdf)")  # a plain name in the folder
_SHA256 = re.compile(r"[0-9a-f]{64}")
RECORD_LIMIT = 16 * MiB  # SHA256SUMS and MANIFEST.json are a few kB: anything larger is not a record


def sha256_bytes(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """The hex sha256 of a regular file's bytes (a link, FIFO or device is refused: ``safe_files``)."""
    return sha256_regular(path)


def disk_sha256(reports: Path, name: str) -> str | None:
    """The sha256 of published file ``name`` as it is on disk, or None when it is absent, a link or not a
    regular file (then it is not the file the build wrote)."""
    try:
        return sha256_regular(Path(reports) / name)
    except OSError:
        return None


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


def is_published_name(name: object) -> bool:
    """Whether ``name`` can be a published file: a plain ``.html``/``.pdf`` name inside the folder (no folder part,
    not hidden, no ``..``)."""
    return isinstance(name, str) and bool(_PUBLISHED_NAME.fullmatch(name))


def _digests(value: object) -> dict[str, str]:
    """The ``{name: sha256}`` pairs of a manifest's mapping that are well formed (others are left out)."""
    if not isinstance(value, dict):
        return {}
    return {n: d for n, d in value.items() if is_published_name(n) and isinstance(d, str) and _SHA256.fullmatch(d)}


def published_files(manifest: dict) -> dict[str, str]:
    """Every published file the manifest records (briefs' HTML and PDF, the index) and its sha256; entries that
    are not plain names in the folder (``../outside/x``) or not sha256 digests are left out."""
    files = {n: d for n, d in _digests(manifest.get("index")).items() if n == INDEX}
    briefs = manifest.get("briefs")
    for slug, entry in briefs.items() if isinstance(briefs, dict) else ():
        if isinstance(entry, dict):
            files.update({n: d for n, d in _digests(entry.get("outputs")).items() if n.startswith(f"{slug}.")})
    return files


def sums_text(files: dict[str, str]) -> str:
    """``files`` in the ``sha256sum`` format, sorted by name."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(files.items()))


def _read_record_file(reports: Path, name: str) -> str:
    """SHA256SUMS or MANIFEST.json: a regular file (no link, FIFO or device), at most RECORD_LIMIT bytes."""
    return read_regular_text(Path(reports) / name, RECORD_LIMIT)


def read_manifest(reports: Path) -> dict:
    """The folder's MANIFEST.json with only well-formed entries (a brief's slug a plain name, its kind, key and
    title text, its outputs plain names with sha256 digests), or an empty one when it is missing or unreadable (the build starts over)."""
    try:
        manifest = json.loads(_read_record_file(reports, MANIFEST))
    except (OSError, ValueError):
        return {}
    if not isinstance(manifest, dict):
        return {}
    briefs = manifest.get("briefs")
    kept = {}
    for slug, entry in briefs.items() if isinstance(briefs, dict) else ():
        if (
            isinstance(slug, str)
            and is_published_name(f"{slug}.html")
            and isinstance(entry, dict)
            and all(isinstance(entry.get(field), str) for field in ("kind", "key", "title"))
        ):
            outputs = {n: d for n, d in _digests(entry.get("outputs")).items() if n.startswith(f"{slug}.")}
            kept[slug] = entry | {"outputs": outputs}
    result = manifest | {"briefs": kept}
    if "index" in manifest:
        result["index"] = {n: d for n, d in _digests(manifest["index"]).items() if n == INDEX}
    return result


def read_sums(reports: Path) -> dict[str, str]:
    """SHA256SUMS as ``{name: sha256}`` (its well-formed lines only; empty when it is missing or unreadable)."""
    try:
        return _parse_sums(_read_record_file(reports, SUMS))[0]
    except OSError:
        return {}


def untrusted_outputs(reports: Path, manifest: dict, sums: dict[str, str]) -> dict[str, str]:
    """Every published file whose bytes on disk are not the ones both records vouch for, and why.

    A brief's ``.html``/``.pdf`` (and the index) is untrusted when its sha256 on disk differs from MANIFEST.json,
    when SHA256SUMS records it differently or not at all, or when it is on disk (or a link) but not recorded.
    The build rebuilds such a brief and leaves out of the record any file it did not rebuild."""
    recorded = published_files(manifest)
    reasons: dict[str, str] = {}
    names = set(recorded)
    for slug in manifest.get("briefs", {}):
        names |= {f"{slug}.{ext}" for ext in ("html", "pdf") if os.path.lexists(Path(reports) / f"{slug}.{ext}")}
    if "index" in manifest or os.path.lexists(Path(reports) / INDEX):
        names.add(INDEX)
    for name in sorted(names):
        on_disk = disk_sha256(reports, name)
        present = os.path.lexists(Path(reports) / name)
        if not present:
            continue  # a missing output is planned as missing, not as changed
        if on_disk is None:
            reasons[name] = "not a regular file"
        elif name not in recorded:
            reasons[name] = f"not recorded in {MANIFEST}"
        elif on_disk != recorded[name]:
            reasons[name] = f"its sha256 differs from {MANIFEST}"
        elif sums.get(name) != recorded[name]:
            reasons[name] = f"{SUMS} records it differently" if name in sums else f"not in {SUMS}"
    return reasons


def recorded_from_disk(reports: Path, manifest: dict, distrusted=()) -> tuple[dict, list[str]]:
    """The manifest with every output's sha256 as it is on disk now, and a line for each output left out.

    An output is kept only when its bytes on disk are the ones this build wrote or found trusted (its recorded
    sha256 equals the disk's and it is not in ``distrusted``); anything else (changed since, a link, missing,
    found untrusted and not rebuilt) is left out of both records, so ``verify`` names it."""
    dropped: list[str] = []

    def kept(files: dict[str, str]) -> dict[str, str]:
        out = {}
        for name, digest in sorted(_digests(files).items()):
            on_disk = disk_sha256(reports, name)
            if on_disk is None:
                continue  # not published (a format not built, or a link): nothing to vouch for
            if name in distrusted or on_disk != digest:
                dropped.append(name)
                continue
            out[name] = on_disk
        return out

    result = dict(manifest)
    result["briefs"] = {
        slug: entry | {"outputs": kept(entry.get("outputs", {}))} for slug, entry in manifest.get("briefs", {}).items()
    }
    if "index" in manifest:
        result["index"] = kept(manifest["index"])
    return result, dropped


def write_record(reports: Path, manifest: dict, distrusted=()) -> tuple[bool, list[str]]:
    """Write MANIFEST.json, then SHA256SUMS, from the bytes on disk (``recorded_from_disk``) where their content
    changed; return whether anything was written and the outputs left out of the record (with why)."""
    reports = Path(reports)
    manifest, dropped = recorded_from_disk(reports, manifest, distrusted)
    changed = write_if_changed(reports / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    changed = write_if_changed(reports / SUMS, sums_text(published_files(manifest)).encode()) or changed
    return changed, dropped


def _parse_sums(text: str) -> tuple[dict[str, str], list[str]]:
    """SHA256SUMS as {name: sha256}, and a problem for each line that is not ``<sha256>  <name>`` of a plain
    published name in the folder."""
    listed: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _SUMS_LINE.fullmatch(line)
        if not match:
            problems.append(f"{SUMS} line {number} is not `<sha256>  <file name>`: {line[:80]!r}")
            continue
        name = match.group(2)
        if not is_published_name(name):
            problems.append(f"{SUMS} line {number} names a file that cannot be published here: {name[:80]!r}")
            continue
        if name in listed:
            problems.append(f"{SUMS} line {number} lists {name} a second time")
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


def _walk(folder: Path, relative: Path = Path()):
    """Every entry under ``folder`` as (relative path, is a real folder), links never followed."""
    try:
        entries = sorted(os.scandir(folder / relative), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        inside = relative / entry.name
        real_folder = entry.is_dir(follow_symlinks=False)
        yield inside, real_folder
        if real_folder and not _is_bookkeeping(inside):
            yield from _walk(folder, inside)


def _manifest_problems(reports: Path) -> tuple[dict[str, str] | None, list[str]]:
    """MANIFEST.json's published files, and a line per problem with it (None when it cannot be read at all)."""
    try:
        manifest = json.loads(_read_record_file(reports, MANIFEST))
    except FileNotFoundError:
        return None, [f"missing: {MANIFEST}"]
    except UnsafeFileError as exc:
        return None, [f"changed: {MANIFEST}: {exc}"]
    except (OSError, ValueError) as exc:
        return None, [f"changed: {MANIFEST} is not a readable manifest ({type(exc).__name__})"]
    if not isinstance(manifest, dict) or not isinstance(manifest.get("briefs", {}), dict):
        return None, [f"changed: {MANIFEST} is not a readable manifest (not a JSON object of briefs)"]
    problems = []
    entries = [("index", manifest.get("index", {}))]
    entries += [(slug, e.get("outputs", {}) if isinstance(e, dict) else e) for slug, e in manifest["briefs"].items()]
    for owner, outputs in entries:
        if not isinstance(outputs, dict):
            problems.append(f"changed: {MANIFEST} entry {str(owner)[:80]!r} is not a mapping of files")
            continue
        for name, digest in outputs.items():
            if not is_published_name(name) or (owner != "index" and not name.startswith(f"{owner}.")):
                problems.append(
                    f"changed: {MANIFEST} entry {str(owner)[:80]!r} names a file it cannot publish: {str(name)[:80]!r}"
                )
            elif not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
                problems.append(f"changed: {MANIFEST} records {name} with a sha256 that is not one")
    return published_files(manifest), problems


def verify(reports: Path) -> list[str]:
    """Recompute the published record of ``reports``; return one line per problem (empty: everything matches).

    Safe on any folder: only regular files inside it are read (no link followed, a FIFO or device refused),
    SHA256SUMS and MANIFEST.json are read up to RECORD_LIMIT bytes, and every name they give must be a plain file
    name in the folder. Problems: a listed file changed, missing or not a regular file; a file that is not listed
    (anything but the build's bookkeeping); SHA256SUMS or MANIFEST.json missing, malformed, naming a file outside
    the folder, or disagreeing with each other in either direction.
    """
    reports = Path(reports)
    if not reports.is_dir():
        return [f"{reports.name}/ is not a folder"]
    try:
        listed, problems = _parse_sums(_read_record_file(reports, SUMS))
    except FileNotFoundError:
        return [f"{SUMS} is missing from {reports.name}/: nothing to verify against (run the build first)"]
    except UnsafeFileError as exc:  # nothing to compare with: that is the one problem (and the manifest's)
        return [f"changed: {SUMS}: {exc}", *_manifest_problems(reports)[1]]
    recorded, manifest_problems = _manifest_problems(reports)
    problems += manifest_problems
    for name, expected in sorted(listed.items()):
        try:
            actual = sha256_regular(reports / name)
        except FileNotFoundError:
            problems.append(f"missing: {name}")
            continue
        except UnsafeFileError as exc:
            problems.append(f"changed: {name} (no longer a regular file: {exc})")
            continue
        if actual != expected:
            problems.append(f"changed: {name} (sha256 differs from {SUMS})")
    if recorded is not None:
        for name in sorted(set(listed) | set(recorded)):
            if name not in recorded:
                problems.append(f"changed: {name} is in {SUMS} but not in {MANIFEST}")
            elif name not in listed:
                problems.append(f"changed: {name} is in {MANIFEST} but not in {SUMS}")
            elif recorded[name] != listed[name]:
                problems.append(f"changed: {name} is recorded differently in {MANIFEST} and {SUMS}")
    for relative, real_folder in _walk(reports):
        if _is_bookkeeping(relative) or real_folder:
            continue
        if relative.as_posix() not in listed:
            kind = " (a link)" if (reports / relative).is_symlink() else ""
            problems.append(f"unexpected: {relative.as_posix()}{kind} (not in {SUMS})")
    return problems
