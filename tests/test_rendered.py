"""Real briefs, built by `mineral_analysis.publish.build` from the bundled data, checked as a reader gets them: the HTML
self-contained and escaped, the PDF paged and readable, the overview rendered completely in Chromium with zero
network requests, the index linking every brief; and data that looks like markup shown as text everywhere."""

from __future__ import annotations

import csv
import html as html_lib
import re
import shutil
import subprocess

import pytest
from browser import MEASURE_TABLES, Browser
from helpers import (
    CHROMIUM,
    _chromium,
    _page_requests,
    assert_self_contained,
    needs_chromium,
    page_text,
    parse,
    pdf_words,
)
from pdf_reading import broken_tokens, images_per_page, page_lines, structure_elements
from pypdf import PdfReader

from mineral_analysis import config
from mineral_analysis.clean.pipeline import build_processed
from mineral_analysis.publish.build import build_briefs

pytestmark = pytest.mark.slow
# mineral:gold: a short brief whose PDF ended on a page holding only its footer (issue 21.6)
SUBSET = ["overview", "country:KOR", "agency:DFC", "mineral:copper", "mineral:gold"]
SLUGS = ["overview", "country-kor", "agency-dfc", "mineral-copper", "mineral-gold"]
HOSTILE_TITLE = 'Vault <script>alert("x")</script> & <img src=x onerror=alert(1)> "quoted"'
HOSTILE_NOTE = "<b>not bold</b> javascript:alert(1)"
LONG_TITLE = "Ж" + "W" * 1988 + "🚀"  # one 1,990-character word, under the raw data's 2,000-character limit


@pytest.fixture(scope="module")
def reports(processed_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    result = build_briefs(only=SUBSET, processed_dir=processed_dir, reports_dir=folder, progress=False)
    assert not result.failed, result.summary()
    return folder


@pytest.fixture(scope="module")
def hostile_reports(tmp_path_factory):
    """A copy of the raw data whose strings look like markup, built into a DFC agency brief."""
    raw = tmp_path_factory.mktemp("hostile-raw")
    shutil.copytree(config.RAW_DIR, raw, dirs_exist_ok=True)
    path = raw / "financing.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    for row in rows[1:]:
        if row[0] == "DFC-03":
            row[header.index("title")] = HOSTILE_TITLE
            row[header.index("note")] = HOSTILE_NOTE
        if row[0] == "DFC-01":
            row[header.index("title")] = LONG_TITLE
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    processed = tmp_path_factory.mktemp("hostile-processed")
    build_processed(raw, processed)
    folder = tmp_path_factory.mktemp("hostile-reports")
    result = build_briefs(only=["agency:DFC"], processed_dir=processed, reports_dir=folder, progress=False)
    assert not result.failed, result.summary()
    return folder


def test_every_brief_in_both_formats_with_its_record(reports):
    for slug in ("overview", "country-kor", "agency-dfc", "mineral-copper"):
        for ext in ("html", "pdf", "ipynb"):
            assert (reports / f"{slug}.{ext}").stat().st_size > 1000, (slug, ext)
        record = (reports / f"{slug}.ipynb").read_text(encoding="utf-8")
        assert str(config.PROJECT_ROOT) not in record, "absolute path left in the executed notebook"
    assert not list(reports.rglob("*.tmp"))


def test_html_is_self_contained_inline_and_stamped(reports):
    html = (reports / "overview.html").read_text(encoding="utf-8")
    assert_self_contained(html)
    figures = len(re.findall(r'src="data:image/png;base64,', html))
    assert figures >= 6
    # every figure has its phone form, shown on narrow screens only
    assert len(re.findall(r'<source media="\(max-width: 640px\)" srcset="data:image/png;base64,', html)) == figures
    text = page_text(html)
    assert len(re.findall(r"Data version r3-stages( \+ unreleased changes)?", text)) == 1  # named once
    # the date the data speaks for (its latest source's), apart from the date of publication
    assert re.search(r"Data as of 4 February 2026 ?· ?Published \d{1,2} [A-Z][a-z]+ \d{4} ?· ?Data version", text)
    assert "Built" not in text
    assert "54 countries and the European Commission" in text
    assert "$34.0 bn" in text and "$14.4 bn" in text  # the headline totals
    assert "import " not in text and "nv.show_" not in text  # no code cells
    assert len(html.encode()) < 1.5e6


def _flat(text: str) -> str:
    """Text with every run of whitespace (line breaks from wrapping included) as one space."""
    return re.sub(r"\s+", " ", text).strip()


def test_pdf_reads_back(reports):
    reader = PdfReader(reports / "overview.pdf")
    assert len(reader.pages) >= 3
    title = "The 2026 Critical Minerals Ministerial at a glance"
    assert reader.metadata.title == title  # from the document's metadata, however the heading wraps
    assert title in _flat(reader.pages[0].extract_text())
    text = _flat(" ".join(page.extract_text() for page in reader.pages))
    assert "$34.0 bn" in text
    assert f"Page 1 of {len(reader.pages)}" in text and f"Page {len(reader.pages)} of {len(reader.pages)}" in text
    assert (reports / "overview.pdf").stat().st_size < 2e6
    mediabox = reader.pages[0].mediabox
    assert (round(float(mediabox.width)), round(float(mediabox.height))) == (595, 842)  # A4 in points


def test_country_brief_states_roles_and_money(reports):
    text = page_text((reports / "country-kor.html").read_text(encoding="utf-8"))
    assert "South Korea" in text and "FORGE chair" in text
    assert "Korea Zinc" in text and "$1.25 bn" in text


def test_mineral_brief_shows_the_unstated_share(reports):
    text = page_text((reports / "mineral-copper.html").read_text(encoding="utf-8"))
    assert "The same agencies list $23.4 bn with no mineral named; some may go to copper" in text
    assert "Reko Diq" in text


def test_index_links_every_brief_in_both_formats(reports):
    html = (reports / "index.html").read_text(encoding="utf-8")
    assert_self_contained(html, inline_svg=True)  # its world map is an inline drawing of links
    for slug in ("overview", "country-kor", "agency-dfc", "mineral-copper"):
        assert f'href="{slug}.html"' in html and f'href="{slug}.pdf"' in html


def test_markup_in_data_is_text_in_html_and_pdf(hostile_reports):
    html = (hostile_reports / "agency-dfc.html").read_text(encoding="utf-8")
    assert_self_contained(html)
    assert "<script" not in html.lower() and "onerror=" not in html.replace("onerror=alert(1)&gt;", "")
    text = page_text(html)
    assert HOSTILE_TITLE in text
    assert HOSTILE_NOTE in text  # the curator's notes table shows it as text
    pdf_text = "".join(p.extract_text() for p in PdfReader(hostile_reports / "agency-dfc.pdf").pages)
    squashed = re.sub(r"\s+", "", pdf_text)
    assert re.sub(r"\s+", "", '<script>alert("x")</script>') in squashed
    assert re.sub(r"\s+", "", HOSTILE_NOTE) in squashed


def test_a_long_word_and_emoji_in_the_data_keep_every_column_on_the_page(hostile_reports):
    """Issue 11.6: a valid 1,990-character title wraps, no column leaves the page, the emoji is drawn."""
    text = page_text((hostile_reports / "agency-dfc.html").read_text(encoding="utf-8"))
    assert LONG_TITLE in text
    words = pdf_words(hostile_reports / "agency-dfc.pdf")
    outside = [
        (page, word[:20], x_max, width) for page, word, x_min, x_max, width in words if x_min < 0 or x_max > width + 0.5
    ]
    assert not outside, f"text off the page: {outside[:5]}"
    placed = [word for _, word, *_ in words]
    assert "DFC-01" in placed and "DFC-03" in placed  # the items table's ID column is still there
    assert sum(w.startswith("$") for w in placed) >= 5  # and so are its amounts


@needs_chromium
def test_overview_renders_completely_in_chromium_with_no_requests(reports, tmp_path):
    from PIL import Image

    assert CHROMIUM, "Chromium is required in CI"
    page = (reports / "overview.html").as_uri()
    dom = _chromium(tmp_path, "--dump-dom", page).stdout.decode("utf-8")
    text = page_text(dom)
    assert "Every item, with its source" in text  # the last section: the page rendered to the end
    assert dom.count("<img") >= 6
    shot = tmp_path / "overview.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", "--hide-scrollbars", page)
    image = Image.open(shot).convert("RGB")
    assert image.getextrema() != ((255, 255), (255, 255), (255, 255)), "screenshot blank"
    netlog = tmp_path / "netlog.json"
    _chromium(tmp_path, f"--log-net-log={netlog}", "--net-log-capture-mode=Everything", "--dump-dom", page)
    assert _page_requests(netlog) == []


# --- Tables that read on a phone and in print (issue 21.4) -----------------------------------------------------


@needs_chromium
def test_tables_keep_every_token_whole_on_a_phone_and_a_desktop_and_the_page_its_width(reports, tmp_path):
    """At 390 and 1280 px no table cell breaks a word, an amount with its unit, a date or a code across lines
    (each token measured with Range.getClientRects), and the page is never wider than the screen."""
    with Browser(tmp_path / "profile") as browser:
        for name in [*SLUGS, "index"]:
            for width in (390, 1280):
                browser.open((reports / f"{name}.html").as_uri(), width)
                seen = browser.evaluate(MEASURE_TABLES)
                assert seen["tables"] >= 1 and seen["tokens"] >= 50, (name, width, seen["tokens"])
                assert seen["broken"] == [], (name, width, seen["broken"][:5])
                assert seen["scrollWidth"] <= seen["innerWidth"], (name, width, seen["scrollWidth"])


def test_pdf_lines_never_end_inside_a_token(reports):
    """The PDF's word boxes: no line ends inside a word, an amount and its unit, a date or a code."""
    for name in SLUGS:
        html = (reports / f"{name}.html").read_text(encoding="utf-8")
        assert broken_tokens(reports / f"{name}.pdf", html) == [], name


# --- A PDF a screen reader can read (issue 21.9) -----------------------------------------------------------------


def test_pdf_is_tagged_pdf_ua_with_language_title_alt_text_and_table_headers(reports):
    for name in SLUGS:
        path = reports / f"{name}.pdf"
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Tagged:\s+yes$", info, re.M), (name, info)
        reader = PdfReader(path)
        root = reader.trailer["/Root"]
        html = (reports / f"{name}.html").read_text(encoding="utf-8")
        assert root["/Lang"] == re.search(r'<html lang="([^"]+)"', html)[1] == "en"
        assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])  # a reader shows the title, not the file name
        assert reader.metadata.title == html_lib.unescape(re.search(r"<title>(.*?)</title>", html)[1])
        assert b'pdfuaid:part="1"' in root["/Metadata"].get_object().get_data()
        elements = structure_elements(path)
        alts = [attrs.get("alt") for tag, attrs in parse(html).tags if tag == "img"]
        figures = [e["alt"] for e in elements if e["type"] == "Figure"]
        assert alts and sorted(figures) == sorted(alts), name  # every figure with its own text alternative
        kinds = [e["type"] for e in elements]
        tags = [tag for tag, _ in parse(html).tags]
        # a table that runs over pages is one Table element per page, its header row repeated on each
        assert kinds.count("Table") >= tags.count("table") >= 1 and kinds.count("TH") >= tags.count("th"), name
        assert {"H1", "H2", "P", "L", "LI"} <= set(kinds), name


# --- Pages without padding (issue 21.6) ---------------------------------------------------------------------------

MARGIN_LINES = ("Page ", "Published ", "Data as of ")


def _body_lines(lines: list[str], title: str) -> list[str]:
    """A page's lines without its margins (running title, dates, page number)."""
    return [line for line in lines if not line.startswith(MARGIN_LINES) and not line.startswith(title[:40])]


def test_no_pdf_page_is_padding_and_no_heading_ends_a_page(reports):
    """Every page holds a figure or at least five lines of the brief's text (not a footer, not an orphan line), and
    no page ends on a heading whose text is on the next."""
    for name in SLUGS:
        path = reports / f"{name}.pdf"
        reader = PdfReader(path)
        html = (reports / f"{name}.html").read_text(encoding="utf-8")
        headings = {page_text(h).strip() for h in re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", html, re.S)}
        pages, images = page_lines(path), images_per_page(path)
        for number, lines in enumerate(pages, start=1):
            body = _body_lines(lines, reader.metadata.title)
            assert len(body) >= 5 or images.get(number), (name, number, body)
            if number < len(pages):
                assert body and body[-1].strip() not in headings, (name, number, body[-3:])


def test_a_section_with_nothing_to_chart_says_so_in_a_sentence(reports):
    """The DFC dates none of its items: its brief says so instead of drawing an empty timeline."""
    html = (reports / "agency-dfc.html").read_text(encoding="utf-8")
    text = page_text(html)
    assert "The sources give no date for any item of" in text
    assert "Timeline of announcements" not in html  # no empty timeline (its alt text)
