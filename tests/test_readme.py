"""The README tells the truth: every command it shows is taken from it and run, so the two cannot drift.

Commands come from the README's shell blocks (```bash, ```sh, ```console with its `$ ` prompts) and from inline
code that starts with `mineral-analysis` or `make`. Each runs in a fresh copy of the project with this test run's
environment: `mineral-analysis …` and the cheap make targets for real; the make targets that run the whole suite,
the whole build, the benchmark or a server are expanded with `make -n` (they exist and say what they would run),
and are run for real by the tests named in RUN_ELSEWHERE.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from projects import keep_rows, link_environment, tracked_copy

from mineral_analysis import config

README = config.PROJECT_ROOT / "README.md"
SHELL_BLOCKS = ("bash", "sh", "shell", "console")
# Targets too long, too large or too interactive to run inside the suite; `make -n` proves them here.
DRY_RUN_TARGETS = {
    "report",
    "test",
    "test-fast",
    "bench",
    "lab",
    "env",
    "kernel",
    "system",
    "format",
    "lint",
    "wheel",
    "clean",
    "distclean",
}
RUN_ELSEWHERE = {
    "make report": "test_doors.py::test_readme_cron_line_runs_green_in_a_bare_environment runs its commands under cron",
    "make wheel": "test_doors.py::test_wheel_in_a_fresh_environment_runs_a_notebook_cell_from_another_folder",
    "make test": "this suite",
}


def readme_commands(text: str) -> list[str]:
    """Every command the README shows, in order, without prompts, comments or duplicates."""
    commands: list[str] = []
    fenced = re.compile(r"```(\w*)\n(.*?)```", re.S)
    for language, body in fenced.findall(text):
        if language not in SHELL_BLOCKS:
            continue
        for line in body.splitlines():
            line = line.strip()
            if language == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            line = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    for span in re.findall(r"`([^`\n]+)`", fenced.sub("", text)):
        if re.match(r"(mineral-analysis|make)( |$)", span):
            commands.append(span)
    return list(dict.fromkeys(c for command in commands for c in re.split(r"\s*&&\s*", command)))


def test_readme_shows_the_commands_a_user_needs():
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert commands[:2] == ["make report", "make test"], commands[:4]
    for expected in ("mineral-analysis verify", "mineral-analysis releases", "make lab", "make kernel"):
        assert any(c.startswith(expected) for c in commands), expected


def test_every_make_target_the_readme_names_exists():
    makefile = (config.PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    for command in readme_commands(README.read_text(encoding="utf-8")):
        if command.startswith("make "):
            target = shlex.split(command)[1]
            assert target in targets, f"README shows `{command}` but the Makefile has no {target} target"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A fresh copy of the project with its processed tables built, as after `make data`.

    The copy keeps the records of DOE, two of DFC's and two participants (the host and South Korea): every brief
    the README names is among them, and its `mineral-analysis build` makes 8 briefs instead of 75. The commands
    run exactly as written, on less data.
    """
    copy = link_environment(tracked_copy(tmp_path_factory.mktemp("readme") / "mineral-analysis"))
    keep_rows(copy / "data" / "raw" / config.RAW_FINANCING, lambda line: line.startswith(("DOE-", "DFC-01", "DFC-02")))
    keep_rows(copy / "data" / "raw" / config.RAW_MEMBERSHIP, lambda line: line.startswith(("HOST-", "PART-43")))
    result = subprocess.run(
        [sys.executable, "-m", "mineral_analysis.cli", "data"], cwd=copy, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return copy


def run_shown(command: str, project: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.prefix) / 'bin'}:{os.environ['PATH']}",
        "MINERAL_ANALYSIS_LOG": "plain",
        "MPLBACKEND": "Agg",
    }
    env.pop(config.ROOT_VARIABLE, None)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "ARGS"):  # `make test ARGS=...` must not reach the commands
        env.pop(name, None)
    command = command.replace(" DIR ", f" {shlex.quote(str(project))} ")  # the placeholder for a project folder
    words = shlex.split(command)
    if words[0] == "make" and words[1] in DRY_RUN_TARGETS:
        command = f"make -n {shlex.join(words[1:])}"
    if words[0] == "source":
        command = f". {shlex.join(words[1:])} && command -v mineral-analysis"
    if words[0] == "sha256sum":
        return subprocess.run(
            command, shell=True, cwd=project / "reports", env=env, capture_output=True, text=True, timeout=600
        )
    return subprocess.run(["bash", "-c", command], cwd=project, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_every_readme_command_runs_as_written(project):
    """All of them, in the README's order (a build before `verify`, a release before `changes`)."""
    failures = []
    commands = readme_commands(README.read_text(encoding="utf-8"))
    for command in commands:
        if command in RUN_ELSEWHERE and command.split()[0] == "make" and command.split()[1] not in DRY_RUN_TARGETS:
            continue
        result = run_shown(command, project)
        if result.returncode != 0:
            failures.append(f"`{command}` exited {result.returncode}:\n{(result.stderr or result.stdout)[-1500:]}")
    assert not failures, "\n\n".join(failures)
    assert len(commands) >= 15
