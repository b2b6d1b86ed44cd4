"""The helpers' figures behave like matplotlib figures where an analyst uses them: a notebook runs on the inline
backend (as JupyterLab runs it) and its outputs are read back; in the build (Agg) nothing is registered."""

from __future__ import annotations

import nbformat
import pytest

from mineral_analysis import maps, plots

HELPERS = {
    "plots.plot_funding_by": "plots.plot_funding_by(financing, by='agency')",
    "plots.plot_timeline": "plots.plot_timeline(financing)",
    "plots.plot_mobilized": "plots.plot_mobilized(financing)",
    "plots.plot_agency_mineral_matrix": "plots.plot_agency_mineral_matrix(financing)",
    "plots.nothing_here": "plots.nothing_here('No items yet', title='Empty')",
    "maps.plot_participation_map": "maps.plot_participation_map(membership, highlight='MNG')",
    "maps.plot_locator_map": "maps.plot_locator_map(membership, 'KOR')",
    "maps.plot_funding_map": "maps.plot_funding_map(financing)",
}

SETUP = """
import matplotlib, matplotlib.pyplot as plt
from IPython.display import display
import mineral_analysis as ma
from mineral_analysis import maps, plots
financing, membership = ma.load_financing(FOLDER), ma.load_membership(FOLDER)
print(matplotlib.get_backend())
"""
# Each pattern in a cell of its own, and the figures still open after it, printed by the next cell.
PATTERNS = {
    "assigned": "fig = plots.plot_timeline(financing)",
    "plt.show": "fig = plots.plot_timeline(financing)\nplt.show()",
    "display": "fig = plots.plot_timeline(financing)\ndisplay(fig)",
    "last expression": "plots.plot_timeline(financing)",
    "savefig": "fig = maps.plot_participation_map(membership)\nfig.savefig('saved.png')\nfig",
}


def images(cell) -> int:
    return sum("image/png" in output.get("data", {}) for output in cell.outputs)


@pytest.mark.slow
def test_every_helper_shows_once_in_jupyter_however_it_is_used(tmp_path, processed_dir, monkeypatch):
    from nbclient import NotebookClient

    cells = [SETUP.replace("FOLDER", repr(str(processed_dir)))]
    for code in [f"fig = {call}" for call in HELPERS.values()] + list(PATTERNS.values()):
        cells += [code, "print('open', plt.get_fignums())"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    # The kernel an analyst has: no MPLBACKEND of the build's (or the suite's), so ipykernel's inline backend.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}})
    client.execute()
    executed = notebook.cells
    assert "matplotlib_inline" in executed[0].outputs[-1]["text"], executed[0].outputs
    names = list(HELPERS) + list(PATTERNS)
    for index, name in enumerate(names):
        shown, after = executed[1 + 2 * index], executed[2 + 2 * index]
        assert images(shown) == 1, f"{name}: {images(shown)} images shown, expected 1"
        assert after.outputs[0]["text"].strip() == "open []", f"{name}: {after.outputs[0]['text']}"
    assert (tmp_path / "saved.png").stat().st_size > 20000


def test_in_a_script_or_the_build_no_figure_is_registered_with_pyplot(financing, membership):
    """On a non-interactive backend (the build's kernels run on Agg) a helper's figure is nobody's to close."""
    import matplotlib.pyplot as plt

    assert plt.get_backend().lower() == "agg"
    before = plt.get_fignums()
    figures = [plots.plot_timeline(financing), maps.plot_participation_map(membership)]
    assert plt.get_fignums() == before
    assert all(fig.savefig.__self__ is fig for fig in figures)
