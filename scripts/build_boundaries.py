"""Convert Natural Earth 1:50m countries (npm ``world-atlas`` 2.0.2) into the project's boundary file.

Reproduce the committed file from the project checkout with::

    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz)
    python scripts/build_boundaries.py "$tmp/package/countries-50m.json"

The output (default ``config.BOUNDARIES_FILE``) is a GeoParquet file in Equal Earth (EPSG:8857) with one row
per country: ``iso3`` (ISO 3166-1 alpha-3; empty for features without an ISO code, e.g. Kosovo, N. Cyprus,
Somaliland), ``name`` (Natural Earth's English short name), ``point_x``/``point_y`` (a point inside the
country's largest part, for markers and bubbles) and ``geometry``.

What the conversion changes:

* the TopoJSON ``id`` (ISO 3166-1 numeric) becomes an alpha-3 code via pycountry; features that share a code
  (Australia and the Ashmore and Cartier Islands) are merged into one row named after the largest;
* polygons that cross the antimeridian (Russia's Chukotka and Wrangel Island, one Fiji island) are unwrapped
  and split at 180 degrees, so that no part spans the whole map and no horizontal band is drawn;
* Antarctica is dropped: the briefs' maps do not need it and it wraps around the pole;
* geometries are made valid and projected to Equal Earth, so the library never reprojects at run time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pycountry
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.ops import polylabel

try:
    from mineral_analysis.config import BOUNDARIES_FILE
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from mineral_analysis.config import BOUNDARIES_FILE

TARGET_CRS = "EPSG:8857"  # Equal Earth (world)
DROPPED_ISO3 = {"ATA"}  # Antarctica
POINT_TOLERANCE_M = 5_000.0  # precision of the marker point (pole of inaccessibility), metres
SIMPLIFY_TOLERANCE_M = 0.0  # 0 = no simplification; the 1:50m file is small enough as it is


def iso3_from_numeric(numeric: object) -> str:
    """Return the ISO alpha-3 code for an ISO 3166-1 numeric id, or "" when there is none."""
    if not isinstance(numeric, str) or not numeric.strip():
        return ""
    country = pycountry.countries.get(numeric=numeric.strip().zfill(3))
    return country.alpha_3 if country is not None else ""


def _unwrap_ring(coords: np.ndarray) -> np.ndarray:
    """Make a ring's longitudes continuous (no step over 180 degrees) by adding multiples of 360."""
    x = coords[:, 0]
    dx = np.diff(x)
    dx = dx - 360.0 * np.round(dx / 360.0)
    out = coords.copy()
    out[:, 0] = np.concatenate([[x[0]], x[0] + np.cumsum(dx)])
    if abs(out[-1, 0] - out[0, 0]) > 1e-9:
        raise ValueError("ring encircles a pole; it cannot be unwrapped (Antarctica should have been dropped)")
    return out


def _crosses_antimeridian(polygon: Polygon) -> bool:
    rings = [polygon.exterior, *polygon.interiors]
    return any(np.any(np.abs(np.diff(shapely.get_coordinates(r)[:, 0])) > 180.0) for r in rings)


def _polygons(geom) -> list[Polygon]:
    """The polygonal parts of any geometry (lines and points left by make_valid or clipping are dropped)."""
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    return [p for g in getattr(geom, "geoms", ()) for p in _polygons(g)]


def split_at_antimeridian(polygon: Polygon) -> list[Polygon]:
    """Return ``polygon`` as parts that each lie within longitude -180..180.

    A ring that jumps from about +180 to -180 is unwrapped into continuous longitudes, then the polygon is cut
    by the windows [-540, -180], [-180, 180] and [180, 540], each shifted back into range.
    """
    if not _crosses_antimeridian(polygon):
        return [polygon]
    shell = _unwrap_ring(shapely.get_coordinates(polygon.exterior))
    centre = shell[:, 0].mean()
    holes = []
    for ring in polygon.interiors:
        h = _unwrap_ring(shapely.get_coordinates(ring))
        h[:, 0] += 360.0 * np.round((centre - h[:, 0].mean()) / 360.0)
        holes.append(h)
    unwrapped = shapely.make_valid(Polygon(shell, holes))
    parts: list[Polygon] = []
    for shift in (-360.0, 0.0, 360.0):
        window = box(-180.0 + shift, -90.0, 180.0 + shift, 90.0)
        piece = shapely.intersection(unwrapped, window)
        if piece.is_empty:
            continue
        piece = shapely.transform(piece, lambda c, s=shift: c - np.array([s, 0.0]))
        parts.extend(_polygons(piece))
    return parts


def fix_antimeridian(geom) -> MultiPolygon | Polygon:
    """Split every part of ``geom`` that crosses the antimeridian; return a valid (Multi)Polygon."""
    parts: list[Polygon] = []
    for part in _polygons(geom):
        parts.extend(split_at_antimeridian(part))
    fixed = shapely.make_valid(MultiPolygon(parts) if len(parts) > 1 else parts[0])
    polys = _polygons(fixed)
    return MultiPolygon(polys) if len(polys) > 1 else polys[0]


def marker_point(geom) -> tuple[float, float]:
    """A point well inside the country's largest part (pole of inaccessibility), for markers and bubbles."""
    largest = max(_polygons(geom), key=lambda p: p.area)
    point = polylabel(largest, tolerance=POINT_TOLERANCE_M)
    return point.x, point.y


def build(source: Path) -> gpd.GeoDataFrame:
    """Read ``countries-50m.json`` and return the converted boundaries (Equal Earth, no Antarctica)."""
    raw = gpd.read_file(source, layer="countries")
    raw = raw.set_crs("EPSG:4326", allow_override=True)
    raw["iso3"] = raw["id"].map(iso3_from_numeric)
    raw = raw[~raw["iso3"].isin(DROPPED_ISO3)].copy()
    raw["geometry"] = raw.geometry.map(fix_antimeridian)
    raw["_area"] = raw.to_crs(TARGET_CRS).area

    rows = []
    for iso3, group in raw.groupby("iso3", sort=False):
        if iso3 == "":  # features without an ISO code stay separate rows
            rows.extend({"iso3": "", "name": r["name"], "geometry": r.geometry} for _, r in group.iterrows())
            continue
        main = group.sort_values("_area", ascending=False).iloc[0]
        geom = group.geometry.iloc[0] if len(group) == 1 else shapely.union_all(list(group.geometry))
        rows.append({"iso3": iso3, "name": main["name"], "geometry": geom})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326").to_crs(TARGET_CRS)
    out["geometry"] = shapely.make_valid(out.geometry.values)
    if SIMPLIFY_TOLERANCE_M > 0:
        out["geometry"] = out.geometry.simplify(SIMPLIFY_TOLERANCE_M, preserve_topology=True)
    points = [marker_point(g) for g in out.geometry]
    out["point_x"] = [p[0] for p in points]
    out["point_y"] = [p[1] for p in points]
    out = out.sort_values(["iso3", "name"], key=lambda s: s.str.lower()).reset_index(drop=True)
    out["name"] = out["name"].astype(str)
    return out[["iso3", "name", "point_x", "point_y", "geometry"]]


def check(gdf: gpd.GeoDataFrame) -> None:
    """Fail loudly if the result would draw badly: invalid shapes, parts spanning the map, duplicate codes."""
    lonlat = gdf.to_crs("EPSG:4326")
    for iso3, name, geom in zip(lonlat["iso3"], lonlat["name"], lonlat.geometry):
        for part in _polygons(geom):
            minx, _, maxx, _ = part.bounds
            if maxx - minx > 180.0:
                raise ValueError(f"{name} ({iso3}) still has a part spanning {maxx - minx:.0f} degrees of longitude")
    if not gdf.geometry.is_valid.all():
        raise ValueError("invalid geometries: " + ", ".join(gdf.loc[~gdf.geometry.is_valid, "name"]))
    coded = gdf.loc[gdf["iso3"] != "", "iso3"]
    if coded.duplicated().any():
        raise ValueError("duplicate iso3 codes: " + ", ".join(sorted(set(coded[coded.duplicated()]))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="path of countries-50m.json from the unpacked world-atlas package")
    parser.add_argument(
        "--output",
        type=Path,
        default=BOUNDARIES_FILE,
        help="GeoParquet file to write (default: the project's boundary file)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    gdf = build(args.source)
    check(gdf)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_parquet(args.output, index=False, compression="zstd", schema_version="1.0.0")
    size = args.output.stat().st_size
    print(
        f"wrote {len(gdf)} countries to {args.output.name} ({size / 1e6:.2f} MB, {gdf.crs.to_string()}) "
        f"in {time.perf_counter() - start:.1f} s; without ISO code: " + ", ".join(gdf.loc[gdf["iso3"] == "", "name"])
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
