"""Charts on tiny hand-made frames: what they draw, what they refuse, and that they leave the caller's matplotlib
(backend, rcParams, pyplot's figure list) exactly as it was."""

from __future__ import annotations

import io
import warnings

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from mineral_analysis import fonts, plots, style


def _frame() -> pd.DataFrame:
    """Five items: one in two countries, one naming two minerals, a stated total with its part, one with no amount."""
    rows = [
        # record_id, agency, title, amount, counted, binding, aggregate, mobilised, instrument, date, iso3, minerals
        (
            "DFC-01",
            "DFC",
            "Loan to a cobalt mine",
            500e6,
            500e6,
            True,
            False,
            100e6,
            "Direct loan",
            "2025-09-01",
            "COD;ZMB",
            "cobalt",
        ),
        (
            "DFC-02",
            "DFC",
            "Copper and cobalt equity",
            200e6,
            200e6,
            False,
            False,
            None,
            "Equity",
            "2025-10-15",
            "ZMB",
            "copper;cobalt",
        ),
        (
            "EXIM-01",
            "EXIM",
            "Programme total",
            1e9,
            400e6,
            False,
            True,
            None,
            "Letter of interest",
            None,
            "",
            "not stated",
        ),
        (
            "EXIM-02",
            "EXIM",
            "Part of the programme",
            600e6,
            600e6,
            True,
            False,
            None,
            "Direct loan",
            "2025-11-01",
            "AUS",
            "lithium",
        ),
        ("DOE-01", "DOE", "Grant, no amount", None, None, False, False, None, "Grant", "2025-12-01", "USA", "graphite"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "record_id",
            "agency",
            "title",
            "amount_usd",
            "counted_usd",
            "is_binding",
            "is_aggregate",
            "mobilized_usd",
            "instrument_label",
            "announced_date",
            "country_iso3",
            "minerals",
        ],
    )
    frame["announced_date"] = pd.to_datetime(frame["announced_date"])
    frame["country_names"] = frame["country_iso3"]
    frame["binding_status"] = ["binding", "not binding", "not binding", "binding", "not stated"]
    return frame


def _texts(fig: Figure) -> str:
    found = [t.get_text() for t in fig.findobj(mpl.text.Text)]
    return "\n".join(found)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata=style.PNG_METADATA)
    return buffer.getvalue()


@pytest.mark.parametrize("by", plots.GROUPINGS)
def test_funding_by_draws_every_grouping(by):
    fig = plots.plot_funding_by(_frame(), by, title=f"By {by}")
    assert isinstance(fig, Figure)
    text = _texts(fig)
    assert f"By {by}" in text
    assert "Binding" in text and "Not binding" in text  # the legend names the statuses drawn, no other
    assert _png(fig).startswith(b"\x89PNG")


def test_funding_by_agency_totals_count_a_stated_total_once():
    text = _texts(plots.plot_funding_by(_frame(), "agency"))
    assert "$1.0 bn" in text  # EXIM: 600 m item + 400 m unitemised remainder, not 1.6 bn
    assert "$700 m" in text and "$0.70 bn" not in text  # one spelling per amount, whatever the axis


def test_funding_by_notes_a_view_that_does_not_add_up():
    assert "do not add up" in _texts(plots.plot_funding_by(_frame(), "country"))
    assert "do not add up" not in _texts(plots.plot_funding_by(_frame(), "agency"))


@pytest.mark.parametrize(
    "helper",
    [
        plots.plot_timeline,
        plots.plot_mobilized,
        plots.plot_agency_mineral_matrix,
        lambda frame, **kw: plots.plot_funding_by(frame, "agency", **kw),
        lambda frame, **kw: plots.plot_funding_by(frame, "mineral", **kw),
    ],
)
def test_an_empty_selection_draws_a_nothing_here_figure(helper):
    empty = _frame().iloc[0:0]
    fig = helper(empty, title="Binding items")
    assert "Nothing here" in _texts(fig)
    assert "Binding items" in _texts(fig)
    assert _png(fig).startswith(b"\x89PNG")


def test_a_selection_without_amounts_says_so():
    no_amounts = _frame().iloc[[4]]
    assert "no amounts stated" in _texts(plots.plot_funding_by(no_amounts, "agency"))
    assert "no mobilised capital" in _texts(plots.plot_mobilized(no_amounts))


def test_bad_grouping_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"'Exim'.*valid: agency, mineral, instrument, country"):
        plots.plot_funding_by(_frame(), "Exim")


def test_unknown_agency_code_is_refused_with_the_valid_ones():
    frame = _frame()
    frame.loc[0, "agency"] = "Exim"
    with pytest.raises(ValueError, match=r"unknown agency code\(s\) 'Exim'; valid codes: .*EXIM"):
        plots.plot_funding_by(frame, "agency")


@pytest.mark.parametrize("top", [0, 1, 2.5, "5", True])
def test_bad_top_is_refused(top):
    with pytest.raises(ValueError, match="top must be"):
        plots.plot_funding_by(_frame(), "agency", top=top)


def test_missing_columns_and_wrong_types_are_named():
    with pytest.raises(ValueError, match="counted_usd"):
        plots.plot_funding_by(_frame().drop(columns="counted_usd"), "agency")
    with pytest.raises(TypeError, match="DataFrame"):
        plots.plot_timeline([1, 2, 3])


def test_timeline_notes_undated_items():
    text = _texts(plots.plot_timeline(_frame()))
    assert "1 item with no date stated is not shown" in text


def test_helpers_leave_the_callers_matplotlib_alone():
    import matplotlib.pyplot as plt

    before_rc = dict(mpl.rcParams)
    before_figures = plt.get_fignums()
    backend = mpl.rcParams._get("backend")
    with mpl.rc_context({"axes.facecolor": "red", "font.size": 30}):
        fig = plots.plot_funding_by(_frame(), "agency")
        assert mpl.rcParams["axes.facecolor"] == "red"  # the caller's setting, untouched inside its block
    assert mpl.colors.to_hex(fig.axes[0].get_facecolor()) == "#ffffff"  # the chart ignores it
    assert plt.get_fignums() == before_figures
    assert mpl.rcParams._get("backend") == backend
    assert {k: v for k, v in mpl.rcParams.items() if k != "backend"} == {
        k: v for k, v in before_rc.items() if k != "backend"
    }


def test_charts_use_the_bundled_font_and_show_any_character(caplog):
    frame = _frame()
    frame.loc[0, "title"] = "Кобальт 🚀 ✅ 漢"
    frame["mobilized_usd"] = frame["mobilized_usd"].fillna(50e6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for an empty box
        fig = plots.plot_mobilized(frame, title="Заголовок 🚀")
        _png(fig)
    # a bold title falling back to Last Resort must not log "Failed to find font weight" into the brief
    assert not [r for r in caplog.records if r.name.startswith("matplotlib") and r.levelno >= 30]
    used = {t.get_fontname() for t in fig.findobj(mpl.text.Text) if t.get_text()}
    assert used == {fonts.FONT_FAMILY}
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family=fonts.FONT_FAMILY))
    assert path == str(fonts.FONT_FACES[0].path)  # the bundled file, whatever the system has


def test_same_frame_same_png_bytes():
    first = _png(plots.plot_funding_by(_frame(), "mineral"))
    second = _png(plots.plot_funding_by(_frame(), "mineral"))
    assert first == second
    assert b"Software" not in first  # no tool version inside


def _text_colours(fig: Figure) -> dict[str, list[str]]:
    from matplotlib.colors import to_hex
    from matplotlib.text import Text

    found: dict[str, list[str]] = {}
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip():
            found.setdefault(to_hex(text.get_color()), []).append(text.get_text())
    return found


def test_one_style_for_charts_and_maps(financing):
    """A chart and a map write every word in the same two colours (text, notes: axis labels and ticks too) and
    the bundled family."""
    from mineral_analysis import maps

    chart, drawn_map = plots.plot_funding_by(financing, "agency"), maps.plot_funding_map(financing)
    for fig in (chart, drawn_map):
        assert set(_text_colours(fig)) <= {style.TEXT_COLOUR, style.NOTE_COLOUR}, _text_colours(fig)
        assert style.TEXT_COLOUR in _text_colours(fig)
    assert style.NOTE_COLOUR in _text_colours(drawn_map)  # its note on what the circles count
    assert style.STYLE["font.family"][0] == fonts.FONT_FAMILY


def test_figures_draw_in_style_wherever_they_are_saved():
    fig = plots.plot_funding_by(_frame(), "agency")
    with mpl.rc_context({"savefig.transparent": True, "savefig.facecolor": "red"}):
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    from PIL import Image

    buffer.seek(0)
    image = np.asarray(Image.open(buffer).convert("RGBA"))
    assert tuple(image[2, 2]) == (255, 255, 255, 255)  # white and opaque, not the caller's red or transparent


def test_chart_titles_are_plain_text_not_html(monkeypatch):
    from mineral_analysis import countries, narrative

    monkeypatch.setattr(countries, "country_name", lambda code: "Antigua & Barbuda" if code == "ZMB" else code)
    title = narrative.finding_by_country(_frame())
    assert title.startswith("Antigua & Barbuda is the largest stated destination")
    assert "&amp;" not in title


def test_a_long_page_title_stays_clear_of_the_legend_beside_the_chart():
    """Over the axes, a title as long as the DOD brief's ran into the legend at the top right (seen at 1280 px);
    as the figure's title, constrained layout puts it above both."""
    title = "Debt (conditional commitment) is the largest instrument of all the items listed: $2.4 bn"
    fig = plots.plot_funding_by(_frame(), "instrument", title=title)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    [heading] = [t for t in fig.findobj(mpl.text.Text) if t.get_text() == title]
    legends = fig.legends or [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends, "the chart has no legend"
    for legend in legends:
        overlap = mpl.transforms.Bbox.intersection(
            heading.get_window_extent(renderer), legend.get_window_extent(renderer)
        )
        assert overlap is None or overlap.width <= 0 or overlap.height <= 0, "the title runs into the legend"


# ---------------------------------------------------------------------------------------------------------
# one visual language (read from the figures' artists)


def test_money_ticks_read_as_money():
    assert [plots.money_tick(v, 1e9) for v in (0, 5e9, 2.5e9, 10e9)] == ["$0", "$5 bn", "$2.5 bn", "$10 bn"]
    assert plots.money_tick(500e6, 1e6) == "$500 m"
    fig = plots.plot_funding_by(_frame(), "agency", title="By agency")
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert ticks and all(t.startswith("$") for t in ticks) and not any(t.endswith(".0 bn") for t in ticks), ticks


def test_heat_map_colours_are_scaled_on_named_minerals(financing):
    # the 'not stated' column, larger than any mineral, once set the scale and left every mineral's cell white
    from mineral_analysis.analysis import explode_minerals

    for fig in (
        plots.plot_agency_mineral_matrix(financing),
        plots.plot_agency_mineral_matrix(financing).phone_variant(),
    ):
        ax = fig.axes[0]
        mesh = ax.collections[0]
        exploded = explode_minerals(financing)
        named = exploded[exploded["mineral"] != plots.NOT_STATED_LABEL]
        largest_named = named.groupby(["agency", "mineral"])["counted_usd"].sum().max()
        divisor, _ = plots.usd_scale(exploded.groupby(["agency", "mineral"])["counted_usd"].sum().max())
        assert mesh.norm.vmax == pytest.approx(largest_named / divisor)
        assert ax.not_stated_cells > 0  # written in grey cells of their own, off the scale


def test_one_encoding_of_binding_status_in_bars_maps_and_timeline(financing):
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Rectangle

    from mineral_analysis import maps, style

    hatches = {look.status: look.hatch for look in style.BINDING_LOOKS}
    bars = plots.plot_funding_by(financing, "instrument")
    drawn = {p.get_hatch() for p in bars.axes[0].patches if isinstance(p, Rectangle) and p.get_width() > 0}
    timeline = plots.plot_timeline(financing)
    marks = {c.get_hatch() for c in timeline.axes[0].collections if isinstance(c, PathCollection)}
    circles = {c.get_hatch() for c in maps.plot_funding_map(financing).axes[0].collections[1:]}
    for seen in (drawn, marks, circles):
        assert seen <= set(hatches.values()) and {hatches["binding"], hatches["not binding"]} <= seen
    # and every legend of status is the one legend: the same labels, faces and hatches
    legend = [(h.get_label(), h.get_hatch()) for h in style.status_handles()]
    for fig in (bars, timeline):
        shown = [(h.get_label(), h.get_hatch()) for lg in fig.legends for h in lg.legend_handles]
        assert shown == [entry for entry in legend if entry[0] in {s for s, _ in shown}] and shown


def test_timeline_shows_every_dated_item_apart(financing):
    from matplotlib.collections import PathCollection

    for fig in (plots.plot_timeline(financing), plots.plot_timeline(financing).phone_variant()):
        ax = fig.axes[0]
        offsets = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
        money = financing[financing["kind"] == "financing"]  # plans and memoranda are not drawn as money
        assert len(offsets) == money["announced_date"].notna().sum()  # one marker per item
        assert len({tuple(np.round(p, 6)) for p in offsets}) == len(offsets)  # none under another


def test_a_chart_of_one_bar_is_a_sentence(financing):
    doe = financing[financing["agency"] == "DOE"]
    assert plots.one_bar_sentence(doe, "agency") == "One agency only: Department of Energy, $1.11 bn (all not binding)."
    dfc = plots.one_bar_sentence(financing[financing["agency"] == "DFC"], "agency")
    assert "not binding" in dfc and "no stage stated" in dfc
    assert plots.one_bar_sentence(financing, "agency") is None  # several bars: the chart
    assert plots.one_bar_sentence(doe, "instrument") is None
    assert plots.one_bar_sentence(financing.iloc[0:0], "agency") is None
    with pytest.raises(ValueError, match="valid: agency"):
        plots.one_bar_sentence(doe, "colour")
