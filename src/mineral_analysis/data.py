"""Loaders for the processed tables: what a notebook calls first.

``load_financing()`` and ``load_membership()`` read ``data/processed/`` (built by ``make data``) of the project
folder (``config``); outside any project they read the tables that travel with the installed package. Their columns
are documented in ``mineral_analysis.columns`` and in ``data/processed/data_dictionary.md``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

from . import columns, config


def _column_doc(spec: dict[str, tuple[str, str]]) -> str:
    return "\n".join(f"    - ``{name}`` ({dtype}): {meaning}" for name, (dtype, meaning) in spec.items())


def _require(path: Path) -> Path:
    if not path.exists():
        if path.parent == config.BUNDLED_DIR:
            raise FileNotFoundError(
                f"no project folder here and this installation carries no tables ({path.name}); work inside a "
                f"project folder, set {config.ROOT_VARIABLE}=DIR, or pass processed_dir="
            )
        raise FileNotFoundError(
            f"{path.name} is missing from the processed-data folder; build it with `make data` "
            "(or `mineral-analysis data`) first"
        )
    return path


@lru_cache(maxsize=8)
def _read_parquet(path: Path, mtime_ns: int) -> pd.DataFrame:
    return pd.read_parquet(path)


def _load(name: str, processed_dir: Path | None) -> pd.DataFrame:
    path = _require(config.processed_path(config.parquet_file(name), processed_dir))
    return _read_parquet(path, path.stat().st_mtime_ns).copy()


def load_financing(processed_dir: Path | None = None) -> pd.DataFrame:
    """Return the financing table: one row per record, amounts in USD, aggregates flagged.

    Pandas conventions: a missing text is ``NA``; agency, kind, stage, binding status, instrument and the other
    vocabularies are ordered categoricals (``frames``). Sum ``counted_usd`` (never ``amount_usd``) over the rows
    whose ``kind`` is ``financing`` to get totals that do not double count. Columns:
    """
    return _load("financing", processed_dir)


def load_membership(processed_dir: Path | None = None) -> pd.DataFrame:
    """Return the membership table: one row per country (or the EU) and role. Columns:"""
    return _load("membership", processed_dir)


def load_places(processed_dir: Path | None = None) -> pd.DataFrame:
    """Return the long table of places: one row per item and country, with its role, precision and shared flag."""
    return _load("financing_places", processed_dir)


def load_minerals(processed_dir: Path | None = None) -> pd.DataFrame:
    """Return the long table of minerals: one row per item and mineral named (or ``not stated``)."""
    return _load("financing_minerals", processed_dir)


def load_metadata(processed_dir: Path | None = None) -> dict:
    """Return ``metadata.json``: data version, raw-file hashes, row counts and headline totals."""
    path = _require(config.processed_path(config.PROCESSED_METADATA, processed_dir))
    return json.loads(path.read_text(encoding="utf-8"))


load_financing.__doc__ += "\n" + _column_doc(columns.FINANCING)
load_membership.__doc__ += "\n" + _column_doc(columns.MEMBERSHIP)
load_places.__doc__ += " Columns:\n" + _column_doc(columns.PLACES)
load_minerals.__doc__ += " Columns:\n" + _column_doc(columns.MINERALS)
