"""The private parts of dependencies the package relies on (``mineral_analysis.dependency_internals``), each
checked against the installed versions: when a dependency changes one of them, a test here fails and names it.

Nothing else in ``src/`` may reach into a dependency's private names: the last test greps for them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mineral_analysis import dependency_internals, fonts

SRC = Path(dependency_internals.__file__).resolve().parent


def test_exit_handlers_run_before_a_forked_kernel_ends_with_os_exit(tmp_path):
    marker = tmp_path / "ran"
    script = textwrap.dedent(
        f"""
        import atexit, os
        from mineral_analysis.dependency_internals import run_exit_handlers

        atexit.register(lambda: open({str(marker)!r}, "a").write("ran\\n"))
        run_exit_handlers()
        os._exit(0)  # as a forked kernel ends: atexit alone would not run the handler
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "ran\n"  # once: the handlers are forgotten after they ran


def test_the_bundled_font_files_win_over_another_copy_of_the_same_family(tmp_path):
    from matplotlib import font_manager

    manager = font_manager.fontManager
    regular = str(fonts.FONT_FACES[0].path)
    other = tmp_path / "DejaVuSans.ttf"  # the same family from another file, as a system copy would be
    shutil.copyfile(regular, other)
    manager.addfont(str(other))
    manager.ttflist = [e for e in manager.ttflist if e.fname == str(other)] + [
        e for e in manager.ttflist if e.fname != str(other)
    ]
    manager._findfont_cached.cache_clear()
    try:
        family = font_manager.FontProperties(family=fonts.FONT_FAMILY)
        assert manager.findfont(family) == str(other)  # first in the list wins a tie, until...
        bundled = [str(face.path) for face in fonts.FONT_FACES]
        for path in bundled:
            manager.addfont(path)
        dependency_internals.prefer_font_files(manager, bundled, [fonts.FALLBACK_FAMILY])
        assert manager.findfont(family) == regular
        bold_fallback = font_manager.FontProperties(family=fonts.FALLBACK_FAMILY, weight="bold")
        fallback_file = next(f.path for f in fonts.FONT_FACES if f.family == fonts.FALLBACK_FAMILY)
        assert manager.findfont(bold_fallback, fallback_to_default=False) == str(fallback_file)
    finally:
        manager.ttflist = [e for e in manager.ttflist if e.fname != str(other)]
        manager._findfont_cached.cache_clear()


def test_a_fontconfig_with_only_given_files_lays_out_every_family_in_them():
    import io

    import weasyprint
    from pypdf import PdfReader

    mono = next(face for face in fonts.FONT_FACES if face.family == fonts.MONO_FAMILY)
    only = dependency_internals.fontconfig_with_only([mono.path], b'<?xml version="1.0"?><fontconfig/>')
    page = (
        "<html><body><p style='font-family: serif'>Serif?</p><p style='font-family: sans-serif'>Sans?</p></body></html>"
    )
    pdf = weasyprint.HTML(string=page).write_pdf(font_config=only())
    names = set()
    for page_ in PdfReader(io.BytesIO(pdf)).pages:
        for font in (page_["/Resources"].get("/Font") or {}).values():
            names.add(re.sub(r"^[A-Z]{6}\+", "", str(font.get_object()["/BaseFont"]).lstrip("/")))
    assert names == {"DejaVu-Sans-Mono"}, names  # whatever the page asks for: the one file, no system font


def test_a_font_file_fontconfig_cannot_read_is_refused_by_name(tmp_path):
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    only = dependency_internals.fontconfig_with_only([broken], b"<fontconfig/>")
    with pytest.raises(OSError, match="broken.ttf could not be loaded"):
        only()


PRIVATE_NAMES = (
    "_handle_kernel_info_reply",
    "_async_is_alive",
    "factory.provisioners",
    "._processes",
    "_run_exitfuncs",
    "._actions",
    "_add_action",
    "ttflist",
    "_findfont_cached",
    "weasyprint.text",
    "dask_scheduler.allowed_failures",  # the scheduler's attribute (KilledWorker.allowed_failures is public)
    '"allowed_failures"',
)


def test_no_module_but_dependency_internals_uses_a_dependencys_private_names():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "dependency_internals.py":
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(SRC)}: {name}" for name in PRIVATE_NAMES if name in text]
    assert found == []
