"""The notebooks: committed clean, parameters cells of literals, and every one executed by papermill (the CLI a
user would run, in a fresh kernel) with sample parameters."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mineral_analysis import config

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("*.ipynb"))
KERNEL_NAME = "mineral-analysis"
SAMPLES = {
    "overview.ipynb": {},
    "agency.ipynb": {"agency": "DOD"},
    "country.ipynb": {"country": "Монголия"},  # a name the library resolves, not only a code
    "mineral.ipynb": {"mineral": "rare earths"},
}


def test_every_notebook_has_a_sample():
    assert sorted(p.name for p in NOTEBOOKS) == sorted(SAMPLES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_and_with_literal_parameters(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    tree = ast.parse(tagged[0].source)
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant), (
            f"{path.name}: parameters must be typed literal assignments (papermill overrides them)"
        )
    assert nb.metadata["kernelspec"]["name"] == KERNEL_NAME
    text = path.read_text(encoding="utf-8")
    assert str(config.PROJECT_ROOT) not in text


def test_the_project_kernel_is_installed_in_the_environment():
    """`make env` registers the kernel the notebooks ask for, so JupyterLab and papermill find it by name."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    assert spec.display_name == "Python (mineral-analysis)"
    assert Path(spec.argv[0]).resolve() == Path(sys.executable).resolve() or spec.argv[0] in ("python", "python3")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_sees_typed_described_parameters(path):
    import papermill

    parameters = papermill.inspect_notebook(str(path))
    assert "processed_dir" in parameters
    for name, info in parameters.items():
        assert info["inferred_type_name"] == "str", (path.name, name, info)
        assert info["help"].strip(), f"{path.name}: parameter {name} has no description"


def test_parameter_descriptions_list_exactly_the_valid_values(processed_dir):
    """What `papermill --help-notebook` shows as valid is what the build accepts."""
    import papermill

    from mineral_analysis.briefing import Tables

    keys = Tables.load(processed_dir).valid_keys()
    for kind in ("agency", "mineral"):
        help_text = papermill.inspect_notebook(str(config.NOTEBOOKS_DIR / f"{kind}.ipynb"))[kind]["help"]
        listed = help_text.split("one of:", 1)[1].split("(", 1)[0]
        assert [v.strip() for v in listed.split(",")] == keys[kind], (kind, help_text)


@pytest.mark.slow
def test_papermill_help_notebook_command(tmp_path):
    result = subprocess.run(
        [_papermill(), "--help-notebook", str(config.NOTEBOOKS_DIR / "mineral.ipynb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown type" not in result.stdout
    assert 'mineral: str (default "copper")' in result.stdout and "rare earths" in result.stdout


def _papermill() -> str:
    return str(Path(sys.executable).parent / "papermill")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_headless_under_papermill(path, processed_dir, tmp_path):
    out = tmp_path / path.name
    # No --kernel: papermill starts the kernel the notebook names, as JupyterLab does.
    args = [
        _papermill(),
        str(path),
        str(out),
        "--cwd",
        str(config.NOTEBOOKS_DIR),
        "-p",
        "processed_dir",
        str(processed_dir),
        "--no-progress-bar",
    ]
    for name, value in SAMPLES[path.name].items():
        args += ["-p", name, value]
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    warnings = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream" and o.name == "stderr"
    ]
    assert not errors
    assert not warnings, "a brief must not print warnings: " + json.dumps(warnings)[:500]
    assert len(images) >= (5 if path.name == "overview.ipynb" else 1)
    assert nb.metadata["papermill"]["parameters"]["processed_dir"] == str(processed_dir)
