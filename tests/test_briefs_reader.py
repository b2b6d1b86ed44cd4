"""Briefs as a reader gets them (issue 13): a first page that stands alone, print that wastes no page and keeps
type readable, real text alternatives, a CSV download and a citation, an anchor per item, links that resolve, an
index that opens on a linked map, and no serious accessibility violation in Chromium (axe-core)."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
from helpers import _chromium, needs_chromium, parse
from pypdf import PdfReader

from mineral_analysis import load_financing, load_membership
from mineral_analysis.citing import brief_records
from mineral_analysis.publish.build import build_briefs

pytestmark = pytest.mark.slow
SUBSET = ["overview", "agency:DOD", "country:SGP", "mineral:copper"]
SLUGS = {
    "overview": ("overview", ""),
    "agency-dod": ("agency", "DOD"),
    "country-sgp": ("country", "SGP"),
    "mineral-copper": ("mineral", "copper"),
}
MM = 72 / 25.4


@pytest.fixture(scope="module")
def reports(processed_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reader-reports")
    result = build_briefs(only=SUBSET, processed_dir=processed_dir, reports_dir=folder, progress=False)
    assert not result.failed, result.summary()
    return folder


def _html(reports: Path, slug: str) -> str:
    return (reports / f"{slug}.html").read_text(encoding="utf-8")


def _words(pdf: Path) -> list[tuple[int, str, float, float, float]]:
    """(page, word, yMin, yMax, page height) of every word, from ``pdftotext -bbox``."""
    raw = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True)
    out = raw.stdout.decode("utf-8", errors="replace")
    words = []
    for number, page in enumerate(re.findall(r"<page (.*?)</page>", out, re.S), start=1):
        height = float(re.search(r'height="([\d.]+)"', page).group(1))
        for y0, y1, word in re.findall(
            r'<word xMin="[\d.-]+" yMin="([\d.-]+)" xMax="[\d.-]+" yMax="([\d.-]+)">(.*?)</word>', page
        ):
            words.append((number, word, float(y0), float(y1), height))
    return words


def test_first_page_stands_alone(reports):
    for slug in SLUGS:
        reader = PdfReader(reports / f"{slug}.pdf")
        first = reader.pages[0].extract_text()
        assert "Key findings" in first, slug
        assert re.search(r"\$\d" if slug != "country-sgp" else r"\d+ delegations", first), (
            f"{slug}: no figure on page 1"
        )
        assert len(reader.pages[0].images) >= 1, f"{slug}: the main visual is not on page 1"


def test_pdf_pages_a4_bounded_and_filled(reports):
    # the overview's maps print the text's width (issue 21), its commitments without money have a table of their
    # own and r3-stages' What changed lists 25 records (issue 19): eleven pages, where half-width maps took eight
    limits = {"overview": 11, "agency-dod": 4, "country-sgp": 2, "mineral-copper": 3}
    for slug, limit in limits.items():
        pdf = reports / f"{slug}.pdf"
        reader = PdfReader(pdf)
        assert len(reader.pages) <= limit, f"{slug}: {len(reader.pages)} pages"
        for page in reader.pages:
            assert abs(float(page.mediabox.width) - 595.3) < 1 and abs(float(page.mediabox.height) - 841.9) < 1
        # Fill: the lowest content on each page but the last, as a share of the text area (words or images).
        images = _image_bottoms(pdf)
        words = _words(pdf)
        for number in range(1, len(reader.pages)):
            body = [y1 for page, _, y0, y1, height in words if page == number and y1 < height - 20 * MM]
            lowest = max(body + images.get(number, [0.0]))
            fill = (lowest - 18 * MM) / (841.9 - 38 * MM)
            assert fill >= 0.5, f"{slug}: page {number} is {fill:.0%} full"


def _image_bottoms(pdf: Path) -> dict[int, list[float]]:
    """The lowest drawn row above the footer on each page (points from the top), from the page rendered at 20 dpi:
    figures count as content, which word boxes alone would miss."""
    import numpy as np
    from PIL import Image

    out: dict[int, list[float]] = {}
    with __import__("tempfile").TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-png", "-r", "20", str(pdf), f"{tmp}/p"], check=True)
        for path in sorted(Path(tmp).glob("p-*.png")):
            number = int(path.stem.split("-")[1])
            pixels = np.asarray(Image.open(path).convert("L"))
            height = pixels.shape[0]
            footer = int(height * (1 - 20 * MM / 841.9))
            rows = np.flatnonzero(pixels[:footer].min(axis=1) < 200).tolist()
            if rows:
                out[number] = [rows[-1] / height * 841.9]
    return out


def test_type_sizes_in_print(reports):
    for slug in SLUGS:
        words = _words(reports / f"{slug}.pdf")
        heights = [y1 - y0 for _, _, y0, y1, _ in words]
        # poppler's word box is about the type size (8 pt margin lines give 8.2 pt boxes)
        assert min(heights) >= 7.9, f"{slug}: type under 8 pt ({min(heights):.1f} pt box)"
        body = sum(h >= 9 for h in heights) / len(heights)
        assert body >= 0.5, f"{slug}: only {body:.0%} of the words at 9 pt or more"


def test_every_image_has_a_real_distinct_alternative(reports):
    for slug in SLUGS:
        doc = parse(_html(reports, slug))
        alts = [dict(attrs).get("alt", "") for tag, attrs in doc.tags if tag == "img"]
        assert alts, slug
        for alt in alts:
            assert len(alt) >= 40 and re.search(r"\d", alt) and alt != "Figure", f"{slug}: {alt!r}"
        assert len(set(alts)) == len(alts), f"{slug}: repeated alternatives"


def test_csv_download_holds_the_briefs_records(reports, processed_dir):
    financing, membership = load_financing(processed_dir), load_membership(processed_dir)
    for slug, (kind, key) in SLUGS.items():
        html = _html(reports, slug)
        match = re.search(r'<a download="([^"]+\.csv)" href="data:text/csv;charset=utf-8;base64,([^"]+)"', html)
        assert match, f"{slug}: no CSV download"
        rows = list(csv.DictReader(io.StringIO(base64.b64decode(match.group(2)).decode("utf-8"))))
        expected = brief_records(kind, financing, membership, key)
        assert [r["record_id"] for r in rows] == list(expected["record_id"]), slug
        assert "How to cite:" in html and "data version" in html, slug


def test_item_rows_are_anchored_and_links_resolve(reports, processed_dir):
    financing = load_financing(processed_dir)
    html = _html(reports, "agency-dod")
    for record_id in financing.loc[financing["agency"] == "DOD", "record_id"]:
        assert f'<tr id="{record_id}">' in html
    known = {f"{s}.html" for s in SLUGS} | {f"{s}.pdf" for s in SLUGS} | {"index.html"}
    for slug in SLUGS:
        doc = parse(_html(reports, slug))
        hrefs = [unquote(dict(attrs).get("href", "")) for tag, attrs in doc.tags if tag == "a"]
        assert "index.html" in hrefs and f"{slug}.pdf" in hrefs, slug
        ids = {dict(attrs).get("id") for _, attrs in doc.tags}
        for href in hrefs:
            if href.startswith("#"):
                assert href[1:] in ids, f"{slug}: dangling anchor {href}"
            elif href.endswith(".html"):
                assert re.fullmatch(r"(overview|index|(agency|country|mineral)-[a-z0-9-]+)\.html", href), href
        text = _html(reports, slug).split("Release history")[0]  # the release table names its files
        assert "Natural Earth" in text and "¶" in text, slug
        assert not re.search(r"\d{3}_[0-9a-f]{16}\.txt", text), f"{slug}: a source cited by file name"
        assert "docs/provenance.md" not in text and "data/raw" not in text, slug
    assert known  # the built subset's files all exist
    for name in known:
        assert (reports / name).exists(), name


def test_wording_defects_are_gone(reports):
    overview = _html(reports, "overview")
    # The only date before the findings is the header's "Data as of" (the sources' date), never a build's.
    opening = re.sub(r"<[^>]+>", "", overview.split("Key findings")[0])
    opening = re.sub(r"(?i)data as of 4 February 2026", "", opening)
    assert "4 February 2026" not in opening
    assert "ten earlier frameworks" not in overview
    assert "$0 is not" not in overview
    sgp = _html(reports, "country-sgp")
    assert sgp.count("No financing item") + sgp.count("no financing item") <= 1


def test_index_opens_on_a_linked_map(reports, processed_dir):
    html = _html(reports, "index")
    assert "<script" not in html.lower()
    svg = html[html.index("<svg") : html.index("</svg>")]
    linked = set(re.findall(r'<a href="(country-[a-z]+\.html)"', svg))
    assert linked == {"country-sgp.html"}  # the only country brief built here
    assert html.index("<svg") < html.index('class="index-group"')
    assert re.search(r'class="finding">\d+ financing items?, \$', html)


@needs_chromium
def test_axe_finds_no_serious_violation(reports, tmp_path):
    npm = shutil.which("npm")
    assert npm, "npm is required for the accessibility check"
    subprocess.run(
        [npm, "pack", "axe-core@4", "--silent", "--pack-destination", str(tmp_path)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=300,
    )
    tarball = next(tmp_path.glob("axe-core-*.tgz"))
    subprocess.run(["tar", "-xzf", str(tarball), "-C", str(tmp_path)], check=True)
    for slug in SLUGS:
        # A copy of the brief with axe added (the brief itself stays script-free; its CSP is dropped in the copy).
        page = re.sub(r"<meta[^>]*Content-Security-Policy[^>]*>", "", _html(reports, slug), flags=re.I)
        runner = (
            '<script src="package/axe.min.js"></script>'
            "<script>axe.run(document, {resultTypes: ['violations']}).then(r => {"
            "const p = document.createElement('pre'); p.id = 'axe-result';"
            "p.textContent = JSON.stringify(r.violations.map(v => [v.id, v.impact, v.nodes.length]));"
            "document.body.appendChild(p); });</script>"
        )
        copy = tmp_path / f"{slug}.html"
        copy.write_text(page.replace("</body>", runner + "</body>"), encoding="utf-8")
        result = _chromium(tmp_path, "--virtual-time-budget=30000", "--dump-dom", copy.as_uri(), timeout=180)
        dom = result.stdout.decode("utf-8", errors="replace")
        found = re.search(r'<pre id="axe-result">(.*?)</pre>', dom, re.S)
        assert found, f"{slug}: axe did not report ({result.stderr[-400:]!r})"
        violations = json.loads(found.group(1).replace("&quot;", '"'))
        serious = [v for v in violations if v[1] in ("serious", "critical")]
        assert not serious, f"{slug}: {serious}"


@needs_chromium
def test_no_sideways_scrolling_at_desktop_and_phone_widths(reports, tmp_path):
    """Each brief, unchanged (CSP and all), in an iframe 1280 and 390 px wide: its page is no wider than that."""
    for slug in [*SLUGS, "index"]:
        shutil.copy(reports / f"{slug}.html", tmp_path / f"{slug}.html")
        for width in (1280, 390):
            wrapper = tmp_path / f"wrap-{slug}-{width}.html"
            wrapper.write_text(
                f'<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="{slug}.html" '
                f'style="width:{width}px;height:900px;border:0"></iframe><script>'
                "document.getElementById('f').addEventListener('load', e => { const d = e.target.contentDocument;"
                "const p = document.createElement('pre'); p.id = 'widths';"
                "p.textContent = JSON.stringify([d.documentElement.scrollWidth, d.documentElement.clientWidth]);"
                "document.body.appendChild(p); });</script></body></html>",
                encoding="utf-8",
            )
            result = _chromium(
                tmp_path,
                "--window-size=1400,1000",
                "--allow-file-access-from-files",
                "--virtual-time-budget=5000",
                "--dump-dom",
                wrapper.as_uri(),
            )
            found = re.search(r'<pre id="widths">\[(\d+),(\d+)\]</pre>', result.stdout.decode("utf-8", "replace"))
            assert found, f"{slug} at {width}px: no measurement"
            scroll, view = int(found.group(1)), int(found.group(2))
            assert view <= width and scroll <= view, f"{slug} at {width}px: {scroll}px wide in a {view}px frame"
