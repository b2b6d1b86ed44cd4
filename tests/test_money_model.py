"""What the briefs say about money, checked where it is made: kind and stage, "not stated" as a word, one number
voice, shared places, mobilised money by provider, the data in the field's formats. Hand-made tiny tables (an item
in two countries, a plan, nothing stated) and every brief's text, without a kernel."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mineral_analysis import alt_text, analysis, brief_tables, config, narrative, totals
from mineral_analysis.briefing import Tables
from mineral_analysis.clean.amounts import parse_amount
from mineral_analysis.data import load_financing, load_places
from mineral_analysis.frames import CATEGORIES, conventional, plain
from mineral_analysis.usd import format_amount, format_date, format_share, format_usd

MONEY = re.compile(r"\$[0-9][0-9,.]*(?: (?:k|m|bn|tn)\b)?")
#: Sentences that say nothing or say it wrong (issue 21's list): none may appear in any brief's text.
REJECTED = [
    "$0",
    " 0%",
    "(0%)",
    "(100%)",
    "±$0",
    "1 of them are",
    "none of it is non-binding",
    "Most located money stays",
    "item(s)",
    "and others",
]


# --- The number voice ----------------------------------------------------------------------------------------


def test_not_stated_is_a_word_never_zero():
    assert format_usd(float("nan")) == "not stated"
    assert format_share(5.0, float("nan")) == "not stated"
    assert format_share(5.0, 0.0) == "not stated"
    assert format_amount(None, "up to") == "not stated"
    assert format_share(1.0, 1000.0) == "<1%" and format_share(999.9, 1000.0) == ">99%"


def test_amounts_carry_their_qualifier_and_dates_their_precision():
    assert format_amount(10e9, "up to") == "up to $10.0 bn"
    assert format_amount(1e9, "more than") == "more than $1.0 bn"
    assert format_amount(455e6, "exact") == "$455 m"
    assert format_date("2025-12", "month") == "December 2025"
    assert format_date("2025", "year") == "2025"
    assert format_date("2026-02-02", "day", inferred=True) == "2 February 2026 (inferred)"
    assert format_date("", "none") == "not stated"


def _brief_texts(financing: pd.DataFrame, membership: pd.DataFrame) -> dict[str, str]:
    """Every sentence and table cell a brief's text is made of, for every brief the data supports."""
    tables = Tables(financing, membership)
    texts = {}
    for kind, keys in {"overview": [""], **tables.valid_keys()}.items():
        for key in keys:
            brief = tables.brief(kind, key)
            parts = [
                *narrative.key_findings(kind, financing, membership, key),
                narrative.one_line_finding(kind, financing, membership, key),
                brief_tables.headline_table(brief.items).to_string(),
                brief_tables.items_table_html(brief.items),
                alt_text.alt_timeline(brief.items),
                narrative.finding_by_agency(brief.items),
                narrative.finding_by_mineral(brief.items),
                narrative.finding_by_instrument(brief.items),
                narrative.finding_by_country(brief.items),
            ]
            if kind == "agency":
                parts.append(narrative.agency_headline(financing, key))
            if kind == "country":
                parts.append(narrative.country_headline(brief.items, membership, key, key))
            if kind == "mineral":
                parts.append(narrative.mineral_headline(financing, key))
            texts[f"{kind}:{key}"] = "\n".join(parts)
    return texts


@pytest.fixture(scope="module")
def brief_texts(financing, membership):
    return _brief_texts(financing, membership)


@pytest.mark.slow  # every brief's text: about a minute on two busy cores
def test_every_amount_in_every_brief_prints_one_way(brief_texts):
    """An amount printed as "$1.10 bn" here and "$1.11 bn" there: every printed amount is format_usd's own spelling."""
    assert len(brief_texts) > 50
    for brief, text in brief_texts.items():
        for token in MONEY.findall(text):
            assert format_usd(parse_amount(token).value_usd) == token, (brief, token)


@pytest.mark.slow  # every brief's text: about a minute on two busy cores
def test_no_brief_says_the_rejected_sentences(brief_texts):
    for brief, text in brief_texts.items():
        for phrase in REJECTED:
            assert phrase not in text, (brief, phrase)


@pytest.mark.slow  # every brief's text: about a minute on two busy cores
def test_commitments_without_money_are_never_financing_items(brief_texts):
    assert "5 commitments without money" in brief_texts["overview:"]
    assert "31 financing items" in brief_texts["overview:"]
    ustr = brief_texts["agency:USTR"]
    assert "no financing item" in ustr and "2 commitments without money (2 plans)" in ustr
    assert "commitments-table" in ustr and "items-compact" not in ustr


# --- Tiny hand-made tables (Kedro's way) -----------------------------------------------------------------------


def _record(**values) -> dict:
    row = {
        "record_id": "X-01",
        "agency": "DOD",
        "agency_name": "Department of Defense",
        "kind": "financing",
        "title": "An item",
        "amount_as_written": "$100 млн",
        "amount_usd": 100e6,
        "amount_qualifier": "exact",
        "counted_usd": 100e6,
        "instrument": "debt",
        "instrument_label": "Debt",
        "stage": "closed",
        "stage_label": "Closed",
        "stage_basis": "привлечено",
        "binding_status": "binding",
        "is_binding": True,
        "alternative_stage": "",
        "alternative_binding_status": "binding",
        "is_aggregate": False,
        "parent_id": "",
        "mobilized_as_written": "",
        "mobilized_usd": float("nan"),
        "mobilized_from": "",
        "mobilized_type": "",
        "mobilized_private_usd": float("nan"),
        "mobilized_public_usd": float("nan"),
        "mobilized_unsplit_usd": float("nan"),
        "announced": "2025-12",
        "announced_date": pd.Timestamp("2025-12-01"),
        "announced_precision": "month",
        "announced_inferred": False,
        "country_iso3": "USA",
        "country_names": "United States",
        "subnational": "",
        "place_role": "listed",
        "place_count": 1,
        "minerals": "not stated",
        "source": "001 ¶30",
        "source_count": 1,
        "conflict": "",
        "note": "",
    }
    row.update(values)
    return row


def _frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_nothing_stated_reads_not_stated(membership):
    unstated = _frame(
        _record(amount_usd=float("nan"), counted_usd=float("nan"), amount_qualifier="not stated", amount_as_written="")
    )
    numbers = totals.headline_numbers(unstated)
    assert numbers["total_usd"] != numbers["total_usd"]  # NaN: not stated, never 0
    text = narrative.agency_headline(unstated, "DOD")
    assert "No amount is stated" in text and "$0" not in text
    finding = narrative.key_findings("agency", unstated, membership, "DOD")[0]
    assert "none with a stated amount" in finding
    assert "not stated" in brief_tables.headline_table(unstated).to_string()
    assert "no amount stated" in narrative.one_line_finding("agency", unstated, membership, "DOD")


def test_a_plan_is_listed_never_summed():
    plan = _record(
        record_id="X-02",
        kind="plan",
        amount_usd=float("nan"),
        counted_usd=float("nan"),
        amount_as_written="",
        amount_qualifier="not stated",
        stage="announced",
        binding_status="not applicable",
        is_binding=False,
        instrument="action_plan",
    )
    frame = _frame(_record(), plan)
    numbers = totals.headline_numbers(frame)
    assert numbers["items"] == 1 and numbers["commitments"] == 1
    assert analysis.funding_summary(frame, "agency")["items"].tolist() == [1]
    html = brief_tables.items_table_html(frame)
    assert html.count('id="X-02"') == 1 and "commitments-table" in html


def test_a_shared_item_is_never_a_countrys_own(membership):
    shared = _record(country_iso3="KOR;USA", country_names="South Korea;United States", subnational=";Tennessee")
    frame = _frame(shared)
    text = " ".join(narrative.key_findings("country", frame, membership, "KOR"))
    assert "shared with the United States" in text and "not this country's own" in text
    by_country = analysis.funding_summary(frame, "country")
    assert by_country.attrs["additive"] is False and by_country["shared_items"].tolist() == [1, 1]


def test_one_agency_and_one_place_say_nothing_redundant(membership):
    frame = _frame(_record(), _record(record_id="X-03", amount_usd=50e6, counted_usd=50e6))
    findings = " ".join(narrative.key_findings("country", frame, membership, "USA"))
    assert "(100%)" not in findings and "provides the most" not in findings
    assert narrative.finding_by_agency(frame) == "DOD: $150 m, all of it binding"


def test_the_alternative_reading_is_shown_beside_the_strict_total():
    strict = _record(stage="not_stated", stage_basis="", binding_status="not stated", is_binding=False)
    strict["alternative_stage"], strict["alternative_binding_status"] = "closed", "binding"
    numbers = totals.headline_numbers(_frame(strict, _record(record_id="X-04")))
    assert numbers["binding_usd"] == 100e6 and numbers["binding_if_alternative_usd"] == 200e6
    clause = narrative.binding_clause(numbers)
    assert "$100 m (50%) is binding" in clause and "raise the binding total to $200 m" in clause


def test_mobilised_money_is_split_by_who_provides_it():
    public = _record(mobilized_usd=75e6, mobilized_public_usd=75e6, mobilized_type="public")
    private = _record(record_id="X-05", mobilized_usd=200e6, mobilized_private_usd=200e6, mobilized_type="private")
    text = narrative.mobilised_text(totals.headline_numbers(_frame(public, private)))
    assert "$200 m from private investors" in text and "$75 m of public financing" in text


# --- Data in the field's formats ------------------------------------------------------------------------------


def test_loaded_tables_follow_pandas_conventions(processed_dir):
    financing = load_financing(processed_dir)
    assert financing["parent_id"].isna().sum() > 0 and not (financing["parent_id"] == "").any()
    for column in ("agency", "kind", "stage", "binding_status", "instrument"):
        dtype = financing[column].dtype
        assert isinstance(dtype, pd.CategoricalDtype) and dtype.ordered, column
        assert list(dtype.categories) == CATEGORIES[column]
    # The library takes either form and says the same.
    assert analysis.funding_summary(financing, "agency").equals(analysis.funding_summary(plain(financing), "agency"))
    assert plain(conventional(plain(financing))).equals(plain(financing))
    places = load_places(processed_dir)
    assert set(places.columns) >= {"record_id", "iso3", "role", "precision", "shared"}


def test_frictionless_validates_the_processed_tables(processed_dir):
    frictionless = Path(sys.executable).with_name("frictionless")
    package = json.loads((processed_dir / config.DATAPACKAGE).read_text(encoding="utf-8"))
    assert package["$schema"].endswith("/2.0/datapackage.json")
    described = {r["name"] for r in package["resources"]}
    assert described == {"financing", "membership", "financing_places", "financing_minerals"}
    result = subprocess.run(
        [str(frictionless), "validate", config.DATAPACKAGE], cwd=processed_dir, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_frictionless_catches_a_value_outside_the_vocabulary(processed_dir, tmp_path):
    frictionless = Path(sys.executable).with_name("frictionless")
    copy = tmp_path / "processed"
    copy.mkdir()
    for path in processed_dir.iterdir():
        copy.joinpath(path.name).write_bytes(path.read_bytes())
    text = (copy / "financing.csv").read_text(encoding="utf-8")
    (copy / "financing.csv").write_text(text.replace(",financing,", ",bogus,", 1), encoding="utf-8")
    result = subprocess.run(
        [str(frictionless), "validate", config.DATAPACKAGE], cwd=copy, capture_output=True, text=True
    )
    assert result.returncode != 0 and "enum" in result.stdout


def test_citation_file_names_the_project():
    text = (Path(__file__).resolve().parents[1] / "CITATION.cff").read_text(encoding="utf-8")
    assert "cff-version: 1.2.0" in text and "title:" in text and "mineral-analysis" in text


# --- Releases hold only what their sources say -----------------------------------------------------------------

SOURCE_MENTION = re.compile(r"\b([0-9]{3})(?: ¶|:[0-9])")


def test_each_release_holds_only_what_its_sources_say():
    """A release made from some sources (r1-preview: article 000 alone) must not cite or describe any other source,
    in its citations, notes or conflicts."""
    from mineral_analysis.releases import list_releases, read_release

    releases = list_releases()
    assert releases, "no release in data/releases"
    for release in releases:
        tables = read_release(release.name)
        for table, frame in tables.items():
            for column in ("source", "note", "conflict"):
                for rid, text in zip(frame["record_id"], frame[column]):
                    cited = set(SOURCE_MENTION.findall(str(text)))
                    assert cited <= set(release.sources), (release.name, table, rid, column, text)


def test_frictionless_validates_every_release():
    from mineral_analysis.releases import list_releases

    frictionless = Path(sys.executable).with_name("frictionless")
    for release in list_releases():
        folder = config.RELEASES_DIR / release.name
        result = subprocess.run(
            [str(frictionless), "validate", config.DATAPACKAGE], cwd=folder, capture_output=True, text=True
        )
        assert result.returncode == 0, (release.name, result.stdout + result.stderr)


def test_each_headline_total_opens_to_the_items_it_sums(financing):
    rows = financing[financing["agency"] == "DFC"]
    html = brief_tables.headline_html(rows)
    page = html + brief_tables.items_table_html(rows, agency="DFC")
    assert html.count("<details>") == 4  # total, not binding, stage not stated, binding under the other reading
    linked = re.findall(r'href="#([A-Z]+-[0-9]+)"', html)
    assert set(linked) == {"DFC-02", "DFC-03", "DFC-04", "DFC-05"}
    for rid in linked:
        assert f'id="{rid}"' in page, rid  # every ID leads to its row
    total = re.search(r"<summary[^>]*>(.*?)</summary><p>(.*?)</p>", html)
    listed = sum(parse_amount(token).value_usd for token in MONEY.findall(total.group(2)))
    assert format_usd(listed) == total.group(1)  # the items shown add up to the figure


def test_every_release_carries_its_tables_as_parquet_with_the_same_rows():
    import pyarrow.parquet as pq

    from mineral_analysis.releases import list_releases, read_release

    for release in list_releases():
        tables = read_release(release.name)  # checks every recorded file's SHA-256, the Parquet copies included
        assert {"financing.parquet", "membership.parquet", "datapackage.json"} <= set(release.files), release.name
        for table, frame in tables.items():
            path = config.RELEASES_DIR / release.name / f"{table}.parquet"
            parquet = pd.read_parquet(path)
            assert list(parquet.columns) == list(frame.columns), (release.name, table)
            assert (
                plain(parquet)
                .drop(columns=["announced_date"], errors="ignore")
                .equals(frame.drop(columns=["announced_date"], errors="ignore"))
            ), (release.name, table)
            assert pq.read_schema(path).field("record_id").metadata[b"description"], (release.name, table)
