"""Same inputs, same bytes, whatever the machine or the account: briefs exported twice, in another process, under a
fontconfig that lists no font at all, and charts drawn under a hostile matplotlibrc. Also: importing the library
leaves the matplotlib backend alone, and a notebook run by papermill and exported by nbconvert names itself.

Each case runs in a subprocess so that the environment (``FONTCONFIG_FILE``, ``MPLCONFIGDIR``, ``MPLBACKEND``,
``SOURCE_DATE_EPOCH``) is the one a real run would see.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from helpers import page_text
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mineral_analysis import config
from mineral_analysis.publish import export

pytestmark = pytest.mark.slow

EPOCH = "1767225600"  # 2026-01-01 00:00:00 UTC

# A tiny financing frame and a chart of it, drawn the way a brief shows it (display.show_figure's settings).
CHART_SCRIPT = textwrap.dedent("""
    import io, sys
    import pandas as pd
    from mineral_analysis import maps, plots, style
    frame = pd.DataFrame({
        "record_id": ["A-1", "A-2", "B-1"], "agency": ["DFC", "DFC", "EXIM"],
        "title": ["Кобальт 🚀", "Copper", "Lithium"],
        "amount_usd": [5e8, 2e8, 1e9], "counted_usd": [5e8, 2e8, 1e9], "is_binding": [True, False, True],
        "binding_status": ["binding", "not binding", "binding"], "is_aggregate": [False, False, False], "mobilized_usd": [1e8, None, None],
        "instrument_label": ["Loan", "Equity", "Loan"], "country_iso3": ["ZMB", "ZMB", "AUS"],
        "country_names": ["Zambia", "Zambia", "Australia"], "minerals": ["cobalt", "copper;cobalt", "lithium"],
        "announced_date": pd.to_datetime(["2025-09-01", None, "2025-11-01"]),
    })
    figures = {"by_agency": plots.plot_funding_by(frame, "agency", title="Заголовок 🚀"),
               "timeline": plots.plot_timeline(frame, title="When"),
               "mobilized": plots.plot_mobilized(frame),
               "funding_map": maps.plot_funding_map(frame, title="Where 🚀")}
    for name, fig in figures.items():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", facecolor="white", metadata=style.PNG_METADATA)
        open(f"{sys.argv[1]}/{name}.png", "wb").write(buffer.getvalue())
""")

EXPORT_SCRIPT = textwrap.dedent("""
    import sys, nbformat
    from mineral_analysis.publish import export
    nb = nbformat.read(sys.argv[1], as_version=4)
    html = export.render_html(nb)
    open(sys.argv[2] + ".html", "w", encoding="utf-8").write(html)
    open(sys.argv[2] + ".pdf", "wb").write(export.html_to_pdf(html))
""")


def _env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("MPLBACKEND", "SOURCE_DATE_EPOCH", "FONTCONFIG_FILE", "MPLCONFIGDIR"):
        env.pop(name, None)
    for name, value in changes.items():
        if value is not None:
            env[name] = value
    return env


def _python(script: str, *args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def no_fonts(tmp_path_factory) -> Path:
    """A fontconfig configuration that lists no font at all (a minimal container)."""
    folder = tmp_path_factory.mktemp("no-fonts")
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><cachedir>{folder / 'cache'}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    return conf


@pytest.fixture(scope="module")
def charts(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("charts")
    _python(CHART_SCRIPT, str(folder), env=_env())
    return folder


def _brief_notebook(charts: Path, *, built_at: str | None) -> nbformat.NotebookNode:
    """An executed brief as the build leaves it: markdown, real chart PNGs, a table, text in three scripts."""
    nb = new_notebook()
    outputs = [
        new_output("display_data", data={"image/png": base64.b64encode(png.read_bytes()).decode()})
        for png in sorted(charts.glob("*.png"))
    ]
    table = (
        "<table><thead><tr><th>Item</th><th>Amount</th></tr></thead><tbody>"
        + "".join(f"<tr><td>Item {i} Кобальт ✅</td><td>${i}.5 bn</td></tr>" for i in range(40))
        + "</tbody></table>"
    )
    nb.cells = [
        new_markdown_cell("## Summary\n\nCobalt — Кобальт — 🚀 and **bold** *italic*."),
        new_code_cell("charts", outputs=outputs),
        new_code_cell("table", outputs=[new_output("display_data", data={"text/html": table})]),
    ]
    block = {"title": "Reproducible brief", "data_version": "v1", "kind": "agency"}
    if built_at:
        block["built_at"] = built_at
    nb.metadata["mineral_analysis"] = block
    return nb


def _export(notebook: Path, out: Path, env: dict[str, str]) -> tuple[bytes, bytes]:
    _python(EXPORT_SCRIPT, str(notebook), str(out), env=env)
    return out.with_suffix(".html").read_bytes(), out.with_suffix(".pdf").read_bytes()


def test_export_is_byte_identical_run_after_run_and_without_any_system_font(tmp_path, charts, no_fonts):
    notebook = tmp_path / "brief.ipynb"
    nbformat.write(_brief_notebook(charts, built_at="2024-07-01T09:30:00+00:00"), notebook)
    first = _export(notebook, tmp_path / "first", _env())
    second = _export(notebook, tmp_path / "second", _env())
    bare = _export(notebook, tmp_path / "bare", _env(FONTCONFIG_FILE=str(no_fonts)))
    assert first == second, "two exports of the same notebook differ"
    assert first == bare, "an export under a fontconfig that lists no font differs"
    in_process = export.render_html(nbformat.read(notebook, as_version=4))
    assert in_process.encode("utf-8") == first[0]
    fonts = subprocess.run(["pdffonts", str(tmp_path / "bare.pdf")], capture_output=True, text=True, check=True)
    names = {line.split()[0].split("+", 1)[-1] for line in fonts.stdout.splitlines()[2:]}
    assert names and all(name.startswith(("Brief-", "DejaVu-", "Last-Resort")) for name in names), fonts.stdout


def test_without_a_recorded_time_source_date_epoch_fixes_the_build_time(tmp_path, charts):
    notebook = tmp_path / "brief.ipynb"
    nbformat.write(_brief_notebook(charts, built_at=None), notebook)
    first = _export(notebook, tmp_path / "first", _env(SOURCE_DATE_EPOCH=EPOCH))
    second = _export(notebook, tmp_path / "second", _env(SOURCE_DATE_EPOCH=EPOCH))
    assert first == second
    assert "Published 1 January 2026" in page_text(first[0].decode("utf-8"))


def test_charts_are_the_same_bytes_whatever_the_account_and_the_system_fonts(tmp_path, charts, no_fonts):
    hostile = tmp_path / "mplconfig"
    hostile.mkdir()
    (hostile / "matplotlibrc").write_text(
        "axes.facecolor: red\nfigure.facecolor: red\nfont.family: serif\nfont.size: 30\nlines.linewidth: 9\n"
        "savefig.transparent: True\naxes.prop_cycle: cycler('color', ['00ff00'])\ntimezone: Asia/Tokyo\n"
        "axes.grid: True\ngrid.linewidth: 4\naxes.linewidth: 5\nxtick.labelsize: 20\nytick.color: red\n"
        "patch.force_edgecolor: True\npatch.edgecolor: red\nhatch.color: red\n",
        encoding="utf-8",
    )
    for name, env in {
        "hostile-rc": _env(MPLCONFIGDIR=str(hostile)),
        "no-fonts": _env(FONTCONFIG_FILE=str(no_fonts)),
    }.items():
        folder = tmp_path / name
        folder.mkdir()
        _python(CHART_SCRIPT, str(folder), env=env)
        for png in sorted(charts.glob("*.png")):
            assert (folder / png.name).read_bytes() == png.read_bytes(), f"{png.name} differs under {name}"


def test_importing_the_library_never_changes_the_backend():
    script = textwrap.dedent("""
        import matplotlib, sys
        from matplotlib import rcsetup
        if sys.argv[1] == "chosen":
            matplotlib.use("svg")
        before = dict.__getitem__(matplotlib.rcParams, "backend")
        import mineral_analysis
        from mineral_analysis import maps, narrative, plots, style
        from mineral_analysis.publish import export
        import pandas as pd
        plots.nothing_here("empty").savefig(__import__("io").BytesIO(), format="png")
        after = dict.__getitem__(matplotlib.rcParams, "backend")
        assert after is before or after == before, (before, after)
        if sys.argv[1] == "chosen":
            assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
        else:
            assert after is rcsetup._auto_backend_sentinel, after
        print("backend unchanged")
    """)
    for case in ("chosen", "unset"):
        assert "backend unchanged" in _python(script, case, env=_env()).stdout


def test_papermill_then_nbconvert_gives_the_brief_its_title_kind_and_data_version(tmp_path, processed_dir):
    bin_dir = Path(sys.executable).parent
    papermill = shutil.which("papermill", path=str(bin_dir)) or "papermill"
    jupyter = shutil.which("jupyter", path=str(bin_dir)) or "jupyter"
    version = json.loads((processed_dir / "metadata.json").read_text(encoding="utf-8"))
    expected_version = version.get("dataset_version") or version["data_version"]
    env = _env(SOURCE_DATE_EPOCH=EPOCH)
    run = subprocess.run(
        [
            papermill,
            str(config.NOTEBOOKS_DIR / "agency.ipynb"),
            "out.ipynb",
            "-p",
            "agency",
            "DFC",
            "-p",
            "processed_dir",
            str(processed_dir),
            "-k",
            "python3",
            "--no-progress-bar",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for to, suffix in (("brief_html", ".html"), ("brief_pdf", ".pdf")):
        done = subprocess.run(
            [jupyter, "nbconvert", "--to", to, "out.ipynb"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert (tmp_path / f"out{suffix}").stat().st_size > 1000
    text = page_text((tmp_path / "out.html").read_text(encoding="utf-8"))
    assert "Agency brief" in text
    assert "U.S. International Development Finance Corporation (DFC)" in text or "(DFC)" in text
    assert f"Data version {expected_version}" in text
    assert "Data version unknown" not in text and " out " not in f" {text} "[:200]
    title = re.search(r"<title>(.*?)</title>", (tmp_path / "out.html").read_text(encoding="utf-8")).group(1)
    assert title.endswith("(DFC)"), title
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO((tmp_path / "out.pdf").read_bytes()))
    assert reader.metadata.title == title
