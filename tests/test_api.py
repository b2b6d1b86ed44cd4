"""The package as an analyst meets it: every advertised name is an attribute (imported on first use), the types
travel with it (py.typed), the examples in the docstrings run, and a wrong brief parameter is answered with the
valid values nearest it."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import re
import subprocess
import sys

import pytest

import mineral_analysis
from mineral_analysis import config
from mineral_analysis.briefing import Tables
from mineral_analysis.errors import ParameterError

# The modules whose docstrings carry examples (>>>); each must have some, and all must pass.
DOCTESTED = ("mineral_analysis", "mineral_analysis.briefing")


@pytest.mark.parametrize("name", DOCTESTED)
def test_docstring_examples_run(name, processed_dir, monkeypatch):
    monkeypatch.setattr(config, "_project", dataclasses.replace(config.project(), processed=processed_dir))
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, raise_on_error=False, verbose=False)
    assert result.attempted >= 3, f"{name}: only {result.attempted} examples"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (output above)"


def test_every_advertised_name_is_an_attribute():
    for name in mineral_analysis.__all__:
        assert getattr(mineral_analysis, name) is not None, name
    assert mineral_analysis.open_brief.__module__ == "mineral_analysis.briefing"
    assert mineral_analysis.plots.__name__ == "mineral_analysis.plots"
    assert mineral_analysis.maps.plot_participation_map is mineral_analysis.plot_participation_map
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mineral_analysis.nope  # noqa: B018


def test_the_import_is_light_and_typed():
    """``import mineral_analysis`` loads none of the plotting or build stack; the package says it is typed."""
    code = "import sys, mineral_analysis; print(sorted(m for m in ('pandas', 'matplotlib', 'papermill', 'nbconvert', 'weasyprint', 'dask') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]", loaded
    assert (config.PACKAGE_DIR / "py.typed").is_file()


def test_the_type_stub_declares_every_lazy_attribute():
    """``__init__.pyi`` (what type checkers read) names exactly the package's attributes, each imported."""
    import ast

    stub = ast.parse((config.PACKAGE_DIR / "__init__.pyi").read_text(encoding="utf-8"))
    (declared,) = [
        ast.literal_eval(n.value) for n in stub.body if isinstance(n, ast.Assign) and n.targets[0].id == "__all__"
    ]
    imported = {alias.asname or alias.name for n in stub.body if isinstance(n, ast.ImportFrom) for alias in n.names}
    assert sorted(declared) == sorted(mineral_analysis.__all__)
    assert set(declared) - {"__version__"} <= imported


@pytest.fixture(scope="module")
def tables(processed_dir):
    return Tables.load(processed_dir)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("mineral", "copperr", "unknown mineral 'copperr' (did you mean copper?); valid values: "),
        ("agency", "DFX", "unknown agency 'DFX' (did you mean DFC?); valid values: "),
        (
            "country",
            "Germny",
            "unknown country 'Germny' (did you mean Germany (DEU)?): no valid country has that name or code. ",
        ),
        ("country", "China", "no brief for China: it is not in the sources"),
    ],
)
def test_a_wrong_parameter_is_answered_from_the_valid_values(tables, kind, value, expected):
    with pytest.raises(ParameterError) as caught:
        tables.resolve(kind, value)
    assert str(caught.value).startswith(expected), str(caught.value)


def test_no_suggestion_comes_from_outside_the_valid_values(tables):
    """ "Atlantis" once suggested the Åland Islands, which has no brief: now only valid countries are offered."""
    valid = set(tables.valid_keys()["country"])
    for typo in ("Atlantis", "Aland", "Narnia", "Sout Korea", "Untied States"):
        with pytest.raises(ParameterError) as caught:
            tables.resolve("country", typo)
        message = str(caught.value)
        assert "unknown country" in message, message
        suggested = re.findall(r"\(([A-Z]{3})\)", message.split("Valid countries")[0])
        assert set(suggested) <= valid, (typo, message)


@pytest.mark.slow
@pytest.mark.parametrize("notebook", ["agency", "overview"])
def test_a_papermill_parameter_the_notebook_does_not_declare_stops_the_run(notebook, tmp_path, processed_dir):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as caught:
        papermill.execute_notebook(
            str(config.NOTEBOOKS_DIR / f"{notebook}.ipynb"),
            str(tmp_path / "out.ipynb"),
            parameters={"processed_dir": str(processed_dir), "countyr": "JPN"},
            kernel_name="python3",
            progress_bar=False,
        )
    declared = "agency, processed_dir" if notebook == "agency" else "processed_dir"
    assert caught.value.ename == "ParameterError"
    assert caught.value.evalue == f"unknown parameter 'countyr' (papermill -p): this notebook declares {declared}"
