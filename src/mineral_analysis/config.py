"""Every path the project uses, built from one root.

The root is the repository checkout (found from this file), unless the environment variable
``MINERAL_ANALYSIS_ROOT`` names another project folder with the same layout. Nothing else in the
package, the notebooks or the tests spells a path of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = Path(os.environ.get("MINERAL_ANALYSIS_ROOT", PACKAGE_DIR.parents[1])).resolve()

DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
EXTERNAL_DIR = DATA_DIR / "external"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
RELEASES_DIR = DATA_DIR / "releases"
# The source articles live beside the project (shared/seeds), not inside it; tests that read them skip when absent.
SEEDS_DIR = PROJECT_ROOT.parent / "shared" / "seeds"

RAW_FINANCING = "financing.csv"
RAW_MEMBERSHIP = "membership.csv"
RAW_SOURCES = "sources.csv"
BOUNDARIES_FILE = EXTERNAL_DIR / "boundaries" / "countries_50m.parquet"
TEMPLATES_DIR = PACKAGE_DIR / "templates"


def raw_path(name: str, raw_dir: Path | None = None) -> Path:
    """Return the path of raw file ``name`` inside ``raw_dir`` (default: the project's ``data/raw``)."""
    return Path(raw_dir or RAW_DIR) / name


def processed_path(name: str, processed_dir: Path | None = None) -> Path:
    """Return the path of processed file ``name`` inside ``processed_dir`` (default: ``data/processed``)."""
    return Path(processed_dir or PROCESSED_DIR) / name
