"""Planning a build: which records each brief draws on (``briefing.Tables``) and the data slice hashes made from
them (``catalogue.data_slices``). The grouped selection must name exactly the records the module docstring of
``briefing`` defines, so a record edit rebuilds only the briefs that show it."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from mineral_analysis.analysis import explode_countries, explode_minerals
from mineral_analysis.briefing import Tables
from mineral_analysis.publish.catalogue import all_briefs, data_slices


def _tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    """An item in two countries, one with no location, a mineral not stated, two agencies sharing a mineral."""
    financing = pd.DataFrame(
        {
            "record_id": ["DOE-01", "DOE-02", "EXIM-01", "DFC-01", "DFC-02"],
            "agency": ["DOE", "DOE", "EXIM", "DFC", "DFC"],
            "country_iso3": ["USA;AUS", "", "KOR", "AUS", "USA"],
            "minerals": ["copper;lithium", "not stated", "copper", "graphite", "not stated"],
            "counted_usd": [100.0, 20.0, 50.0, 7.0, None],
        }
    )
    membership = pd.DataFrame({"iso3": ["USA", "JPN"], "group": ["host", "forge_member"]})
    return financing, membership


def _by_definition(tables: Tables, kind: str, key: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The records a brief draws on, as the ``briefing`` docstring states them, filtered from whole tables."""
    financing, membership = tables.financing, tables.membership
    if kind == "overview":
        return financing, membership, financing
    if kind == "agency":
        rows = financing[financing["agency"] == key]
        return rows, membership.iloc[0:0], rows
    if kind == "country":
        exploded = explode_countries(financing)
        rows = exploded[exploded["country"] == key]
        return financing[financing["record_id"].isin(set(rows["record_id"]))], membership, rows
    exploded = explode_minerals(financing)
    rows = exploded[exploded["mineral"] == key]
    return financing[financing["agency"].isin(set(rows["agency"]))], membership.iloc[0:0], rows


def _slice_hash(kind: str, key: str, financing: pd.DataFrame, membership: pd.DataFrame) -> str:
    digest = hashlib.sha256(kind.encode() + b"\0" + key.encode() + b"\0")
    for frame in (financing, membership):
        digest.update(",".join(map(str, frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:12]


@pytest.fixture(params=["tiny", "processed"])
def tables(request) -> Tables:
    if request.param == "tiny":
        return Tables(*_tiny())
    return Tables.load(request.getfixturevalue("processed_dir"))


def test_every_brief_draws_on_the_records_its_definition_names(tables):
    briefs = all_briefs(tables=tables)
    assert {b.kind for b in briefs} == {"overview", "agency", "country", "mineral"}
    for brief in briefs:
        data = tables.brief(brief.kind, brief.key)
        financing, membership, rows = _by_definition(tables, brief.kind, brief.key)
        pd.testing.assert_frame_equal(data.financing, financing)
        pd.testing.assert_frame_equal(data.membership, membership)
        pd.testing.assert_frame_equal(data.rows.reset_index(drop=True), rows.reset_index(drop=True))


def test_slices_hash_each_briefs_own_records(tables):
    briefs = all_briefs(tables=tables)
    expected = {b.slug: _slice_hash(b.kind, b.key, *_by_definition(tables, b.kind, b.key)[:2]) for b in briefs}
    assert data_slices(briefs, tables=tables) == expected


def test_a_record_edit_changes_only_the_slices_of_the_briefs_that_show_it():
    financing, membership = _tiny()
    briefs = all_briefs(tables=Tables(financing, membership))
    before = data_slices(briefs, tables=Tables(financing, membership))
    edited = financing.copy()
    edited.loc[edited["record_id"] == "EXIM-01", "counted_usd"] = 51.0
    after = data_slices(briefs, tables=Tables(edited, membership))
    changed = sorted(slug for slug in before if before[slug] != after[slug])
    # EXIM-01: an EXIM item located in Korea, naming copper (which DOE also funds: the copper brief holds every
    # record of both agencies).
    assert changed == ["agency-exim", "country-kor", "mineral-copper", "overview"]
