"""Every chart and map has a phone variant with legible type, and a brief shows it on narrow screens only."""

from __future__ import annotations

import base64
import io
import itertools

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from nbformat.v4 import new_code_cell, new_notebook, new_output
from PIL import Image

from mineral_analysis import display, maps, plots, style
from mineral_analysis import narrative as nv
from mineral_analysis.publish import export


def _figures(financing, membership) -> dict:
    dfc = financing[financing["agency"] == "DFC"]
    return {
        "by agency": plots.plot_funding_by(financing, "agency", title="A long finding " * 6),
        "by mineral": plots.plot_funding_by(financing, "mineral", title="Minerals"),
        "timeline": plots.plot_timeline(financing, title="When"),
        "mobilised": plots.plot_mobilized(dfc, title="Mobilised"),
        "matrix": plots.plot_agency_mineral_matrix(financing, title="Which agencies fund which minerals"),
        "participation": maps.plot_participation_map(membership, title="Who took part " * 5),
        "insets": maps.plot_participation_insets(membership, title="Enlarged " * 5),
        "funding map": maps.plot_funding_map(financing, title="Where"),
        "locator": maps.plot_locator_map(membership, "COK", title="Cook Islands"),
    }


def _texts(fig) -> list[Text]:
    fig.canvas.draw()  # ticks and legends exist once drawn
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def test_every_figure_has_a_phone_variant_with_legible_type(financing, membership):
    for name, fig in _figures(financing, membership).items():
        phone = fig.phone_variant()
        assert phone.get_figwidth() == pytest.approx(style.PHONE.chart_width), name
        assert getattr(phone, "phone_variant", None) is None, name  # a phone figure has no variant of its own
        smallest = min(t.get_fontsize() for t in _texts(phone))
        assert smallest >= style.PHONE_MIN_FONT_PT, (name, smallest)
        # titles are wrapped to the phone's width: no line longer than the figure holds at 13 pt
        titles = [t.get_text() for t in _texts(phone) if t.get_fontsize() >= 12]
        assert titles and all(len(line) <= 50 for t in titles for line in t.split("\n")), (name, titles)


def test_the_page_figure_is_unchanged_by_drawing_its_phone_variant(financing):
    fig = plots.plot_funding_by(financing, "agency", title="Title")
    before = io.BytesIO()
    fig.savefig(before, format="png", dpi=50)
    fig.phone_variant()
    after = io.BytesIO()
    fig.savefig(after, format="png", dpi=50)
    assert before.getvalue() == after.getvalue() and fig.get_figwidth() == style.PAGE.chart_width


def test_a_phone_agency_chart_names_agencies_by_code(financing):
    phone = plots.plot_funding_by(financing, "agency").phone_variant()
    labels = {t.get_text() for t in phone.axes[0].get_yticklabels()}
    assert labels <= set(nv.AGENCIES) and "EXIM" in labels


@pytest.mark.parametrize("by", ["instrument", "mineral", "country"])
def test_a_phone_bar_chart_gives_every_wrapped_label_room_of_its_own(financing, by):
    # DOE's instruments have the longest names (four lines on a phone); their labels once overlapped
    for agency in ("DOE", "DFC", "EXIM"):
        phone = plots.plot_funding_by(financing[financing["agency"] == agency], by).phone_variant()
        canvas = FigureCanvasAgg(phone)
        canvas.draw()
        renderer = canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in phone.axes[0].get_yticklabels() if t.get_text()]
        boxes.sort(key=lambda box: box.y0)
        for lower, upper in itertools.pairwise(boxes):
            assert lower.y1 <= upper.y0, (agency, by, lower, upper)
        axes = phone.axes[0].get_window_extent(renderer)
        assert axes.y0 - 2 <= boxes[0].y0 and boxes[-1].y1 <= axes.y1 + 2, (agency, by)  # inside the axes' height


def _label_boxes(fig) -> list:
    from matplotlib.text import Annotation

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [(a.get_text(), Text.get_window_extent(a, renderer)) for a in fig.findobj(Annotation) if a.get_text()]


def test_map_labels_never_cover_one_another(financing, membership):
    # Europe's and the Gulf's codes, and the funding map's largest amounts, once sat on top of each other
    for name, fig in _figures(financing, membership).items():
        if name not in ("insets", "funding map", "locator"):
            continue
        for variant in (fig, fig.phone_variant()):
            boxes = _label_boxes(variant)
            assert boxes, name
            for i, (text, box) in enumerate(boxes):
                for other_text, other in boxes[i + 1 :]:
                    assert not box.overlaps(other), (name, variant.get_figwidth(), text, other_text)


def _displayed(monkeypatch, fig, alt: str) -> dict:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, **kw: shown.append((data, kw)))
    display.show_figure(fig, alt=alt)
    ((data, options),) = shown
    return new_output("display_data", data=data, metadata=options.get("metadata") or {})


def test_show_figure_carries_both_figures_as_palette_pngs(monkeypatch, financing):
    output = _displayed(monkeypatch, plots.plot_timeline(financing, title="When"), "Items over time")
    page = Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"])))
    phone = Image.open(io.BytesIO(base64.b64decode(output["data"][display.PHONE_MIMETYPE]["image/png"])))
    assert page.mode == phone.mode == "P"  # 256 colours
    assert phone.width < page.width and phone.width >= 1.9 * 366  # sharp at about twice a phone's width
    assert output["metadata"]["image/png"]["alt"] == "Items over time"


def test_the_brief_shows_the_phone_figure_on_narrow_screens_only(monkeypatch, financing):
    output = _displayed(monkeypatch, plots.plot_timeline(financing, title="When"), "Items over time")
    nb = new_notebook(cells=[new_code_cell("show()", outputs=[output])])
    nb.metadata[export.METADATA_KEY] = {"title": "Phone", "data_version": "v1", "built_at": "2026-01-01T00:00:00+00:00"}
    html = export.render_html(nb)
    phone = output["data"][display.PHONE_MIMETYPE]["image/png"]
    from bs4 import BeautifulSoup

    (picture,) = BeautifulSoup(html, "html.parser").find_all("picture")
    source, img = picture.find("source"), picture.find("img")
    assert source["media"] == "(max-width: 640px)" and source["srcset"] == f"data:image/png;base64,{phone}"
    assert img["src"] == f"data:image/png;base64,{output['data']['image/png']}" and img["alt"] == "Items over time"
    assert "<script" not in html


def test_a_page_figure_has_two_pixels_per_css_pixel(monkeypatch, financing):
    # figures were soft on high-density screens: as many pixels as CSS pixels
    output = _displayed(monkeypatch, plots.plot_timeline(financing, title="When"), "Items over time")
    png = base64.b64decode(output["data"]["image/png"])
    width = Image.open(io.BytesIO(png)).size[0]
    shown = output["metadata"]["image/png"]["width"]
    assert display.PNG_DENSITY == 2 and abs(width - 2 * shown) <= 1, (width, shown)


def test_a_map_is_printed_the_texts_width(monkeypatch, financing, membership):
    from mineral_analysis import style

    for fig in (maps.plot_funding_map(financing), maps.plot_participation_map(membership)):
        output = _displayed(monkeypatch, fig, "A map")
        assert output["metadata"]["image/png"]["full_width"] is True
        assert style.PAGE.map_width - 1 <= style.PRINT_WIDTH_IN <= style.PAGE.map_width  # drawn as wide as printed
    output = _displayed(monkeypatch, plots.plot_timeline(financing, title="When"), "A chart")
    assert "full_width" not in output["metadata"]["image/png"]
