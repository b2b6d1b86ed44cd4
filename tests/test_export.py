"""Briefs to HTML and PDF: self-contained, script-free, escaped, paged; the nbconvert exporters; the index.

The notebooks are built here with nbformat (no kernel): markdown with markup-looking data, a real
matplotlib PNG, a pandas DataFrame, and outputs a brief must not show. Chromium checks are skipped only
when no Chromium is installed (CI installs Debian's ``chromium``).
"""

from __future__ import annotations

import base64
import html as html_lib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest
from helpers import (  # noqa: F401
    CHROMIUM,
    _chromium,
    _page_requests,
    assert_self_contained,
    needs_chromium,
    page_text,
    parse,
    pdf_words,
)
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mineral_analysis import atomic, config
from mineral_analysis.publish import export, index_page, sanitize

TITLE = 'Cobalt & "copper" <brief> for DFC'
DATA_VERSION = "2024-06-30.1"
BUILT_AT = "2024-07-01T09:30:00+00:00"
BUILT_SHOWN = "Published 1 July 2024"  # the date of publication, not the build's minute
SCRIPT_TEXT = "<script>alert(1)</script>"
IMG_TEXT = "<img src=x onerror=alert(1)>"
QUOTES_TEXT = "\"double\" & 'single' quotes"
DF_MARKUP = "<b>bold?</b>"
INPUT_MARKER = "SECRET_INPUT_MARKER_42"
KNOWN_TEXT = "Total committed: 1,250 USD m"
ESCAPED_DATA = 'Ministry of "Mines" & <Energy>'


# ---------------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------------


def _png_bytes() -> bytes:
    fig, ax = plt.subplots(figsize=(5, 2.5), dpi=80)
    ax.bar(["EXIM", "DFC", "MSP"], [3, 5, 2], color="#0072B2")
    ax.set_title("Deals by agency")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


PNG = _png_bytes()


def make_notebook(title: str = TITLE) -> nbformat.NotebookNode:
    frame = pd.DataFrame(
        {
            "country": ["Zambia", DF_MARKUP, "Chile"],
            "deals": [3, 1, 2],
            "usd_m": [300.0, 12.5, 87.25],
        }
    )
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        new_markdown_cell(
            "## Summary\n\n"
            f"Recorded names include {SCRIPT_TEXT} and {IMG_TEXT} and {QUOTES_TEXT}.\n\n"
            "See [the source](https://example.org/report) and [a trap](javascript:alert(2)).\n\n"
            "![remote](http://example.org/tracker.png)"
        ),
        new_code_cell(f"{INPUT_MARKER} = 1\nimport pandas as pd", execution_count=1, outputs=[]),
        new_code_cell(
            "fig",
            execution_count=2,
            outputs=[
                new_output(
                    "display_data",
                    data={"image/png": base64.b64encode(PNG).decode(), "text/plain": "<Figure size 400x200>"},
                    metadata={"filenames": {"image/png": "http://example.org/leak.png"}},
                ),
                new_output("stream", name="stderr", text="FutureWarning: STDERR_MARKER\n"),
            ],
        ),
        new_code_cell(
            "frame",
            execution_count=3,
            outputs=[
                new_output(
                    "execute_result",
                    execution_count=3,
                    data={"text/html": frame.to_html(), "text/plain": frame.to_string()},
                )
            ],
        ),
        new_code_cell(
            "print(...)",
            execution_count=4,
            outputs=[
                new_output("stream", name="stdout", text=KNOWN_TEXT + "\n"),
                # narrative.show_markdown: markdown whose data parts were HTML-escaped beforehand
                new_output("display_data", data={"text/markdown": f"**Lead:** {html_lib.escape(ESCAPED_DATA)}"}),
            ],
        ),
        new_code_cell(
            "hostile()",
            execution_count=5,
            outputs=[
                new_output(
                    "display_data", data={"application/javascript": "alert(3)", "text/plain": "JS_FALLBACK_TEXT"}
                ),
                new_output(
                    "display_data",
                    data={
                        "text/html": (
                            "<div onclick='alert(4)' style='color: red; background-image: url(http://example.org/bg.png)'>"
                            "<script>alert(5)</script><style>body{display:none}</style>"
                            "HTML_OUTPUT_TEXT <a href=' javascript:alert(6)'>x</a>"
                            "<iframe src='http://example.org/'></iframe><svg onload='alert(7)'></svg>"
                            "<img src='http://example.org/pixel.png' alt='pixel alt'></div>"
                        )
                    },
                ),
            ],
        ),
        new_code_cell(
            "hidden",
            execution_count=6,
            metadata={"tags": ["remove-cell"]},
            outputs=[new_output("stream", name="stdout", text="REMOVED_CELL_TEXT\n")],
        ),
    ]
    nb.metadata[export.METADATA_KEY] = {
        "title": title,
        "data_version": DATA_VERSION,
        "built_at": BUILT_AT,
        "kind": "agency",
    }
    nbformat.validate(nb)
    return nb


@pytest.fixture(scope="module")
def notebook() -> nbformat.NotebookNode:
    return make_notebook()


@pytest.fixture(scope="module")
def brief_html(notebook) -> str:
    return export.render_html(notebook)


@pytest.fixture(scope="module")
def brief_pdf(brief_html) -> bytes:
    return export.html_to_pdf(brief_html)


def test_html_is_self_contained_and_script_free(brief_html):
    assert_self_contained(brief_html)
    assert brief_html.lstrip().lower().startswith("<!doctype html>")
    # The only off-page URL is the markdown hyperlink to the cited source (a link, not a load).
    assert re.findall(r"(?:src|href)=[\"']?(?:https?:)?//", brief_html) == ['href="https://']
    assert "example.org/leak.png" not in brief_html and "tracker.png" not in brief_html
    assert "pixel.png" not in brief_html and "bg.png" not in brief_html


def test_html_images_are_inline_data_uris(brief_html):
    sources = [a["src"] for t, a in parse(brief_html).tags if t == "img"]
    assert sources, "the figure is missing"
    assert all(s.startswith("data:image/") for s in sources)
    pngs = [base64.b64decode(s.split(",", 1)[1]) for s in sources if s.startswith("data:image/png;base64,")]
    assert PNG in pngs


def test_html_has_no_code_inputs_or_prompts(brief_html):
    assert INPUT_MARKER not in brief_html
    assert "import pandas" not in brief_html
    assert "In&nbsp;[" not in brief_html and "In [" not in brief_html and "Out[" not in brief_html
    assert "REMOVED_CELL_TEXT" not in brief_html  # remove-cell tag
    assert "STDERR_MARKER" not in brief_html  # warnings are not for analysts
    text = page_text(brief_html)
    assert KNOWN_TEXT in text and "Deals by agency" not in text  # stdout shown; the chart is an image


def test_header_and_footer_show_title_version_and_date_of_publication(brief_html):
    doc = parse(brief_html)
    text = page_text(brief_html)
    assert text.count(TITLE) >= 2  # header and footer, as text
    assert text.count(f"Data version {DATA_VERSION}") == 1  # the release is named once, in the header
    assert text.count(BUILT_SHOWN) >= 2
    assert "Built" not in text and "Data as of" not in text  # a notebook that is not a project brief has no sources
    assert "<brief>" not in brief_html  # the title's markup-looking part is escaped
    assert ("time", {"datetime": BUILT_AT}) in doc.tags
    title = re.search(r"<title>(.*?)</title>", brief_html, re.S).group(1)
    assert html_lib.unescape(title) == TITLE
    assert "Agency brief" in text


def test_markup_looking_data_is_shown_as_text(brief_html):
    text = page_text(brief_html)
    for literal in (SCRIPT_TEXT, IMG_TEXT, QUOTES_TEXT, DF_MARKUP, f"Lead: {ESCAPED_DATA}"):
        assert literal in text, literal
    assert DF_MARKUP not in brief_html  # escaped in the source, so never an element
    assert "<b>" not in brief_html.lower()
    assert "HTML_OUTPUT_TEXT" in text and "alert(5)" not in text and "display:none" not in brief_html
    assert "JS_FALLBACK_TEXT" in text  # javascript is never run; its text form stands in
    assert "pixel alt" in text  # a remote image gives way to its alt text
    # the javascript: link keeps its text and loses its target; the real link stays a link
    assert ("a", {"href": "https://example.org/report"}) in parse(brief_html).tags


def test_dataframe_numbers_are_marked_for_right_alignment(brief_html):
    cells = re.findall(r'<td class="num">([^<]*)</td>', brief_html)
    assert {"3", "1", "2", "300.00", "87.25"} <= set(cells)
    assert '<td class="num">Zambia</td>' not in brief_html


def test_markdown_attachments_are_inlined():
    nb = make_notebook()
    cell = new_markdown_cell("Chart: ![bars](attachment:bars.png)")
    cell.attachments = {"bars.png": {"image/png": base64.b64encode(PNG).decode()}}
    nb.cells = [cell]
    html = export.render_html(nb)
    assert_self_contained(html)
    images = [a for t, a in parse(html).tags if t == "img"]
    assert len(images) == 1 and images[0]["alt"] == "bars"
    assert base64.b64decode(images[0]["src"].split(",", 1)[1]) == PNG


def test_render_html_leaves_the_notebook_alone(notebook):
    before = nbformat.writes(notebook)
    export.render_html(notebook)
    assert nbformat.writes(notebook) == before


def test_missing_metadata_falls_back(notebook):
    nb = json.loads(nbformat.writes(notebook))  # a plain dict, sources as lists of lines
    del nb["metadata"][export.METADATA_KEY]
    heading = export._first_heading(nb)
    assert heading, "the test notebook has a heading"
    html = export.render_html(nb, name="fallback-name")
    text = page_text(html)
    assert heading in text and "fallback-name" not in text and "Data version unknown" in text
    nb["cells"] = [cell for cell in nb["cells"] if cell["cell_type"] != "markdown"]  # no heading: the file name
    html = export.render_html(nb, name="fallback-name")
    assert "fallback-name" in page_text(html)
    assert_self_contained(html)


@pytest.mark.parametrize(
    "fragment, forbidden, kept",
    [
        ("<p onclick='x()' onmouseover=y>hi</p>", ["onclick", "onmouseover"], "hi"),
        ("<a href='JaVaScRiPt:alert(1)'>go</a>", ["javascript"], "go"),
        ("<a href='java&#115;cript&#58;alert(1)'>go</a>", ["script"], "go"),
        ("<a href='data:text/html;base64,PHNjcmlwdD4='>go</a>", ["data:"], "go"),
        ("<img src=x onerror=alert(1)>", ["<img", "onerror"], ""),
        ("<img src='//example.org/a.png' alt='alt text'>", ["<img", "example.org"], "alt text"),
        ("<script>alert(1)</script>after", ["script", "alert"], "after"),
        ("<style>@import url(http://x)</style>ok", ["import", "http"], "ok"),
        ("<iframe src='https://example.org'></iframe>ok", ["iframe", "example"], "ok"),
        ("<svg><script>alert(1)</script></svg>ok", ["svg", "alert"], "ok"),
        ("<math><mi xlink:href='javascript:alert(1)'>x</mi></math>ok", ["math", "javascript"], "ok"),
        ("<form action='http://x'><input name=q><button>b</button></form>ok", ["form", "action"], "ok"),
        (
            "<span style='color: red; background-image: url(http://x)'>s</span>",
            ["url(", "background-image"],
            "color:red",
        ),
        ("<!-- <script>alert(1)</script> -->c", ["script", "<!--"], "c"),
        ("<noscript><p title='</noscript><img src=x onerror=alert(1)>'></p></noscript>ok", ["onerror"], "ok"),
        ("<table><tr><td>1,250.5</td><td>Zambia</td></tr></table>", [], '<td class="num">1,250.5</td>'),
    ],
)
def test_sanitize_html(fragment, forbidden, kept):
    clean = sanitize.sanitize_html(fragment)
    for word in forbidden:
        assert word.lower() not in clean.lower(), clean
    assert kept in clean
    for tag, attrs in parse(clean).tags:
        assert tag not in {"script", "iframe", "svg", "math", "form", "style", "img"} or (
            tag == "img" and attrs.get("src", "").startswith("data:image/")
        )


def test_sanitize_keeps_amounts_dates_and_codes_whole_but_not_in_code():
    """Issue 21.4: what must never break across lines is wrapped in a no-wrap span; text stays escaped."""
    clean = sanitize.sanitize_html(
        "<p>±$0, $26.2 bn and (+$675 m) on 2026-02-04 in DFC-05 (release r2-full-article); non-binding "
        "&lt;script&gt;$5 m<code>$7 m</code></p>"
    )
    for token in ("±$0", "$26.2 bn", "+$675 m", "2026-02-04", "DFC-05", "r2-full-article", "$5 m"):
        assert f'<span class="nobr">{token}</span>' in clean, token
    assert "non-binding" in clean and '<span class="nobr">non-binding' not in clean  # a compound word may break
    assert "&lt;script&gt;" in clean and "<code>$7 m</code>" in clean
    assert page_text(clean) == page_text(
        "<p>±$0, $26.2 bn and (+$675 m) on 2026-02-04 in DFC-05 (release "
        "r2-full-article); non-binding &lt;script&gt;$5 m$7 m</p>"
    )


def test_sanitize_labels_the_cells_of_a_table_too_wide_for_a_phone():
    """A seven-column summary becomes cards on a phone (class table-cards), each cell labelled with its column."""
    head = "".join(f"<th>{h}</th>" for h in ("Group", "Items", "Total", "Binding", "Not binding", "Not stated", "Mob."))
    row = "".join(f"<td>{v}</td>" for v in ("Kazakhstan", "11", "$26.2 bn", "$11.4 bn", "$14.8 bn", "$0", ""))
    clean = sanitize.sanitize_html(f"<table><thead><tr>{head}</tr></thead><tbody><tr>{row}</tr></tbody></table>")
    assert "table-cards" in clean
    assert '<td data-label="Not binding" class="num"><span class="nobr">$14.8 bn</span></td>' in clean or (
        'data-label="Not binding"' in clean and 'class="nobr">$14.8 bn' in clean
    )
    narrow = sanitize.sanitize_html(
        "<table><thead><tr><th>Measure</th><th>Value</th></tr></thead>"
        "<tbody><tr><td>Total</td><td>$34.0 bn</td></tr></tbody></table>"
    )
    assert "table-cards" not in narrow and "data-label" not in narrow
    hostile = sanitize.sanitize_html(
        '<table><thead><tr><th>a" onmouseover="x</th>'
        + "<th>Binding status</th>" * 7
        + "</tr></thead><tbody><tr>"
        + "<td>1</td>" * 8
        + "</tr></tbody></table>"
    )
    tags = parse(hostile).tags
    assert not [name for _, attrs in tags for name in attrs if name.startswith("on")]
    labels = [attrs.get("data-label") for tag, attrs in tags if tag == "td"]
    assert labels[0] == 'a" onmouseover="x'  # the header's text, as an attribute's value only


def test_sanitize_keeps_inline_data_images():
    data = "data:image/png;base64," + base64.b64encode(PNG).decode()
    clean = sanitize.sanitize_html(f'<p><img src="{data}" alt="chart"></p>')
    assert ("img", {"alt": "chart", "src": data}) in parse(clean).tags


# ---------------------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------------------


def test_pdf_has_pages_title_text_and_page_numbers(brief_pdf):
    from pypdf import PdfReader

    assert brief_pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(brief_pdf))
    pages = len(reader.pages)
    assert pages >= 1
    texts = [page.extract_text() for page in reader.pages]
    first = re.sub(r"\s+", " ", texts[0])
    assert TITLE in first
    assert f"Data version {DATA_VERSION}" in first
    assert BUILT_SHOWN in first
    assert any(KNOWN_TEXT in re.sub(r"\s+", " ", t) for t in texts)
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {pages}" in text
    assert len(reader.pages[0].images) >= 1  # the matplotlib figure


def test_pdf_long_tables_repeat_their_header():
    rows = pd.DataFrame({"year": range(1900, 2020), "value": [i * 1.5 for i in range(120)]})
    nb = make_notebook()
    nb.cells = [
        new_code_cell(
            "rows",
            execution_count=1,
            outputs=[new_output("execute_result", execution_count=1, data={"text/html": rows.to_html(index=False)})],
        )
    ]
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(export.render_pdf(nb)))
    assert len(reader.pages) >= 2
    for page in reader.pages:
        assert re.search(r"year\s+value", page.extract_text())


def test_pdf_wide_tables_stay_inside_the_page(tmp_path):
    columns = [f"indicator_{i}_long_name" for i in range(16)]
    wide = pd.DataFrame([[123456.7 + i + j for j in range(16)] for i in range(4)], columns=columns)
    nb = make_notebook()
    nb.cells = [
        new_code_cell(
            "wide",
            execution_count=1,
            outputs=[new_output("execute_result", execution_count=1, data={"text/html": wide.to_html()})],
        )
    ]
    html = export.render_html(nb)
    assert "table-wide" in html
    pdf = tmp_path / "wide.pdf"
    pdf.write_bytes(export.html_to_pdf(html))
    words = pdf_words(pdf)
    assert any(word.startswith("123") for _, word, *_ in words)  # the numbers are there
    outside = [(word, x_max, width) for _, word, _, x_max, width in words if x_max > width + 0.5]
    assert not outside, f"a wide table runs off the page: {outside[:5]}"


LONG_WORD = "Ж" + "W" * 1988 + "🚀"  # 1,990 characters, under the raw data's 2,000 limit


@pytest.mark.slow
def test_pdf_long_unbroken_words_wrap_and_every_column_stays_on_the_page(tmp_path):
    """A 1,990-character word in a table cell, a heading and the title: every amount still on its page."""
    rows = pd.DataFrame(
        {
            "ID": [f"X-{i:02d}" for i in range(36)],
            "Agency": "DFC",
            "Item": [LONG_WORD if i == 3 else f"Item {i}" for i in range(36)],
            "Amount": [f"${i}.25 bn" for i in range(36)],
            "Binding": "yes",
        }
    )
    nb = make_notebook(title="Title " + LONG_WORD)
    nb.cells = [
        new_markdown_cell("## " + LONG_WORD),
        new_code_cell(
            "rows",
            execution_count=1,
            outputs=[new_output("execute_result", execution_count=1, data={"text/html": rows.to_html(index=False)})],
        ),
    ]
    html = export.render_html(nb)
    assert 'class="long-word"' in html
    assert not re.search(r"<table[^>]*table-xwide", html)  # one long word does not shrink the whole table
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(export.html_to_pdf(html))
    words = pdf_words(pdf)
    outside = [
        (page, word[:20], x_min, x_max) for page, word, x_min, x_max, width in words if x_min < 0 or x_max > width + 0.5
    ]
    assert not outside, f"text off the page: {outside[:5]}"
    placed = {word for _, word, *_ in words}
    for i in range(36):
        assert f"${i}.25" in placed and f"X-{i:02d}" in placed, i  # each row keeps its ID and amount
    squashed = "".join(word for _, word, *_ in words)
    assert LONG_WORD[:-1] in squashed  # the long word is all there, broken across lines


def test_pdf_renderer_loads_nothing_but_data_urls(tmp_path):
    from pypdf import PdfReader

    picture = tmp_path / "local.png"
    picture.write_bytes(PNG)
    data = "data:image/png;base64," + base64.b64encode(PNG).decode()
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<link rel='stylesheet' href='http://127.0.0.1:9/x.css'></head><body><p>hello</p>"
        f"<img src='{picture.as_uri()}'><img src='http://127.0.0.1:9/x.png'></body></html>"
    )
    reader = PdfReader(io.BytesIO(export.html_to_pdf(page)))
    assert "hello" in reader.pages[0].extract_text()
    assert len(reader.pages[0].images) == 0  # neither the file nor the URL was read
    with_data = page.replace(picture.as_uri(), data)
    assert len(PdfReader(io.BytesIO(export.html_to_pdf(with_data))).pages[0].images) == 1

    fetcher = export._data_only_fetcher()
    for url in ("http://127.0.0.1:9/x", "https://example.org/", picture.as_uri(), "ftp://example.org/x"):
        with pytest.raises(ValueError):
            fetcher(url)


def test_pdf_exporter_class(notebook):
    """nbconvert's exporter makes the very PDF the build makes (whose pages, title and text are tested above)."""
    exporter = export.BriefPDFExporter()
    pdf, resources = exporter.from_notebook_node(notebook)
    assert pdf == export.render_pdf(notebook)
    assert resources["output_extension"] == ".pdf"
    assert exporter.file_extension == ".pdf" and exporter.output_mimetype == "application/pdf"


# ---------------------------------------------------------------------------------------------------
# nbconvert entry points and command line
# ---------------------------------------------------------------------------------------------------


def test_exporters_are_registered():
    from nbconvert.exporters import get_exporter

    assert get_exporter("brief_html") is export.BriefHTMLExporter
    assert get_exporter("brief_pdf") is export.BriefPDFExporter


def _jupyter() -> str:
    candidate = Path(sys.executable).parent / ("jupyter.exe" if os.name == "nt" else "jupyter")
    return str(candidate) if candidate.exists() else (shutil.which("jupyter") or "jupyter")


@pytest.mark.slow
@pytest.mark.parametrize("to, suffix", [("brief_html", ".html"), ("brief_pdf", ".pdf")])
def test_jupyter_nbconvert_command_line(tmp_path, notebook, to, suffix):
    source = tmp_path / "sample brief.ipynb"
    nbformat.write(notebook, source)
    done = subprocess.run(
        [_jupyter(), "nbconvert", "--to", to, source.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / f"sample brief{suffix}"
    assert out.exists(), done.stderr
    if suffix == ".html":
        html = out.read_text(encoding="utf-8")
        assert_self_contained(html)
        assert TITLE in page_text(html) and INPUT_MARKER not in html
    else:
        assert out.read_bytes().startswith(b"%PDF-")


# ---------------------------------------------------------------------------------------------------
# Files and the index page
# ---------------------------------------------------------------------------------------------------


def test_write_bytes_atomic_replaces_whole_files(tmp_path):
    target = tmp_path / "sub" / "brief.pdf"
    atomic.write_bytes_atomic(target, b"first")
    assert target.read_bytes() == b"first"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask  # like open(), not mkstemp's 0600
    target.chmod(0o640)
    atomic.write_bytes_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # an existing file keeps its mode
    atomic.write_text_atomic(tmp_path / "t.html", "é<>")
    assert (tmp_path / "t.html").read_text(encoding="utf-8") == "é<>"
    assert sorted(p.name for p in target.parent.iterdir()) == ["brief.pdf"]


def test_write_bytes_atomic_never_leaves_half_a_file(tmp_path, monkeypatch):
    target = tmp_path / "brief.html"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        atomic.write_bytes_atomic(target, b"new" * 1000)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["brief.html"]


def test_write_index(tmp_path):
    entries = [
        {
            "kind": "mineral",
            "key": "cobalt",
            "title": "Cobalt",
            "html": "mineral-cobalt.html",
            "pdf": "mineral-cobalt.pdf",
            "status": "ok",
        },
        {
            "kind": "agency",
            "key": "DFC",
            "title": 'DFC <script>alert(1)</script> & "co"',
            "html": "agency DFC.html",
            "pdf": None,
            "status": "failed",
        },
        {
            "kind": "overview",
            "key": "overview",
            "title": "Overview",
            "html": "overview.html",
            "pdf": "overview.pdf",
            "status": "ok",
        },
        {
            "kind": "country",
            "key": "ZM",
            "title": "Zambia",
            "html": "country-ZM.html",
            "pdf": "country-ZM.pdf",
            "status": "ok",
        },
    ]
    path = index_page.write_index(
        entries, tmp_path / "reports" / "index.html", data_version=DATA_VERSION, built_at=BUILT_AT
    )
    html = path.read_text(encoding="utf-8")
    assert_self_contained(html)
    text = page_text(html)
    assert 'DFC <script>alert(1)</script> & "co"' in text
    headings = [m for m in re.findall(r"<h2>([A-Za-z]+)", html)]
    assert headings == ["Overview", "Agencies", "Countries", "Minerals"]
    hrefs = [a["href"] for t, a in parse(html).tags if t == "a"]
    assert hrefs == [
        "overview.html",
        "overview.pdf",
        "agency%20DFC.html",
        "country-ZM.html",
        "country-ZM.pdf",
        "mineral-cobalt.html",
        "mineral-cobalt.pdf",
    ]
    assert f"Data version {DATA_VERSION}" in text and BUILT_SHOWN in text
    assert "status-failed" in html and "failed" in text  # a brief that failed says so...
    assert " ok " not in f" {text} " and "Status" not in text and "Key" not in text  # ...a built one needs no badge
    assert [h for t, a in parse(html).tags if t == "th" for h in [a.get("scope")]] == ["col", "col"] * 4
    again = index_page.write_index(entries, tmp_path / "again.html", data_version=DATA_VERSION, built_at=BUILT_AT)
    assert again.read_bytes() == path.read_bytes()  # deterministic: a no-op build can compare bytes
    assert html.count("@font-face") >= 2 and 'font-family: "Brief Sans"' in html  # the briefs' own type
    for bad in ("https://example.org/x.html", "/abs/x.html", "../up.html", "//host/x.html"):
        with pytest.raises(ValueError):
            index_page.write_index([{**entries[0], "html": bad}], tmp_path / "bad.html")


# ---------------------------------------------------------------------------------------------------
# A real browser
# ---------------------------------------------------------------------------------------------------


@pytest.mark.slow
@needs_chromium
def test_chromium_renders_the_brief(tmp_path, brief_html):
    from PIL import Image

    page = tmp_path / "brief.html"
    page.write_text(brief_html, encoding="utf-8")
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout.decode("utf-8")
    assert '<h1 class="brief-title">' in dom
    text = page_text(dom)
    for expected in (TITLE, f"Data version {DATA_VERSION}", BUILT_SHOWN, KNOWN_TEXT, SCRIPT_TEXT, DF_MARKUP, "Zambia"):
        assert expected in text, expected
    assert "<script" not in dom.lower()

    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", "--hide-scrollbars", page.as_uri())
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 1600)
    assert image.getextrema() != ((255, 255), (255, 255), (255, 255)), "screenshot is blank"


@pytest.mark.slow
@needs_chromium
def test_chromium_sets_the_brief_in_the_embedded_fonts_with_a_visible_glyph_for_emoji(tmp_path):
    """What the browser lays out with, read from its own PDF: the embedded DejaVu and, for the emoji and the
    ideograph DejaVu lacks, the embedded Last Resort glyphs (a framed block symbol, never an empty box)."""
    nb = make_notebook()
    nb.cells = [new_markdown_cell("Rocket 🚀, ideograph 漢, Cyrillic Ж, **bold** and *italic*.")]
    page = tmp_path / "emoji.html"
    page.write_text(export.render_html(nb), encoding="utf-8")
    printed = tmp_path / "emoji.pdf"
    _chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={printed}", page.as_uri())
    listing = subprocess.run(["pdffonts", str(printed)], capture_output=True, text=True, check=True).stdout
    names = {line.split()[0].split("+", 1)[-1] for line in listing.splitlines()[2:]}
    assert "LastResortHE-Regular" in names, listing  # the browser accepted the embedded fallback face
    assert names <= {
        "DejaVuSans",
        "DejaVuSans-Bold",
        "DejaVuSans-Oblique",
        "DejaVuSans-BoldOblique",
        "DejaVuSansMono",
        "LastResortHE-Regular",
    }, listing


@pytest.mark.slow
@needs_chromium
def test_chromium_loads_nothing_over_the_network(tmp_path, brief_html):
    def requests_for(html: str, name: str) -> list[str]:
        page = tmp_path / f"{name}.html"
        page.write_text(html, encoding="utf-8")
        netlog = tmp_path / f"{name}.netlog.json"
        _chromium(tmp_path, f"--log-net-log={netlog}", "--net-log-capture-mode=Everything", "--dump-dom", page.as_uri())
        assert netlog.exists(), "Chromium wrote no net log"
        return _page_requests(netlog)

    # The check can see a page's request: a page without CSP that loads an image from loopback.
    control = "<!DOCTYPE html><html><body><img src='http://127.0.0.1:9/control.png'></body></html>"
    assert any("127.0.0.1:9/control.png" in url for url in requests_for(control, "control"))

    assert requests_for(brief_html, "brief") == []
    # Not thanks to the CSP alone: without it the page still asks for nothing.
    without_csp = re.sub(r"<meta[^>]*Content-Security-Policy[^>]*>", "", brief_html)
    assert without_csp != brief_html
    assert requests_for(without_csp, "brief-no-csp") == []


# --- The exporters on any executed notebook, outside a project -------------------------------------------------


@pytest.fixture(scope="module")
def executed_elsewhere(tmp_path_factory, processed_dir):
    """The agency notebook run by papermill with its default agency (only processed_dir given), a failed run
    (-p agency NOPE), and a folder that is no project (no notebooks/, no data/) to export them from."""
    import papermill

    folder = tmp_path_factory.mktemp("elsewhere")
    source = config.NOTEBOOKS_DIR / "agency.ipynb"
    common = {"kernel_name": "python3", "progress_bar": False}
    papermill.execute_notebook(
        str(source), str(folder / "default.ipynb"), parameters={"processed_dir": str(processed_dir)}, **common
    )
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(
            str(source),
            str(folder / "failed.ipynb"),
            parameters={"processed_dir": str(processed_dir), "agency": "NOPE"},
            **common,
        )
    return folder


def nbconvert(folder, *args):
    env = {**os.environ, config.ROOT_VARIABLE: str(folder)}  # a root without notebooks/ or data/: no project
    command = [str(Path(sys.prefix) / "bin" / "jupyter"), "nbconvert", *args]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_nbconvert_exports_a_papermill_run_outside_a_project_with_its_own_title(executed_elsewhere):
    result = nbconvert(executed_elsewhere, "--to", "brief_html", "default.ipynb")
    assert result.returncode == 0, result.stderr[-2000:]
    html = (executed_elsewhere / "default.html").read_text(encoding="utf-8")
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert "EXIM" in title and "default" not in title, title  # the brief's title, not the file name
    assert 'href="agency-exim.pdf"' in html and 'href="index.html"' in html  # relative: beside the other briefs


@pytest.mark.slow
def test_nbconvert_points_or_drops_the_links_to_other_briefs(executed_elsewhere):
    base = "https://example.org/briefs/"
    result = nbconvert(
        executed_elsewhere,
        "--to",
        "brief_html",
        f"--BriefHTMLExporter.links={base}",
        "--output",
        "pointed",
        "default.ipynb",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    pointed = (executed_elsewhere / "pointed.html").read_text(encoding="utf-8")
    assert f'href="{base}index.html"' in pointed and f'href="{base}agency-exim.pdf"' in pointed
    assert not re.search(r'<a href="(?!https?:|#|mailto:|data:)', pointed)
    result = nbconvert(
        executed_elsewhere,
        "--to",
        "brief_html",
        "--BriefHTMLExporter.links=none",
        "--output",
        "dropped",
        "default.ipynb",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dropped = (executed_elsewhere / "dropped.html").read_text(encoding="utf-8")
    assert not re.search(r'<a href="(?!https?:|#|mailto:|data:)', dropped) and "All briefs" in dropped


@pytest.mark.slow
@pytest.mark.parametrize("to", ["brief_html", "brief_pdf"])
def test_nbconvert_refuses_a_failed_notebook_naming_the_error(executed_elsewhere, to):
    result = nbconvert(executed_elsewhere, "--to", to, "failed.ipynb")
    assert result.returncode != 0
    assert "failed when it ran" in result.stderr and "ParameterError: unknown agency 'NOPE'" in result.stderr, (
        result.stderr[-2000:]
    )
    assert not (executed_elsewhere / "failed.html").exists() and not (executed_elsewhere / "failed.pdf").exists()


def test_a_notebook_whose_processed_data_is_gone_is_exported_with_a_warning_naming_it(tmp_path):
    """Its title and dataset version cannot be read: the page falls back to its heading, and says why."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    injected = new_code_cell(f'agency = "EXIM"\nprocessed_dir = {str(tmp_path / "gone")!r}')
    injected.metadata["tags"] = ["injected-parameters"]
    nb = new_notebook(cells=[injected, new_markdown_cell("# Heading of the notebook")])
    nb.metadata["papermill"] = {"input_path": "notebooks/agency.ipynb"}
    with pytest.warns(UserWarning) as caught:
        shown = export.brief_metadata(nb, fallback_title="copy")
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("agency.ipynb: no brief title from its processed data (") for m in messages), messages
    assert any(m.startswith("agency.ipynb: no dataset version from its processed data (") for m in messages), messages
    assert shown["title"] == "Heading of the notebook" and shown["data_version"] == "unknown"
