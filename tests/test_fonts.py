"""The bundled fonts: shipped with their licences, embedded in HTML as subsets, the only fonts a PDF knows, and a
visible glyph for every character (emoji included), never an empty box."""

from __future__ import annotations

import base64
import fnmatch
import io
import re
import tomllib

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from mineral_analysis import config, fonts
from mineral_analysis.publish import export

SAMPLE = "Cobalt for Zambia — Кобальт для Замбии, 1 250 млн $ 🚀 ✅ 漢"
BRIEF_FONT_NAMES = {
    "Brief-Sans",
    "Brief-Sans-Bold",
    "Brief-Sans-Italic",
    "Brief-Sans-BoldItalic",
    "Brief-Sans-Oblique",  # the PDF's names for the bundled files themselves (their style is "Oblique")
    "Brief-Sans-Bold-Oblique",
    "Brief-Mono",
    "Brief-Fallback",
}
# The bundled files under their own names: WeasyPrint's configuration holds them too, for a character a subset
# lacks (an emoji in a bold heading, say). Still the bundled fonts, never a system one.
BUNDLED_FONT_NAMES = BRIEF_FONT_NAMES | {
    "DejaVu-Sans",
    "DejaVu-Sans-Bold",
    "DejaVu-Sans-Oblique",
    "DejaVu-Sans-Bold-Oblique",
    "DejaVu-Sans-Mono",
    "Last-Resort-High-Efficiency",
}


def _page(body: str, title: str = "Fonts") -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title><style>"
        + export.STYLESHEET.read_text(encoding="utf-8")
        + f"</style></head><body class='brief'>{body}</body></html>"
    )


def _faces(css: str) -> dict[tuple[str, str, str], list[TTFont]]:
    """The fonts of ``@font-face`` rules, by (family, weight, style): a base subset, maybe an extra one."""
    found: dict[tuple[str, str, str], list[TTFont]] = {}
    for rule in re.findall(r"@font-face \{(.*?)\}", css, re.S):
        family = re.search(r'font-family: "([^"]+)"', rule).group(1)
        weight = re.search(r"font-weight: (\d+)", rule).group(1)
        slant = re.search(r"font-style: (\w+)", rule).group(1)
        data = re.search(r"base64,([A-Za-z0-9+/=]+)", rule).group(1)
        found.setdefault((family, weight, slant), []).append(TTFont(io.BytesIO(base64.b64decode(data))))
    return found


def _cmap(fonts_of_a_face: list[TTFont]) -> dict[int, str]:
    merged: dict[int, str] = {}
    for font in fonts_of_a_face:
        merged.update(font.getBestCmap())
    return merged


def _pdf_font_names(pdf: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]).lstrip("/").split("+", 1)[-1])
    return names


def test_font_files_ship_with_their_licences():
    for face in fonts.FONT_FACES:
        assert face.path.is_file() and face.path.parent == config.FONTS_DIR
        font = TTFont(face.path, lazy=True)
        assert font["name"].getBestFamilyName() in (face.family, "Last Resort High-Efficiency")
    for licence in ("LICENSE_DEJAVU", "LICENSE_LAST_RESORT", "README.md"):
        assert (config.FONTS_DIR / licence).stat().st_size > 500
    package_data = tomllib.loads((config.PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = package_data["tool"]["setuptools"]["package-data"]["mineral_analysis"]
    assert any(fnmatch.fnmatch("resources/fonts/DejaVuSans.ttf", g.replace("**/", "")) for g in globs), globs


def test_the_main_family_has_latin_cyrillic_and_four_faces():
    sans = [f for f in fonts.FONT_FACES if f.family == fonts.FONT_FAMILY]
    assert {(f.weight, f.style) for f in sans} == {(400, "normal"), (700, "normal"), (400, "italic"), (700, "italic")}
    for face in sans:
        cmap = TTFont(face.path, lazy=True).getBestCmap()
        assert all(ord(c) in cmap for c in "AZaz09Ёё Жж Щщ €")


def test_page_characters_are_the_text_plus_what_css_generates():
    chars = fonts.page_characters("<html><head><title>Тест</title></head><body><p>ab &amp; 🚀</p></body></html>")
    assert {"Т", "е", "с", "т", "&", "🚀", "•", "–"} <= set(chars)
    assert "<" in chars  # printable ASCII is always there (page numbers, CSS content)
    assert chars == "".join(sorted(set(chars)))


def test_html_embeds_a_subset_of_each_face_with_every_character_it_shows():
    html = export.render_html(_notebook())
    css = "".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
    faces = _faces(css)
    assert {key[0] for key in faces} == {fonts.CSS_SANS, fonts.CSS_MONO, fonts.CSS_FALLBACK}
    assert ("Brief Sans", "700", "normal") in faces and ("Brief Sans", "400", "italic") in faces
    regular = _cmap(faces[("Brief Sans", "400", "normal")])
    fallback = _cmap(faces[("Brief Fallback", "400", "normal")])
    for char in SAMPLE.replace(" ", ""):
        assert ord(char) in regular or ord(char) in fallback, char
    assert ord("🚀") in fallback and ord("漢") in fallback and ord("Ж") not in fallback
    # character maps every browser reads (Chromium refuses Last Resort's own format 13 and shows empty boxes)
    assert {t.format for t in faces[("Brief Fallback", "400", "normal")][0]["cmap"].tables} <= {4, 12}
    assert len(regular) < 1000  # a subset, not the whole font (5,906 characters)
    assert "Liberation" not in css and "system-ui" not in css  # no system font is ever named


def test_characters_beyond_the_base_set_get_an_extra_face_with_their_unicode_range():
    css = fonts.font_face_css(
        fonts.page_characters("<html><head></head><body>ok ∑ ☺ 🚀</body></html>"),
        fonts.faces_used("<html><head></head><body><b>ok</b></body></html>"),
    )
    ranges = re.findall(r"unicode-range: ([^;]+);", css)
    assert ranges == ["U+2211, U+263A", "U+2211, U+263A"]  # regular and bold; the rocket goes to the fallback
    faces = _faces(css)
    assert set(faces) == {
        ("Brief Sans", "400", "normal"),
        ("Brief Sans", "700", "normal"),
        ("Brief Fallback", "400", "normal"),
    }  # no italic or mono markup: no such faces
    fallback = faces[("Brief Fallback", "400", "normal")][0]
    assert set(fallback.getBestCmap()) == {ord("🚀"), 0x20, 0xA0}
    space = fallback.getBestCmap()[0x20]  # a blank, not Last Resort's framed "Basic Latin" symbol
    assert fallback["glyf"][space].numberOfContours == 0 and fallback["hmtx"][space][0] > 0
    plain = fonts.font_face_css(fonts.page_characters("<p>ok</p>"), fonts.FONT_FACES[:1])
    assert plain in css  # the base subset is the same on every page (cut once per process)


def test_faces_used_follow_the_markup():
    def names(html):
        return {(f.family, f.weight, f.style) for f in fonts.faces_used(html)}

    base = {
        (fonts.FONT_FAMILY, 400, "normal"),
        (fonts.FONT_FAMILY, 700, "normal"),
        (fonts.FALLBACK_FAMILY, 400, "normal"),
    }
    assert names("<p>x</p>") == base
    assert (fonts.FONT_FAMILY, 700, "italic") in names("<p><em>x</em></p>")
    assert (fonts.FONT_FAMILY, 400, "italic") in names('<span style="font-style: italic">x</span>')
    assert (fonts.MONO_FAMILY, 400, "normal") in names("<pre>x</pre>")


def test_subsets_are_the_same_bytes_every_time():
    face = fonts.FONT_FACES[0]
    first = fonts.subset_woff2(face, "abcЖ")
    fonts.subset_woff2.cache_clear()
    assert fonts.subset_woff2(face, "abcЖ") == first
    assert first[:4] == b"wOF2"


def test_pdf_embeds_only_the_bundled_fonts_and_shows_emoji():
    pdf = export.render_pdf(_notebook())
    names = _pdf_font_names(pdf)
    assert names and names <= BUNDLED_FONT_NAMES, names
    assert "Brief-Fallback" in names  # the emoji and the CJK character, drawn with Last Resort glyphs
    text = re.sub(r"\s+", " ", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    assert "Кобальт для Замбии" in text


def test_bundled_font_config_lays_out_without_any_system_font():
    """Even text whose style asks for a family the brief does not ship (a system font on most machines) is set in
    the bundled files."""
    import weasyprint

    html = _page(f"<p>{SAMPLE}</p><p style='font-family: serif'>Serif</p><p style='font-family: monospace'>Mono</p>")
    pdf = weasyprint.HTML(string=fonts.embed_fonts(html)).write_pdf(font_config=fonts.bundled_font_config())
    assert _pdf_font_names(pdf) <= BUNDLED_FONT_NAMES


def test_embed_fonts_needs_a_head():
    with pytest.raises(ValueError, match="no </head>"):
        fonts.embed_fonts("<p>no head</p>")


def _notebook():
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    nb = new_notebook()
    nb.cells = [
        new_markdown_cell(f"## {SAMPLE}\n\n**bold** and *italic*"),
        new_code_cell("print()", outputs=[new_output("stream", name="stdout", text="mono text\n")]),
    ]
    nb.metadata[export.METADATA_KEY] = {"title": "Fonts", "data_version": "v1", "built_at": "2024-07-01T09:30:00+00:00"}
    return nb
