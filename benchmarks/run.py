"""The speed benchmark (``make bench``): the build against the obvious shell loop, rebuilds, cleaning at scale.

One run measures, on this machine, and prints a table (figure, value, target, met):

1. **Baseline**: ``baseline.sh``, the obvious shell loop over the briefs (papermill, then ``jupyter nbconvert --to
   brief_html``, then ``--to brief_pdf``; a new process and a new kernel for every step of every brief).
2. **Full build**: ``mineral-analysis build`` of the same briefs into an empty reports folder, with the peak
   memory of its whole process tree (the build, its workers and their kernels: RSS summed, sampled every 0.2 s).
3. **No-op rebuild**: the same command again, nothing changed.
4. **Small change**: one raw financing record's title edited (the first edit since the release the raw data
   equal: each brief prints its own records' version, so only the briefs showing that record change),
   ``mineral-analysis data``, then the build again;
   how many briefs it rebuilt, and whether every HTML and PDF equals a full build of the edited data from an
   empty folder (HTML compared byte for byte once the build time is masked, PDF page by page on the text).
5. **Cleaning at scale**: ``mineral_analysis.clean.pipeline.load_raw`` on synthetic raw data of 10 thousand,
   100 thousand and 1 million records (``synthetic.py``), each size in its own process: seconds, rows per
   second, peak memory.
6. The largest HTML and PDF brief.
7. **Fair peers and new users**: the same shell loop run ``os.cpu_count()`` briefs at a time (``xargs -P``;
   ``parallel_loop_ratio`` = full build / parallel loop); ``mineral-analysis preview`` on the scratch data, one
   title edited, the time from saving it to the rebuild on disk (``preview_edit_s``, ``preview_edit_ratio`` of
   the full build); planning (catalogue, slices, fingerprints) 2,000 synthetic briefs (``planning.py``,
   ``plan_2000_s``).

Everything happens in ``benchmarks/scratch/`` (git-ignored): a copy of ``data/raw``, its processed tables, the
reports of each step. The real ``data/`` and ``reports/`` are never touched. By default the library is measured
from a snapshot of ``src/mineral_analysis`` copied there at the start (through ``PYTHONPATH`` and
``MINERAL_ANALYSIS_ROOT``), so an edit of ``src/`` during the run cannot change the build's code fingerprint
between steps; ``--live`` measures the checkout itself.

The figures go to ``benchmarks/scratch/latest.json`` (git-ignored: a run never dirties the tree; copy it
where a scheduled job tracks it); the details of the run (every step's
counts, load averages, the compared files) to ``benchmarks/scratch/details.json``. The exit status is 0 even when a
target is missed (this is a measurement), 1 only when a step could not run. Every row is printed, met or not
(a row not measured says so), except with ``--only``, which prints the rows of its step.

    python benchmarks/run.py                 # the full run: every brief, 10k/100k/1M records (20-30 minutes)
    python benchmarks/run.py --quick         # 6 briefs, 10k/100k records (3-4 minutes)
    python benchmarks/run.py --briefs 12 --sizes 10000,100000 --skip-baseline
    python benchmarks/run.py --only planning # one row alone: planning (seconds), preview or cleaning
    python benchmarks/run.py --only small-change  # a full build and the first edit since the release (no check)
    python benchmarks/run.py --only parallel-loop --briefs 25  # full build / the shell loop at the core count

A step whose row stands alone (the parallel loop, the preview, the planning) that fails is reported under the
table; the other rows are still measured and printed, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from mineral_analysis import config  # the runner's own paths; the measured steps use the snapshot (see above)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "scratch"
BIN = Path(sys.executable).parent  # the environment's scripts: mineral-analysis, papermill, jupyter
LATEST = WORK / "latest.json"
DETAILS = WORK / "details.json"

SIZES = (10_000, 100_000, 1_000_000)
QUICK_BRIEFS = ["overview", "agency:DOE", "agency:EXIM", "country:USA", "country:KOR", "mineral:copper"]
EDITED_RECORD = "DOE-03"  # the record whose title the small-change step edits (any record works)
MIB = 1024 * 1024
TARGETS = {
    "full_build_ratio": 0.25,  # of the baseline's wall time
    "noop_rebuild_s": 1.0,
    "small_change_ratio": 0.10,  # of the full build's wall time
    "clean_1m_s": 10.0,
    "clean_scaling_ratio": 12.0,  # 1M / 100k seconds
    "peak_mem_mb": 2048.0,
    "max_html_mb": 1.5,
    "max_pdf_mb": 2.0,
    "parallel_loop_ratio": 0.25,  # full build / the shell loop run at the core count
    "preview_edit_ratio": 0.08,  # preview's edit-to-disk time / the full build's wall time
    "plan_2000_s": 5.0,
}
ALONE = ("planning", "preview", "cleaning", "small-change", "parallel-loop")  # steps ``--only`` runs alone
PLAN_RECORDS = 10_000  # synthetic records per release in the planning step
SUMMARY = re.compile(r"built (\d+), skipped (\d+) \(up to date\), failed (\d+) of (\d+) briefs in ([\d.]+) s")
# What legitimately differs between two builds of the same data: the build time, in ISO form and as shown.
BUILD_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[+-]\d{2}:\d{2}|Z)?|\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
DATA_VERSION = re.compile(r"(Data version )[0-9a-f]{6,64}")
# A stream output (stdout/stderr) in a brief: the notebooks print nothing, so any is a stray kernel message, such
# as IPython's "ERROR! Session/line number was not unique in database. History logging moved to new session N".
STRAY_STREAM = re.compile(
    r'<section class="cell cell-output">\s*<div class="output output-stream">.*?</section>\s*', re.DOTALL
)
STRAY_PDF = re.compile(
    r"ERROR!\s+Session/line\s+number\s+was\s+not\s+unique\s+in\s+database\.\s+History\s+"
    r"logging\s+moved\s+to\s+new\s+session\s+\d+\s*"
)
BRIEF_SECONDS = re.compile(
    r"^(?:\S+Z)?\s*built (.+?) \(([\d.]+) s\)$", re.MULTILINE
)  # lines may start with a timestamp


# --- Helpers -------------------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class TreeMemory(threading.Thread):
    """Sample the summed memory of a process and all its descendants every ``interval`` seconds; keep the peak."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = 0
        self.peak_processes = 0
        self._halt = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._halt.is_set():
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            rss = pss = 0
            for process in processes:
                try:
                    rss += process.memory_info().rss
                    pss += getattr(process.memory_full_info(), "pss", 0)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_processes = max(self.peak_processes, len(processes))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def run(
    command: list[str], env: dict, *, log_file: Path | None = None, sample_memory: bool = False, check: bool = True
) -> dict:
    """Run ``command``; return its wall time, output and (optionally) the peak memory of its process tree."""
    started = time.perf_counter()
    with open(log_file, "ab") if log_file else open(os.devnull, "wb") as errors:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors)
        sampler = TreeMemory(process.pid) if sample_memory else None
        if sampler:
            sampler.start()
        stdout, _ = process.communicate()
        seconds = time.perf_counter() - started
        if sampler:
            sampler.stop()
    text = stdout.decode("utf-8", "replace")
    if log_file:
        with open(log_file, "a", encoding="utf-8") as handle:
            handle.write(text)
    if check and process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, command[:3]))} ... exited {process.returncode}:\n{text[-2000:]}"
            + (f"\n(see {log_file.relative_to(ROOT)})" if log_file else "")
        )
    result = {"seconds": seconds, "returncode": process.returncode, "stdout": text}
    if sampler:
        result |= {
            "peak_rss_mb": sampler.peak_rss / MIB,
            "peak_pss_mb": sampler.peak_pss / MIB,
            "peak_processes": sampler.peak_processes,
        }
    return result


def build_summary(stdout: str) -> dict:
    match = SUMMARY.search(stdout)
    if not match:
        raise RuntimeError(f"no build summary in the output:\n{stdout[-1000:]}")
    built, skipped, failed, total, seconds = match.groups()
    return {
        "built": int(built),
        "skipped": int(skipped),
        "failed": int(failed),
        "total": int(total),
        "reported_s": float(seconds),
    }


# --- Set-up --------------------------------------------------------------------------------------------------------


def environment(live: bool) -> dict:
    """The environment every step runs in: the Makefile's settings, and the library snapshot unless ``live``."""
    env = dict(os.environ, MPLBACKEND="Agg", PYDEVD_DISABLE_FILE_VALIDATION="1")
    # One build time for every step, so that compared outputs differ only where the briefs do (a build crossing
    # a minute once printed another time in three PDFs, wrapped where the mask did not reach).
    env.setdefault("SOURCE_DATE_EPOCH", "1767225600")
    if not live:
        snapshot = WORK / "src"
        shutil.rmtree(snapshot, ignore_errors=True)
        shutil.copytree(
            config.PACKAGE_DIR, snapshot / "mineral_analysis", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(snapshot), env.get("PYTHONPATH", "")]))
        env["MINERAL_ANALYSIS_ROOT"] = str(ROOT)
    return env


def prepare(env: dict) -> dict:
    """Copy the raw data into the work folder and build its processed tables there."""
    raw, processed = WORK / "raw", WORK / "processed"
    for folder in (raw, processed):
        shutil.rmtree(folder, ignore_errors=True)
    raw.mkdir(parents=True)
    for source in sorted(config.RAW_DIR.glob("*.csv")):  # financing, membership and the sources registry
        shutil.copyfile(source, raw / source.name)
    clean_data(env, raw, processed)
    return {"raw": raw, "processed": processed}


def clean_data(env: dict, raw: Path, processed: Path) -> dict:
    """``mineral-analysis data`` from ``raw`` into ``processed``; its wall time and output."""
    return run([str(BIN / "mineral-analysis"), "data", "--raw-dir", str(raw), "--processed-dir", str(processed)], env)


CATALOGUE = """
import json, sys
from pathlib import Path
from mineral_analysis.publish.catalogue import all_briefs
print(json.dumps([{"spec": b.spec, "slug": b.slug, "title": b.title, "notebook": b.notebook.name,
                   "parameters": b.parameters} for b in all_briefs(Path(sys.argv[1]))]))
"""


def brief_rows(env: dict, processed: Path, args: argparse.Namespace) -> list[dict]:
    """Every brief ``mineral-analysis list`` names (read through the same ``all_briefs``: the command's text
    output pads specs to 24 characters, and a spec may hold spaces, ``mineral:rare earths``), limited by
    --quick or --briefs; with the slug, notebook and parameter of each."""
    out = run([sys.executable, "-c", CATALOGUE, str(processed)], env)["stdout"]
    rows = json.loads(out.strip().splitlines()[-1])
    if args.quick:
        rows = [r for r in rows if r["spec"] in QUICK_BRIEFS]
    if args.briefs:
        rows = rows[: args.briefs]
    for r in rows:
        ((name, value),) = r["parameters"].items() if r["parameters"] else (("-", "-"),)
        r["parameter"], r["value"] = name, value
    return rows


def only_args(rows: list[dict], everything: bool) -> list[str]:
    return [] if everything else [arg for r in rows for arg in ("--only", r["spec"])]


# --- Steps ---------------------------------------------------------------------------------------------------------


def step_baseline(env: dict, rows: list[dict], processed: Path, jobs: int = 1) -> dict:
    out = WORK / ("baseline" if jobs == 1 else "parallel-loop")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    tsv = out / "briefs.tsv"
    tsv.write_text(
        "".join(f"{r['slug']}\t{r['notebook']}\t{r['parameter']}\t{r['value']}\n" for r in rows), encoding="utf-8"
    )
    how = "one by one" if jobs == 1 else f"{jobs} at a time (xargs -P)"
    log(f"{out.name}: {len(rows)} briefs through papermill + nbconvert (html) + nbconvert (pdf), {how}")
    result = run(
        [
            "bash",
            str(HERE / "baseline.sh"),
            str(tsv),
            str(out),
            str(processed),
            str(config.NOTEBOOKS_DIR),
            str(BIN),
            str(jobs),
        ],
        env,
        log_file=WORK / f"{out.name}.log",
        check=False,
    )
    complete = sum((out / f"{r['slug']}.html").exists() and (out / f"{r['slug']}.pdf").exists() for r in rows)
    return {
        "seconds": result["seconds"],
        "briefs": len(rows),
        "complete": complete,
        "jobs": jobs,
        "per_brief_s": result["seconds"] / max(1, len(rows)),
        "returncode": result["returncode"],
    }


def step_preview(env: dict, data: dict, only: list[str]) -> dict:
    """``mineral-analysis preview`` on the scratch data: started (not timed), then one raw title edited; the
    time from saving the edit to the rebuild's summary line (every affected brief on disk), and to the edited
    record's agency brief changing on disk."""
    reports = WORK / "preview"
    shutil.rmtree(reports, ignore_errors=True)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        str(BIN / "mineral-analysis"),
        "preview",
        "--port",
        str(port),
        "--raw-dir",
        str(data["raw"]),
        "--processed-dir",
        str(data["processed"]),
        "--reports-dir",
        str(reports),
        *only,
    ]
    lines: list[str] = []
    process = subprocess.Popen(
        command,
        env=dict(env, MINERAL_ANALYSIS_LOG="plain"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()

    def wait_for(condition, what: str, limit: float = 900.0) -> float:
        started = time.perf_counter()
        while not condition():
            if process.poll() is not None:
                raise RuntimeError(
                    f"the preview exited ({process.returncode}) waiting for {what}:\n" + "".join(lines[-20:])
                )
            if time.perf_counter() - started > limit:
                raise RuntimeError(f"no {what} after {limit:.0f} s:\n" + "".join(lines[-20:]))
            time.sleep(0.05)
        return time.perf_counter() - started

    try:
        startup = wait_for(lambda: any("preview: serving" in line for line in lines), "preview start-up")
        log(f"preview: serving after {startup:.1f} s; editing one title")
        agency = reports / "agency-doe.html"
        before = agency.read_bytes() if agency.exists() else b""
        summaries = sum("preview: built" in line for line in lines)
        edit = edit_record(data["raw"] / config.RAW_FINANCING, EDITED_RECORD)
        saved = time.perf_counter()
        brief_s = None

        def rebuilt() -> bool:
            nonlocal brief_s
            if brief_s is None and agency.exists() and agency.read_bytes() != before:
                brief_s = time.perf_counter() - saved
            return sum("preview: built" in line for line in lines) > summaries

        wait_for(rebuilt, "rebuild after the edit")
        rebuild_s = time.perf_counter() - saved
        summary = next(line for line in reversed(lines) if "preview: built" in line).strip()
    finally:
        process.send_signal(2)  # SIGINT, as Ctrl-C
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
    log(f"preview: edit on disk in {rebuild_s:.1f} s ({summary})")
    return {
        "startup_s": startup,
        "edit": edit,
        "edit_s": rebuild_s,
        "agency_brief_s": brief_s,
        "summary": summary,
        "exit_code": process.returncode,
    }


def step_planning(env: dict) -> dict:
    """Catalogue, slices and fingerprints of 2,000 synthetic briefs (``planning.py``), in its own process."""
    folder, _ = synthetic_records(env, PLAN_RECORDS, WORK / "synthetic" / f"planning-{PLAN_RECORDS}", "planning")
    log("planning: catalogue, slices and fingerprints of 2,000 briefs")
    measured = run([sys.executable, str(HERE / "planning.py"), str(folder)], env, log_file=WORK / "planning.log")
    result = json.loads(measured["stdout"].strip().splitlines()[-1])
    log(f"planning: {result['briefs']} briefs in {result['seconds']:.2f} s")
    return result


def build(
    env: dict, processed: Path, reports: Path, only: list[str], *, memory: bool = False, name: str = "build"
) -> dict:
    command = [
        str(BIN / "mineral-analysis"),
        "build",
        "--processed-dir",
        str(processed),
        "--reports-dir",
        str(reports),
        "--no-progress",
        *only,
    ]
    result = run(command, env, log_file=WORK / f"{name}.log", sample_memory=memory, check=False)
    summary = build_summary(result["stdout"])
    return {k: v for k, v in result.items() if k != "stdout"} | summary


def outputs(reports: Path, rows: list[dict]) -> dict:
    complete = sum((reports / f"{r['slug']}.html").exists() and (reports / f"{r['slug']}.pdf").exists() for r in rows)
    sizes = {}
    for ext in ("html", "pdf"):
        files = [reports / f"{r['slug']}.{ext}" for r in rows]
        sizes[ext] = max(((f.stat().st_size, f.name) for f in files if f.exists()), default=(0, ""))
    return {
        "complete": complete,
        "max_html_mb": sizes["html"][0] / MIB,
        "max_html": sizes["html"][1],
        "max_pdf_mb": sizes["pdf"][0] / MIB,
        "max_pdf": sizes["pdf"][1],
    }


def edit_record(path: Path, record_id: str) -> dict:
    """Change the title of one raw financing record (", edited" added: an amount must stay the source's own words,
    which the cleaning checks); return what changed."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    title = next(csv.reader([lines[0]])).index("title")
    index = next((i for i, line in enumerate(lines[1:], 1) if line.startswith(f"{record_id},")), 1)  # else the first
    row = next(csv.reader([lines[index]]))
    before = row[title]
    row[title] = f"{before}, edited"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    lines[index] = buffer.getvalue()
    path.write_text("".join(lines), encoding="utf-8")
    return {"record_id": row[0], "before": before, "after": row[title]}


def html_text(path: Path, mask_version: bool = False, drop_stray: bool = False) -> str:
    text = BUILD_TIME.sub("<build time>", path.read_text(encoding="utf-8"))
    if drop_stray:
        text = STRAY_STREAM.sub("", text)
    return DATA_VERSION.sub(r"\1<version>", text) if mask_version else text


def pdf_text(path: Path, drop_stray: bool = False) -> list[str]:
    from pypdf import PdfReader

    pages = [BUILD_TIME.sub("<build time>", page.extract_text() or "") for page in PdfReader(str(path)).pages]
    return [STRAY_PDF.sub("", page) for page in pages] if drop_stray else pages


def stray_streams(reports: Path, rows: list[dict]) -> list[str]:
    """Briefs whose HTML shows a stream output (a stray kernel message: the notebooks print nothing)."""
    return [
        r["spec"]
        for r in rows
        if (reports / f"{r['slug']}.html").exists()
        and STRAY_STREAM.search((reports / f"{r['slug']}.html").read_text(encoding="utf-8"))
    ]


def compare(left: Path, right: Path, rows: list[dict]) -> dict:
    """Briefs whose HTML (build time masked) or PDF text (per page, build time masked) differ; and the same
    once stray kernel messages are removed from both."""
    result = {}
    for label, drop in (("", False), ("_without_stray", True)):
        html_diff, pdf_diff = [], []
        for r in rows:
            a, b = left / f"{r['slug']}.html", right / f"{r['slug']}.html"
            if not (a.exists() and b.exists()) or html_text(a, drop_stray=drop) != html_text(b, drop_stray=drop):
                html_diff.append(r["spec"])
            a, b = left / f"{r['slug']}.pdf", right / f"{r['slug']}.pdf"
            if not (a.exists() and b.exists()) or pdf_text(a, drop) != pdf_text(b, drop):
                pdf_diff.append(r["spec"])
        result |= {
            f"identical{label}": not html_diff and not pdf_diff,
            f"html_differ{label}": html_diff,
            f"pdf_differ{label}": pdf_diff,
        }
    return result


def changed_content(before: Path, after: Path, rows: list[dict]) -> list[str]:
    """Briefs whose HTML content changed with the edit (build time, data version and stray kernel messages
    masked): the least an incremental build has to rebuild."""
    return [
        r["spec"]
        for r in rows
        if not (before / f"{r['slug']}.html").exists()
        or html_text(before / f"{r['slug']}.html", True, True) != html_text(after / f"{r['slug']}.html", True, True)
    ]


def brief_seconds(log_file: Path) -> dict[str, float]:
    """Each brief's own build time (worker seconds), from the build's ``--no-progress`` log."""
    text = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
    return {spec: float(seconds) for spec, seconds in BRIEF_SECONDS.findall(text)}


def step_small_change(
    env: dict, data: dict, reports: Path, only: list[str], rows: list[dict], check: bool = True
) -> dict:
    """The first edit since the release: one amount edited, ``data``, the build again; with ``check``, a full
    build of the edited data from an empty folder to compare every brief with."""
    before = WORK / "reports-before-edit"
    shutil.rmtree(before, ignore_errors=True)
    shutil.copytree(reports, before, ignore=shutil.ignore_patterns("*.ipynb", "*.pdf", ".*"))
    edit = edit_record(data["raw"] / config.RAW_FINANCING, EDITED_RECORD)
    log(f"small change: {edit['record_id']} title {edit['before']!r} -> {edit['after']!r}")
    refresh = clean_data(env, data["raw"], data["processed"])
    incremental = build(env, data["processed"], reports, only, name="small-change")
    log(
        f"small change: rebuilt {incremental['built']}, skipped {incremental['skipped']} in "
        f"{incremental['seconds']:.1f} s"
        + ("; now a full build of the edited data from an empty folder to compare" if check else "")
    )
    rebuilt = set(brief_seconds(WORK / "small-change.log"))
    if not check:
        return {"edit": edit, "data_step_s": refresh["seconds"], "build": incremental, "rebuilt": sorted(rebuilt)}
    check_folder = WORK / "reports-check"
    shutil.rmtree(check_folder, ignore_errors=True)
    clean = build(env, data["processed"], check_folder, only, name="small-change-check")
    comparison = compare(reports, check_folder, rows)
    needed = changed_content(before, check_folder, rows)
    per_brief = brief_seconds(WORK / "full-build.log")
    return {
        "edit": edit,
        "data_step_s": refresh["seconds"],
        "build": incremental,
        "check_build": clean,
        "comparison": comparison,
        "content_changed": needed,
        "changed_but_not_rebuilt": [spec for spec in needed if spec not in rebuilt],
        "content_changed_worker_s": sum(per_brief.get(spec, 0.0) for spec in needed),
        "stray_streams_check_build": stray_streams(check_folder, rows),
    }


def synthetic_records(env: dict, n: int, folder: Path, step: str) -> tuple[Path, dict]:
    """``n`` synthetic raw records in ``folder`` (``synthetic.py``), generated again only when the generator or
    the real records changed; return the folder and what the generator reported."""
    stamp = folder / "generated.json"
    source = (HERE / "synthetic.py").read_bytes() + config.raw_path(config.RAW_FINANCING).read_bytes()
    signature = hashlib.sha256(source).hexdigest()[:16]
    info = json.loads(stamp.read_text()) if stamp.exists() else {}
    if info.get("signature") != signature:
        log(f"{step}: generating {n:,} synthetic records")
        shutil.rmtree(folder, ignore_errors=True)
        generated = run([sys.executable, str(HERE / "synthetic.py"), "generate", str(folder), str(n)], env)
        info = json.loads(generated["stdout"].strip().splitlines()[-1]) | {
            "signature": signature,
            "generate_s": generated["seconds"],
        }
        stamp.write_text(json.dumps(info))
    return folder, info


def step_cleaning(env: dict, sizes: list[int], profile: bool) -> dict:
    results = {}
    for n in sizes:
        folder, info = synthetic_records(env, n, WORK / "synthetic" / str(n), "cleaning")
        log(f"cleaning: {n:,} records")
        measured = run(
            [sys.executable, str(HERE / "synthetic.py"), "measure", str(folder)], env, log_file=WORK / "cleaning.log"
        )
        result = json.loads(measured["stdout"].strip().splitlines()[-1])
        result["rows_per_s"] = result["rows"] / result["seconds"]
        result["generated"] = info
        results[str(n)] = result
        log(
            f"cleaning: {n:,} records in {result['seconds']:.2f} s ({result['rows_per_s']:,.0f} rows/s), "
            f"peak {result['peak_mb']:,.0f} MiB"
        )
    if profile and sizes:
        largest = max(sizes)
        log(f"cleaning: profiling {largest:,} records")
        profiled = run(
            [
                sys.executable,
                str(HERE / "synthetic.py"),
                "profile",
                str(WORK / "synthetic" / str(largest)),
                str(WORK / f"profile-clean-{largest}.prof"),
            ],
            env,
        )
        (WORK / f"profile-clean-{largest}.txt").write_text(profiled["stdout"], encoding="utf-8")
        results["profile"] = f"benchmarks/scratch/profile-clean-{largest}.txt"
    return results


# --- Report --------------------------------------------------------------------------------------------------------


def ratio(a, b):
    return a / b if a is not None and b else None


def figures(details: dict, n_briefs: int) -> dict:
    full, noop, small = details.get("full_build", {}), details.get("noop", {}), details.get("small_change", {})
    cleaning = details.get("cleaning", {})
    baseline_s = details.get("baseline", {}).get("seconds")
    small_s = small.get("build", {}).get("seconds")
    per_size = {str(n): cleaning[str(n)]["rows_per_s"] if str(n) in cleaning else None for n in SIZES}
    t100k = cleaning.get("100000", {}).get("seconds")
    t1m = cleaning.get("1000000", {}).get("seconds")
    return {
        "baseline_s": baseline_s,
        "full_build_s": full.get("seconds"),
        "full_build_ratio": ratio(full.get("seconds"), baseline_s),
        "noop_rebuild_s": noop.get("seconds"),
        "small_change_s": small_s,
        "small_change_ratio": ratio(small_s, full.get("seconds")),
        "clean_rows_per_s": per_size,
        "clean_1m_s": t1m,
        "clean_scaling_ratio": ratio(t1m, t100k),
        "peak_mem_mb": full.get("peak_rss_mb"),
        "max_html_mb": details.get("outputs", {}).get("max_html_mb"),
        "max_pdf_mb": details.get("outputs", {}).get("max_pdf_mb"),
        "briefs": n_briefs,
        "parallel_loop_s": details.get("parallel_loop", {}).get("seconds"),
        "parallel_loop_ratio": ratio(full.get("seconds"), details.get("parallel_loop", {}).get("seconds")),
        "preview_edit_s": details.get("preview", {}).get("edit_s"),
        "preview_edit_ratio": ratio(details.get("preview", {}).get("edit_s"), full.get("seconds")),
        "plan_2000_s": details.get("planning", {}).get("seconds"),
    }


def rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def table(fig: dict, details: dict, measured_only: bool = False) -> tuple[str, list[str]]:
    """The printed table and the list of missed targets; ``measured_only`` leaves out the rows not measured
    (a step run alone), else every row is printed, met or not."""
    rows, gaps = [], []

    def fmt(value, unit="", digits=2):
        if value is None:
            return "not measured"
        return f"{value:,.{digits}f}{unit}"

    def add(label, value, target="", met=None):
        mark = "" if met is None else ("yes" if met else "NO")
        rows.append((label, value, target, mark))
        if met is False:
            gaps.append(f"{label}: {value} (target {target})")

    def under(key, value):
        return None if value is None else value <= TARGETS[key]

    base, full = details.get("baseline", {}), details.get("full_build", {})
    n = fig["briefs"]
    add(
        f"Baseline: shell loop, {base.get('briefs', n)} briefs",
        fmt(fig["baseline_s"], " s", 1),
        f"({fmt(base.get('per_brief_s'), ' s/brief', 1)}, {base.get('complete', '-')} complete)",
    )
    parallel = details.get("parallel_loop", {})
    add(
        f"Parallel shell loop, {parallel.get('jobs', '-')} at a time",
        fmt(fig["parallel_loop_s"], " s", 1),
        f"({parallel.get('complete', '-')} complete)",
    )
    add(
        "Full build (clean reports/)",
        fmt(fig["full_build_s"], " s", 1),
        f"({full.get('built', '-')} built, {full.get('failed', '-')} failed)",
    )
    add(
        "  full build / baseline",
        fmt(fig["full_build_ratio"], "", 3),
        "<= 0.25",
        under("full_build_ratio", fig["full_build_ratio"]),
    )
    add(
        "  full build / parallel shell loop (parallel_loop_ratio)",
        fmt(fig["parallel_loop_ratio"], "", 3),
        "<= 0.25",
        under("parallel_loop_ratio", fig["parallel_loop_ratio"]),
    )
    complete = details.get("outputs", {}).get("complete")
    add(
        "  briefs with HTML and PDF",
        f"{complete if complete is not None else '-'} of {n}",
        f"all {n}",
        None if complete is None else complete == n and full.get("failed") == 0,
    )
    stray = details.get("outputs", {}).get("stray_streams")
    if stray is not None:
        add("  briefs showing a stray kernel message", f"{len(stray)} of {n}", "0", not stray)
    noop = details.get("noop", {})
    add(
        "No-op rebuild (noop_rebuild_s)",
        fmt(fig["noop_rebuild_s"], " s"),
        "< 1 s",
        None if fig["noop_rebuild_s"] is None else fig["noop_rebuild_s"] < TARGETS["noop_rebuild_s"],
    )
    if noop:
        add("  briefs rebuilt by the no-op", str(noop.get("built")), "0", noop.get("built") == 0)
    small = details.get("small_change", {})
    if small:
        b = small["build"]
        add(
            f"Small change ({small['edit']['record_id']} title edited)",
            fmt(fig["small_change_s"], " s", 1),
            f"({b['built']} rebuilt, {b['skipped']} skipped; data step {small['data_step_s']:.1f} s)",
        )
        add(
            "  small change / full build",
            fmt(fig["small_change_ratio"], "", 3),
            "<= 0.10",
            under("small_change_ratio", fig["small_change_ratio"]),
        )
    if small and "comparison" in small:  # not with --only small-change, which builds no copy to compare with
        add(
            "  briefs whose content changed",
            f"{len(small['content_changed'])} of {n}",
            f"(the least a rebuild must redo: {small['content_changed_worker_s']:.1f} worker-s in the full build)",
        )
        missed = small["changed_but_not_rebuilt"]
        add(
            "  changed briefs left stale",
            f"{len(missed)}" + (f" ({', '.join(missed)})" if missed else ""),
            "0",
            not missed,
        )
        comparison = small["comparison"]
        add(
            "  identical to a full build of the edited data",
            "yes"
            if comparison["identical"]
            else f"no ({len(set(comparison['html_differ'] + comparison['pdf_differ']))} briefs differ)",
            "identical",
            comparison["identical"],
        )
        if not comparison["identical"]:
            add(
                "  identical once stray kernel messages are removed",
                "yes" if comparison["identical_without_stray"] else "no",
                "",
                None,
            )
    preview = details.get("preview", {})
    add(
        "Preview: raw edit saved -> rebuilt briefs on disk (preview_edit_s)",
        fmt(fig["preview_edit_s"], " s", 1),
        f"({preview.get('summary', 'failed' if 'error' in preview else 'not run').split('preview: ')[-1].split(' in ')[0]}; first brief "
        f"{fmt(preview.get('agency_brief_s'), ' s', 1)}; start-up {fmt(preview.get('startup_s'), ' s', 1)})",
    )
    add(
        "  preview edit / full build (preview_edit_ratio)",
        fmt(fig["preview_edit_ratio"], "", 3),
        "<= 0.08",
        under("preview_edit_ratio", fig["preview_edit_ratio"]),
    )
    planning = details.get("planning", {})
    add(
        f"Planning {planning.get('briefs', 2000):,} synthetic briefs (plan_2000_s)",
        fmt(fig["plan_2000_s"], " s"),
        "< 5 s",
        None if fig["plan_2000_s"] is None else fig["plan_2000_s"] < TARGETS["plan_2000_s"],
    )
    if "per_brief_ms" in planning:
        add(
            "  (catalogue, slices, fingerprints)",
            f"{planning['per_brief_ms']:.1f} ms/brief",
            f"({planning['releases']} releases of {planning['records']:,} records)",
        )
    cleaning = details.get("cleaning", {})
    for size in SIZES:
        c = cleaning.get(str(size))
        if c:
            add(
                f"Cleaning {size:,} records",
                f"{c['seconds']:.2f} s, {c['rows_per_s']:,.0f} rows/s",
                f"peak {c['peak_mb']:,.0f} MiB",
            )
    add(
        "  cleaning 1M records",
        fmt(fig["clean_1m_s"], " s"),
        "< 10 s",
        None if fig["clean_1m_s"] is None else fig["clean_1m_s"] < TARGETS["clean_1m_s"],
    )
    add(
        "  1M / 100k time ratio",
        fmt(fig["clean_scaling_ratio"], "", 2),
        "<= 12",
        under("clean_scaling_ratio", fig["clean_scaling_ratio"]),
    )
    add(
        "Full build peak memory (process tree, RSS)",
        fmt(fig["peak_mem_mb"], " MiB", 0),
        "< 2048 MiB",
        None if fig["peak_mem_mb"] is None else fig["peak_mem_mb"] < TARGETS["peak_mem_mb"],
    )
    out = details.get("outputs", {})
    add(
        "Largest HTML brief",
        fmt(fig["max_html_mb"], " MiB") + (f" ({out.get('max_html')})" if out else ""),
        "<= 1.5 MiB",
        under("max_html_mb", fig["max_html_mb"]),
    )
    add(
        "Largest PDF brief",
        fmt(fig["max_pdf_mb"], " MiB") + (f" ({out.get('max_pdf')})" if out else ""),
        "<= 2 MiB",
        under("max_pdf_mb", fig["max_pdf_mb"]),
    )
    if measured_only:
        rows = [r for r in rows if r[1] != "not measured" and not str(r[1]).startswith(("-", "None"))]
    widths = [max(len(str(r[i])) for r in rows + [("figure", "value", "target", "met")]) for i in range(4)]
    lines = [
        " | ".join(str(c).ljust(w) for c, w in zip(("figure", "value", "target", "met"), widths)),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines), gaps


# --- Main ----------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{len(QUICK_BRIEFS)} briefs and 10k/100k records instead of everything"
    )
    parser.add_argument("--briefs", type=int, default=None, help="only the first N briefs of `mineral-analysis list`")
    parser.add_argument(
        "--sizes",
        default=None,
        help="comma-separated record counts for the cleaning step (default 10000,100000,1000000; "
        "empty: no cleaning step)",
    )
    parser.add_argument("--skip-baseline", action="store_true", help="skip the shell loop (no ratio to it)")
    parser.add_argument("--skip-build", action="store_true", help="skip steps 2-4 and 6 (cleaning only)")
    parser.add_argument("--profile", action="store_true", help="also profile the largest cleaning (cProfile)")
    parser.add_argument(
        "--live", action="store_true", help="measure src/ as it is during the run, not a snapshot taken at the start"
    )
    parser.add_argument(
        "--only",
        choices=ALONE,
        default=None,
        help="run one row's step alone: planning (2,000 synthetic briefs, seconds), preview (the scratch data, "
        "every brief unless --quick/--briefs), cleaning (--sizes), small-change (a full build, then the first edit "
        "since the release and the build again, without the from-scratch build that checks its bytes), parallel-loop "
        "(the shell loop at the core count and the full build it is compared with; --briefs N for a sample); figures "
        "go to benchmarks/scratch/latest-STEP.json",
    )
    parser.add_argument("--output", type=Path, default=None, help="where to write the figures (JSON)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = (
        [int(s) for s in args.sizes.split(",") if s.strip()]
        if args.sizes is not None
        else list(SIZES[:2] if args.quick else SIZES)
    )
    WORK.mkdir(parents=True, exist_ok=True)
    for stale in WORK.glob("*.log"):
        stale.unlink()
    started = time.perf_counter()
    env = environment(args.live)
    details: dict = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "snapshot": not args.live,
        "load_at_start": load(),
    }
    failed: list[str] = []

    def attempt(key: str, step) -> None:
        """Run a step whose row stands alone (its failure leaves the other rows measured and the table printed)."""
        details[f"load_before_{key}"] = load()
        try:
            details[key] = step()
        except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as exc:
            log(f"{key}: step failed: {exc}")
            details[key] = {"error": str(exc)}
            failed.append(key)

    n_briefs = 0
    try:
        if args.only == "planning":
            attempt("planning", lambda: step_planning(env))
        elif args.only == "cleaning":
            attempt("cleaning", lambda: step_cleaning(env, sizes, args.profile))
        elif args.only in ("preview", "small-change", "parallel-loop") or not args.skip_build:
            log("preparing benchmarks/scratch/: raw copy, processed tables, brief list")
            data = prepare(env)
            rows = brief_rows(env, data["processed"], args)
            everything = not (args.quick or args.briefs)
            only = only_args(rows, everything)
            n_briefs = len(rows)
            details["briefs"] = [r["spec"] for r in rows]
        if args.only == "preview":  # the data are the release's: the timed edit is the first since it
            attempt("preview", lambda: step_preview(env, data, only))
        elif args.only == "parallel-loop":  # the shell loop at the core count, then the full build it is compared with
            attempt("parallel_loop", lambda: step_baseline(env, rows, data["processed"], jobs=os.cpu_count() or 1))
            reports = WORK / "reports"
            shutil.rmtree(reports, ignore_errors=True)
            log(f"full build: {n_briefs} briefs into an empty benchmarks/scratch/reports/")
            details["full_build"] = build(env, data["processed"], reports, only, name="full-build")
            log(f"full build: {details['full_build']['seconds']:.1f} s")
        elif args.only == "small-change":  # the full build, then the first edit since the release (no check build)
            reports = WORK / "reports"
            shutil.rmtree(reports, ignore_errors=True)
            log(f"full build: {n_briefs} briefs into an empty benchmarks/scratch/reports/")
            details["full_build"] = build(env, data["processed"], reports, only, name="full-build")
            log(f"full build: {details['full_build']['seconds']:.1f} s")
            details["small_change"] = step_small_change(env, data, reports, only, rows, check=False)
        elif args.only is None and not args.skip_build:
            log("warm-up: one brief, to check the set-up and fill the disk cache")
            warm = build(
                env,
                data["processed"],
                WORK / "warmup",
                ["--only", rows[0]["spec"], "--formats", "html", "--force"],
                name="warmup",
            )
            if warm["failed"]:
                raise RuntimeError("the warm-up brief failed; see benchmarks/scratch/warmup.log")

            if not args.skip_baseline:
                details["load_before_baseline"] = load()
                details["baseline"] = step_baseline(env, rows, data["processed"])
                log(f"baseline: {details['baseline']['seconds']:.1f} s")
                attempt("parallel_loop", lambda: step_baseline(env, rows, data["processed"], jobs=os.cpu_count() or 1))
                if "seconds" in details["parallel_loop"]:
                    log(f"parallel loop: {details['parallel_loop']['seconds']:.1f} s")

            reports = WORK / "reports"
            shutil.rmtree(reports, ignore_errors=True)
            details["load_before_full_build"] = load()
            log(f"full build: {n_briefs} briefs into an empty benchmarks/scratch/reports/")
            details["full_build"] = build(env, data["processed"], reports, only, memory=True, name="full-build")
            details["outputs"] = outputs(reports, rows) | {"stray_streams": stray_streams(reports, rows)}
            full = details["full_build"]
            log(f"full build: {full['seconds']:.1f} s, peak {full['peak_rss_mb']:.0f} MiB")

            details["noop"] = build(env, data["processed"], reports, only, name="noop")
            log(f"no-op rebuild: {details['noop']['seconds']:.2f} s ({details['noop']['built']} rebuilt)")

            details["small_change"] = step_small_change(env, data, reports, only, rows)
            attempt("preview", lambda: step_preview(env, data, only))
            attempt("planning", lambda: step_planning(env))
        if args.only is None and sizes:
            details["load_before_cleaning"] = load()
            details["cleaning"] = step_cleaning(env, sizes, args.profile)
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        log(f"benchmark step failed: {exc}")
        DETAILS.write_text(json.dumps(rounded(details), indent=1, default=str) + "\n", encoding="utf-8")
        return 1
    details["total_s"] = time.perf_counter() - started
    fig = figures(details, n_briefs)
    text, gaps = table(fig, details, measured_only=args.only is not None)
    print(text)
    for key in failed:
        print(f"\n{key} could not be measured: {details[key]['error'].splitlines()[0]}")
    if gaps:
        print("\nTargets missed:")
        print("\n".join(f"  - {gap}" for gap in gaps))
    else:
        print("\nEvery measured target met.")
    small = details.get("small_change")
    if small and "comparison" in small and not small["comparison"]["identical"]:
        c = small["comparison"]
        print(f"  differing briefs: HTML {c['html_differ']}, PDF {c['pdf_differ']}")
        if not c["identical_without_stray"]:
            print(
                f"  still differing without stray kernel messages: HTML {c['html_differ_without_stray']}, "
                f"PDF {c['pdf_differ_without_stray']}"
            )
    if small and "comparison" in small:
        print(f"  briefs whose content changed with the edit: {', '.join(small['content_changed']) or 'none'}")
    stray = details.get("outputs", {}).get("stray_streams")
    if stray:
        print(f"  briefs of the full build showing a stray kernel message: {', '.join(stray)}")
    output = args.output or (WORK / f"latest-{args.only}.json" if args.only else LATEST)
    details_file = WORK / f"details-{args.only}.json" if args.only else DETAILS
    output.write_text(json.dumps(rounded(fig), indent=2) + "\n", encoding="utf-8")
    details_file.write_text(json.dumps(rounded(details), indent=1, default=str) + "\n", encoding="utf-8")
    where = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    print(
        f"\nfigures written to {where}; details in {details_file.relative_to(ROOT)} "
        f"(run took {details['total_s'] / 60:.1f} min, load average at start {details['load_at_start']})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
