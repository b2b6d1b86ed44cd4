"""The package's stages depend one way, and its modules share only public names.

Read from the source (nothing is imported): the shared modules (vocabularies, paths, the name resolver, the one
definition of a total, the release format...) import only each other; ``clean/`` (raw -> tables) imports only
the shared modules and itself, never the notebook layer or ``publish/``; and no module imports another's
underscore name.
"""

from __future__ import annotations

import ast
from pathlib import Path

from mineral_analysis import config

PACKAGE = config.PACKAGE_DIR
#: What every stage may use: see "Module map" in docs/building.md.
SHARED = {
    "atomic",
    "clock",
    "columns",
    "config",
    "countries",
    "errors",
    "frames",
    "releases",
    "safe_files",
    "totals",
    "usd",
    "vocab",
}


def _imports(path: Path) -> list[tuple[str, str, int]]:
    """(module inside the package, imported name, line) for each ``from ... import`` of the package in ``path``.

    ``from . import x`` gives module ``x``; ``from .x import y`` gives ``x`` and ``y``."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = list(parts[: len(parts) - node.level])
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
        elif node.module and node.module.split(".")[0] == "mineral_analysis":
            module = ".".join(node.module.split(".")[1:])
        else:
            continue
        # ``from . import x``: the module is x (or the package's own __version__)
        found += [(module or alias.name, alias.name, node.lineno) for alias in node.names]
    return found


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")


def test_the_shared_modules_import_only_each_other():
    wrong = [
        f"{path.name}:{line} imports {module}"
        for name in sorted(SHARED)
        for path in [PACKAGE / f"{name}.py"]
        for module, _, line in _imports(path)
        if module.split(".")[0] not in SHARED
    ]
    assert not wrong, "a shared module depends on a stage:\n" + "\n".join(wrong)


def test_cleaning_imports_only_the_shared_modules_and_itself():
    wrong = [
        f"clean/{path.name}:{line} imports {module or name}"
        for path in _modules(PACKAGE / "clean")
        for module, name, line in _imports(path)
        if module.split(".")[0] not in {*SHARED, "clean", "__version__"}
    ]
    assert not wrong, "clean/ reaches into a later stage:\n" + "\n".join(wrong)


def test_no_module_imports_an_underscore_name_of_another():
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports {name} from {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for module, name, line in _imports(path)
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not wrong, "make the name public or move it:\n" + "\n".join(wrong)


def test_the_scan_sees_each_kind_of_import(tmp_path, monkeypatch):
    """The checks above are only as good as ``_imports``: it must see relative, absolute and lazy imports."""
    folder = tmp_path / "clean"
    folder.mkdir()
    source = folder / "x.py"
    source.write_text(
        "from .. import config\nfrom ..analysis import money\nfrom mineral_analysis.maps import _notes\n"
        "def f():\n    from ..publish.build import build\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path)
    assert _imports(source) == [
        ("config", "config", 1),
        ("analysis", "money", 2),
        ("maps", "_notes", 3),
        ("publish.build", "build", 5),
    ]
