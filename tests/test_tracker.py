"""The tracker (issue 12): sources registry, citations, three-valued binding status, releases, changes, the
"What changed" text, the cleaning fixes of the review, and the processed-table contract."""

from __future__ import annotations

import json
import math
import shutil

import pandas as pd
import pytest

from mineral_analysis import config
from mineral_analysis.analysis import explode_countries, funding_summary
from mineral_analysis.briefing import Tables
from mineral_analysis.changes import (
    BriefVersions,
    brief_metadata,
    brief_snapshot,
    changes_between,
    diff_tables,
    format_changes,
    what_changed,
    what_changed_text,
)
from mineral_analysis.clean.amounts import parse_amount
from mineral_analysis.clean.contract import check_processed
from mineral_analysis.clean.new_release import make_release
from mineral_analysis.clean.pipeline import build_processed, load_raw
from mineral_analysis.clean.sources import format_citations, load_sources, parse_citations
from mineral_analysis.countries import CountryError, resolve_country
from mineral_analysis.errors import AmountError, DataValidationError
from mineral_analysis.releases import ReleaseError, list_releases, read_release
from mineral_analysis.totals import headline_numbers

M = 1e6


@pytest.fixture(scope="module")
def tables():
    return load_raw()


@pytest.fixture(scope="module")
def rows(tables):
    return tables.financing.set_index("record_id")


# --- Sources and citations -----------------------------------------------------------------------------------


def test_registry_lists_both_articles():
    sources = load_sources()
    assert sorted(sources) == ["000", "001"]
    assert sources["000"].published == "2026-02-04" and "stated" in sources["000"].published_note
    assert "inferred" in sources["001"].published_note


def test_registry_hash_matches_the_seed_files():
    if not config.SEEDS_DIR.is_dir():
        pytest.skip("shared/seeds is not beside this checkout")
    from mineral_analysis.clean.sources import file_sha256

    for source in load_sources().values():
        assert file_sha256(config.SEEDS_DIR / source.file) == source.sha256


def test_hash_mismatch_names_file_line_and_value(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "000_5eec764572c4282a.txt").write_text("a different text\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as caught:
        load_sources(seeds_dir=seeds)
    problem = caught.value.problems[0]
    assert (problem.file, problem.line, problem.column) == ("sources.csv", 2, "sha256")
    assert "does not match the file 000_5eec764572c4282a.txt" in problem.message


def test_citations_parse_and_format():
    assert parse_citations("001:12;001:15;000:2") == (("001", 12), ("001", 15), ("000", 2))
    assert format_citations("001:12;001:15;000:2") == "001 ¶12, ¶15; 000 ¶2"
    for bad in ("", "¶12", "1:12", "001:0", "001:12;001:12"):
        with pytest.raises(ValueError):
            parse_citations(bad)


def test_several_sources_and_the_conflict_are_exposed(tables, rows):
    host = tables.membership.set_index("record_id").loc["HOST-01"]
    assert host["source_count"] == 2 and host["source"].startswith("000 ¶2, ¶4, ¶7; 001")
    # The preview's "more than 50 states" agrees with the full article's 54 countries: a note, not a conflict.
    assert host["conflict"] == "" and "more than 50" in host["note"]
    assert rows.loc["EXIM-01", "source"] == "001 ¶12, ¶14, ¶15" and rows.loc["EXIM-01", "source_count"] == 1
    assert "up to" in rows.loc["EXIM-01", "conflict"]  # ¶12 "up to", ¶15 plain: two paragraphs disagree


# --- Binding status -------------------------------------------------------------------------------------------


def test_binding_status_has_three_values_for_money(tables, rows):
    fin = tables.financing
    money = fin[fin["kind"] == "financing"]
    assert set(money["binding_status"]) == {"binding", "not binding", "not stated"}
    assert set(fin.loc[fin["kind"] != "financing", "binding_status"]) == {"not applicable"}
    assert (fin["is_binding"] == (fin["binding_status"] == "binding")).all()
    assert rows.loc["DFC-04", "binding_status"] == "not stated"  # $565 m in Brazil: no instrument or stage named
    assert rows.loc["DFC-05", "binding_status"] == "not binding"
    numbers = headline_numbers(fin)
    assert numbers["not_stated_usd"] == pytest.approx((565 + 150 + 150 + 75 + 600) * M)
    assert numbers["binding_usd"] + numbers["non_binding_usd"] + numbers["not_stated_usd"] == pytest.approx(
        numbers["total_usd"]
    )


# --- Tiny hand-made frames: analysis and the what-changed text -----------------------------------------------


def _tiny() -> pd.DataFrame:
    """Five rows: an item in two countries, a stated total with two parts, an item with no mineral stated."""
    return pd.DataFrame(
        {
            "record_id": ["A-01", "A-02", "A-03", "A-04", "B-01"],
            "agency": ["EXIM", "EXIM", "EXIM", "EXIM", "DFC"],
            "title": ["two countries", "total", "part 1", "part 2", "no mineral"],
            "amount_usd": [100.0, 50.0, 20.0, 10.0, 7.0],
            "counted_usd": [100.0, 20.0, 20.0, 10.0, 7.0],
            "binding_status": ["binding", "not binding", "not binding", "not binding", "not stated"],
            "is_binding": [True, False, False, False, False],
            "is_aggregate": [False, True, False, False, False],
            "parent_id": ["", "", "A-02", "A-02", ""],
            "mobilized_usd": [5.0, math.nan, math.nan, math.nan, math.nan],
            "country_iso3": ["USA;AUS", "", "USA", "", ""],
            "minerals": ["copper", "not stated", "tin", "tin", "not stated"],
        }
    )


def test_headline_numbers_on_a_tiny_frame():
    numbers = headline_numbers(_tiny())
    assert numbers["total_usd"] == 157.0  # the total counts its 20 unitemised, never 50 on top of its parts
    assert (numbers["binding_usd"], numbers["non_binding_usd"], numbers["not_stated_usd"]) == (100.0, 50.0, 7.0)
    assert numbers["mobilized_usd"] == 5.0 and numbers["items"] == 5 and numbers["aggregates"] == 1


def test_summaries_on_a_tiny_frame():
    by_country = funding_summary(_tiny(), "country").set_index("country")
    assert by_country.loc["USA", "total_usd"] == 120.0 and by_country.loc["AUS", "total_usd"] == 100.0
    assert not by_country.attrs["additive"]
    by_agency = funding_summary(_tiny(), "agency").set_index("agency")
    assert by_agency.loc["DFC", "not_stated_usd"] == 7.0 and by_agency.loc["EXIM", "non_binding_usd"] == 50.0
    assert len(explode_countries(_tiny())) == 6


def test_what_changed_text_lists_changes_and_deltas():
    old = _tiny()
    new = old.copy()
    new.loc[new["record_id"] == "B-01", ["amount_usd", "counted_usd"]] = [9.0, 9.0]
    new = new[new["record_id"] != "A-04"]
    changes = diff_tables(
        {"financing": old, "membership": old.iloc[0:0]}, {"financing": new, "membership": old.iloc[0:0]}
    )
    assert set(zip(changes["record_id"], changes["change"])) == {("A-04", "removed"), ("B-01", "changed")}
    text = what_changed_text(changes, old, new, "r9", dict(zip(old["record_id"], old["title"])))
    assert (
        "Since release **r9** (0 added, 1 removed, 1 changed)" in text
        and "A-04" in text
        and "amount_usd: 7.00 → 9.00" in text
    )
    assert "not stated +$2" in text
    empty = diff_tables(
        {"financing": old, "membership": old.iloc[0:0]}, {"financing": old, "membership": old.iloc[0:0]}
    )
    assert what_changed_text(empty, old, old, "r9", {}) == "No change since r9."


def _tiny_membership() -> pd.DataFrame:
    return pd.DataFrame({"record_id": ["M-01", "M-02"], "iso3": ["AUS", "USA"], "name": ["Australia", "United States"]})


def test_brief_snapshot_picks_the_same_records_as_the_brief_in_any_version():
    tables = {"financing": _tiny(), "membership": _tiny_membership()}
    country = brief_snapshot(tables, "country", "AUS")
    assert country["financing"]["record_id"].tolist() == ["A-01"]
    assert country["membership"]["record_id"].tolist() == ["M-01"]  # its own roles, not every participant
    mineral = brief_snapshot(tables, "mineral", "tin")
    assert mineral["financing"]["record_id"].tolist() == ["A-03", "A-04"]  # not every record of its agencies
    assert mineral["membership"].empty
    assert brief_snapshot(tables, "agency", "DFC")["financing"]["record_id"].tolist() == ["B-01"]
    overview = brief_snapshot(tables, "overview")
    assert len(overview["financing"]) == 5 and len(overview["membership"]) == 2
    # the same definition as the brief's own records (briefing.BriefData.items / roles)
    brief = Tables(_tiny(), _tiny_membership()).brief("country", "AUS")
    assert brief.items["record_id"].tolist() == country["financing"]["record_id"].tolist()
    empty = brief_snapshot({"financing": _tiny().iloc[0:0], "membership": tables["membership"]}, "country", "AUS")
    assert empty["financing"].empty and list(empty["financing"].columns) == list(_tiny().columns)


# --- Releases and changes -------------------------------------------------------------------------------------


def test_shipped_releases_oldest_first():
    releases = list_releases()
    assert [r.name for r in releases] == ["r1-preview", "r2-full-article", "r3-stages"]
    assert releases[0].sources == ("000",) and releases[1].sources == releases[2].sources == ("000", "001")
    first = read_release("r1-preview")
    assert first["financing"].empty and first["membership"]["record_id"].tolist() == ["HOST-01"]
    assert first["membership"]["conflict"].iat[0] == ""  # one source: nothing to disagree with


def test_changes_since_the_preview_show_the_full_article():
    changes, deltas = changes_between("r1-preview", "r2-full-article")
    added = set(changes.loc[changes["change"] == "added", "record_id"])
    assert {"EXIM-01", "DFC-04", "PART-01", "FORGE-02"} <= added and "HOST-01" not in added
    host = changes[changes["record_id"] == "HOST-01"]
    # r1-preview was re-made with the note that article 000 alone supports; r2 still has the older note
    assert set(host["field"]) == {"source", "source_count", "conflict", "note"}
    assert deltas.set_index("agency").loc["All", "total_usd_delta"] == pytest.approx(34_000.9 * M)
    csv_text = format_changes(changes, deltas, "csv")
    assert csv_text.splitlines()[0] == "record_id,change,field,old,new,reason"
    table = format_changes(changes, deltas, "table")
    assert "Totals' deltas by agency" in table and table.rstrip().splitlines()[-1].lstrip().startswith("All")
    assert json.loads(format_changes(changes, deltas, "json"))["changes"]


def test_unknown_release_is_refused_with_the_valid_names():
    with pytest.raises(ReleaseError, match="valid releases are: r1-preview, r2-full-article, r3-stages"):
        changes_between("r0")


@pytest.fixture()
def releases_copy(tmp_path):
    target = tmp_path / "releases"
    shutil.copytree(config.RELEASES_DIR, target)
    return target


@pytest.mark.parametrize("name", ["R1", "new release", "../x", "", "-x", "é"])
def test_release_refuses_odd_names(releases_copy, name):
    with pytest.raises(ReleaseError, match="is not allowed"):
        make_release(name, releases_dir=releases_copy)


def test_release_refuses_an_existing_name_and_invalid_data(releases_copy, tmp_path):
    before = sorted(p.name for p in releases_copy.iterdir() if not p.name.startswith("."))
    with pytest.raises(ReleaseError, match="already exists"):
        make_release("r2-full-article", releases_dir=releases_copy)
    raw = tmp_path / "raw"
    shutil.copytree(config.RAW_DIR, raw)
    path = raw / "financing.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("001:16", "009:16"), encoding="utf-8")
    with pytest.raises(DataValidationError, match="source 009 is not registered"):
        make_release("r3", raw_dir=raw, releases_dir=releases_copy)
    assert sorted(p.name for p in releases_copy.iterdir() if not p.name.startswith(".")) == before


def test_release_refuses_data_equal_to_the_latest_release(releases_copy):
    """The shipped raw data are r3-stages: releasing them again under a new name would add an empty step."""
    before = sorted(p.name for p in releases_copy.iterdir() if not p.name.startswith("."))
    with pytest.raises(ReleaseError, match="equal the latest release, r3-stages: nothing new to release"):
        make_release("r3-same", releases_dir=releases_copy)
    assert sorted(p.name for p in releases_copy.iterdir() if not p.name.startswith(".")) == before


def test_corrupted_snapshot_is_refused(releases_copy):
    path = releases_copy / "r2-full-article" / "financing.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("10000000000.00", "11000000000.00", 1), encoding="utf-8")
    with pytest.raises(ReleaseError, match="financing.csv is corrupted"):
        read_release("r2-full-article", releases_copy)


def test_dataset_version_and_what_changed_after_an_edit(tmp_path, releases_copy):
    """The metadata contract, and a DOE brief's "What changed" after one DOE amount is edited."""
    processed = tmp_path / "processed"
    summary = build_processed(processed_dir=processed, releases_dir=releases_copy)
    assert summary["dataset_version"] == "r3-stages"
    assert summary["release"] == {
        "name": "r3-stages",
        "date": "2026-12-06",
        "citation": list_releases(releases_copy)[-1].citation,
    }
    first = what_changed("agency", "DOE", processed, releases_copy)  # data = r3: compared with r2
    exim_before = what_changed("agency", "EXIM", processed, releases_copy)
    assert (
        first.startswith("Since release **r2-full-article** (0 added, 0 removed, 7 changed)")
        and "**DOE-04** Battery materials processing and battery manufacturing and recycling grants: changed" in first
        and "no total here changed" in first
    )
    raw = tmp_path / "raw"
    shutil.copytree(config.RAW_DIR, raw)
    path = raw / "financing.csv"
    # An amount must be the source's own words in a cited paragraph: DOE-01 now cites ¶23 for "$355 млн".
    edited = (
        path.read_text(encoding="utf-8")
        .replace("$134 млн", "$355 млн", 1)
        .replace("001:21;001:22", "001:21;001:22;001:23", 1)
    )
    path.write_text(edited, encoding="utf-8")
    summary = build_processed(raw, processed, releases_copy)
    assert summary["dataset_version"] == "r3-stages + unreleased changes"
    text = what_changed("agency", "DOE", processed, releases_copy)
    assert "DOE-01" in text and "$355 млн" in text and "total +$221 m" in text
    # EXIM's records did not change: its brief still prints r3-stages and compares with r2, word for word.
    assert what_changed("agency", "EXIM", processed, releases_copy) == exim_before
    versions = BriefVersions(processed, releases_copy)
    assert versions.of("agency", "EXIM") == ("r3-stages", "r2-full-article")
    assert versions.of("agency", "DOE") == ("r3-stages + unreleased changes", "r3-stages")
    assert brief_metadata("agency", "EXIM", processed, releases_copy)["dataset_version"] == "r3-stages"
    overview = what_changed("overview", "", processed, releases_copy)
    assert "and 1 more records" not in overview and "DOE-01" in overview


# --- Cleaning fixes from the review ---------------------------------------------------------------------------


def test_review_fixes_in_the_data(rows):
    assert rows.loc["DFC-06", "country_iso3"] == "" and "Saudi Arabia" in rows.loc["DFC-06", "note"]
    assert rows.loc["DFC-07", "subnational"] == "" and "Persian Gulf" in rows.loc["DFC-07", "note"]
    assert "привлечение" in rows.loc["DFC-05", "note"] and "own money" in rows.loc["DFC-05", "note"]
    assert "announcement" in rows.loc["EXIM-01", "note"] and "approval" in rows.loc["EXIM-01", "note"]
    assert rows.loc["DOS-01", "announced_inferred"] and "without a year" in rows.loc["DOS-01", "note"]
    assert rows.loc["DFC-01", "stage"] == "not_stated" and rows.loc["DFC-01", "stage_basis"] == ""
    assert rows.loc["DOD-06", ["instrument", "stage"]].tolist() == ["debt", "conditional"]


def test_as_written_cells_hold_the_source_words():
    if not config.SEEDS_DIR.is_dir():
        pytest.skip("shared/seeds is not beside this checkout")
    text = " ".join(p.read_text(encoding="utf-8") for p in config.SEEDS_DIR.glob("*.txt")).lower()
    raw = pd.read_csv(config.raw_path(config.RAW_FINANCING), dtype=str, keep_default_na=False)
    for rid, written in zip(raw["record_id"], raw["instrument_as_written"]):
        for piece in written.split(" … "):
            assert piece.lower().replace("ё", "е") in text.replace("ё", "е"), (rid, piece)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("в Казахстане", "KAZ"),
        ("с Мексикой", "MEX"),
        ("Korea, Rep.", "KOR"),
        ("Cook Is.", "COK"),
        ("Congo, Dem. Rep.", "COD"),
        ("St. Lucia", "LCA"),
    ],
)
def test_names_with_prepositions_and_world_bank_spellings(name, code):
    assert resolve_country(name) == code


@pytest.mark.parametrize("name", ["Kosovo", "Косово"])
def test_places_without_an_iso_code_are_refused_saying_so(name):
    with pytest.raises(CountryError, match="has no ISO 3166-1 code") as caught:
        resolve_country(name)
    assert "did you mean" not in str(caught.value)


def test_ambiguous_comma_names_both_readings():
    with pytest.raises(AmountError, match=r"ambiguous.*\$1\.25 bn.*\$1\.25 tn"):
        parse_amount("$1,250 млрд")
    assert parse_amount("$1,25 млрд").value_usd == 1.25e9
    assert parse_amount("$1,250,000").value_usd == 1.25e6


# --- Processed-table contract ---------------------------------------------------------------------------------


def test_contract_refuses_counted_above_amount(tables):
    bad = tables.financing.copy()
    bad.loc[bad["record_id"] == "DOE-01", "counted_usd"] = 1e12
    with pytest.raises(DataValidationError, match="counted_usd must not exceed amount_usd"):
        check_processed(bad, tables.membership)
    bad = tables.financing.copy()
    bad.loc[bad["record_id"] == "DFC-04", "is_binding"] = True
    with pytest.raises(DataValidationError, match="is_binding must equal"):
        check_processed(bad, tables.membership)


def test_one_splitter_of_country_codes():
    from mineral_analysis.frames import split_codes

    assert split_codes(" kor;USA;;kor ") == ["KOR", "USA"]  # upper-case, in order, no blanks or repeats
    assert split_codes(["kor", "", None, "KOR", "jpn"]) == ["KOR", "JPN"]
    assert split_codes(None) == [] and split_codes(float("nan")) == [] and split_codes("") == []


def test_one_reader_of_the_processed_citations():
    from mineral_analysis.clean.sources import sources_cited

    cells = pd.DataFrame({"source": [format_citations("001:12;001:15;000:2"), format_citations("010:3"), ""]})
    assert sources_cited(cells, pd.DataFrame({"other": [1]})) == ["000", "001", "010"]


def test_printed_names_of_groups_versions_and_countries():
    from mineral_analysis.links import display_name
    from mineral_analysis.vocab import ROLE_PRIORITY, group_in_sentence, printed_version

    assert group_in_sentence("bilateral_framework") == "bilateral framework"
    assert group_in_sentence("forge_chair") == "FORGE chair"  # a name keeps its capitals
    assert ROLE_PRIORITY[0] == "host" and ROLE_PRIORITY[-1] == "ministerial_participant"
    assert printed_version({"dataset_version": "r1", "data_version": "abc"}) == "r1"
    assert printed_version({"dataset_version": "", "data_version": "abc"}) == "abc"
    assert printed_version({}) == "unknown"
    assert display_name("KOR", "KOR") == "South Korea"  # a code standing in for a name is no name
    assert display_name("KOR", "Korea, Republic of") == "Korea, Republic of"
    assert display_name("EUU", "European Union") == "European Commission"
