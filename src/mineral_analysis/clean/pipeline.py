"""The cleaning pipeline: raw CSV records in, validated financing and membership tables out.

NOTES (data decisions, documented in docs/provenance.md):
- Binding status follows the instrument (vocab.INSTRUMENTS); nothing is decided per record.
- A stated total is an aggregate: its parts point to it, and only its unitemised remainder enters
  ``counted_usd``, so summing ``counted_usd`` over any slice never double counts.
- Mobilised capital is kept in ``mobilized_usd`` and never enters ``amount_usd`` or ``counted_usd``.
- Minerals are only those the source names; otherwise ``not stated``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import __version__, columns, config
from ..atomic import replace_folder_atomic
from ..errors import DataValidationError, Problem
from ..frames import conventional
from ..releases import csv_bytes, dataset_version
from ..vocab import FINANCING, STAGES, iati_transaction_type
from . import datapackage
from .contract import check_processed
from .datapackage import SPECS
from .financing import clean_financing, minerals_long, places_long
from .membership import clean_membership
from .rawio import RawTable, read_raw_table
from .sources import parse_citations, read_sources

FINANCING_RAW_COLUMNS = list(columns.RAW_FINANCING)
MEMBERSHIP_RAW_COLUMNS = list(columns.RAW_MEMBERSHIP)


@dataclass
class CleanTables:
    """The validated tables and what they were built from."""

    financing: pd.DataFrame
    membership: pd.DataFrame
    raw_hashes: dict[str, str] = field(default_factory=dict)
    sources_bytes: bytes = b""  # the sources registry as read, which travels with the processed tables
    registry: dict = field(default_factory=dict)  # the sources by id, as read from those bytes

    @property
    def data_version(self) -> str:
        """A short content hash of the raw files: changes whenever any raw byte changes."""
        digest = hashlib.sha256()
        for name in sorted(self.raw_hashes):
            digest.update(f"{name}:{self.raw_hashes[name]}\n".encode())
        return digest.hexdigest()[:12]


def _restrict(table: RawTable, source_ids: frozenset[str]) -> RawTable:
    """Only the rows citing one of ``source_ids``, their citations cut to those sources (for past releases).

    A conflict note is dropped where fewer than two of the remaining sources are cited: with one source there is
    nothing to disagree with.
    """
    frame = table.frame.copy()
    kept_citations = []
    for text in frame["citations"]:
        try:
            pairs = [f"{s}:{p}" for s, p in parse_citations(text) if s in source_ids]
        except ValueError:
            pairs = [text]  # malformed: keep it so that validation reports it
        kept_citations.append(";".join(pairs))
    frame["citations"] = kept_citations
    frame = frame[frame["citations"] != ""].reset_index(drop=True)
    single = frame["citations"].map(lambda text: len({pair.split(":")[0] for pair in text.split(";")}) < 2)
    frame.loc[single, "conflict"] = ""
    return RawTable(table.path, frame, table.data)


def load_raw(raw_dir: Path | None = None, *, only_sources: set[str] | None = None) -> CleanTables:
    """Read, clean and validate the raw files and the sources registry; return the tables; write nothing.

    ``only_sources`` (source ids) rebuilds the data as it stood with those sources alone: rows citing none of them
    are left out. Raises DataValidationError with every problem of every file.
    """
    raw_dir = Path(raw_dir or config.RAW_DIR)
    problems: list[Problem] = []
    results: dict[str, pd.DataFrame] = {}
    hashes: dict[str, str] = {}
    registry = None
    sources_bytes = b""
    try:
        registry, sources_bytes = read_sources(raw_dir)
        hashes[config.RAW_SOURCES] = hashlib.sha256(sources_bytes).hexdigest()
    except DataValidationError as exc:
        problems += exc.problems
    if only_sources is not None and registry is not None:
        unknown = sorted(set(only_sources) - set(registry))
        if unknown:
            problems.append(
                Problem(
                    config.RAW_SOURCES,
                    None,
                    "source_id",
                    ", ".join(unknown),
                    f"not registered; registered sources are {', '.join(sorted(registry))}",
                )
            )
    for name, raw_columns, clean in (
        (config.RAW_FINANCING, FINANCING_RAW_COLUMNS, clean_financing),
        (config.RAW_MEMBERSHIP, MEMBERSHIP_RAW_COLUMNS, clean_membership),
    ):
        path = config.raw_path(name, raw_dir)
        try:
            table = read_raw_table(path, raw_columns)
            hashes[name] = hashlib.sha256(table.data).hexdigest()  # the bytes read, not read again
            if only_sources is not None:
                table = _restrict(table, frozenset(only_sources))
            results[name] = clean(table, registry)
        except DataValidationError as exc:
            problems += exc.problems
    if problems:
        raise DataValidationError(problems)
    return CleanTables(
        financing=results[config.RAW_FINANCING],
        membership=results[config.RAW_MEMBERSHIP],
        raw_hashes=hashes,
        sources_bytes=sources_bytes,
        registry=registry or {},
    )


def summarize(tables: CleanTables) -> dict:
    """Row counts and totals (USD) that a reader checks first; also stored in metadata.json.

    The totals are ``totals.headline_numbers``, overall and per agency: one definition of a total.
    """
    from ..totals import headline_numbers

    fin = tables.financing
    by_agency = {}
    for agency, group in fin.groupby("agency", sort=True):
        numbers = headline_numbers(group)
        by_agency[agency] = {"items": numbers["items"], **{key: numbers[key] for key in TOTAL_KEYS}}
    members = tables.membership
    numbers = headline_numbers(fin)
    return {
        "data_version": tables.data_version,
        "library_version": __version__,
        "raw_files": dict(sorted(tables.raw_hashes.items())),
        "financing_records": len(fin),
        "financing_items": numbers["items"],
        "financing_with_amount": numbers["items_with_amount"],
        "aggregates": numbers["aggregates"],
        **{key: numbers[key] for key in TOTAL_KEYS},
        "by_agency": by_agency,
        "membership_rows": len(members),
        "ministerial_countries": int(
            ((members["group"] == "ministerial_participant") & (members["iso3"] != "EUU")).sum()
        ),
        "ministerial_supranational": int(
            ((members["group"] == "ministerial_participant") & (members["iso3"] == "EUU")).sum()
        ),
        "countries_named": int(members["iso3"].nunique()),
    }


TOTAL_KEYS = (
    "total_usd",
    "binding_usd",
    "non_binding_usd",
    "not_stated_usd",
    "binding_if_alternative_usd",
    "mobilized_usd",
    "mobilized_private_usd",
    "mobilized_public_usd",
    "mobilized_unsplit_usd",
    "commitments",
)


def processed_frames(tables: CleanTables) -> dict[str, pd.DataFrame]:
    """Every processed table by name: the wide tables and the long tables of places and minerals."""
    return {
        "financing": tables.financing,
        "membership": tables.membership,
        "financing_places": places_long(tables.financing),
        "financing_minerals": minerals_long(tables.financing),
    }


def parquet_bytes(frame: pd.DataFrame, descriptions: dict[str, str]) -> bytes:
    """``frame`` as Parquet, each column carrying its meaning (``descriptions``) in its field metadata under
    ``description``, so any Parquet reader shows what a column means."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    # The Parquet files follow pandas' conventions (NA, ordered categoricals): what load_financing() returns.
    table = pa.Table.from_pandas(conventional(frame), preserve_index=False)
    fields = [
        field.with_metadata({"description": descriptions[field.name]}) if descriptions.get(field.name) else field
        for field in table.schema
    ]
    table = table.cast(pa.schema(fields, metadata=table.schema.metadata))
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def column_descriptions(spec: dict) -> dict[str, str]:
    """Each column's meaning from a table of :mod:`mineral_analysis.columns` (the text of each entry, or its last
    part when it is a tuple such as ``(type, meaning)``)."""
    return {name: entry if isinstance(entry, str) else str(entry[-1]) for name, entry in spec.items()}


def data_dictionary_markdown() -> str:
    """The processed tables' columns and meanings as Markdown (written beside the tables)."""
    lines = [
        "# Data dictionary: data/processed",
        "",
        "Generated by `mineral-analysis data` from `mineral_analysis.columns`; do not edit by hand.",
        "",
    ]
    for table, spec in SPECS.items():
        lines += [f"## {table} (`{table}.csv`, `{table}.parquet`)", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{name}` | {dtype} | {meaning} |" for name, (dtype, meaning) in spec.items()]
        lines.append("")
    lines += [
        "## Crosswalk to IATI codes",
        "",
        "Each stage maps to an IATI ActivityStatus (1 Pipeline/identification, 2 Implementation) and, for "
        "financing, to the IATI TransactionType its money would be reported as (2 Outgoing Commitment, 3 "
        "Disbursement, 8 Purchase of Equity for equity, 12 Outgoing Pledge). A stage the source does not state has "
        "no code; records that carry no money have no transaction.",
        "",
        "| stage | label | binding status of financing | IATI ActivityStatus | IATI TransactionType |",
        "|---|---|---|---|---|",
    ]
    for code, stage in STAGES.items():
        transaction = iati_transaction_type(code, "not_stated") if FINANCING in stage.kinds else None
        equity = iati_transaction_type(code, "equity") if FINANCING in stage.kinds else None
        shown = (
            ""
            if transaction is None
            else str(transaction) + (f" ({equity} for equity)" if equity != transaction else "")
        )
        lines.append(
            f"| `{code}` | {stage.label} | {stage.binding_status or 'not applicable'} | "
            f"{stage.iati_activity_status or ''} | {shown} |"
        )
    lines.append("")
    return "\n".join(lines)


class DataLockedError(RuntimeError):
    """Another `data` run or a build holds the processed folder's lock."""


def build_processed(
    raw_dir: Path | None = None,
    processed_dir: Path | None = None,
    releases_dir: Path | None = None,
    *,
    wait: bool = False,
) -> dict:
    """Validate the raw data and write the processed tables as one set; return the summary.

    Nothing is written unless every check passes, and nothing at all when no file's content changed. The folder
    is replaced as a whole (``atomic.replace_folder_atomic``) under the data lock (``config.data_lock_path``),
    which a build also holds while it reads: with ``wait`` a busy lock is waited for, otherwise DataLockedError.
    The metadata's ``dataset_version`` is the latest release's name when the tables equal it, else
    ``"<latest> + unreleased changes"``; ``release`` is that release's name, date and citation (or null).
    """
    from filelock import ReadWriteLock, Timeout

    processed_dir = Path(processed_dir or config.PROCESSED_DIR)
    # The lock is taken before the raw files are read: two runs with an edit between them are serialised, so
    # the tables written last are those of the raw data read last (a run that read before the edit cannot win).
    lock_path = config.data_lock_path(processed_dir)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = ReadWriteLock(lock_path, is_singleton=False)  # builds hold it shared (``publish.build.held``)
    try:
        lock.acquire_write(timeout=-1, blocking=wait)
    except Timeout:
        lock.close()
        raise DataLockedError(
            f"{processed_dir.name}/ is in use by another `data` run or a build (it holds "
            f"{lock_path.name}); wait for it to finish, or pass --wait to queue behind it"
        ) from None
    try:
        tables = load_raw(raw_dir)
        check_processed(tables.financing, tables.membership)  # the contract, before anything is written
        summary = summarize(tables)
        frames = processed_frames(tables)
        files = {
            **{config.csv_file(name): csv_bytes(frame) for name, frame in frames.items()},
            **{
                config.parquet_file(name): parquet_bytes(frame, column_descriptions(SPECS[name]))
                for name, frame in frames.items()
            },
            config.DATAPACKAGE: datapackage.to_bytes(
                datapackage.descriptor(
                    "mineral-analysis-processed",
                    "mineral-analysis: processed tables",
                    {name: list(frame.columns) for name, frame in frames.items()},
                    version=datapackage.library_version(),
                    sources=datapackage.source_entries(tables.registry),
                )
            ),
            config.DATA_DICTIONARY: data_dictionary_markdown().encode("utf-8"),
            # The sources registry travels with the tables, so a brief names its sources wherever they go.
            config.RAW_SOURCES: tables.sources_bytes,
        }
        summary["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
        summary["dataset_version"], summary["release"] = dataset_version(files, releases_dir)
        files[config.PROCESSED_METADATA] = (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode("utf-8")
        changed = replace_folder_atomic(processed_dir, files)
    finally:
        lock.close()
    summary["changed"] = changed
    summary["processed_dir"] = str(processed_dir)
    return summary
