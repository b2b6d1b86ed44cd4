"""Throwaway copies of the project, as a fresh clone has it, for tests that run commands the way a user does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from mineral_analysis import config

ROOT = config.PROJECT_ROOT


def tracked_copy(destination: Path) -> Path:
    """A copy of the checkout's tracked files (timestamps kept) at ``destination``, as a fresh clone has them."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source, target = ROOT / name, destination / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def link_environment(project: Path) -> Path:
    """Give the copy this test run's environment as its ``.venv``, marked current so make never reinstalls it."""
    (project / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    for name in ("pyproject.toml", "setup.py", "requirements/constraints.txt"):
        os.utime(project / name, (0, 0))
    return project


def keep_rows(csv_path: Path, keep) -> None:
    """Rewrite a raw CSV of the copy with only the header and the lines ``keep(line)`` accepts."""
    header, *rows = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    csv_path.write_text(header + "".join(r for r in rows if keep(r)), encoding="utf-8")
