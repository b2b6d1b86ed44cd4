"""The ways in, tried as a user would: the README's cron line under a bare environment, the wheel installed in
a fresh environment and used from another folder, the commands outside a project, the shared options, the log
format off a terminal, and the script that installs the Debian packages."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from projects import keep_rows, link_environment, tracked_copy

from mineral_analysis import cli, config

ROOT = config.PROJECT_ROOT
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ")


# --- The cron line ------------------------------------------------------------------------------------------


def readme_cron_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```cron\n(.*?)```", readme, re.S).group(1).strip()
    return block.split(None, 5)[5]  # drop the five schedule fields


def run_cron_line(project: Path, home: Path) -> tuple[subprocess.CompletedProcess, str]:
    """The README's cron line, word for word but for the folder, under `env -i` as cron runs it; and its log."""
    command = readme_cron_command()
    assert "/srv/mineral-analysis" in command
    command = command.replace("/srv/mineral-analysis", str(project))
    home.mkdir(exist_ok=True)
    bare = ["env", "-i", "PATH=/usr/bin:/bin", f"HOME={home}", "sh", "-c", command]
    result = subprocess.run(bare, capture_output=True, text=True, timeout=600)
    log = project / "build.log"
    return result, log.read_text(encoding="utf-8") if log.exists() else ""


def small_project(folder: Path) -> Path:
    """A fresh copy with a small but valid dataset (the DOE items and the first delegations): short builds."""
    project = tracked_copy(folder)
    keep_rows(project / "data" / "raw" / "financing.csv", lambda line: line.startswith("DOE-"))
    keep_rows(project / "data" / "raw" / "membership.csv", lambda line: line.startswith(("HOST-", "PART-0")))
    return project


def test_the_cron_line_calls_the_installed_commands_and_never_make_or_an_installer():
    command = readme_cron_command()
    assert "scripts/scheduled-build" in command
    script = (ROOT / "scripts" / "scheduled-build").read_text(encoding="utf-8")
    code = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert not [line for line in code if re.search(r"(?<![.\w])(make|pip|uv|venv|install)\b", line)], code


@pytest.mark.slow
def test_readme_cron_line_runs_green_in_a_bare_environment(tmp_path):
    """The README's cron line under `env -i`, twice: the second run builds nothing."""
    project = link_environment(small_project(tmp_path / "srv" / "mineral-analysis"))
    for run in (1, 2):
        result, log = run_cron_line(project, tmp_path / "home")
        assert result.returncode == 0, f"run {run}: exit {result.returncode}\n{log[-3000:]}"
    lines = log.splitlines()
    assert lines, "the cron line wrote no log"
    assert all(TIMESTAMP.match(line) for line in lines), [line for line in lines if not TIMESTAMP.match(line)][:5]
    assert "\r" not in log, "a progress bar reached the log"
    summaries = [line for line in lines if re.search(r"built \d+, skipped \d+ \(up to date\), failed 0 of", line)]
    assert len(summaries) == 2, lines
    assert re.search(r"built 0, skipped (\d+) \(up to date\), failed 0 of \1 briefs", summaries[1]), summaries[1]
    assert (project / "reports" / "agency-doe.html").exists() and (project / "reports" / "agency-doe.pdf").exists()
    # The briefs show the copy's own data (DOE's items alone), not the checkout the library was installed from.
    overview = (project / "reports" / "overview.html").read_text(encoding="utf-8")
    assert "$1.11 bn" in overview and "$34.0 bn" not in overview


def test_the_cron_line_hands_the_exit_codes_to_cron_unchanged(tmp_path):
    """1 for invalid raw data, 3 for a lock another run holds, 2 for an environment to fix: what the command said."""
    from filelock import ReadWriteLock

    project = link_environment(small_project(tmp_path / "srv" / "mineral-analysis"))
    financing = project / "data" / "raw" / "financing.csv"
    good = financing.read_text(encoding="utf-8")
    financing.write_text(good.replace("$134 млн", "$1.3 млрд руб", 1), encoding="utf-8")
    result, log = run_cron_line(project, tmp_path / "home")
    assert result.returncode == 1, log
    assert "financing.csv" in log and not (project / "reports" / "index.html").exists()

    financing.write_text(good, encoding="utf-8")
    with ReadWriteLock(config.data_lock_path(project / "data" / "processed"), is_singleton=False).write_lock():
        result, log = run_cron_line(project, tmp_path / "home")
    assert result.returncode == 3, log
    assert TIMESTAMP.match(log.splitlines()[-1]), log

    (project / "requirements" / "constraints.txt").touch()  # a `git pull` that changed the pins
    result, log = run_cron_line(project, tmp_path / "home")
    assert result.returncode == 2, log
    last = log.splitlines()[-1]
    assert TIMESTAMP.match(last) and "older than requirements/constraints.txt" in last and "make env" in last, last


FOREIGN_PYTHON = Path("/usr/bin/python3")


def other_interpreter() -> Path:
    base = Path(sys._base_executable).resolve()
    if not FOREIGN_PYTHON.exists():
        pytest.fail(f"{FOREIGN_PYTHON} is missing: `make test` installs it (scripts/system-deps.sh test: python3)")
    if FOREIGN_PYTHON.resolve() == base:
        pytest.fail(
            f"the project's Python is {FOREIGN_PYTHON} itself: make the environment with another one "
            "(make env PYTHON=/path/to/python3.11) so that this test has a second interpreter to try"
        )
    return FOREIGN_PYTHON


def test_an_environment_re_created_by_another_python_stops_the_schedule_and_nothing_is_installed(tmp_path):
    """The issue's accident: .venv rewritten by the system Python. The schedule names it and changes nothing."""
    foreign = other_interpreter()
    project = small_project(tmp_path / "srv" / "mineral-analysis")
    subprocess.run([str(foreign), "-m", "venv", "--without-pip", str(project / ".venv")], check=True)
    (project / ".venv" / ".installed").write_text(str(Path(sys._base_executable).resolve()) + "\n")
    for name in ("pyproject.toml", "setup.py", "requirements/constraints.txt"):
        os.utime(project / name, (0, 0))
    before = sorted(str(p) for p in (project / ".venv").rglob("*"))
    config_before = (project / ".venv" / "pyvenv.cfg").read_bytes()
    result, log = run_cron_line(project, tmp_path / "home")
    assert result.returncode == 2, log
    assert "re-created by another interpreter" in log and str(foreign.resolve()) in log, log
    assert sorted(str(p) for p in (project / ".venv").rglob("*")) == before
    assert (project / ".venv" / "pyvenv.cfg").read_bytes() == config_before


def test_make_never_re_creates_an_existing_environment_with_another_python(tmp_path):
    foreign = other_interpreter()
    project = tracked_copy(tmp_path / "clone")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(project / ".venv")], check=True)
    config_before = (project / ".venv" / "pyvenv.cfg").read_bytes()
    result = subprocess.run(
        ["make", "env", f"PYTHON={foreign}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode != 0
    assert f"not PYTHON={foreign}" in result.stderr and "never re-created" in result.stderr, result.stderr
    assert (project / ".venv" / "pyvenv.cfg").read_bytes() == config_before
    assert not (project / ".venv" / ".installed").exists()


# --- The library outside the checkout ---------------------------------------------------------------------------

NOTEBOOK_CELL = """
from mineral_analysis import load_financing, load_membership, funding_summary, maps
financing = load_financing()
membership = load_membership()
by_agency = funding_summary(financing, by="agency")
fig = maps.plot_participation_map(membership, highlight="MNG", title="Participants")
fig.savefig("participants.png")
print("ROWS", len(financing), len(membership), round(float(financing["counted_usd"].sum())))
"""


@pytest.mark.slow
def test_wheel_in_a_fresh_environment_runs_a_notebook_cell_from_another_folder(tmp_path, financing, membership):
    import nbformat

    project = tracked_copy(tmp_path / "clone")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_COMPILE_BYTECODE": "0"}
    env.pop(config.ROOT_VARIABLE, None)
    uv = [sys.executable, "-m", "uv"]
    data = subprocess.run(
        [sys.executable, "-m", "mineral_analysis.cli", "--project", str(project), "data"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert data.returncode == 0, data.stderr
    wheelhouse = tmp_path / "dist"
    subprocess.run(
        [*uv, "build", "--wheel", "--out-dir", str(wheelhouse), "--quiet", str(project)],
        check=True,
        timeout=600,
        env=env,
    )
    (wheel,) = wheelhouse.glob("mineral_analysis-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=300, env=env)
    subprocess.run(
        [
            *uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "-c",
            str(ROOT / "requirements" / "constraints.txt"),
            f"mineral-analysis[build] @ {wheel.as_uri()}",  # papermill and a kernel for the notebook below
        ],
        check=True,
        timeout=900,
        env=env,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK_CELL)])
    nbformat.write(notebook, elsewhere / "mine.ipynb")
    run = subprocess.run(
        [str(venv / "bin" / "papermill"), "mine.ipynb", "out.ipynb", "--kernel", "python3", "--no-progress-bar"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "MPLBACKEND": "Agg"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    executed = nbformat.read(elsewhere / "out.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[0].outputs)
    expected = f"ROWS {len(financing)} {len(membership)} {round(float(financing['counted_usd'].sum()))}"
    assert expected in printed, printed
    assert (elsewhere / "participants.png").stat().st_size > 20000
    # The commands need a project: outside one they say so in one line.
    listed = subprocess.run(
        [str(venv / "bin" / "mineral-analysis"), "list"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert listed.returncode == 2
    assert listed.stderr.count("\n") == 1 and "no mineral-analysis project" in listed.stderr
    assert "Traceback" not in listed.stderr


# --- Commands, options and logs (in-process: fast) --------------------------------------------------------------


@pytest.fixture
def no_project():
    saved = config.PROJECT_ROOT
    config.use_project(None)
    yield
    config.use_project(saved)


def test_the_project_paths_are_one_value_replaced_whole(tmp_path):
    import dataclasses

    saved = config.project()
    try:
        paths = config.use_project(tmp_path)
        assert config.project() is paths and tmp_path.resolve() == config.PROJECT_ROOT
        assert (paths.raw, paths.processed, paths.reports) == (config.RAW_DIR, config.PROCESSED_DIR, config.REPORTS_DIR)
        assert config.data_lock_path(paths.processed) == config.DATA_LOCK
        with pytest.raises(dataclasses.FrozenInstanceError):
            paths.raw = tmp_path  # a value, not a set of globals: changed only whole, by use_project
        assert config.use_project(None).processed == config.BUNDLED_DIR and config.PROJECT_ROOT is None
    finally:
        config.use_project(saved.root)
    assert config.project() == saved


@pytest.mark.parametrize("command", [["list"], ["build", "--only", "overview"], ["data"], ["validate"]])
def test_commands_outside_a_project_say_so_in_one_line(no_project, command, capsys):
    assert cli.main(command) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no mineral-analysis project" in err and "--project" in err


def test_project_option_names_the_folder_and_refuses_a_non_project(tmp_path, capsys):
    assert cli.main(["--project", str(tmp_path / "missing"), "list"]) == cli.EXIT_USAGE
    assert "no such folder" in capsys.readouterr().err


def test_project_found_from_the_working_folder_and_the_variable(tmp_path):
    project = tmp_path / "copy"
    (project / "data" / "raw").mkdir(parents=True)
    (project / "data" / "raw" / config.RAW_FINANCING).write_text("record_id\n", encoding="utf-8")
    (project / "notebooks").mkdir()
    assert config.find_project_root(cwd=project / "notebooks", environ={}) == project.resolve()
    assert config.find_project_root(cwd=tmp_path, environ={config.ROOT_VARIABLE: str(project)}) == project.resolve()


def test_every_command_takes_the_shared_options():
    parser = cli.make_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name in commands:
        args = parser.parse_args(
            [name, "--no-progress", "--project", "."]
            + (["--since", "x"] if name == "changes" else ["x"] if name == "release" else [])
        )
        assert args.no_progress is True and args.project == Path(".")
    assert parser.parse_args(["--no-progress", "list"]).no_progress is True


def test_a_stopped_preview_names_the_folder_that_holds_the_last_good_build(tmp_path, monkeypatch, capsys):
    from mineral_analysis.publish import preview

    def interrupted(**options):
        raise KeyboardInterrupt

    monkeypatch.setattr(preview, "run_preview", interrupted)
    assert cli.main(["preview", "--reports-dir", str(tmp_path / "elsewhere")]) == cli.EXIT_OK
    assert f"preview stopped; {tmp_path / 'elsewhere'} holds the last good build" in capsys.readouterr().err
    assert cli.main(["preview"]) == cli.EXIT_OK
    assert f"preview stopped; {config.REPORTS_DIR} holds the last good build" in capsys.readouterr().err


def test_timestamped_stream_prefixes_every_line():
    import io

    sink = io.StringIO()
    stream = cli.TimestampedStream(sink, clock=lambda: "2026-02-04T00:00:00Z")
    stream.write("one\ntwo")
    stream.write(" still two\n")
    stream.write("three\n")
    assert sink.getvalue() == (
        "2026-02-04T00:00:00Z one\n2026-02-04T00:00:00Z two still two\n2026-02-04T00:00:00Z three\n"
    )


def test_timestamps_follow_the_terminal_unless_told():
    class Terminal:
        def isatty(self):
            return True

    class Pipe:
        def isatty(self):
            return False

    assert cli.timestamps_wanted(Pipe(), environ={}) is True
    assert cli.timestamps_wanted(Terminal(), environ={}) is False
    assert cli.timestamps_wanted(Pipe(), environ={cli.LOG_VARIABLE: "plain"}) is False
    assert cli.timestamps_wanted(Terminal(), environ={cli.LOG_VARIABLE: "timestamped"}) is True


# --- The Debian packages ----------------------------------------------------------------------------------------

SCRIPT = ROOT / "scripts" / "system-deps.sh"


def test_system_packages_are_present_for_the_tests():
    result = subprocess.run(["bash", str(SCRIPT), "test", "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_system_packages_script_prints_the_command_for_a_non_root_user(tmp_path):
    """As a user who is not root, with packages missing: no install attempt, the exact command, exit 1."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "id").write_text("#!/bin/sh\necho 1000\n")
    (fake / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    (fake / "apt-get").write_text("#!/bin/sh\necho apt-get must not run >&2\nexit 99\n")
    for tool in fake.iterdir():
        tool.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(SCRIPT), "test"], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1
    assert "apt-get must not run" not in result.stderr
    assert "apt-get install -y --no-install-recommends" in result.stderr and "chromium" in result.stderr
    assert "poppler-utils" in result.stderr


def test_weasyprint_cuts_the_pdf_fonts_with_harfbuzz(caplog):
    """The PDF's fonts are subset by HarfBuzz (libharfbuzz-subset0, in the script's `build` list): without it,
    WeasyPrint warns and falls back to fontTools, which is deprecated there and doubles each PDF's time."""
    from mineral_analysis.publish.export import html_to_pdf

    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = html_to_pdf(
            "<!DOCTYPE html><html><head><title>t</title></head><body><p>Cobalt, lithium</p></body></html>"
        )
    assert pdf.startswith(b"%PDF")
    fallbacks = [r.getMessage() for r in caplog.records if "fontTools" in r.getMessage()]
    assert not fallbacks, f"{fallbacks[0]} (install it with scripts/system-deps.sh build)"


# --- JupyterLab: the project's kernel shows the library's figures inline ---------------------------------------

LAB_CELLS = [
    "from mineral_analysis import load_financing, plots\nimport matplotlib\nbackend_before = matplotlib.get_backend()",
    "financing = load_financing()\nplots.plot_funding_by(financing, 'agency', title='By agency')",
    "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9]);",
    "print(backend_before == matplotlib.get_backend(), 'inline' in matplotlib.get_backend())",
]


@pytest.mark.slow
def test_the_project_kernel_shows_figures_inline_as_jupyterlab_does(tmp_path, processed_dir):
    """As `make lab` runs it: the kernel the notebooks name, started in a project's notebooks/ folder with no
    MPLBACKEND; a returned chart and the analyst's own pyplot figure both display as images, and importing the
    library left the backend alone."""
    import shutil

    import nbformat
    from nbclient import NotebookClient

    project = tracked_copy(tmp_path / "project")  # a clone after `make data`: its own processed tables
    shutil.copytree(processed_dir, project / "data" / "processed", dirs_exist_ok=True)

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in LAB_CELLS])
    notebook.metadata["kernelspec"] = {
        "name": "mineral-analysis",
        "display_name": "Python (mineral-analysis)",
        "language": "python",
    }
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", config.ROOT_VARIABLE)}
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment, as under `make lab`
    try:
        NotebookClient(
            notebook,
            timeout=300,
            kernel_name="mineral-analysis",
            resources={"metadata": {"path": str(project / "notebooks")}},
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    chart, own_plot, check = notebook.cells[1], notebook.cells[2], notebook.cells[3]
    assert any("image/png" in o.get("data", {}) for o in chart.outputs), chart.outputs
    assert not any(
        "<Figure size" in o.get("data", {}).get("text/plain", "") and "image/png" not in o.get("data", {})
        for o in chart.outputs
    )
    assert any("image/png" in o.get("data", {}) for o in own_plot.outputs), own_plot.outputs
    assert "True True" in "".join(o.get("text", "") for o in check.outputs)


CORE_SCRIPT = """
import sys
import mineral_analysis as ma
financing, membership = ma.load_financing(), ma.load_membership()
ma.maps.plot_participation_map(membership, highlight="MNG").savefig("map.png")
ma.plots.plot_funding_by(financing, "agency").savefig("chart.png")
heavy = ("papermill", "nbconvert", "nbclient", "weasyprint", "pandera", "dask", "distributed", "jupyterlab")
print("ROWS", len(financing), len(membership), "HEAVY", [m for m in heavy if m in sys.modules])
"""


@pytest.mark.slow
def test_the_core_install_loads_tables_and_draws_maps_and_names_the_extra_it_lacks(tmp_path, financing):
    """The wheel without extras: the library works from another folder; a build command names `[build]`."""
    project = tracked_copy(tmp_path / "clone")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_COMPILE_BYTECODE": "0"}
    env.pop(config.ROOT_VARIABLE, None)
    uv = [sys.executable, "-m", "uv"]
    subprocess.run(
        [sys.executable, "-m", "mineral_analysis.cli", "--project", str(project), "data"], check=True, env=env
    )
    subprocess.run([*uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), "--quiet", str(project)], check=True)
    (wheel,) = (tmp_path / "dist").glob("mineral_analysis-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env)
    constraints = str(ROOT / "requirements" / "constraints.txt")
    python = str(venv / "bin" / "python")
    subprocess.run([*uv, "pip", "install", "--quiet", "--python", python, "-c", constraints, str(wheel)], check=True)
    listed = subprocess.run([*uv, "pip", "list", "--python", python], capture_output=True, text=True, check=True)
    names = {line.split()[0].lower() for line in listed.stdout.splitlines()[2:]}
    assert not names & {"papermill", "nbconvert", "weasyprint", "pandera", "dask", "jupyterlab", "ipykernel"}, names
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run(
        [python, "-c", CORE_SCRIPT], cwd=elsewhere, capture_output=True, text=True, env={**env, "MPLBACKEND": "Agg"}
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"ROWS {len(financing)}" in run.stdout and "HEAVY []" in run.stdout, run.stdout
    assert (elsewhere / "map.png").stat().st_size > 20000
    validate = subprocess.run(
        [str(venv / "bin" / "mineral-analysis"), "--project", str(project), "validate"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert validate.returncode == 2, validate.stderr
    assert "pip install 'mineral-analysis[build]'" in validate.stderr and "Traceback" not in validate.stderr
