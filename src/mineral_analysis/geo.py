"""Country boundaries for the briefs' world maps, and points for countries too small to see.

The boundaries are Natural Earth 1:50m admin-0 countries, converted once by ``scripts/build_boundaries.py`` into
``config.BOUNDARIES_FILE`` (GeoParquet, Equal Earth EPSG:8857, antimeridian fixed, no Antarctica; see the
README beside the file). Nothing here reprojects at run time.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import config
from .frames import split_codes

EQUAL_EARTH = "EPSG:8857"

# A country smaller than this (in km², measured on the equal-area projection) covers only a few pixels on a
# ~11-inch world map (one pixel at 150 dpi is about 20 km across), too few to show its fill colour: such
# countries get a marker. 25 000 km² catches Singapore, Bahrain, the Cook Islands, Qatar, Jamaica, Lebanon,
# Israel and the like, and leaves Belgium, Armenia and larger countries to their polygons.
SMALL_COUNTRY_AREA_KM2 = 25_000.0


@lru_cache(maxsize=4)
def _read(path: str) -> gpd.GeoDataFrame:
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(
            f"boundary file not found: {file} (the package ships it; rebuild it with scripts/build_boundaries.py, "
            f"see {config.BOUNDARIES_FILE.parent / 'README.md'})"
        )
    # Read on this thread alone (pyarrow's dataset reader starts an I/O pool): a build's kernel template reads the
    # file before it forks, which it may only do while it has a single thread.
    table = pq.ParquetFile(pa.BufferReader(file.read_bytes())).read(use_threads=False)
    gdf = gpd.GeoDataFrame.from_arrow(table, to_pandas_kwargs={"use_threads": False})
    if gdf.crs is None or gdf.crs.to_epsg() != 8857:
        gdf = gdf.to_crs(EQUAL_EARTH)  # only for a foreign file: the project's file is already Equal Earth
    gdf["iso3"] = gdf["iso3"].fillna("").astype(str)
    gdf["name"] = gdf["name"].astype(str)
    if "point_x" not in gdf or "point_y" not in gdf:
        points = gdf.geometry.representative_point()
        gdf["point_x"], gdf["point_y"] = points.x, points.y
    gdf["area_km2"] = gdf.geometry.area / 1e6  # exact enough: Equal Earth is an equal-area projection
    return gdf.reset_index(drop=True)


def load_boundaries(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Return the country boundaries in Equal Earth (EPSG:8857), one row per country.

    Columns: ``iso3`` (ISO 3166-1 alpha-3; "" for the few features without a code, such as Kosovo),
    ``name``, ``point_x``/``point_y`` (a point inside the country's largest part, for markers), ``area_km2``
    and ``geometry``. The file is read once per path; each call returns a copy, so callers may modify it.
    """
    return _read(str(Path(path or config.BOUNDARIES_FILE).resolve())).copy()


def cached_boundaries(path: str | Path | None) -> gpd.GeoDataFrame:
    """The cached frame itself, for read-only use inside the package (no copy)."""
    return _read(str(Path(path or config.BOUNDARIES_FILE).resolve()))


def country_points(iso3_codes: Iterable[str] | str, *, path: str | Path | None = None) -> pd.DataFrame:
    """Return a marker point for each given country found in the boundaries, in the order given.

    Columns: ``iso3``, ``name``, ``x``, ``y`` (Equal Earth metres), ``area_km2``. Codes without a polygon
    (e.g. ``EUU`` for the European Union, or unknown codes) are left out; compare the input to find them.
    """
    gdf = cached_boundaries(path)
    index = gdf.loc[gdf["iso3"] != ""].set_index("iso3")
    found = [c for c in split_codes(iso3_codes) if c in index.index]
    sub = index.loc[found, ["name", "point_x", "point_y", "area_km2"]]
    out = sub.rename(columns={"point_x": "x", "point_y": "y"}).reset_index()
    return out[["iso3", "name", "x", "y", "area_km2"]]


def marker_points(
    iso3_codes: Iterable[str] | str, *, threshold_km2: float = SMALL_COUNTRY_AREA_KM2, path: str | Path | None = None
) -> gpd.GeoDataFrame:
    """Return points for those given countries whose area is below ``threshold_km2`` (too small to see).

    The result is a GeoDataFrame (Equal Earth) with ``iso3``, ``name``, ``x``, ``y``, ``area_km2`` and a point
    ``geometry``, in the order given; codes without a polygon (``EUU``, unknown codes) are left out.
    """
    points = country_points(iso3_codes, path=path)
    small = points[points["area_km2"] < threshold_km2].reset_index(drop=True)
    return gpd.GeoDataFrame(small, geometry=gpd.points_from_xy(small["x"], small["y"]), crs=EQUAL_EARTH)
