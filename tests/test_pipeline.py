"""The curated data and the cleaning pipeline: validation passes, totals reconcile, nothing double counts,
outputs are written atomically and idempotently, and the loaders return what their docstrings promise."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mineral_analysis import columns, config, totals
from mineral_analysis.atomic import replace_files_atomic
from mineral_analysis.clean.financing import counted_amounts
from mineral_analysis.clean.pipeline import build_processed, load_raw
from mineral_analysis.clean.rawio import read_raw_table
from mineral_analysis.errors import DataValidationError
from mineral_analysis.vocab import NOT_STATED, binding_status

BN = 1e9
M = 1e6
SEEDS = config.SEEDS_DIR


def _by_id(financing: pd.DataFrame) -> pd.DataFrame:
    return financing.set_index("record_id")


# --- The curated records --------------------------------------------------------------------------------------


def test_raw_data_validates_and_counts(financing, membership):
    assert len(financing) == 36
    assert len(membership) == 73
    delegations = membership[membership["group"] == "ministerial_participant"]
    # The source: "54 countries and the European Commission".
    assert delegations["iso3"].nunique() == 55
    assert (delegations["iso3"] != "EUU").sum() == 54 and (delegations["iso3"] == "EUU").sum() == 1
    bilateral = membership[membership["group"] == "bilateral_framework"]
    assert sorted(bilateral["iso3"]) == sorted(
        ["ARG", "COK", "ECU", "GIN", "MAR", "PRY", "PER", "PHL", "ARE", "GBR", "UZB"]
    )
    assert set(bilateral["iso3"]) <= set(delegations["iso3"])
    assert membership.loc[membership["group"] == "host", "iso3"].tolist() == ["USA"]
    assert membership.loc[membership["group"] == "forge_chair", "iso3"].tolist() == ["KOR"]
    assert membership.loc[membership["group"] == "forge_member", "iso3"].tolist() == ["MNG"]


def test_totals_an_analyst_would_sign(financing):
    """Totals by agency (stated totals counted once, mobilised capital apart), computed by hand from the source."""
    counted = financing.groupby("agency")["counted_usd"].sum()
    assert counted["EXIM"] == pytest.approx(10 * BN + 14.8 * BN + 1.3 * BN + (27.4 + 23.5 + 15.9 + 11.1) * M)
    assert counted["DOE"] == pytest.approx((134 + 355 + 50 + 500 + 40 + 20 + 6) * M)
    assert counted["DOD"] == pytest.approx((35 + 93 + 620 + 80 + 1250 + 2400 + 150 + 150) * M)
    assert counted["DFC"] == pytest.approx((75 + 600 + 565 + 700) * M)
    assert counted["USTR"] == 0 and counted["DOS"] == 0
    assert financing["counted_usd"].sum() == pytest.approx(34_000.9 * M)
    binding = financing.loc[financing["is_binding"], "counted_usd"].sum()
    # Only what the source's words make binding: EXIM's approved loan and authorised deals, DOD's raised, closed and
    # funded deals. DOD's two "financing" lines and DFC's Ukraine and Orion money state no stage.
    assert binding == pytest.approx((10_000 + 1_377.9 + 35 + 93 + 620 + 80 + 1250) * M)
    alternative = financing.loc[financing["alternative_binding_status"] == "binding", "counted_usd"].sum()
    assert alternative - binding == pytest.approx((150 + 150 + 75 + 600) * M)
    not_stated = financing.loc[financing["binding_status"] == NOT_STATED, "counted_usd"].sum()
    assert not_stated == pytest.approx((150 + 150 + 75 + 600 + 565) * M)  # DFC-01's floor counts $0
    mobilized = financing["mobilized_usd"].sum()
    assert mobilized == pytest.approx((170.3 + 550 + 200 + 2400 + 540 + 300 + 75 + 1200) * M)
    assert financing["mobilized_private_usd"].sum() == pytest.approx((550 + 200 + 2400 + 540 + 300) * M)
    assert financing["mobilized_public_usd"].sum() == pytest.approx(
        (75 + 1200) * M
    )  # "государственного финансирования"
    assert financing["mobilized_unsplit_usd"].sum() == pytest.approx(170.3 * M)  # "foreign and private investors"


def test_stated_totals_are_counted_once(financing):
    rows = _by_id(financing)
    assert rows.loc["EXIM-02", "is_aggregate"] and rows.loc["DFC-01", "is_aggregate"]
    parts = rows[rows["parent_id"] == "EXIM-02"]
    assert sorted(parts.index) == ["EXIM-03", "EXIM-04", "EXIM-05", "EXIM-06"]
    assert parts["amount_usd"].sum() == pytest.approx(1.42 * BN)
    assert rows.loc["EXIM-02", "counted_usd"] == pytest.approx(13.38 * BN)  # the unitemised remainder
    # A floor ("more than $1 bn") whose listed items already exceed it adds nothing.
    assert rows.loc["DFC-01", "amount_qualifier"] == "more than"
    assert rows.loc["DFC-01", "counted_usd"] == 0
    # Family totals equal the larger of the stated total and its parts.
    for parent in ("EXIM-02", "DFC-01"):
        family = rows[(rows.index == parent) | (rows["parent_id"] == parent)]
        parts_sum = rows.loc[rows["parent_id"] == parent, "amount_usd"].sum()
        assert family["counted_usd"].sum() == pytest.approx(max(rows.loc[parent, "amount_usd"], parts_sum))


def test_an_item_listed_twice_is_one_record(financing):
    vault = financing[financing["title"].str.contains("Project Vault")]
    assert len(vault) == 1
    assert vault["source"].iat[0] == "001 ¶12, ¶14, ¶15"  # the announcement, the portfolio's heading and its line
    assert vault["amount_qualifier"].iat[0] == "up to" and vault["amount_usd"].iat[0] == 10 * BN
    # ¶12 writes "up to", ¶15 does not: a disagreement between cited paragraphs is a conflict, not a note.
    assert "up to" in vault["conflict"].iat[0] and "¶15" in vault["conflict"].iat[0]


def test_mobilised_capital_never_enters_amounts(financing):
    rows = _by_id(financing)
    assert rows.loc["DOD-05", "amount_usd"] == 1.25 * BN  # "$1,25 млрд": a decimal comma
    assert rows.loc["DOD-05", "mobilized_usd"] == 2.4 * BN
    assert rows.loc["DOD-02", "mobilized_usd"] == pytest.approx(170.3 * M)
    with_mobilized = financing[financing["mobilized_usd"].notna()]
    assert (with_mobilized["mobilized_from"] != "").all()


def test_binding_status_follows_kind_and_stage(financing):
    for (kind, stage), group in financing.groupby(["kind", "stage"]):
        assert (group["binding_status"] == binding_status(kind, stage)).all(), (kind, stage)
    rows = _by_id(financing)
    assert rows.loc["EXIM-01", "is_binding"]  # the board approved a direct loan
    assert rows.loc["DOD-05", "stage"] == "disbursed"  # "привлечено и профинансировано"
    assert not rows.loc["DOD-06", "is_binding"]  # conditional commitment
    assert not rows.loc["EXIM-03", "is_binding"]  # letter of interest
    assert not rows.loc["DOE-01", "is_binding"]  # NOFO
    for rid in ("DFC-04", "DOD-07", "DOD-08", "DFC-02", "DFC-03"):  # no word of the source states a stage...
        assert rows.loc[rid, "binding_status"] == NOT_STATED and rows.loc[rid, "stage_basis"] == "", rid
    assert (rows.loc[["DOD-07", "DOD-08", "DFC-02", "DFC-03"], "alternative_binding_status"] == "binding").all()
    assert (financing["is_binding"] == (financing["binding_status"] == "binding")).all()
    stated = financing[financing["stage"] != "not_stated"]
    assert (stated["stage_basis"] != "").all()


def test_commitments_without_money_are_not_financing(financing):
    rows = _by_id(financing)
    for rid, kind in (("USTR-01", "plan"), ("USTR-02", "plan"), ("DOS-01", "memorandum"), ("DFC-06", "talks")):
        assert rows.loc[rid, "kind"] == kind and rows.loc[rid, "binding_status"] == "not applicable", rid
    others = financing[financing["kind"] != "financing"]
    assert others["amount_usd"].isna().all() and others["counted_usd"].isna().all()
    assert totals.headline_numbers(financing)["items"] == len(financing) - len(others)


def test_shared_places_have_roles(financing):
    from mineral_analysis.clean.financing import places_long

    places = places_long(financing)
    korea_zinc = places[places["record_id"] == "DOD-05"]
    assert korea_zinc[["iso3", "subnational", "shared"]].values.tolist() == [
        ["KOR", "", True],
        ["USA", "Tennessee", True],
    ]
    assert set(places["role"]) <= {"site", "recipient", "partner", "domestic", "listed"}
    assert places.loc[places["subnational"] != "", "precision"].eq("subnational").all()


def test_minerals_only_as_stated(financing):
    rows = _by_id(financing)
    assert rows.loc["EXIM-07", "minerals"] == "copper;gold"
    assert rows.loc["DFC-05", "minerals"] == "tungsten"
    assert rows.loc["DOD-05", "minerals"] == NOT_STATED  # "Korea Zinc" is a company name, not a mineral
    assert rows.loc["DOE-06", "minerals"] == NOT_STATED  # magnets: rare earths likely but not stated
    assert (financing["minerals"] != "").all()


def test_locations_and_dates(financing):
    rows = _by_id(financing)
    assert rows.loc["DOD-08", "country_iso3"] == "JAM;USA" and rows.loc["DOD-08", "subnational"] == "St. Ann; Louisiana"
    assert rows.loc["EXIM-06", "country_iso3"] == "GBR;AUS"
    assert rows.loc["USTR-02", "country_iso3"] == "EUU;JPN"
    assert rows.loc["DFC-03", "country_iso3"] == ""  # worldwide: no country
    assert rows.loc["DOD-01", "announced"] == "2025-10" and rows.loc["DOD-01", "announced_precision"] == "month"
    assert rows.loc["DOE-07", "announced_date"] == pd.Timestamp("2025-09-15")
    assert rows.loc["EXIM-02", "announced"] == NOT_STATED and pd.isna(rows.loc["EXIM-02", "announced_date"])


def test_every_record_cites_a_real_paragraph():
    """Each raw record's source file and paragraph exist in the source articles (when they are beside the repo)."""
    if not SEEDS.is_dir():
        pytest.skip("shared/seeds is not beside this checkout (CI and the project's own machines have it)")
    paragraphs = {
        p.name[:3]: [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        for p in SEEDS.glob("*.txt")
    }
    for name in (config.RAW_FINANCING, config.RAW_MEMBERSHIP):
        with open(config.raw_path(name), encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                for pair in row["citations"].split(";"):
                    source, number = pair.split(":")
                    assert source in paragraphs, row["record_id"]
                    assert 1 <= int(number) <= len(paragraphs[source]), (row["record_id"], number)


def test_amounts_as_written_appear_in_the_cited_paragraph():
    """Digits of every amount as written occur in the paragraph it cites: a guard against mis-citing."""
    if not SEEDS.is_dir():
        pytest.skip("shared/seeds is not beside this checkout")
    with open(config.raw_path(config.RAW_FINANCING), encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["amount_as_written"]:
                continue
            cited = ""
            for pair in row["citations"].split(";"):
                source, number = pair.split(":")
                path = next(SEEDS.glob(f"{source}_*.txt"))
                lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
                cited += " " + lines[int(number) - 1]
            assert row["amount_as_written"] in cited, row["record_id"]


# --- Outputs -------------------------------------------------------------------------------------------------


def test_processed_outputs_and_dictionary(processed_dir):
    names = sorted(p.name for p in processed_dir.iterdir())
    assert names == [
        "data_dictionary.md",
        "datapackage.json",
        "financing.csv",
        "financing.parquet",
        "financing_minerals.csv",
        "financing_minerals.parquet",
        "financing_places.csv",
        "financing_places.parquet",
        "membership.csv",
        "membership.parquet",
        "metadata.json",
        "sources.csv",
    ]
    dictionary = (processed_dir / "data_dictionary.md").read_text(encoding="utf-8")
    for name in (*columns.FINANCING, *columns.MEMBERSHIP, *columns.PLACES, *columns.MINERALS):
        assert f"`{name}`" in dictionary
    csv_frame = pd.read_csv(processed_dir / "financing.csv", keep_default_na=False)
    assert list(csv_frame.columns) == list(columns.FINANCING)
    parquet = pd.read_parquet(processed_dir / "financing.parquet")
    assert list(parquet.columns) == list(columns.FINANCING)
    metadata = json.loads((processed_dir / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["ministerial_countries"] == 54 and metadata["ministerial_supranational"] == 1
    for name, digest in metadata["files"].items():
        assert hashlib.sha256((processed_dir / name).read_bytes()).hexdigest() == digest


def test_rebuild_is_idempotent(tmp_path):
    first = build_processed(config.RAW_DIR, tmp_path)
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    second = build_processed(config.RAW_DIR, tmp_path)
    assert len(first["changed"]) == 12 and second["changed"] == []  # tables, dictionary, package, sources, metadata
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps
    assert first["data_version"] == second["data_version"]


def test_failed_run_writes_nothing(tmp_path):
    processed = tmp_path / "processed"
    build_processed(config.RAW_DIR, processed)
    before = {p.name: p.read_bytes() for p in processed.iterdir()}
    raw = tmp_path / "raw"
    shutil.copytree(config.RAW_DIR, raw)
    text = (raw / "financing.csv").read_text(encoding="utf-8").replace("$27.4 млн", "27.4 евро")
    (raw / "financing.csv").write_text(text, encoding="utf-8")
    raw_before = (raw / "financing.csv").read_bytes()
    with pytest.raises(DataValidationError) as caught:
        build_processed(raw, processed)
    problem = caught.value.problems[0]
    assert (problem.file, problem.column, problem.value) == ("financing.csv", "amount_as_written", "27.4 евро")
    assert problem.line == 9
    assert {p.name: p.read_bytes() for p in processed.iterdir()} == before
    assert (raw / "financing.csv").read_bytes() == raw_before


def test_raw_data_is_never_modified(tmp_path):
    digests = {p.name: p.read_bytes() for p in config.RAW_DIR.iterdir()}
    build_processed(config.RAW_DIR, tmp_path)
    assert {p.name: p.read_bytes() for p in config.RAW_DIR.iterdir()} == digests


def test_replace_files_atomic_all_or_nothing(tmp_path, monkeypatch):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    b.write_text("old b")
    import mineral_analysis.atomic as atomic

    real = atomic._write_temp
    calls = []

    def failing(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(path, data)

    monkeypatch.setattr(atomic, "_write_temp", failing)
    with pytest.raises(OSError):
        replace_files_atomic({a: b"new a", b: b"new b"})
    assert a.read_text() == "old a" and b.read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]  # no temporary left behind


def test_write_if_changed_keeps_a_same_file_and_replaces_links_and_fifos(tmp_path):
    import os

    from mineral_analysis.atomic import write_if_changed

    path = tmp_path / "out.json"
    assert write_if_changed(path, b"one")
    before = path.stat().st_mtime_ns, path.stat().st_ino
    assert not write_if_changed(path, b"one")  # the same bytes: not written again
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before
    assert write_if_changed(path, b"one and more") and path.read_bytes() == b"one and more"
    assert write_if_changed(path, b"one") and path.read_bytes() == b"one"  # a prefix of the old bytes is a change
    target = tmp_path / "target"
    target.write_bytes(b"one")
    path.unlink()
    path.symlink_to(target)
    assert write_if_changed(path, b"one")  # a link holding the same bytes is still replaced by a file
    assert not path.is_symlink() and target.read_bytes() == b"one"
    path.unlink()
    os.mkfifo(path)
    assert write_if_changed(path, b"two") and path.read_bytes() == b"two"  # never blocks on the FIFO


def test_counted_amounts_nested_remainders():
    frame = pd.DataFrame(
        {
            "record_id": ["T", "A", "B", "C"],
            "parent_id": ["", "T", "T", ""],
            "is_aggregate": [True, False, False, False],
            "amount_usd": [100.0, 30.0, 20.0, math.nan],
        }
    )
    assert counted_amounts(frame).fillna(-1).tolist() == [50.0, 30.0, 20.0, -1]


def test_line_numbers_survive_multiline_fields(tmp_path):
    path = tmp_path / "membership.csv"
    path.write_text(
        "record_id,name_as_written,group,citations,conflict,note\n"
        'PART-01,Ангола,ministerial_participant,001:5,,"two\nlines"\n'
        "PART-02,Аргентина,ministerial_participant,001:5,,\n",
        encoding="utf-8",
    )
    table = read_raw_table(path, list(columns.RAW_MEMBERSHIP))
    assert table.frame["_line"].tolist() == [2, 4]


# --- Loaders ----------------------------------------------------------------------------------------------------


def test_loaders_types_and_docstrings(financing, membership):
    assert financing["amount_usd"].dtype == "float64" and financing["is_binding"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(financing["announced_date"])
    from mineral_analysis import load_financing, load_membership

    for name in columns.FINANCING:
        assert f"``{name}``" in load_financing.__doc__
    for name in columns.MEMBERSHIP:
        assert f"``{name}``" in load_membership.__doc__


def test_loader_says_how_to_build_missing_data(tmp_path):
    from mineral_analysis import load_financing

    with pytest.raises(FileNotFoundError, match=re.escape("make data")):
        load_financing(tmp_path)


def test_load_raw_reports_both_files_at_once(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(config.RAW_DIR, raw)
    for name, old, new in (("financing.csv", "EXIM-07,EXIM", "EXIM-07,NASA"), ("membership.csv", "Ангола", "Анголла")):
        path = raw / name
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataValidationError) as caught:
        load_raw(raw)
    files = {p.file for p in caught.value.problems}
    assert files == {"financing.csv", "membership.csv"}
    country = next(p for p in caught.value.problems if p.file == "membership.csv")
    assert "Ангола" in str(country)  # the nearest known name is suggested


def test_raw_schema_documents_cover_every_column():
    for name, spec in (
        ("financing.schema.md", columns.RAW_FINANCING),
        ("membership.schema.md", columns.RAW_MEMBERSHIP),
    ):
        text = (config.RAW_DIR / name).read_text(encoding="utf-8")
        for column in spec:
            assert f"`{column}`" in text, (name, column)
    assert Path(config.RAW_DIR / "PROVENANCE.md").exists()
