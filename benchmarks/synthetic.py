"""Synthetic raw data for the cleaning benchmark, and the per-size measurement run in a child process.

``generate(n, out_dir, raw_dir)`` writes ``financing.csv`` (``n`` records) and ``membership.csv`` with exactly the
columns of the real raw files, every value drawn from the real records' vocabulary:

* agency, instrument, date, countries (with their subnational place), minerals, mobilised pair, source file and
  paragraph, title and note are sampled column by column from the real rows, as written (Russian and English);
* amounts keep the real templates (``$455 млн``, ``до $700 млн``, ``$1,25 млрд``, ``до 10 миллиардов долларов``,
  ``более миллиарда долларов``, empty) with the number redrawn as a source would write it (three significant
  digits): a few thousand distinct spellings, as in a large real file;
* dates keep the real precision (a day or a month) with the day or month redrawn over 2015-2026, as a file
  covering years of announcements would have them;
* no two records may describe the same item (the pipeline's duplicate-item check compares agency, amount,
  instrument, stage, countries, place, minerals and date): the generator computes that key with the library's own
  normalisers and redraws the date of the few colliding records (a day of their own) until no two collide, so the
  amounts keep the few thousand spellings a real file has;
* about one record in 500 is a stated total ("более $X млрд") with three parts of the same agency, so the
  aggregate checks run on real links;
* record ids keep the shape the schema allows (``^[A-Z]{2,6}-\\d{2,4}$``): at most four digits, so 1 million ids
  need blocks of 10,000 with two extra letters each (``EXIMAB-0042``);
* ``membership.csv`` is the real file: a country appears once per group, so it cannot grow with the record count.

``python benchmarks/synthetic.py measure RAW_DIR`` cleans RAW_DIR with ``mineral_analysis.clean.pipeline.load_raw`` in a
fresh process and prints one JSON line: seconds, rows, peak resident memory (MiB) of that process.
``python benchmarks/synthetic.py profile RAW_DIR OUT`` prints the cleaning's hottest functions (cProfile).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

AGGREGATE_EVERY = 500  # one stated total (with PARTS parts) per this many records
PARTS = 3
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
COLUMNS = [
    "record_id",
    "agency",
    "title",
    "amount_as_written",
    "instrument_as_written",
    "announced",
    "countries",
    "subnational",
    "minerals_as_written",
    "mobilized_as_written",
    "mobilized_from",
    "is_aggregate",
    "parent_id",
    "source_file",
    "source_paragraph",
    "note",
]


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _scale(template: str) -> str | None:
    """'bn' or 'mn' for a template with a number, None for one without (or empty)."""
    if not _NUMBER.search(template):
        return None
    lowered = template.lower()
    if any(word in lowered for word in ("млрд", "миллиард", "bn", "billion")):
        return "bn"
    if any(word in lowered for word in ("млн", "миллион", "mn", "million")):
        return "mn"
    return None


def _source_number(rng: np.random.Generator, scale: str) -> float:
    """A number as sources write it: three significant digits, 1-999 million or 1-99.9 billion."""
    value = 10 ** rng.uniform(0, 3) if scale == "mn" else 10 ** rng.uniform(0, 2)
    digits = max(0, 2 - int(np.floor(np.log10(value))))
    return round(value, min(digits, 2 if scale == "bn" else 1))


def _with_number(template: str, number: float | str) -> str:
    match = _NUMBER.search(template)
    text = number if isinstance(number, str) else f"{number:g}"
    if "," in match.group(0) and "." in text:
        text = text.replace(".", ",")  # the template writes a decimal comma ($1,25 млрд); keep that spelling
    return template[: match.start()] + text + template[match.end() :]


def _record_ids(codes: list[str]) -> list[str]:
    """``AGENCY-NNNN`` ids, unique: per agency code, blocks of 10,000 numbers with a two-letter suffix each."""
    counters: dict[str, int] = {}
    ids = []
    for code in codes:
        count = counters.get(code, 0)
        counters[code] = count + 1
        block, number = divmod(count, 10_000)
        ids.append(f"{code[:4]}{_LETTERS[block // 26 % 26]}{_LETTERS[block % 26]}-{number:04d}")
    return ids


def _redrawn_dates(rng: np.random.Generator, written: np.ndarray) -> np.ndarray:
    """Each written date with its day (YYYY-MM-DD) or month (YYYY-MM) redrawn over 2015-2026; others as written."""
    days = np.datetime64("2015-01-01") + rng.integers(0, 12 * 365, len(written)).astype("timedelta64[D]")
    as_text = np.datetime_as_string(days, unit="D").astype(object)
    lengths = np.fromiter((len(text) for text in written), dtype=int, count=len(written))
    out = written.copy()
    out[lengths == 10] = as_text[lengths == 10]
    out[lengths == 7] = np.array([text[:7] for text in as_text[lengths == 7]], dtype=object)
    return out


def _colliding(key) -> np.ndarray:
    """Positions of records with an amount whose duplicate-item key an earlier record already has."""
    return np.flatnonzero((key.duplicated(keep="first") & key["usd"].notna()).to_numpy())


def generate(n: int, out_dir: Path, raw_dir: Path, seed: int = 20260204) -> dict:
    """Write ``n`` synthetic financing records (and the real membership file) into ``out_dir``; return counts."""
    import pandas as pd

    from mineral_analysis.clean.amounts import parse_amount
    from mineral_analysis.clean.normalize import normalize_instrument, normalize_minerals, parse_announced
    from mineral_analysis.countries import resolve_countries
    from mineral_analysis.vocab import normalize_agency

    rng = np.random.default_rng(seed)
    columns, real = _read_rows(raw_dir / "financing.csv")  # the real file's columns, whatever they are
    items = [r for r in real if r["is_aggregate"] == "false"]
    totals = [r for r in real if r["is_aggregate"] == "true"] or items

    def pick(values: list) -> list:
        return [values[i] for i in rng.integers(0, len(values), n)]

    frame = pd.DataFrame(
        {
            column: pick(
                [
                    r[column]
                    for r in (items if column in ("title", "instrument_as_written", "amount_as_written") else real)
                ]
            )
            for column in columns
        }
    )
    # Values that go together, drawn as one: a record's kind, form, stage and the words that state it with the
    # paragraphs it cites (the quoted words must be in them); its places and their role; its date and whether
    # it is inferred; its mobilised amount and who provides it.
    model = ("kind", "title", "instrument_as_written", "stage", "stage_basis", "alternative_stage", "amount_as_written")
    groups = [
        (items, (*model, "citations", "conflict")),
        (real, ("countries", "subnational", "place_role")),
        (real, ("announced", "announced_inferred")),
        ([r for r in real if r.get("kind", "financing") == "financing"], ("mobilized_as_written", "mobilized_from")),
    ]
    for source_rows, group in groups:
        group = tuple(c for c in group if c in columns)
        rows = pick([tuple(r[c] for c in group) for r in source_rows])
        for position, column in enumerate(group):
            frame[column] = [row[position] for row in rows]
    if "kind" in columns:  # a commitment without money has no mobilised money either
        frame.loc[frame["kind"] != "financing", ["mobilized_as_written", "mobilized_from"]] = ""
    frame["is_aggregate"] = "false"
    frame["parent_id"] = ""

    # Amounts: the real templates with a number as a source writes it.
    amounts = []
    for template in frame["amount_as_written"]:
        scale = _scale(template)
        amounts.append(_with_number(template, _source_number(rng, scale)) if scale else template)
    frame["amount_as_written"] = amounts
    frame["announced"] = _redrawn_dates(rng, frame["announced"].to_numpy(dtype=object))

    # Stated totals: one every AGGREGATE_EVERY records, followed by PARTS parts of the same agency.
    total_positions = np.arange(0, max(0, n - PARTS), AGGREGATE_EVERY) if AGGREGATE_EVERY else np.array([], int)
    chosen = [totals[i] for i in rng.integers(0, len(totals), len(total_positions))]
    for column in [c for c in (*model, "citations", "conflict", "note") if c in columns and c != "amount_as_written"]:
        frame.loc[total_positions, column] = [total[column] for total in chosen]
    part_rows = [r for r in items if r.get("kind") == "financing"]  # a part of a stated total is money
    frame.loc[total_positions, ["mobilized_as_written", "mobilized_from"]] = ""
    frame.loc[total_positions, "is_aggregate"] = "true"
    frame.loc[total_positions, "amount_as_written"] = [
        f"более ${_source_number(rng, 'bn'):g} млрд" for _ in total_positions
    ]
    parts = (total_positions[:, None] + np.arange(1, PARTS + 1)).ravel()
    owners = np.repeat(total_positions, PARTS)
    if "kind" in columns and len(parts):
        drawn = [part_rows[i] for i in rng.integers(0, len(part_rows), len(parts))]
        for column in [c for c in (*model, "citations", "conflict") if c in columns]:
            value = [row[column] for row in drawn]
            if column == "amount_as_written":  # the real template with a number of its own, as above
                value = [_with_number(v, _source_number(rng, _scale(v))) if _scale(v) else v for v in value]
            frame.loc[parts, column] = value
    frame.loc[parts, "agency"] = frame.loc[owners, "agency"].to_numpy()  # a part belongs to its total's agency
    codes = {written: normalize_agency(written) for written in frame["agency"].unique()}
    agency_code = frame["agency"].map(codes)
    frame["record_id"] = _record_ids(list(agency_code))
    frame.loc[parts, "parent_id"] = frame.loc[owners, "record_id"].to_numpy()

    # The pipeline's duplicate-item key, computed with its own normalisers on the distinct values.
    def mapped(column: str, function) -> pd.Series:
        return frame[column].map({value: function(value) for value in frame[column].unique()})

    usd = mapped("amount_as_written", lambda text: parse_amount(text).value_usd if text else None)
    key = pd.DataFrame(
        {
            "agency": agency_code,
            "usd": usd,
            "instrument": mapped("instrument_as_written", normalize_instrument),
            "stage": frame["stage"] if "stage" in columns else "",
            "countries": mapped("countries", lambda text: ";".join(resolve_countries(text))),
            "subnational": frame["subnational"],
            "minerals": mapped("minerals_as_written", normalize_minerals),
            "announced": mapped("announced", lambda text: parse_announced(text)[0]),
        }
    )
    colliding = _colliding(key)
    repaired = len(colliding)
    for _ in range(20):  # each round redraws the colliders' dates as days; a handful of rounds empties the list
        if not len(colliding):
            break
        days = _redrawn_dates(rng, np.full(len(colliding), "2000-01-01", dtype=object))
        frame.loc[colliding, "announced"] = days
        key.loc[colliding, "announced"] = days
        colliding = _colliding(key)
    if len(colliding):
        raise RuntimeError(f"{len(colliding)} synthetic records still describe the same item as another")

    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("membership.csv", "sources.csv"):
        if (raw_dir / name).exists():
            shutil.copyfile(raw_dir / name, out_dir / name)
    frame[columns].to_csv(out_dir / "financing.csv", index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return {
        "records": n,
        "aggregates": len(total_positions),
        "parts": len(total_positions) * PARTS,
        "distinct_amounts": int(frame["amount_as_written"].nunique()),
        "repaired_collisions": repaired,
        "bytes": (out_dir / "financing.csv").stat().st_size,
    }


def measure(raw_dir: Path) -> dict:
    """Clean ``raw_dir`` once in this process; return seconds, rows and this process's peak memory.

    The synthetic amounts are redrawn, so no source contains them: the articles are not consulted (the quoted
    words and amounts are checked on the real data; citations are checked against the registered paragraph counts).
    """
    import resource

    started = time.perf_counter()
    from mineral_analysis import config
    from mineral_analysis.clean.pipeline import load_raw

    config.SEEDS_DIR = raw_dir / "no-articles-here"

    imported, cpu = time.perf_counter(), time.process_time()
    tables = load_raw(raw_dir)
    cleaned, cpu = time.perf_counter(), time.process_time() - cpu
    return {
        "rows": len(tables.financing),
        "membership_rows": len(tables.membership),
        "seconds": cleaned - imported,
        "cpu_seconds": cpu,  # every thread's; near the wall time on a quiet machine, steady on a busy one
        "import_seconds": imported - started,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "counted_usd": float(tables.financing["counted_usd"].sum()),
    }


def profile(raw_dir: Path, out: Path, top: int = 25) -> str:
    """cProfile one cleaning of ``raw_dir``; write the stats to ``out``; return the top functions as text."""
    import cProfile
    import io
    import pstats

    from mineral_analysis import config
    from mineral_analysis.clean.pipeline import load_raw

    config.SEEDS_DIR = raw_dir / "no-articles-here"  # as measure(): the synthetic amounts are in no source
    profiler = cProfile.Profile()
    profiler.enable()
    load_raw(raw_dir)
    profiler.disable()
    profiler.dump_stats(str(out))
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    return text.getvalue()


if __name__ == "__main__":
    command, target = sys.argv[1], Path(sys.argv[2])
    if command == "measure":
        print(json.dumps(measure(target)))
    elif command == "profile":
        print(profile(target, Path(sys.argv[3])))
    elif command == "generate":
        from mineral_analysis import config

        print(json.dumps(generate(int(sys.argv[3]), target, config.RAW_DIR)))
    else:
        sys.exit(f"unknown command {command!r}; use measure, profile or generate")
