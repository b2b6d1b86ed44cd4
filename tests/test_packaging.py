"""The package's front door: declared dependencies in step, pins without download URLs, the README's commands,
its reuse example running for real, the command line, and the analysis helpers' promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from mineral_analysis import config

ROOT = config.PROJECT_ROOT
CLI = str(Path(sys.executable).parent / "mineral-analysis")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_and_pyproject_declare_the_same_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    everything = project["dependencies"] + [r for extra in extras.values() for r in extra]
    declared = {r.replace(" ", "") for r in everything if not r.startswith("mineral-analysis")}
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    section = text.split("dependencies:", 1)[1].split("  - pip:", 1)[0]
    conda = {
        line.strip()[2:].replace(" ", "")
        for line in section.splitlines()
        if line.startswith("  - ") and not line.strip().startswith(("- python", "- pip"))
    }
    assert conda == declared


def test_constraints_pin_every_dependency_without_urls():
    text = (ROOT / "requirements" / "constraints.txt").read_text(encoding="utf-8")
    assert "://" not in text and "@ file" not in text
    pinned = {_name(line) for line in text.splitlines() if "==" in line}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for requirement in [
        *project["dependencies"],
        *(r for extra in project["optional-dependencies"].values() for r in extra if not r.startswith("mineral-")),
    ]:
        assert _name(requirement) in pinned, requirement
    for lock in ("uv.lock", "poetry.lock", "Pipfile.lock"):
        assert not (ROOT / lock).exists()


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make report" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("report:", "test:", "data:", "validate:", "bench:"):
        assert re.search(rf"^{target}", makefile, re.M), target
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
    assert (
        "scripts/system-deps.sh test" in makefile
        and "apt-get update" in (ROOT / "scripts" / "system-deps.sh").read_text()
    )


def test_no_machine_paths_in_tracked_text():
    home = os.path.expanduser("~")
    for path in [
        *ROOT.glob("*.md"),
        *ROOT.glob("docs/*.md"),
        *ROOT.glob("src/mineral_analysis/**/*.py"),
        *ROOT.glob("notebooks/*.ipynb"),
        *ROOT.glob("data/raw/*"),
    ]:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert str(ROOT) not in text, path
        assert f"{home}/" not in text, path


@pytest.mark.slow
def test_readme_reuse_example_runs(processed_dir, tmp_path):
    """The README's "Use in your own notebook" code, run as a user would in a fresh process."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use in your own notebook", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    # The example reads the project's data/processed; point it at the test's freshly built copy.
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "processed").symlink_to(processed_dir)
    env = {**os.environ, "MINERAL_ANALYSIS_ROOT": str(project), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "EXIM" in result.stdout
    assert (tmp_path / "dfc_minerals.png").stat().st_size > 5000
    assert (tmp_path / "participants.png").stat().st_size > 20000


@pytest.mark.slow
def test_cli_validate_and_data(tmp_path):
    result = subprocess.run([CLI, "validate"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "raw data valid" in result.stdout
    result = subprocess.run(
        [CLI, "data", "--processed-dir", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert (
        "31 financing items and 5 commitments without money, 73 membership rows; total $34.0 bn, binding $13.5 bn "
        "($14.4 bn under the alternative readings), not binding $19.0 bn, stage not stated $1.54 bn; mobilised apart: "
        "private $3.99 bn, public $1.28 bn, not split $170.3 m" in result.stdout
    )
    assert "dataset r3-stages" in result.stdout
    assert (tmp_path / "financing.parquet").exists()
    again = subprocess.run([CLI, "data", "--processed-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert "nothing (already up to date)" in again.stdout


@pytest.mark.slow
def test_cli_build_refuses_unknown_values_before_any_kernel(processed_dir, tmp_path):
    result = subprocess.run(
        [CLI, "build", "--only", "agency:NASA", "--processed-dir", str(processed_dir), "--reports-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "unknown agency 'NASA'" in result.stderr and "EXIM, DOE, DOD, DFC, USTR, DOS" in result.stderr
    assert not any(tmp_path.glob("*.html"))


@pytest.mark.slow
def test_cli_list(processed_dir):
    result = subprocess.run(
        [CLI, "list", "--processed-dir", str(processed_dir)], capture_output=True, text=True, timeout=120
    )
    specs = [line.split()[0] for line in result.stdout.splitlines()]
    assert specs[0] == "overview"
    assert {"agency:EXIM", "country:KOR", "country:EUU", "country:JAM", "mineral:copper"} <= set(specs)
    assert len([s for s in specs if s.startswith("country:")]) == 57  # 55 delegations, the host and Jamaica


# --- Analysis helpers ---------------------------------------------------------------------------------------


def test_summaries_never_double_count(financing):
    from mineral_analysis import funding_summary

    total = financing["counted_usd"].sum()
    for by in ("agency", "instrument"):
        table = funding_summary(financing, by)
        assert table.attrs["additive"] and table["total_usd"].sum() == pytest.approx(total)
        assert (table["binding_usd"] + table["non_binding_usd"] + table["not_stated_usd"] == table["total_usd"]).all()
    for by in ("country", "mineral"):
        table = funding_summary(financing, by)
        assert not table.attrs["additive"]  # items in several countries/minerals count under each
        assert table["total_usd"].sum() >= total


def test_not_stated_share_and_roles(financing, membership):
    from mineral_analysis.analysis import not_stated_share, roles_by_country

    share = not_stated_share(financing)
    unstated = financing.loc[financing["minerals"] == "not stated", "counted_usd"].sum()
    assert share == pytest.approx(unstated / financing["counted_usd"].sum())
    roles = roles_by_country(membership).set_index("iso3")
    assert roles.loc["KOR", "primary_role"] == "forge_chair"
    assert roles.loc["USA", "primary_role"] == "host"
    assert roles.loc["ARG", "primary_role"] == "bilateral_framework"
    assert roles.loc["EUU", "roles"] == "Delegation, Trade action plan"


def test_items_table_cites_every_source(financing):
    from mineral_analysis.analysis import items_table

    table = items_table(financing)
    assert len(table) == len(financing)
    assert table["Source"].str.match(r"^\d{3} ¶\d+").all()
    assert (table["Sources"] >= 1).all()
    assert isinstance(table, pd.DataFrame)


def test_schema_documents_list_every_vocabulary_value():
    """vocab.py and the raw-file schema documents stay in step."""
    from mineral_analysis.vocab import (
        AGENCIES,
        GROUPS,
        INSTRUMENTS,
        KINDS,
        MINERALS,
        MOBILISED_FROM,
        PLACE_ROLES,
        STAGES,
    )

    financing_doc = (config.RAW_DIR / "financing.schema.md").read_text(encoding="utf-8")
    for code in AGENCIES:
        assert f"| {code} |" in financing_doc, code
    for vocabulary in (INSTRUMENTS, STAGES, KINDS, PLACE_ROLES):
        for code in vocabulary:
            assert f"| `{code}` |" in financing_doc, code
    for provider, spellings in MOBILISED_FROM.items():
        assert f"| {provider} | {', '.join(spellings)} |" in financing_doc, provider
    for mineral in MINERALS:
        assert f"| {mineral} |" in financing_doc, mineral
    membership_doc = (config.RAW_DIR / "membership.schema.md").read_text(encoding="utf-8")
    for group in GROUPS:
        assert f"| `{group}` |" in membership_doc, group
