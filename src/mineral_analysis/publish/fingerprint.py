"""Content hashes that decide when a brief is rebuilt.

A brief's fingerprint (``brief_fingerprint``) covers everything its executed notebook depends on and prints: the
notebook's bytes, its parameters, the records it draws on and the sources registry's rows for the sources those
records cite (``catalogue.data_slices``), the country boundaries, the dataset version and release (name, date,
citation) it prints (``printed_release``, ``changes.BriefVersions``), and the library code that makes it (``library_fingerprint``, which
includes the package's templates and fonts). The library hash covers only
what briefs use: the project modules the notebooks import and the exporter that renders them, followed through
their imports (read from the source, not executed), and the package's templates and resources. The command line
and the publishing code are not in it, so editing them rebuilds nothing.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from .. import __version__, config
from ..vocab import printed_version

PACKAGE = "mineral_analysis"
RENDERING = (f"{PACKAGE}.publish.export",)  # what turns an executed notebook into its HTML and PDF
DATA_SUFFIXES = {".py", ".pyc", ".pyo"}  # not data: everything else in the package folder is (templates, fonts...)


def hash_files(paths: list[Path]) -> str:
    """sha256 over the files' names and bytes, in name order."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _module_file(name: str) -> Path | None:
    """The source file of ``mineral_analysis[.x[.y]]`` in the package folder, or None when it is not a module."""
    parts = name.split(".")[1:]
    base = config.PACKAGE_DIR.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _lazy_names(init: Path) -> dict[str, str]:
    """The package's lazily imported names (``_LAZY`` in ``__init__.py``): name -> module."""
    for node in ast.walk(ast.parse(init.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_LAZY" for t in node.targets):
            try:
                return {f"{k}": f"{PACKAGE}.{v}" for k, v in ast.literal_eval(node.value).items()}
            except ValueError:
                return {}
    return {}


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Project modules a source tree imports (anywhere in it, lazy imports included)."""
    found: set[str] = set()
    lazy = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != PACKAGE:
                continue
            found.add(source)
            for alias in node.names:
                if _module_file(f"{source}.{alias.name}"):
                    found.add(f"{source}.{alias.name}")
                elif source == PACKAGE:
                    lazy = lazy if lazy is not None else _lazy_names(config.PACKAGE_DIR / "__init__.py")
                    if alias.name in lazy:
                        found.add(lazy[alias.name])
    return found


def _notebook_imports(notebooks_dir: Path) -> set[str]:
    found: set[str] = set()
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            source = "".join(cell.get("source", ""))
            code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
            try:
                found |= _imports(ast.parse(code), "__main__", False)
            except SyntaxError:
                continue
    return found


def brief_modules(notebooks_dir: Path | None = None) -> list[Path]:
    """The source files of every project module a brief uses: imported by a notebook or by the exporter,
    directly or through another project module."""
    todo = {PACKAGE, *RENDERING, *_notebook_imports(notebooks_dir or config.NOTEBOOKS_DIR)}
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:
            continue
        seen[name] = path
        for parent in (".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)):
            todo.add(parent)  # importing a.b.c runs a/__init__ and a/b/__init__
        tree = ast.parse(path.read_text(encoding="utf-8"))
        todo |= _imports(tree, name, path.name == "__init__.py") - set(seen)
    return sorted(seen.values())


def _sources_signature(notebooks_dir: Path) -> str:
    """A cheap signature (names, sizes, modification times) of the package's modules and the notebooks."""
    files = [*config.PACKAGE_DIR.rglob("*.py"), *Path(notebooks_dir).glob("*.ipynb")]
    stats = sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if "__pycache__" not in p.parts)
    return hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16]


def library_fingerprint(notebooks_dir: Path | None = None, cache: dict | None = None) -> str:
    """Hash of the library code briefs use (``brief_modules``) and the package's templates and resources.

    ``cache`` (a dict the caller keeps between builds) saves reading the import graph again while no module
    or notebook changed; the files themselves are always hashed."""
    notebooks = Path(notebooks_dir or config.NOTEBOOKS_DIR)
    signature = _sources_signature(notebooks)
    if cache is not None and cache.get("signature") == signature:
        modules = [config.PACKAGE_DIR / name for name in cache["modules"]]
    else:
        modules = brief_modules(notebooks)
        if cache is not None:
            cache.clear()
            cache.update(signature=signature, modules=[str(p.relative_to(config.PACKAGE_DIR)) for p in modules])
    data = [
        p
        for p in config.PACKAGE_DIR.rglob("*")
        if p.is_file() and p.suffix not in DATA_SUFFIXES and "__pycache__" not in p.parts and not p.name.startswith(".")
    ]
    digest = hashlib.sha256()
    for path in sorted(modules + data):
        digest.update(str(path.relative_to(config.PACKAGE_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


PRINTED_FILES = (config.RAW_SOURCES, config.PROCESSED_METADATA)  # read by every brief beside the tables


def require_tables(processed_dir: Path) -> list[Path]:
    """The processed tables' files; FileNotFoundError naming those missing."""
    files = [processed_dir / config.parquet_file(t) for t in config.PROCESSED_TABLES]
    missing = [p.name for p in files if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} missing from {processed_dir.name}/; run `make data` first")
    return files


def data_fingerprint(processed_dir: Path) -> str:
    """Hash of every processed file the notebooks read (the tables, the sources registry, the metadata) and the
    boundaries the maps draw: the key under which a build caches the catalogue and the data slices."""
    files = require_tables(processed_dir)
    files += [processed_dir / name for name in PRINTED_FILES if (processed_dir / name).exists()]
    boundaries = [config.BOUNDARIES_FILE] if config.BOUNDARIES_FILE.exists() else []
    return hash_files(files + boundaries)[:16]


def source_rows(processed_dir: Path) -> dict[str, bytes]:
    """The sources registry beside the tables, one entry per ``source_id``: that row's cells (what a brief that
    cites the source prints: title, publisher, date, language...). Empty when the registry is absent."""
    import csv
    import io

    from ..safe_files import MiB, read_regular_bytes

    try:
        text = read_regular_bytes(Path(processed_dir) / config.RAW_SOURCES, 16 * MiB).decode("utf-8", "replace")
    except OSError:
        return {}
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0] if rows else []
    return {row[0]: "\x1f".join([*header, *row]).encode() for row in rows[1:] if row}


def printed_release(processed: Path) -> str:
    """What every brief prints from ``metadata.json``: the release's name, date and citation (not the rest, which
    changes with every data edit and is covered by each brief's slice; each brief's version is its own)."""
    try:
        metadata = json.loads((Path(processed) / config.PROCESSED_METADATA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    release = metadata.get("release") if isinstance(metadata, dict) else None
    return hashlib.sha256(json.dumps(release, sort_keys=True).encode()).hexdigest()[:16]


def releases_fingerprint(releases_dir: Path | None = None) -> str:
    """Hash of every release's ``release.json`` (which holds the SHA-256 of its tables): what the versions the
    briefs print, and what their "What changed" compares with, depend on besides their own records."""
    folder = Path(releases_dir or config.RELEASES_DIR)
    return hash_files(sorted(folder.glob("*/release.json")))[:16] if folder.is_dir() else ""


def boundaries_fingerprint() -> str:
    """Hash of the country boundaries every map draws ("" when the file is absent)."""
    return hash_files([config.BOUNDARIES_FILE])[:16] if config.BOUNDARIES_FILE.exists() else ""


def brief_fingerprint(brief, data_hash: str, library_hash: str, notebooks_dir: Path | None = None) -> str:
    """Content hash of everything a brief's executed notebook depends on (``data_hash``: its data slice, the
    boundaries and the version and release it prints). Formats are not part of it: a current executed notebook is
    exported to a missing format without running again."""
    digest = hashlib.sha256()
    digest.update((Path(notebooks_dir or config.NOTEBOOKS_DIR) / brief.notebook.name).read_bytes())
    digest.update(json.dumps(brief.parameters, sort_keys=True).encode())
    digest.update(f"{data_hash}|{library_hash}|{__version__}".encode())
    return digest.hexdigest()[:16]


def brief_fingerprints(
    briefs,
    slices: dict[str, str],
    processed: Path,
    library_hash: str,
    notebooks_dir: Path | None = None,
    versions: dict[str, tuple[str, str | None]] | None = None,
    releases: str | None = None,
) -> dict[str, str]:
    """Every brief's fingerprint (by slug), as the build records it: ``brief_fingerprint`` over its slice
    (``catalogue.data_slices`` with ``source_rows``: its records and the registry rows of the sources it lists),
    the boundaries, the version it prints and the release it compares with (``changes.BriefVersions``, computed
    here unless given), the releases (``releases_fingerprint``), the release it cites (``printed_release``) and
    the library (templates and fonts included). A planner outside the build (docs/building.md) calls this one
    function."""
    if versions is None:
        from ..changes import BriefVersions

        known = BriefVersions(processed)
        versions = {b.slug: known.of(b.kind, b.key) for b in briefs}
    releases = releases_fingerprint() if releases is None else releases
    common = f"{boundaries_fingerprint()}|{releases}|{printed_release(processed)}"
    return {
        b.slug: brief_fingerprint(
            b, f"{slices[b.slug]}|{common}|{json.dumps(list(versions[b.slug]))}", library_hash, notebooks_dir
        )
        for b in briefs
    }


def dataset_version(processed: Path) -> str:
    """The version of the dataset the briefs print: ``dataset_version`` from ``metadata.json`` (a release name,
    or "<release> + unreleased changes"), else its content hash ``data_version``, else "unknown"."""
    try:
        metadata = json.loads((Path(processed) / config.PROCESSED_METADATA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unknown"
    if not isinstance(metadata, dict):
        return "unknown"
    return printed_version(metadata)
