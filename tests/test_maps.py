"""Boundaries (geo) and world maps (maps): the file, the antimeridian fix, small countries, both plots."""

from __future__ import annotations

import math

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.figure import Figure

from mineral_analysis import config, funding_map, geo, map_layers, maps, style

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Every code the curated membership file names (the 54 countries at the ministerial, the host, EUU aside).
PARTICIPANTS = [
    "USA",
    "AGO",
    "ARG",
    "ARM",
    "AUS",
    "BHR",
    "BEL",
    "BOL",
    "BRA",
    "CAN",
    "COK",
    "CZE",
    "COD",
    "DOM",
    "ECU",
    "EST",
    "FIN",
    "FRA",
    "DEU",
    "GRC",
    "GIN",
    "IND",
    "ISR",
    "ITA",
    "JPN",
    "JOR",
    "KAZ",
    "KEN",
    "LTU",
    "MYS",
    "MEX",
    "MNG",
    "MAR",
    "NZL",
    "NOR",
    "OMN",
    "PAK",
    "PRY",
    "PER",
    "PHL",
    "POL",
    "QAT",
    "KOR",
    "ROU",
    "SAU",
    "SLE",
    "SGP",
    "SWE",
    "THA",
    "NLD",
    "UKR",
    "ARE",
    "GBR",
    "UZB",
    "ZMB",
    "JAM",
]


@pytest.fixture(scope="module")
def boundaries():
    return geo.load_boundaries()


@pytest.fixture(scope="module")
def lonlat(boundaries):
    return boundaries.to_crs("EPSG:4326")


@pytest.fixture
def membership() -> pd.DataFrame:
    rows = [
        ("USA", "United States", "host"),
        ("KOR", "Republic of Korea", "ministerial_participant"),
        ("KOR", "Republic of Korea", "forge_chair"),
        ("MNG", "Mongolia", "ministerial_participant"),
        ("MNG", "Mongolia", "forge_member"),
        ("COK", "Cook Islands", "ministerial_participant"),
        ("COK", "Cook Islands", "bilateral_framework"),
        ("MEX", "Mexico", "ministerial_participant"),
        ("MEX", "Mexico", "trade_action_plan"),
        ("SGP", "Singapore", "ministerial_participant"),
        ("BHR", "Bahrain", "ministerial_participant"),
        ("FRA", "France", "ministerial_participant"),
        ("EUU", "European Commission", "ministerial_participant"),
        ("EUU", "European Commission", "trade_action_plan"),
    ]
    return pd.DataFrame(rows, columns=["iso3", "name", "group"])


@pytest.fixture
def financing() -> pd.DataFrame:
    rows = [
        ("EXIM-01", "EXIM", 10e9, 10e9, "USA", True),
        ("EXIM-05", "EXIM", 350e6, 350e6, "AUS", False),
        ("EXIM-06", "EXIM", 215e6, 215e6, "GBR;AUS", False),
        ("DOD-05", "DOD", 1.25e9, 1.25e9, "KOR; USA", True),
        ("DFC-02", "DFC", 75e6, 75e6, "UKR", True),
        ("DOE-04", "DOE", 500e6, 500e6, "", False),
        ("DOE-05", "DOE", 1e9, 1e9, None, False),
        ("EXIM-02", "EXIM", 14.8e9, 0.0, "", False),  # aggregate: not added to totals
        ("USTR-01", "USTR", np.nan, np.nan, "MEX", False),
        ("USTR-02", "USTR", 40e6, 40e6, "EUU", False),
    ]
    return pd.DataFrame(
        rows, columns=["record_id", "agency", "amount_usd", "counted_usd", "country_iso3", "is_binding"]
    )


def _all_text(fig: Figure) -> str:
    texts = [t.get_text() for t in fig.findobj(mpl.text.Text)]
    return "\n".join(texts)


def _png(fig: Figure, tmp_path, name: str) -> bytes:
    out = tmp_path / name
    fig.savefig(out, dpi=80)
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    return data


# ---------------------------------------------------------------------------------------------------------
# boundaries


def test_boundary_file_is_small_and_in_equal_earth(boundaries):
    assert config.BOUNDARIES_FILE.exists()
    assert config.BOUNDARIES_FILE.stat().st_size < 3_000_000
    assert boundaries.crs.to_epsg() == 8857
    assert {"iso3", "name", "point_x", "point_y", "area_km2", "geometry"} <= set(boundaries.columns)
    assert boundaries.geometry.is_valid.all()
    assert set(boundaries.geom_type) <= {"Polygon", "MultiPolygon"}


def test_every_participant_has_a_polygon_and_codes_are_unique(boundaries):
    codes = set(boundaries["iso3"])
    assert not set(PARTICIPANTS) - codes
    coded = boundaries.loc[boundaries["iso3"] != "", "iso3"]
    assert not coded.duplicated().any()
    assert "ATA" not in codes  # Antarctica is dropped
    # features without an ISO code are kept, with an empty iso3
    assert {"Kosovo", "Somaliland", "N. Cyprus"} <= set(boundaries.loc[boundaries["iso3"] == "", "name"])


def test_load_boundaries_is_cached_and_returns_a_copy(boundaries):
    first = geo.load_boundaries()
    first.loc[0, "name"] = "changed"
    assert geo.load_boundaries().loc[0, "name"] != "changed"


def test_no_part_spans_more_than_half_the_globe(lonlat):
    for name, geom in zip(lonlat["name"], lonlat.geometry):
        for part in shapely.get_parts(geom):
            minx, _, maxx, _ = part.bounds
            assert minx >= -180.0 - 1e-6 and maxx <= 180.0 + 1e-6, name
            assert maxx - minx <= 180.0, f"{name}: a part spans {maxx - minx:.0f} degrees"


@pytest.mark.parametrize("iso3", ["RUS", "FJI", "USA", "NZL", "KIR"])
def test_antimeridian_countries_draw_without_bands(boundaries, iso3):
    """No projected part reaches from one side of the map to the other (which would draw a band)."""
    minx, _, maxx, _ = boundaries.total_bounds
    width = maxx - minx
    geom = boundaries.loc[boundaries["iso3"] == iso3, "geometry"].iloc[0]
    for part in shapely.get_parts(geom):
        pminx, _, pmaxx, _ = part.bounds
        assert pmaxx - pminx < 0.5 * width, f"{iso3}: a part is {(pmaxx - pminx) / width:.0%} of the map wide"
    if iso3 in ("RUS", "FJI"):
        # the split pieces sit at both edges of the map
        xs = [p.bounds for p in shapely.get_parts(geom)]
        assert min(b[0] for b in xs) < minx + 0.3 * width and max(b[2] for b in xs) > maxx - 0.3 * width


def test_russia_main_part_and_marker_point_are_in_siberia(boundaries, lonlat):
    row = lonlat.loc[lonlat["iso3"] == "RUS"].iloc[0]
    largest = max(shapely.get_parts(row.geometry), key=lambda p: p.area)
    assert largest.bounds[0] > 0 and largest.bounds[2] <= 180.0 + 1e-6
    point = boundaries.loc[boundaries["iso3"] == "RUS", ["point_x", "point_y"]].iloc[0]
    geom = boundaries.loc[boundaries["iso3"] == "RUS", "geometry"].iloc[0]
    assert geom.contains(shapely.Point(point["point_x"], point["point_y"]))


def test_marker_points_come_from_area(boundaries):
    small = geo.marker_points(["USA", "SGP", "BHR", "COK", "KOR", "MNG", "EUU", "XXX", "sgp"])
    assert list(small["iso3"]) == ["SGP", "BHR", "COK"]
    assert (small["area_km2"] < geo.SMALL_COUNTRY_AREA_KM2).all()
    assert small.crs.to_epsg() == 8857
    assert small.geometry.geom_type.eq("Point").all()
    # the rule is the area, not a list: a lower threshold drops Bahrain and Singapore, keeps the Cook Islands
    assert list(geo.marker_points(["SGP", "BHR", "COK"], threshold_km2=100)["iso3"]) == ["COK"]
    every_small = boundaries.loc[boundaries["area_km2"] < geo.SMALL_COUNTRY_AREA_KM2, "iso3"]
    assert {"SGP", "BHR", "COK", "QAT"} <= set(every_small)


def test_country_points_skip_codes_without_polygon():
    points = geo.country_points(["usa", "EUU", "KOR", ""])
    assert list(points["iso3"]) == ["USA", "KOR"]
    assert np.isfinite(points[["x", "y"]].to_numpy()).all()


# ---------------------------------------------------------------------------------------------------------
# participation map


def test_map_roles_picks_the_most_specific(membership):
    roles = maps.map_roles(membership).set_index("iso3")["role"]
    assert roles["USA"] == "host"
    assert roles["KOR"] == "forge_chair"
    assert roles["MNG"] == "forge_member"
    assert roles["COK"] == "bilateral_framework"
    assert roles["MEX"] == "agreement"
    assert roles["SGP"] == "ministerial_participant"


def test_unknown_group_is_rejected(membership):
    bad = pd.concat([membership, pd.DataFrame([{"iso3": "FRA", "name": "France", "group": "observer"}])])
    with pytest.raises(ValueError, match="observer"):
        maps.plot_participation_map(bad)


def test_participation_map_draws_roles_markers_and_eu_note(membership, tmp_path):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    font_size = mpl.rcParams["font.size"]
    fig = maps.plot_participation_map(membership, title="Who took part")
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before  # not registered with pyplot: nothing for the caller to close
    assert mpl.rcParams["font.size"] == font_size  # style applied locally only
    text = _all_text(fig)
    assert "Who took part" in text
    assert "+ European Commission — supranational, not on the map" in text
    assert "FORGE chair (1)" in text and "Delegation only (3)" in text
    ax = fig.axes[0]
    # small participants (Singapore, Bahrain, Cook Islands) are drawn as markers in their role colour
    markers = [c for c in ax.collections if c.get_offsets().shape[0] == 3]
    assert markers, "no marker collection for the small participants"
    colours = {mpl.colors.to_hex(c) for c in markers[0].get_facecolors()}
    assert maps.ROLE_COLOURS["bilateral_framework"] in colours  # Cook Islands
    assert maps.ROLE_COLOURS["ministerial_participant"] in colours  # Singapore, Bahrain
    assert ax.get_xticks().size == 0 or not ax.axison
    _png(fig, tmp_path, "participation.png")


def test_participation_map_highlight(membership, tmp_path):
    fig = maps.plot_participation_map(membership, highlight="mng")
    ax = fig.axes[0]
    outlines = [c for c in ax.collections if np.isclose(c.get_linewidths(), 1.6).any()]
    assert outlines
    assert "Outlined: Mongolia" in _all_text(fig)
    _png(fig, tmp_path, "highlight.png")

    # a small country keeps its fill visible: thin outline plus a ring around it
    for code, name in (("SGP", "Singapore"), ("KOR", "Republic of Korea")):
        small = maps.plot_participation_map(membership, highlight=code)
        assert f"Outlined: {name}" in _all_text(small)
        rings = [
            c
            for c in small.axes[0].collections
            if c.get_offsets().shape[0] == 1 and np.isclose(c.get_linewidths(), 1.6).all()
        ]
        assert len(rings) == 1

    eu = maps.plot_participation_map(membership, highlight="EUU")
    assert "European Commission has no territory on the map" in _all_text(eu)


def test_participation_map_with_no_participants(tmp_path):
    empty = pd.DataFrame(columns=["iso3", "name", "group"])
    fig = maps.plot_participation_map(empty, title="Nobody")
    assert "Not a participant" in _all_text(fig)
    _png(fig, tmp_path, "nobody.png")


# ---------------------------------------------------------------------------------------------------------
# funding map


def _bubbles(fig: Figure):
    ax = fig.axes[0]
    return [c for c in ax.collections if c.get_offsets().shape[0] and c.get_sizes().size]


def test_funding_map_draws_bubbles_and_notes(financing, tmp_path):
    fig = maps.plot_funding_map(financing, title="Where the money goes")
    assert isinstance(fig, Figure)
    binding, not_binding = _bubbles(fig)  # one collection per binding status: solid, then hatched
    assert binding.get_hatch() is None and not_binding.get_hatch() == style.LOOK_OF_STATUS["not binding"].hatch
    # USA: EXIM + DOD; KOR: DOD; AUS: EXIM (two non-binding items, one group); GBR: EXIM; UKR: DFC
    assert binding.get_offsets().shape[0] + not_binding.get_offsets().shape[0] == 6
    sizes = sorted([*binding.get_sizes(), *not_binding.get_sizes()])
    assert math.isclose(sizes[-1], funding_map.MAX_BUBBLE_PT2)
    # area proportional: the $1.25 bn DOD circle is 1/8 of the $10 bn EXIM one
    assert any(math.isclose(s, funding_map.MAX_BUBBLE_PT2 * 1.25e9 / 10e9) for s in sizes)
    colours = {mpl.colors.to_hex(c) for b in (binding, not_binding) for c in b.get_edgecolors()}
    assert {funding_map.AGENCIES[a].colour.lower() for a in ("EXIM", "DOD", "DFC")} <= colours
    text = _all_text(fig)
    assert "Location not stated: $1.5 bn (2 items, not drawn)" in text
    assert "located in several countries" in text and "EXIM-06" in text and "DOD-05" in text
    assert "European Commission" in text and "$40 m" in text
    assert "1 item without a stated amount" in text
    assert "$10.0 bn" in text and "$1.0 bn" in text  # size key
    assert "EXIM" in text and "DFC" in text  # agency legend
    _png(fig, tmp_path, "funding.png")


def test_funding_map_empty_frame(financing, tmp_path):
    fig = maps.plot_funding_map(financing.iloc[0:0], title="Nothing")
    assert "No located funding" in _all_text(fig)
    assert not _bubbles(fig)
    _png(fig, tmp_path, "empty.png")


def test_funding_map_only_unlocated(financing, tmp_path):
    fig = maps.plot_funding_map(financing[financing["country_iso3"].fillna("").isin(["", "EUU"])])
    text = _all_text(fig)
    assert "No located funding" in text and "Location not stated" in text
    _png(fig, tmp_path, "unlocated.png")


def test_funding_map_requires_columns(financing):
    with pytest.raises(ValueError, match="counted_usd"):
        maps.plot_funding_map(financing.drop(columns=["counted_usd"]))


def test_map_paths_are_built_once_per_process(membership, financing, tmp_path):
    """What keeps maps fast (timings belong in the benchmark): the country paths are cached, not rebuilt."""
    maps.plot_participation_map(membership)  # warm the caches
    before = map_layers.base_layer.cache_info()
    maps.plot_participation_map(membership).savefig(tmp_path / "a.png", dpi=100)
    maps.plot_funding_map(financing).savefig(tmp_path / "b.png", dpi=100)
    after = map_layers.base_layer.cache_info()
    assert after.misses == before.misses and after.hits > before.hits


def test_maps_are_the_same_bytes_every_time(membership, financing):
    import io

    from mineral_analysis.style import PNG_METADATA

    def png(fig) -> bytes:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=60, metadata=PNG_METADATA)
        return buffer.getvalue()

    assert png(maps.plot_participation_map(membership, highlight="KOR")) == png(
        maps.plot_participation_map(membership, highlight="KOR")
    )
    assert png(maps.plot_funding_map(financing)) == png(maps.plot_funding_map(financing))


# ---------------------------------------------------------------------------------------------------------
# every participant in view, framed panels, type that prints (read from the figures' geometry)


@pytest.fixture(scope="module")
def all_participants(processed_dir) -> pd.DataFrame:
    from mineral_analysis import load_membership

    return load_membership(processed_dir)


def _panels(fig: Figure) -> dict[str, mpl.axes.Axes]:
    return {ax.get_title(loc="left"): ax for ax in fig.axes if ax.get_title(loc="left")}


def _codes_in(ax) -> dict[str, mpl.text.Annotation]:
    return {a.get_text(): a for a in ax.texts if isinstance(a, mpl.text.Annotation)}


def _largest_part_bounds(boundaries, code: str) -> tuple[float, float, float, float]:
    geometry = boundaries.loc[boundaries["iso3"] == code].geometry.iloc[0]
    return max(shapely.get_parts(geometry), key=lambda part: part.area).bounds


@pytest.mark.parametrize("phone", [False, True])
def test_every_participant_an_inset_labels_is_whole_inside_it(all_participants, boundaries, phone):
    fig = maps.plot_participation_insets(all_participants, title="Enlarged")
    fig = fig.phone_variant() if phone else fig
    fig.canvas.draw()
    panels = _panels(fig)
    assert {"Europe", "Gulf", "Singapore and Malaysia", "South Pacific"} <= set(panels)
    # the Nordic participants were cut off at 62 degrees north, Israel at the Gulf panel's edge
    assert {"NOR", "SWE", "FIN", "EST", "GBR", "GRC", "UKR"} <= set(_codes_in(panels["Europe"]))
    assert {"ISR", "JOR", "SAU", "OMN", "ARE", "QAT", "BHR"} <= set(_codes_in(panels["Gulf"]))
    for region, ax in panels.items():
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        for code in _codes_in(ax):
            bx0, by0, bx1, by1 = _largest_part_bounds(boundaries, code)
            assert x0 <= bx0 and bx1 <= x1 and y0 <= by0 and by1 <= y1, (region, code)


def test_inset_codes_are_the_panels_labels(all_participants):
    fig = maps.plot_participation_insets(all_participants, title="Enlarged")
    labelled = {region: sorted(_codes_in(ax)) for region, ax in _panels(fig).items()}
    assert labelled == maps.participation_inset_codes(all_participants)


def test_every_participant_is_on_the_world_map(all_participants, boundaries):
    fig = maps.plot_participation_map(all_participants, title="Who")
    ax = fig.axes[0]
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    codes = set(maps.map_roles(all_participants)["iso3"]) & set(boundaries["iso3"])
    for code in codes:
        bx0, by0, bx1, by1 = boundaries.loc[boundaries["iso3"] == code].geometry.iloc[0].bounds
        assert x0 <= bx0 and bx1 <= x1 and y0 <= by0 and by1 <= y1, code


@pytest.mark.parametrize("phone", [False, True])
def test_a_label_sits_nearer_its_own_country_than_any_other(all_participants, phone):
    # the Gulf panel's "JOR" once sat beside Israel's marker
    fig = maps.plot_participation_insets(all_participants, title="Enlarged")
    fig = fig.phone_variant() if phone else fig
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for region, ax in _panels(fig).items():
        labels = list(_codes_in(ax).values())
        anchors = ax.transData.transform(np.array([a.xy for a in labels], dtype=float))
        for i, label in enumerate(labels):
            box = mpl.text.Text.get_window_extent(label, renderer)
            centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
            distances = np.hypot(*(anchors - centre).T)
            assert distances.argmin() == i, (region, label.get_text())


def _map_figures(membership, financing) -> dict[str, Figure]:
    return {
        "participation": maps.plot_participation_map(membership, title="Who took part"),
        "insets": maps.plot_participation_insets(membership, title="Enlarged"),
        "funding": maps.plot_funding_map(financing, title="Where"),
        **{f"locator {c}": maps.plot_locator_map(membership, c, title=c) for c in ("KOR", "COK", "EUU", "GRC")},
    }


def test_panels_are_framed_on_all_four_sides(all_participants, financing):
    for name, fig in _map_figures(all_participants, financing).items():
        for variant in (fig, fig.phone_variant()):
            for ax in variant.axes:
                if ax.axison and ax.get_xlim() != (0.0, 1.0):  # a map panel (not a size key)
                    spines = [s for s in ax.spines.values()]
                    assert len(spines) == 4 and all(s.get_visible() for s in spines), name


def test_map_type_prints_at_seven_points_or_more(all_participants, financing):
    from mineral_analysis import style

    for name, fig in _map_figures(all_participants, financing).items():
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        width_in = fig.get_tightbbox(renderer).width  # inches, as saved (bbox_inches="tight")
        assert width_in <= style.PAGE.map_width + 0.05, name  # nothing spills past the figure's sides
        texts = [t for t in fig.findobj(mpl.text.Text) if t.get_visible() and t.get_text().strip()]
        assert texts, name
        smallest = min(t.get_fontsize() for t in texts)
        assert style.printed_size(smallest, width_in) >= style.PRINT_MIN_FONT_PT, (name, smallest, width_in)


@pytest.mark.parametrize("code", ["KOR", "COK", "EUU", "GRC", "USA", "NZL"])
@pytest.mark.parametrize("phone", [False, True])
def test_the_locators_world_map_sits_inside_the_regional_map(all_participants, boundaries, code, phone):
    fig = maps.plot_locator_map(all_participants, code, title=code)
    fig = fig.phone_variant() if phone else fig
    fig.canvas.draw()
    region, world = fig.axes[0], fig.axes[1]
    outer, inner = region.get_position(), world.get_position()
    assert outer.x0 <= inner.x0 and inner.x1 <= outer.x1 and outer.y0 <= inner.y0 and inner.y1 <= outer.y1
    # and it does not cover the subject (on the phone it once covered Greece)
    here = boundaries.loc[boundaries["iso3"] == code, ["point_x", "point_y"]].to_numpy(dtype=float)
    for x, y in fig.transFigure.inverted().transform(region.transData.transform(here)):
        assert not (inner.x0 <= x <= inner.x1 and inner.y0 <= y <= inner.y1), code


def test_funding_map_names_every_location_or_lists_it(all_participants, processed_dir):
    from mineral_analysis import load_financing

    financing = load_financing(processed_dir)
    for agency in (None, "DOD", "EXIM", "DFC"):
        rows = financing if agency is None else financing[financing["agency"] == agency]
        for fig in (maps.plot_funding_map(rows, title="Where"), maps.plot_funding_map(rows).phone_variant()):
            located = set(maps.funding_locations(rows).query("counted_usd > 0")["iso3"]) - {"", "EUU"}
            names = geo.load_boundaries().set_index("iso3")["name"]
            labelled = {a.get_text().split("\n")[0] for a in fig.axes[0].texts if isinstance(a, mpl.text.Annotation)}
            listed = _all_text(fig)
            for code in located:  # on the map with its amount (a code on a phone), or in the note of the rest
                assert {names[code], code} & labelled or f"{names[code]} $" in listed, (agency, code)
            assert len(labelled) >= min(len(located), 5), agency


def test_one_country_gets_a_regional_map_and_none_a_sentence(processed_dir):
    from mineral_analysis import load_financing

    financing = load_financing(processed_dir)
    doe = financing[financing["agency"] == "DOE"]  # all its located money is in the United States
    fig = maps.plot_funding_map(doe, title="Where")
    ax = fig.axes[0]
    world = map_layers.base_layer(map_layers.boundaries_key())[1]
    assert ax.get_xlim()[1] - ax.get_xlim()[0] < 0.5 * (world[1] - world[0])  # a region, not the world
    usa = max(shapely.get_parts(geo.load_boundaries().set_index("iso3").geometry["USA"]), key=lambda p: p.area)
    x0, y0, x1, y1 = usa.bounds
    assert ax.get_xlim()[0] <= x0 and x1 <= ax.get_xlim()[1] and ax.get_ylim()[0] <= y0 and y1 <= ax.get_ylim()[1]
    assert all(s.get_visible() for s in ax.spines.values())  # a regional map is framed
    assert "Every circle: DOE, not binding." in _all_text(fig)  # one agency, one status: words, not a legend
    assert not fig.legends
    # several regions: the world
    fig = maps.plot_funding_map(financing, title="Where")
    assert fig.axes[0].get_xlim() == pytest.approx(world[:2])
    # nothing located: no map; the notebook shows the sentence
    gallium = financing[financing["minerals"].str.contains("gallium")]
    assert not maps.has_located_money(gallium) and maps.has_located_money(doe)
    assert maps.unmapped_sentence(gallium).startswith("No map: ") and "no location" in maps.unmapped_sentence(gallium)


def test_insets_with_nobody_to_enlarge_is_none_and_the_notebook_skips_it():
    only_host = pd.DataFrame([("USA", "United States", "host")], columns=["iso3", "name", "group"])
    assert maps.plot_participation_insets(only_host) is None
    assert maps.participation_inset_codes(only_host) == {}
    one_islander = pd.DataFrame([("COK", "Cook Islands", "ministerial_participant")], columns=["iso3", "name", "group"])
    fig = maps.plot_participation_insets(one_islander, title="Enlarged")
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["South Pacific"]
    assert maps.participation_inset_codes(one_islander) == {"South Pacific": ["COK"]}


def test_unmapped_sentence_on_hostile_selections(financing):
    empty = financing.iloc[0:0]
    assert not maps.has_located_money(empty)
    assert maps.unmapped_sentence(empty) == "No map: no item of this selection states an amount."
    eu_only = financing[financing["country_iso3"] == "EUU"]
    assert not maps.has_located_money(eu_only)
    assert "no territory on the map" in maps.unmapped_sentence(eu_only)
    unknown = financing.assign(country_iso3="XXX")  # a code the boundaries do not know is not located
    assert not maps.has_located_money(unknown)


def test_a_missing_boundary_file_is_named_with_where_its_readme_is(tmp_path):
    missing = tmp_path / "boundaries" / "countries_50m.parquet"
    with pytest.raises(FileNotFoundError) as raised:
        geo.load_boundaries(missing)
    message = str(raised.value)
    assert str(missing) in message and "scripts/build_boundaries.py" in message
    assert "data/external" not in message  # a folder no project has: the file ships with the package
    readme = config.BOUNDARIES_FILE.parent / "README.md"
    assert str(readme) in message and readme.is_file()


@pytest.mark.parametrize("code", ["FRA", "USA", "NZL", "NOR"])
def test_a_locator_shows_where_the_country_mostly_is_and_the_world_beside_it(all_participants, code):
    """Overseas parts (French Guiana, Alaska, outlying islands) do not stretch the region to the whole world."""
    fig = maps.plot_locator_map(all_participants, code, title=code)
    region = fig.axes[0]
    world = map_layers.base_layer(map_layers.boundaries_key())[1]
    assert region.get_xlim()[1] - region.get_xlim()[0] < 0.5 * (world[1] - world[0])  # a region
    home = max(shapely.get_parts(geo.load_boundaries().set_index("iso3").geometry[code]), key=lambda p: p.area)
    x0, y0, x1, y1 = home.bounds
    assert region.get_xlim()[0] <= x0 and x1 <= region.get_xlim()[1]
    assert region.get_ylim()[0] <= y0 and y1 <= region.get_ylim()[1]
    assert len(fig.axes) == 2  # and the world map with the region's frame
