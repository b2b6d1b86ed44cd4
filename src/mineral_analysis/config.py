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

RAW_FINANCING = "financing.csv"
RAW_MEMBERSHIP = "membership.csv"
BOUNDARIES_FILE = EXTERNAL_DIR / "boundaries" / "countries_50m.parquet"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
FONTS_DIR = PACKAGE_DIR / "resources" / "fonts"  # the bundled fonts every brief is set in


def raw_path(name: str, raw_dir: Path | None = None) -> Path:
    """Return the path of raw file ``name`` inside ``raw_dir`` (default: the project's ``data/raw``)."""
    return Path(raw_dir or RAW_DIR) / name


def processed_path(name: str, processed_dir: Path | None = None) -> Path:
    """Return the path of processed file ``name`` inside ``processed_dir`` (default: ``data/processed``)."""
    return Path(processed_dir or PROCESSED_DIR) / name
