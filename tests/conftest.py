"""Shared fixtures: processed tables built from the bundled raw data into a temporary folder, so the tests
never depend on (or change) the project's own data/processed/ and reports/."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# The commands' messages are parsed line by line here: no timestamps (a run off a terminal gets them, which
# test_doors.py checks under `env -i`, where this variable is not set).
os.environ.setdefault("MINERAL_ANALYSIS_LOG", "plain")


@pytest.fixture(scope="session")
def processed_dir(tmp_path_factory):
    """data/raw cleaned into a fresh processed folder (once per test session)."""
    from mineral_analysis import config
    from mineral_analysis.clean.pipeline import build_processed

    folder = tmp_path_factory.mktemp("processed")
    build_processed(config.RAW_DIR, folder)
    return folder


@pytest.fixture(scope="session")
def financing(processed_dir):
    """The financing table in its plain form (text cells, "" for missing), as the CSV and the releases hold it;
    the loaders' pandas form (NA, categoricals) is tested on its own in test_money_model.py."""
    from mineral_analysis import load_financing
    from mineral_analysis.frames import plain

    return plain(load_financing(processed_dir))


@pytest.fixture(scope="session")
def membership(processed_dir):
    from mineral_analysis import load_membership
    from mineral_analysis.frames import plain

    return plain(load_membership(processed_dir))
