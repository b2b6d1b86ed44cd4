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
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant), \
            f"{path.name}: parameters must be literal assignments (papermill overrides them)"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    text = path.read_text(encoding="utf-8")
    assert str(config.PROJECT_ROOT) not in text


def _papermill() -> str:
    return str(Path(sys.executable).parent / "papermill")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_headless_under_papermill(path, processed_dir, tmp_path):
    out = tmp_path / path.name
    args = [_papermill(), str(path), str(out), "--kernel", "python3", "--cwd", str(config.NOTEBOOKS_DIR),
            "-p", "processed_dir", str(processed_dir), "--no-progress-bar"]
    for name, value in SAMPLES[path.name].items():
        args += ["-p", name, value]
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    warnings = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                if o.output_type == "stream" and o.name == "stderr"]
    assert not errors
    assert not warnings, "a brief must not print warnings: " + json.dumps(warnings)[:500]
    assert len(images) >= (5 if path.name == "overview.ipynb" else 1)
    assert nb.metadata["papermill"]["parameters"]["processed_dir"] == str(processed_dir)
