"""The cleaning benchmark's synthetic records are raw data the pipeline accepts, shaped like a large real file."""

import importlib.util

import pytest

from mineral_analysis import config
from mineral_analysis.clean.pipeline import load_raw


@pytest.fixture(scope="module")
def synthetic():
    spec = importlib.util.spec_from_file_location("synthetic", config.PROJECT_ROOT / "benchmarks" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_records_clean_without_a_problem(synthetic, tmp_path, monkeypatch):
    counts = synthetic.generate(3_000, tmp_path, config.RAW_DIR)
    monkeypatch.setattr(config, "SEEDS_DIR", tmp_path / "no-articles-here")  # the redrawn amounts are in no source
    financing = load_raw(tmp_path).financing
    assert len(financing) == counts["records"] == 3_000
    assert (financing["is_aggregate"]).sum() == counts["aggregates"] == 6
    assert counts["repaired_collisions"] > 0  # the key check ran and the dates, not the amounts, were redrawn
    # amounts keep source-like spellings: three significant digits at most, never a repair's four decimals
    written = financing["amount_as_written"].dropna()
    assert not written.str.contains(r"\d\.\d{4}").any()
    assert financing["announced"].dropna().str.len().isin([7, 10]).all()
