"""Frictionless Data Package v2 descriptors (``datapackage.json``) for the processed tables and each release.

Types, descriptions and allowed values come from the column catalogue (``columns``) and the vocabularies; missing
values are empty cells; the long tables point to ``financing`` by ``record_id``. ``frictionless validate
datapackage.json`` checks the files against it (``make test`` does, for the processed tables and every release).
"""

from __future__ import annotations

import json

from .. import __version__, columns, config
from ..frames import CATEGORIES

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
LICENSE = {"name": "MIT", "path": "https://opensource.org/licenses/MIT", "title": "MIT License"}
_TYPES = {"string": "string", "float": "number", "bool": "boolean", "int": "integer", "date": "date"}
SPECS = {
    "financing": columns.FINANCING,
    "membership": columns.MEMBERSHIP,
    "financing_places": columns.PLACES,
    "financing_minerals": columns.MINERALS,
}
TITLES = {
    "financing": "Financing items and commitments without money",
    "membership": "Countries and the roles the sources give them",
    "financing_places": "Each place of an item, with its role and precision",
    "financing_minerals": "Each mineral an item names",
}
PRIMARY_KEYS = {"financing": ["record_id"], "membership": ["record_id"]}
UNITS = "US dollars (nominal, as stated by the source; never converted from another currency)"


def _field(name: str, dtype: str, description: str, *, with_categories: bool) -> dict:
    field: dict = {"name": name, "type": _TYPES[dtype], "description": description}
    if name.endswith("_usd"):
        field["description"] = f"{description} Unit: {UNITS}."
        field["constraints"] = {"minimum": 0}
    if with_categories and name in CATEGORIES:
        field["categories"] = CATEGORIES[name]
        field["categoriesOrdered"] = True
        field["constraints"] = {"enum": CATEGORIES[name]}
    if name == "record_id" and dtype == "string":
        field["constraints"] = {"pattern": "[A-Z]{2,6}-[0-9]{2,4}"}
    return field


def table_schema(table: str, names: list[str] | None = None, *, with_categories: bool = True) -> dict:
    """The Table Schema of ``table``: its columns (``names``, default all of the catalogue) in file order."""
    spec = SPECS[table]
    names = list(spec) if names is None else names
    unknown = [name for name in names if name not in spec]
    if unknown:
        raise ValueError(f"{table}: columns {', '.join(unknown)} are not in the column catalogue (columns.py)")
    schema: dict = {
        "fields": [_field(name, *spec[name], with_categories=with_categories) for name in names],
        "missingValues": [""],
    }
    if table in PRIMARY_KEYS:
        schema["primaryKey"] = PRIMARY_KEYS[table]
    if table.startswith("financing_"):
        schema["foreignKeys"] = [
            {"fields": ["record_id"], "reference": {"resource": "financing", "fields": ["record_id"]}}
        ]
    return schema


def descriptor(
    name: str,
    title: str,
    tables: dict[str, list[str]],
    *,
    version: str,
    sources: list[dict],
    with_categories: bool = True,
) -> dict:
    """A Data Package (v2) describing the CSV files ``<table>.csv`` with the given columns (in file order)."""
    return {
        "$schema": PROFILE,
        "name": name,
        "title": title,
        "version": version,
        "description": (
            "US critical-minerals diplomacy and financing around the February 2026 Critical Minerals Ministerial, "
            "curated from the sources listed, each record citing its source paragraphs. Sum counted_usd (never "
            "amount_usd) over financing records only (kind = financing) to avoid double counting."
        ),
        "licenses": [LICENSE],
        "sources": sources,
        "contributors": [{"title": "mineral-analysis maintainers", "roles": ["creator"]}],
        "resources": [
            {
                "name": table,
                "title": TITLES[table],
                "type": "table",
                "path": config.csv_file(table),
                "scheme": "file",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": table_schema(table, names, with_categories=with_categories),
            }
            for table, names in tables.items()
        ],
    }


def source_entries(registry: dict) -> list[dict]:
    """The sources registry as Data Package ``sources``: title, id, file and date (no text of the source)."""
    return [
        {"title": f"{sid}: {source.title}", "path": source.file, "version": source.published}
        for sid, source in sorted(registry.items())
    ]


def to_bytes(package: dict) -> bytes:
    """The descriptor as the bytes written beside the tables (stable key order, UTF-8)."""
    return (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def library_version() -> str:
    """The version written in the processed tables' descriptor (the library that made them)."""
    return __version__


def release_descriptor(name: str, headers: dict[str, list[str]], sources: list[dict]) -> dict:
    """The Data Package of release ``name``: its tables with the columns their files have (``headers``).

    A release made before a vocabulary changed may hold codes the current one no longer has, so the allowed values
    are declared only for a release whose columns are the current catalogue's.
    """
    current = all(headers[table] == list(SPECS[table]) for table in headers)
    return descriptor(
        f"mineral-analysis-{name}",
        f"mineral-analysis: release {name}",
        headers,
        version=name,
        sources=sources,
        with_categories=current,
    )
