"""Every path the project uses, built from one root, and the names of the files in it.

The project root is, in order: the folder named by ``--project`` (the command line calls :func:`use_project`), the
environment variable ``MINERAL_ANALYSIS_ROOT``, the nearest folder at or above the working directory that holds
``data/raw/financing.csv`` (so ``cd my-copy && mineral-analysis build`` works on that copy), and the checkout
this package was installed from in editable mode. Installed from a wheel and used outside any project, there is
no root: the loaders and the maps then read the tables and boundaries that travel with the package
(:data:`BUNDLED_DIR`), and the commands that need a project say so in one line (:func:`require_project`).
Nothing else in the package, the notebooks or the tests spells a path of its own.

A project's folders are one immutable value, :class:`ProjectPaths` (:func:`project`); :func:`use_project` replaces
it whole. ``config.RAW_DIR``, ``config.PROCESSED_DIR`` and the other path names read the current value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_VARIABLE = "MINERAL_ANALYSIS_ROOT"
PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
RESOURCES_DIR = PACKAGE_DIR / "resources"
# Country boundaries (Natural Earth 1:50m via world-atlas; see resources/boundaries/README.md) ship with the
# package: every installation draws the same maps.
BOUNDARIES_FILE = RESOURCES_DIR / "boundaries" / "countries_50m.parquet"
FONTS_DIR = RESOURCES_DIR / "fonts"  # the bundled fonts every brief is set in
# The processed tables a wheel carries (copied in by setup.py's build step from data/processed/).
BUNDLED_DIR = PACKAGE_DIR / "bundled"

# The file catalogue: every file name the pipeline, the loaders and the build read or write.
RAW_FINANCING = "financing.csv"
RAW_MEMBERSHIP = "membership.csv"
RAW_SOURCES = "sources.csv"
RAW_CORRECTIONS = "corrections.csv"  # the curator's reasons for changed readings, shown by `changes`
PROCESSED_TABLES = ("financing", "membership")
DATAPACKAGE = "datapackage.json"  # the Frictionless Data Package (v2) describing the tables beside it
PROCESSED_METADATA = "metadata.json"
DATA_DICTIONARY = "data_dictionary.md"
# The build's own state for a reports folder, kept beside it (see build_state_path).
BUILD_LOCK = "build.lock"
BUILD_CACHE = "build-cache.json"
# What a reports folder holds beside the briefs: the index page, the record of what was published, its sums.
REPORTS_INDEX = "index.html"
REPORTS_MANIFEST = "MANIFEST.json"
REPORTS_SUMS = "SHA256SUMS"
RELEASE_MANIFEST = "release.json"  # in each release's folder
RELEASE_LOCK = ".release.lock"  # in the releases folder: one release is made at a time
COUNTRY_ALIASES = "country_aliases.csv"  # in resources/: the reviewed spellings of country names
KERNEL_SPEC = "kernel.json"  # the build's Jupyter kernel description


def csv_file(table: str) -> str:
    """The file name of a table's CSV form (the record, in data/processed and in releases)."""
    return f"{table}.csv"


def parquet_file(table: str) -> str:
    """The file name of a table's Parquet form (what the loaders read)."""
    return f"{table}.parquet"


class ProjectNotFound(RuntimeError):
    """A command that needs a project folder ran outside one."""


def is_project(folder: Path) -> bool:
    """Whether ``folder`` has the project layout (``data/raw/financing.csv``): what the search above looks for.

    A folder named explicitly (``--project``, ``MINERAL_ANALYSIS_ROOT``) is taken as it is, so a project may keep
    its raw or processed data elsewhere (``--raw-dir``, ``--processed-dir``).
    """
    return (Path(folder) / "data" / "raw" / RAW_FINANCING).is_file()


def find_project_root(cwd: Path | None = None, environ: dict[str, str] | None = None) -> Path | None:
    """The project root by the rules above (``--project`` aside), or None outside any project."""
    environ = os.environ if environ is None else environ
    if environ.get(ROOT_VARIABLE):
        return Path(environ[ROOT_VARIABLE]).expanduser().resolve()
    here = Path(cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_project(folder):
            return folder
    checkout = PACKAGE_DIR.parents[1]
    return checkout if is_project(checkout) else None


@dataclass(frozen=True)
class ProjectPaths:
    """Every folder of one project, built from its root (None: no project; the bundled tables are read)."""

    root: Path | None
    data: Path
    raw: Path
    processed: Path
    external: Path
    releases: Path
    notebooks: Path
    reports: Path
    seeds: Path  # the source articles live beside the project (shared/seeds), not inside it
    data_lock: Path

    @classmethod
    def at(cls, root: Path | None) -> ProjectPaths:
        """The paths of the project at ``root`` (the working directory's folders when there is none)."""
        root = Path(root).resolve() if root is not None else None
        base = root if root is not None else Path.cwd()
        data = base / "data"
        processed = data / "processed" if root is not None else BUNDLED_DIR
        return cls(
            root=root,
            data=data,
            raw=data / "raw",
            processed=processed,
            external=data / "external",
            releases=data / "releases",
            notebooks=base / "notebooks",
            reports=base / "reports",
            seeds=base.parent / "shared" / "seeds",
            data_lock=data_lock_path(processed),
        )


#: The module's path names, read from the current :class:`ProjectPaths` (``config.RAW_DIR`` is ``project().raw``).
_PATH_NAMES = {
    "PROJECT_ROOT": "root",
    "DATA_DIR": "data",
    "RAW_DIR": "raw",
    "PROCESSED_DIR": "processed",
    "EXTERNAL_DIR": "external",
    "RELEASES_DIR": "releases",
    "NOTEBOOKS_DIR": "notebooks",
    "REPORTS_DIR": "reports",
    "SEEDS_DIR": "seeds",
    "DATA_LOCK": "data_lock",
}


def project() -> ProjectPaths:
    """The paths of the project this process works on."""
    return _project


def use_project(root: Path | None) -> ProjectPaths:
    """Work on the project at ``root`` from now on (None: no project; the bundled tables are read); return its
    paths. The command line calls it for ``--project``, a forked kernel to find its build's project again."""
    global _project
    _project = ProjectPaths.at(root)
    return _project


def __getattr__(name: str) -> Path | None:
    if name in _PATH_NAMES:
        return getattr(_project, _PATH_NAMES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def data_lock_path(processed_dir: Path | None = None) -> Path:
    """The lock that keeps `data` (which replaces the processed tables) and `build` (which reads them) apart.

    It sits beside the processed folder, not in it, because `data` swaps the whole folder.
    """
    folder = Path(processed_dir or _project.processed).resolve()
    return folder.parent / f".{folder.name}.lock"


def build_state_path(reports_dir: Path, name: str) -> Path:
    """Where the build keeps ``name`` (:data:`BUILD_LOCK`, :data:`BUILD_CACHE`) for ``reports_dir``: beside the
    folder, not in it (``reports/`` -> ``.reports.build.lock``), so the published folder holds only what is
    published."""
    folder = Path(reports_dir).resolve()
    return folder.parent / f".{folder.name}.{name}"


def require_project() -> Path:
    """The project root, or ProjectNotFound with a one-line message saying how to name one."""
    root = _project.root
    if root is None or not root.is_dir():
        where = f"{root}" if root is not None else f"{Path.cwd()} or any folder above it"
        raise ProjectNotFound(
            f"no mineral-analysis project at {where} (a project has data/raw/{RAW_FINANCING}); run the command "
            f"inside a project folder, or name one with --project DIR or {ROOT_VARIABLE}=DIR"
        )
    return root


# Declared for readers and type checkers; each is read from the current ProjectPaths (``__getattr__``).
PROJECT_ROOT: Path | None
DATA_DIR: Path
RAW_DIR: Path
PROCESSED_DIR: Path
EXTERNAL_DIR: Path
RELEASES_DIR: Path
NOTEBOOKS_DIR: Path
REPORTS_DIR: Path
SEEDS_DIR: Path
DATA_LOCK: Path
_project = ProjectPaths.at(find_project_root())


def raw_path(name: str, raw_dir: Path | None = None) -> Path:
    """Return the path of raw file ``name`` inside ``raw_dir`` (default: the project's ``data/raw``)."""
    return Path(raw_dir or _project.raw) / name


def processed_path(name: str, processed_dir: Path | None = None) -> Path:
    """Return the path of processed file ``name`` inside ``processed_dir`` (default: ``data/processed``)."""
    return Path(processed_dir or _project.processed) / name
