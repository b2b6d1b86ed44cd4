"""The only private parts of dependencies the package uses, each here because no public API does the job.

Any of these may change in a dependency's minor release. ``tests/test_dependency_internals.py`` checks every one
against the installed versions and fails naming the part that changed; nothing else in the package reaches into
a dependency's private names (``grep`` for them finds this module only).

* CPython's ``atexit._run_exitfuncs``: a forked kernel must end with ``os._exit`` (a normal exit in a forked
  child would tear down the zmq contexts and threads it copied from the template), which skips ``atexit``; IPython
  and ipykernel clean up there. The ``atexit`` module has no public way to run its handlers early.
* matplotlib's ``FontManager.ttflist`` and ``_findfont_cached``: ``findfont`` takes the first of equally good
  matches in that list, and caches its answers; no public API makes the bundled files win over a system copy of
  the same family (another version of DejaVu, say).
* WeasyPrint's ``weasyprint.text.ffi`` (its cffi bindings to fontconfig and Pango): WeasyPrint has no public way
  to lay a document out without the system's fonts; the bindings replace its fontconfig configuration with one
  holding only the bundled files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path


def run_exit_handlers() -> None:
    """Run (and forget) this process's ``atexit`` handlers now, as a normal exit would."""
    import atexit

    atexit._run_exitfuncs()


def prefer_font_files(manager, paths: Iterable[str], bold_alias_families: Iterable[str] = ()) -> None:
    """Make matplotlib's font ``manager`` choose the files ``paths`` (already added with ``addfont``) before any
    other file of the same family, list the faces of ``bold_alias_families`` as bold too (a family with one weight
    then serves bold text without a warning), and forget the look-ups made before."""
    import dataclasses

    paths = set(paths)
    aliased = set(bold_alias_families)
    bundled = [entry for entry in manager.ttflist if entry.fname in paths]
    bundled += [dataclasses.replace(entry, weight=700) for entry in bundled if entry.name in aliased]
    manager.ttflist = bundled + [entry for entry in manager.ttflist if entry.fname not in paths]
    manager._findfont_cached.cache_clear()


def fontconfig_with_only(font_files: Iterable[Path], rules: bytes):
    """A WeasyPrint ``FontConfiguration`` class whose instances know ``font_files`` and no system font; ``rules``
    is a fontconfig configuration (XML) loaded first."""
    return _font_configuration_class(tuple(font_files), rules)


@lru_cache(maxsize=4)
def _font_configuration_class(font_files: tuple[Path, ...], rules: bytes):
    from weasyprint.text.ffi import ffi, fontconfig, pangoft2
    from weasyprint.text.fonts import FontConfiguration

    if not hasattr(fontconfig, "FcConfigCreate"):  # not declared by WeasyPrint's bindings
        ffi.cdef("FcConfig * FcConfigCreate (void);")

    class OnlyTheseFonts(FontConfiguration):
        """WeasyPrint's font configuration with ``font_files`` in place of the system's fonts."""

        def __init__(self):
            super().__init__()
            config = fontconfig.FcConfigCreate()
            fontconfig.FcConfigParseAndLoadFromMemory(config, rules, True)
            for path in font_files:
                if not fontconfig.FcConfigAppFontAddFile(config, os.fsencode(path)):
                    fontconfig.FcConfigDestroy(config)
                    raise OSError(f"font file {path} could not be loaded by fontconfig")
            self._config = config
            pangoft2.pango_fc_font_map_set_config(ffi.cast("PangoFcFontMap *", self.font_map), config)
            fontconfig.FcConfigDestroy(config)  # the font map keeps its own reference

    return OnlyTheseFonts
