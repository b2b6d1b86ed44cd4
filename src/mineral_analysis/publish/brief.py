"""One brief, start to finish, in the process that calls it: ``run_brief`` (execute, export, write its files
together) and ``export_brief`` (new formats from a current executed notebook, without running it again).

Neither raises for a brief's own error: the outcome says ``failed`` and why (the notebook, the cell, the error).
Only KeyboardInterrupt (the build being stopped) propagates. Everything a brief writes stays inside its reports
folder under names made of ``[a-z0-9-]`` (``output_path``).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import __version__, config
from ..atomic import replace_files_atomic, write_text_atomic
from ..clock import build_time
from . import record
from .catalogue import Brief
from .signals import STOPPING, WRITING, signals_deferred

FAILED_DIR = "failed"
STAGING_DIR = ".staging"
_OUTPUT_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\.(?:html|pdf|ipynb)")


@dataclass
class BriefOutcome:
    """What happened to one brief."""

    spec: str
    slug: str
    title: str
    kind: str
    key: str
    status: str  # built, exported (new formats from a current executed notebook), skipped, failed
    seconds: float = 0.0
    error: str = ""
    outputs: list[str] = field(default_factory=list)
    built_at: str = ""
    failed_notebook: str = ""  # reports-relative path of the failed executed notebook, when one was written
    kernel: str = ""  # forked (from the worker's template) or fresh
    sums: dict[str, str] = field(default_factory=dict)  # sha256 of each published output written (html, pdf)

    def log_line(self) -> str:
        """The brief's line in the build's log; a brief whose kernel had to start fresh says why."""
        why = self.kernel[len("fresh (") : -1] if self.kernel.startswith("fresh (") else ""
        return f"{self.status:>7} {self.spec} ({self.seconds:.1f} s{', in a fresh kernel: ' + why if why else ''})"


def output_path(reports: Path, name: str) -> Path:
    """``reports/<name>``, refused unless ``name`` is a plain output name that stays inside ``reports/``."""
    path = reports / name
    if not _OUTPUT_NAME.fullmatch(name) or path.parent.resolve() != reports.resolve():  # the link itself, if one
        from ..errors import ParameterError

        raise ParameterError(f"unsafe output name {name!r}")
    return path


def run_brief(
    brief_data: dict,
    *,
    formats: tuple[str, ...],
    reports_dir: str,
    processed_dir: str | None,
    timeout: float,
    data_version: str,
    fingerprint: str,
    notebooks_dir: str | None = None,
    built_at: str | None = None,
) -> dict:
    """Execute one brief and write its outputs; return a BriefOutcome as a dict. Never raises for a brief error.

    The brief comes planned (``catalogue.make_brief``: its key resolved against the data the build read); its
    kind, parameter names and key are checked (``catalogue.check_planned_parameters``) before a kernel starts. Success writes
    ``<slug>.ipynb`` (executed, paths stripped), ``<slug>.html`` and/or ``<slug>.pdf`` (renamed together) and
    removes an old ``failed/<slug>.ipynb``; failure writes ``failed/<slug>.ipynb`` and leaves the previous
    outputs in place. The notebook runs in a kernel no other brief has touched (``kernels``). ``built_at``
    (ISO 8601) is the build time the brief prints; default ``clock.build_time()``. Only KeyboardInterrupt (the
    build being stopped) propagates.
    """
    import nbformat

    from ..errors import ParameterError
    from .catalogue import check_planned_parameters
    from .execute import cell_label, describe_failure, execute, mark_failed_cell, relative_paths

    started = time.perf_counter()
    brief = Brief(**brief_data)
    reports = Path(reports_dir)
    outcome = BriefOutcome(brief.spec, brief.slug, brief.title, brief.kind, brief.key, "built")

    def failed(error: str) -> dict:
        outcome.status, outcome.error = "failed", error
        return asdict(outcome) | {"seconds": time.perf_counter() - started}

    try:
        parameters = check_planned_parameters(brief, Path(notebooks_dir) if notebooks_dir else None)
        targets = {ext: output_path(reports, f"{brief.slug}.{ext}") for ext in ("html", "pdf", "ipynb")}
        if (reports / FAILED_DIR).is_symlink():
            (reports / FAILED_DIR).unlink()
        failed_path = output_path(reports / FAILED_DIR, f"{brief.slug}.ipynb")
    except ParameterError as exc:
        return failed(f"refused before any kernel started: {exc}")
    except Exception as exc:
        return failed(f"its parameters could not be checked: {type(exc).__name__}: {exc}")
    notebook = Path(notebooks_dir or config.NOTEBOOKS_DIR) / brief.notebook.name
    folders = {
        "reports": reports,
        "processed": Path(processed_dir) if processed_dir else None,
        "notebooks": notebook.parent,
    }
    staging = reports / STAGING_DIR
    if staging.is_symlink():
        staging.unlink()  # never write through a link out of the reports folder
    staging.mkdir(parents=True, exist_ok=True)
    staged = staging / f"{brief.slug}.{os.getpid()}.ipynb"
    if processed_dir:
        parameters["processed_dir"] = str(processed_dir)
    state: dict = {}

    def keep_failed(nb) -> str:
        """Write the failed executed notebook; return a note for the error when that was impossible."""
        if nb is None:
            return ""
        try:
            nb.metadata.get("papermill", {}).update(
                {"input_path": f"notebooks/{notebook.name}", "output_path": f"reports/{FAILED_DIR}/{brief.slug}.ipynb"}
            )
            with signals_deferred():
                write_text_atomic(failed_path, relative_paths(nbformat.writes(nb), folders))
        except Exception as exc:
            return f" (its executed notebook could not be kept: {type(exc).__name__}: {exc})"
        outcome.failed_notebook = f"{FAILED_DIR}/{brief.slug}.ipynb"
        return ""

    try:
        try:
            nb = execute(notebook, staged, parameters, timeout, state)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            failed_nb, unread = state.get("nb"), ""
            try:
                if staged.exists():  # papermill saved it with its error banner
                    failed_nb = nbformat.read(staged, as_version=4)
            except (OSError, ValueError) as error:  # cut short by the failure: the notebook as run is kept
                unread = f" (its saved notebook could not be read: {type(error).__name__}: {error})"
            index, name, message = describe_failure(exc, failed_nb, state, timeout)
            if failed_nb is not None and not staged.exists():
                mark_failed_cell(failed_nb, index, name, message)
            outcome.kernel = state.get("kernel_note", "")
            note = keep_failed(failed_nb) + unread
            return failed(f"notebook {notebook.name}, {cell_label(failed_nb, index)}: {name}: {message}{note}")
        outcome.kernel = state.get("kernel_note", "")
        outcome.built_at = built_at or build_time().isoformat(timespec="seconds")
        from ..citing import data_as_of

        nb.metadata["mineral_analysis"] = {
            "title": brief.title,
            "kind": brief.kind,
            "key": brief.key,
            "spec": brief.spec,
            "data_version": data_version,
            "built_at": outcome.built_at,
            "data_as_of": data_as_of(processed_dir),  # the latest source's date, for the header
            "fingerprint": fingerprint,
            "library_version": __version__,
        }
        nb.metadata.get("papermill", {}).update(
            {"input_path": f"notebooks/{notebook.name}", "output_path": f"reports/{brief.slug}.ipynb"}
        )
        try:
            # The published files are made from the executed notebook as stored (paths stripped), so exporting
            # it again later (another format) gives the same bytes.
            executed = relative_paths(nbformat.writes(nb), folders)
            outputs = _rendered(nbformat.reads(executed, as_version=4), formats, targets, stale=True)
            outputs[targets["ipynb"]] = executed.encode("utf-8")
        except Exception as exc:
            note = keep_failed(nb)
            return failed(f"export of {brief.slug} ({notebook.name} ran): {type(exc).__name__}: {exc}{note}")
        error = replace_outputs(outputs, failed_path, outcome)
        if error:
            return failed(error)
    finally:
        staged.unlink(missing_ok=True)
    return asdict(outcome) | {"seconds": time.perf_counter() - started}


def _rendered(nb, formats: tuple[str, ...], targets: dict[str, Path], *, stale: bool) -> dict[Path, bytes | None]:
    """The brief's HTML and/or PDF from its executed notebook; with ``stale``, formats not asked for are None
    (deleted with the others replaced, so a brief's files always come from one build)."""
    from .export import html_to_pdf, render_html

    html = render_html(nb)
    outputs: dict[Path, bytes | None] = {}
    for ext in ("html", "pdf"):
        if ext in formats:
            outputs[targets[ext]] = html.encode("utf-8") if ext == "html" else html_to_pdf(html)
        elif stale:
            outputs[targets[ext]] = None
    return outputs


def replace_outputs(outputs: dict[Path, bytes | None], failed_path: Path, outcome: BriefOutcome) -> str:
    """Put a brief's files in place together (and drop its old failure record); return an error, or "" on success."""
    from ..atomic import PartialReplaceError

    try:
        # The brief's files change together, and its old failure goes with them; a worker told to stop does
        # not start, and its watchdog waits for the renames to end.
        with WRITING, signals_deferred():
            if STOPPING.is_set():
                raise KeyboardInterrupt
            replace_files_atomic(outputs)
            failed_path.unlink(missing_ok=True)
    except PartialReplaceError as exc:
        return f"writing {outcome.slug}'s outputs: {exc}"
    except OSError as exc:  # e.g. a full disk or an immutable file
        return (
            f"writing {outcome.slug}'s outputs: {type(exc).__name__}: {exc}; none of its files was replaced "
            "(the previous ones are in place)"
        )
    outcome.outputs = sorted(path.name for path, data in outputs.items() if data is not None)
    outcome.sums = {
        path.name: record.sha256_bytes(data)
        for path, data in outputs.items()
        if data is not None and path.suffix in record.PUBLISHED_SUFFIXES
    }
    return ""


def export_brief(brief_data: dict, *, formats: tuple[str, ...], reports_dir: str) -> dict:
    """Export a brief's current executed notebook (``reports/<slug>.ipynb``) to the formats asked for, without
    running it again: the new files carry the build time and data version recorded in it. Never raises for a
    brief error; returns a BriefOutcome as a dict (status ``exported`` or ``failed``)."""
    import nbformat

    started = time.perf_counter()
    brief = Brief(**brief_data)
    reports = Path(reports_dir)
    outcome = BriefOutcome(brief.spec, brief.slug, brief.title, brief.kind, brief.key, "exported")
    try:
        targets = {ext: output_path(reports, f"{brief.slug}.{ext}") for ext in ("html", "pdf", "ipynb")}
        nb = nbformat.read(targets["ipynb"], as_version=4)
        outcome.built_at = nb.metadata.get("mineral_analysis", {}).get("built_at", "")
        outputs = _rendered(nb, formats, targets, stale=False)
    except Exception as exc:
        outcome.status, outcome.error = "failed", f"export of {brief.slug}.ipynb: {type(exc).__name__}: {exc}"
        return asdict(outcome) | {"seconds": time.perf_counter() - started}
    error = replace_outputs(outputs, output_path(reports / FAILED_DIR, f"{brief.slug}.ipynb"), outcome)
    if error:
        outcome.status, outcome.error = "failed", error
    return asdict(outcome) | {"seconds": time.perf_counter() - started}
