"""Planning a build at scale: the catalogue, the data slices and the fingerprints of 2,000 briefs.

The real vocabulary allows a few hundred briefs per dataset (agencies, every country, every mineral), so the
synthetic dataset that holds 2,000 briefs is a set of releases, as a tracker that keeps many of them has: the
records of ``synthetic.py`` (drawn from the real records' vocabulary, cleaned by the real pipeline), and release
``r`` of ``R`` holds every record but those whose position is ``r`` modulo ``R``, so every release's tables
differ. Planning a release is what a build does before any kernel starts (``publish.build``): the catalogue
(``catalogue.all_briefs``), every brief's data slice (``catalogue.data_slices``) and fingerprint
(``fingerprint.brief_fingerprint`` with the library hash).

    python benchmarks/planning.py RAW_DIR [BRIEFS]            # one JSON line: seconds, briefs, releases, records
    python benchmarks/planning.py RAW_DIR [BRIEFS] --profile  # also the hottest functions (cProfile), on stderr

``python benchmarks/run.py --only planning`` generates the synthetic records (cached in benchmarks/scratch/) and
runs this in its own process: the planning row of the benchmark alone, in seconds.
"""

from __future__ import annotations

import cProfile
import json
import math
import pstats
import sys
import time
from pathlib import Path

TARGET_BRIEFS = 2000


def plan_release(financing, membership, library_hash: str) -> int:
    """Plan one release's build (catalogue, slices, fingerprints); return its number of briefs."""
    from mineral_analysis.briefing import Tables
    from mineral_analysis.publish import fingerprint
    from mineral_analysis.publish.catalogue import all_briefs, data_slices

    tables = Tables(financing, membership)
    briefs = all_briefs(tables=tables)
    slices = data_slices(briefs, tables=tables)
    fingerprints = {b.slug: fingerprint.brief_fingerprint(b, slices[b.slug], library_hash) for b in briefs}
    return len(fingerprints)


def measure(raw_dir: Path, target: int = TARGET_BRIEFS, profile: bool = False) -> dict:
    """Clean ``raw_dir`` (not timed), then time the planning of enough releases to reach ``target`` briefs;
    with ``profile``, under cProfile, the 30 functions with the most own time printed on stderr."""
    from mineral_analysis.clean.pipeline import load_raw
    from mineral_analysis.publish import fingerprint

    clean = load_raw(raw_dir)
    financing, membership = clean.financing, clean.membership
    library_hash = fingerprint.library_fingerprint()
    per_release = plan_release(financing.iloc[1:], membership, library_hash)  # warm-up: imports, first grouping
    releases = math.ceil(target / per_release) + 1
    cuts = [financing.iloc[[i for i in range(len(financing)) if i % releases != r]] for r in range(releases)]
    cuts = [cut.reset_index(drop=True) for cut in cuts]
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    briefs = sum(plan_release(cut, membership, library_hash) for cut in cuts)
    seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    return {
        "seconds": seconds,
        "briefs": briefs,
        "releases": releases,
        "records": len(financing),
        "per_brief_ms": 1000 * seconds / max(1, briefs),
    }


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--profile"]
    target = int(arguments[1]) if len(arguments) > 1 else TARGET_BRIEFS
    print(json.dumps(measure(Path(arguments[0]), target, profile="--profile" in sys.argv)))
