"""The briefs' sentences, tables and links, built from the processed tables (fast: no kernel, no browser)."""

from __future__ import annotations

import base64
import csv
import io
import re

import pytest

from mineral_analysis import alt_text, brief_tables, citing, links
from mineral_analysis import narrative as nv
from mineral_analysis.publish.sanitize import sanitize_html

BRIEFS = [
    ("overview", ""),
    ("agency", "DFC"),
    ("agency", "EXIM"),
    ("country", "SGP"),
    ("country", "KOR"),
    ("mineral", "copper"),
]


@pytest.mark.parametrize(("kind", "key"), BRIEFS)
def test_three_to_five_findings_from_the_data(financing, membership, kind, key):
    findings = nv.key_findings(kind, financing, membership, key)
    assert 2 <= len(findings) <= 5
    assert re.search(r"\d", findings[0])
    assert not any("$0 is" in line for line in findings)


def test_findings_count_what_the_tables_hold(financing, membership):
    first = nv.key_findings("overview", financing, membership)[0]
    delegations = membership.loc[membership["group"] == "ministerial_participant", "iso3"].nunique()
    assert f"{delegations - 1} countries and the European Commission" in first
    financial = int((financing["kind"] == "financing").sum())
    assert financial < len(financing)  # the plans, memoranda, talks and partnerships are not financing items
    assert f"**{financial} financing items**" in nv.key_findings("overview", financing, membership)[1]


def test_agency_headline_wording(financing):
    dfc = nv.agency_headline(financing, "DFC")
    assert "$0 is not itemised" not in dfc and "only the listed items are counted" in dfc
    assert "exact $" not in nv.agency_headline(financing, "EXIM")


def test_csv_link_round_trips_and_survives_the_sanitizer(financing, membership):
    records = citing.brief_records("agency", financing, membership, "DOD")
    html = sanitize_html(citing.csv_link(records, "agency-dod.csv", "Download"))
    href = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', html).group(1)
    assert 'download="agency-dod.csv"' in html
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(href).decode("utf-8"))))
    assert [r["record_id"] for r in rows] == sorted(financing.loc[financing["agency"] == "DOD", "record_id"])


def test_only_csv_may_be_a_data_link():
    page = base64.b64encode(b"<script>alert(1)</script>").decode()
    assert "data:" not in sanitize_html(f'<a download="x.html" href="data:text/html;base64,{page}">x</a>')


def test_items_table_anchors_each_row_and_links_its_names(financing):
    html = sanitize_html(brief_tables.items_table_html(financing))
    for record_id in financing["record_id"]:
        assert f'<tr id="{record_id}">' in html
    assert 'href="agency-dod.html#DOD-01"' in html and 'href="country-kor.html"' in html
    assert 'href="mineral-copper.html"' in html
    assert re.search(r"\d{3} ¶\d+", html) and not re.search(r"\d{3}_[0-9a-f]{16}", html)


def test_on_an_agency_brief_ids_are_anchors_and_notes_link_to_rows(financing):
    rows = financing[financing["agency"] == "DFC"]
    html = sanitize_html(brief_tables.items_table_html(rows, agency="DFC"))
    assert "agency-dfc.html" not in html  # no row links to the page it is on
    # (the sanitizer keeps each id whole on one line and labels cells for the phone's cards: markup aside)
    plain = re.sub(r' data-label="[^"]*"|<span class="nobr">|</span>', "", html)
    for record_id in rows["record_id"]:
        assert f'<tr id="{record_id}"><th scope="row">{record_id}</th>' in plain
    rows = rows.assign(note=["Listed with DFC-02; see also DOE-01.", *[""] * (len(rows) - 1)], conflict="")
    notes = brief_tables.item_notes_html(rows)
    first = rows["record_id"].iloc[0]
    assert f'<a href="#{first}">{first}</a>: Listed with <a href="#DFC-02">DFC-02</a>; see also DOE-01.' in notes
    assert re.search(r"\d{3} ¶\d+", html) and not re.search(r"\d{3}_[0-9a-f]{16}", html)


def test_text_alternatives_are_long_distinct_and_numeric(financing, membership):
    alts = [alt_text.alt_funding_by(financing, by) for by in ("agency", "mineral", "instrument", "country")]
    alts += [
        alt_text.alt_funding_map(financing),
        alt_text.alt_timeline(financing),
        alt_text.alt_mobilized(financing),
        alt_text.alt_matrix(financing),
        alt_text.alt_participation_map(membership),
        alt_text.alt_participation_map(membership, "SGP"),
    ]
    assert all(len(a) >= 40 and re.search(r"\d", a) for a in alts)
    assert len(set(alts)) == len(alts)


def test_the_eu_is_named_as_the_sources_name_it():
    assert links.display_name("EUU") == "European Commission"


def test_the_eu_code_is_printed_as_the_body_the_sources_name():
    from mineral_analysis.countries import country_name
    from mineral_analysis.publish.catalogue import make_brief

    assert country_name("EUU") == "European Union"  # the processed tables' name, unchanged
    assert links.display_name("EUU") == links.display_name("EUU", "European Union") == "European Commission"
    assert make_brief("country", "EUU").title == "European Commission"
