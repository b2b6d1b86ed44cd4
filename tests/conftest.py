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
    from mineral_analysis import load_financing

    return load_financing(processed_dir)


@pytest.fixture(scope="session")
def membership(processed_dir):
    from mineral_analysis import load_membership

    return load_membership(processed_dir)
