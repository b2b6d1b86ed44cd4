"""Build step that puts the processed tables into the wheel, so the library works outside a checkout.

Everything else about the package is declared in pyproject.toml. When ``data/processed/`` holds the tables
(``make data``; ``make wheel`` runs it first), they are copied into the wheel as ``mineral_analysis/bundled/``,
which ``mineral_analysis.config`` reads when no project folder is found. An editable install does not need them.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("financing.parquet", "membership.parquet", "metadata.json", "data_dictionary.md", "sources.csv")


class BuildWithTables(build_py):
    """``build_py`` that also copies the processed tables (when present) into the built package."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        processed = Path(__file__).resolve().parent / "data" / "processed"
        present = [name for name in BUNDLED if (processed / name).is_file()]
        if len(present) < len(BUNDLED):
            self.announce("data/processed/ is incomplete: the wheel carries no tables (run `make data` first)", 3)
            return
        target = Path(self.build_lib) / "mineral_analysis" / "bundled"
        target.mkdir(parents=True, exist_ok=True)
        for name in present:
            shutil.copyfile(processed / name, target / name)


setup(cmdclass={"build_py": BuildWithTables})
