"""Per-brief CPU cost of the build's kernels: ``python benchmarks/kernels.py [--jobs N] [--briefs SPEC ...]``.

Runs ``mineral-analysis build --force`` of a few briefs (HTML and PDF) into a scratch folder under
``benchmarks/scratch/kernels`` and samples every process of the build's tree (psutil, every 0.05 s), so the CPU
seconds of workers, templates and kernels are counted even though they are not waited for by the build itself.
Prints wall seconds and CPU seconds in total and per brief. With ``MINERAL_ANALYSIS_KERNELS=fresh`` in the
environment the build starts a fresh kernel per brief instead of forking one. CPU seconds, unlike wall seconds,
hardly depend on what else the machine is doing, so they compare designs on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
SCRATCH = HERE / "scratch" / "kernels"
DEFAULT = [
    "overview",
    "agency:DFC",
    "agency:DOE",
    "country:KOR",
    "country:USA",
    "country:AUS",
    "mineral:copper",
    "mineral:lithium",
]


def measure(args: list[str]) -> dict:
    """Run ``args``; return its wall seconds and the CPU seconds of its whole process tree."""
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    cpu: dict[int, float] = {}
    while proc.poll() is None:
        try:
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            processes = []
        for process in processes:
            try:
                times = process.cpu_times()
                cpu[process.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.05)
    out, err = proc.communicate()
    return {
        "wall_s": round(time.monotonic() - started, 2),
        "cpu_s": round(sum(cpu.values()), 2),
        "exit": proc.returncode,
        "summary": out.strip().splitlines()[:1],
        "stderr": err[-500:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--briefs", nargs="*", default=DEFAULT)
    parser.add_argument("--label", default=os.environ.get("MINERAL_ANALYSIS_KERNELS", "forked"))
    options = parser.parse_args()
    reports = SCRATCH / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    command = [
        str(Path(sys.executable).with_name("mineral-analysis")),
        "build",
        "--force",
        "--no-progress",
        "--jobs",
        str(options.jobs),
        "--reports-dir",
        str(reports),
    ]
    for spec in options.briefs:
        if spec != "all":  # `--briefs all`: every brief of the catalogue
            command += ["--only", spec]
    result = measure(command)
    result["summary"] = [line.split("Z ", 1)[-1] for line in result["summary"]]  # without the log timestamp
    count = int(result["summary"][0].split(" of ")[1].split()[0]) if result["summary"] else len(options.briefs)
    result |= {
        "label": options.label,
        "jobs": options.jobs,
        "briefs": count,
        "cpu_per_brief_s": round(result["cpu_s"] / count, 2),
        "wall_per_brief_s": round(result["wall_s"] / count, 2),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
