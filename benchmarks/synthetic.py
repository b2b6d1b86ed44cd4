"""Synthetic raw data for the cleaning benchmark, and the per-size measurement run in a child process.

``generate(n, out_dir)`` writes ``financing.csv`` (``n`` records) and ``membership.csv`` with exactly the columns of
``data/raw``, every value drawn from the real records' vocabulary:

* agency, instrument, date, countries (with their subnational place), minerals, mobilised pair, source file and
  paragraph, title and note are sampled column by column from the real rows, as written (Russian and English);
* amounts keep the real templates (``$455 млн``, ``до $700 млн``, ``$1,25 млрд``, ``до 10 миллиардов долларов``,
  empty) with the number replaced by one unique per row, in disjoint ranges per scale: no two records describe
  the same item, so the pipeline's duplicate-item check passes (every amount is a distinct string, the worst case
  for the parser's per-distinct-value cache);
* about one record in 500 is a stated total ("более $X млрд") with three parts of the same agency, so the
  aggregate checks run on real links;
* record ids keep the ``AGENCY-NNNN`` shape allowed by the schema (``^[A-Z]{2,6}-\\d{2,4}$``): four digits per
  block and two extra letters per block (``EXIMAB-0042``), because 1 million ids do not fit in four digits;
* ``membership.csv`` is the real file: a country appears once per group, so it cannot grow with the record count.

``python benchmarks/synthetic.py measure RAW_DIR`` cleans RAW_DIR with ``mineral_analysis.pipeline.load_raw`` in a
fresh process and prints one JSON line: seconds, rows, peak resident memory (MiB) of that process.
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


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _scale(template: str) -> str | None:
    """'bn' or 'mn' for a template with a number, None for one without (or empty)."""
    if not _NUMBER.search(template):
        return None
    lowered = template.lower()
    if "млрд" in lowered or "миллиард" in lowered or "bn" in lowered or "billion" in lowered:
        return "bn"
    if "млн" in lowered or "миллион" in lowered or "mn" in lowered or "million" in lowered:
        return "mn"
    return None


def _unique_amount(template: str, scale: str, unique: int) -> str:
    """The template with its number replaced: unique in 1,000,001..9,999,999 gives a distinct dollar value.

    'mn' templates get 100.0001..999.9999 million (4 decimals, so a decimal comma is never read as a thousands
    separator), 'bn' templates 1.000001..9.999999 billion: the two ranges cannot meet.
    """
    match = _NUMBER.search(template)
    comma = "," in match.group(0)
    number = f"{unique / 10_000:.4f}" if scale == "mn" else f"{unique / 1_000_000:.6f}"
    if comma:
        number = number.replace(".", ",")
    return template[: match.start()] + number + template[match.end():]


def generate(n: int, out_dir: Path, raw_dir: Path, seed: int = 20260204) -> Path:
    """Write ``n`` synthetic financing records (and the real membership file) into ``out_dir``; return it."""
    from mineral_analysis.normalize import normalize_agency

    rng = np.random.default_rng(seed)
    header, real = _read_rows(raw_dir / "financing.csv")
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(raw_dir / "membership.csv", out_dir / "membership.csv")

    def pick(values: list, size: int = n) -> list:
        return [values[i] for i in rng.integers(0, len(values), size)]

    items = [r for r in real if r["is_aggregate"] == "false"]
    totals = [r for r in real if r["is_aggregate"] == "true"] or items
    agencies_written = [r["agency"] for r in real]
    agency = pick(agencies_written)
    code_of = {a: normalize_agency(a) for a in set(agencies_written)}
    written_of = {code: written for written, code in sorted(code_of.items())}  # a part keeps its total's agency
    templates = [r["amount_as_written"] for r in items]
    amount_template = pick(templates)
    columns = {
        "title": pick([r["title"] for r in items]),
        "instrument_as_written": pick([r["instrument_as_written"] for r in items]),
        "announced": pick([r["announced"] for r in real]),
        "minerals_as_written": pick([r["minerals_as_written"] for r in real]),
        "note": pick([r["note"] for r in real]),
    }
    places = pick([(r["countries"], r["subnational"]) for r in real])
    mobilized = pick([(r["mobilized_as_written"], r["mobilized_from"]) for r in real])
    sources = pick([(r["source_file"], r["source_paragraph"]) for r in real])
    uniques = iter((rng.permutation(8_999_999) + 1_000_001).tolist())

    # Record ids: per agency code, blocks of 10,000 numbers, each block with its own two-letter suffix.
    counters: dict[str, int] = {}

    def next_id(code: str) -> str:
        count = counters.get(code, 0)
        counters[code] = count + 1
        block, number = divmod(count, 10_000)
        suffix = _LETTERS[block // 26 % 26] + _LETTERS[block % 26]
        return f"{code[:4]}{suffix}-{number:04d}"

    total_rows = [t for t in totals if _scale(t["amount_as_written"]) or t["amount_as_written"]]
    rows: list[list[str]] = []
    i = 0
    while len(rows) < n:
        code = code_of[agency[i % n]]
        if AGGREGATE_EVERY and len(rows) % AGGREGATE_EVERY == 0 and len(rows) + PARTS + 1 <= n:
            # A stated total ("more than" a unique amount in billions) and PARTS items pointing to it.
            total = total_rows[int(rng.integers(0, len(total_rows)))]
            total_id = next_id(code)
            amount = f"более ${next(uniques) / 1_000_000:.6f} млрд"
            rows.append([total_id, agency[i % n], total["title"], amount, total["instrument_as_written"],
                         total["announced"], total["countries"], total["subnational"], "", "", "", "true", "",
                         *sources[i % n], total["note"]])
            for _ in range(PARTS):
                i += 1
                rows.append(_item_row(i % n, next_id(code), agency[i % n] if code_of[agency[i % n]] == code
                                      else written_of[code], amount_template, columns, places, mobilized, sources,
                                      uniques, parent=total_id))
            i += 1
            continue
        rows.append(_item_row(i % n, next_id(code), agency[i % n], amount_template, columns, places, mobilized,
                              sources, uniques))
        i += 1
    with (out_dir / "financing.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return out_dir


def _item_row(k: int, record_id: str, agency: str, amount_template: list[str], columns: dict, places: list,
              mobilized: list, sources: list, uniques, parent: str = "") -> list[str]:
    template = amount_template[k]
    scale = _scale(template)
    if scale:
        amount = _unique_amount(template, scale, next(uniques))
    elif template:  # a number-less template ("более миллиарда долларов") becomes a unique amount in millions
        amount = f"${next(uniques) / 10_000:.4f} млн"
    else:
        amount = ""
    return [record_id, agency, columns["title"][k], amount, columns["instrument_as_written"][k],
            columns["announced"][k], places[k][0], places[k][1], columns["minerals_as_written"][k],
            mobilized[k][0], mobilized[k][1], "false", parent, sources[k][0], sources[k][1], columns["note"][k]]


def measure(raw_dir: Path) -> dict:
    """Clean ``raw_dir`` once in this process; return seconds, rows and this process's peak memory."""
    import resource

    started = time.perf_counter()
    from mineral_analysis.pipeline import load_raw

    imported = time.perf_counter()
    tables = load_raw(raw_dir)
    cleaned = time.perf_counter()
    return {
        "rows": int(len(tables.financing)),
        "membership_rows": int(len(tables.membership)),
        "seconds": cleaned - imported,
        "import_seconds": imported - started,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "counted_usd": float(tables.financing["counted_usd"].sum()),
    }


def profile(raw_dir: Path, out: Path, top: int = 25) -> str:
    """cProfile one cleaning of ``raw_dir``; write the stats to ``out``; return the top functions as text."""
    import cProfile
    import io
    import pstats

    from mineral_analysis.pipeline import load_raw

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

        generate(int(sys.argv[3]), target, config.RAW_DIR)
    else:
        sys.exit(f"unknown command {command!r}; use measure, profile or generate")
