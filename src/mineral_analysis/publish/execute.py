"""Executing one notebook and explaining its failure.

``execute`` runs a notebook with stock ``papermill.execute_notebook`` in a disposable kernel (``kernels``);
``describe_failure`` and ``cell_label`` turn an exception into "cell 4 (`first line`): ValueError: ...";
``relative_paths`` strips this machine's folders from what an executed notebook keeps.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

from .. import config
from . import kernels

START_TIMEOUT = 120.0  # seconds for a fresh kernel to start
FORKED_START_TIMEOUT = 30.0  # seconds for a forked kernel to answer before a fresh one replaces it
# jupyter_client's messages when a kernel never becomes ready, and how a brief's record words each
FORK_START_FAILURES = (
    ("Kernel didn't respond", "did not answer"),
    ("Kernel died before replying", "died before answering"),
)


def execute(notebook: Path, staged: Path, parameters: dict, timeout: int, state: dict):
    """Run the notebook with stock papermill in a disposable kernel (``publish.kernels``); ``timeout`` is for
    the whole notebook. ``state`` receives the index of the running cell and, should the kernel die, its exit code."""
    import papermill
    from nbclient.exceptions import DeadKernelError

    kernels.prepare_process()
    deadline = time.monotonic() + timeout

    def cell_timeout(cell) -> float:
        return max(0.1, deadline - time.monotonic())

    def on_notebook_start(notebook) -> None:
        state["nb"] = notebook  # the notebook as executed so far, kept for reports/failed/

    def on_cell_start(cell, cell_index) -> None:
        state["cell"] = cell_index

    def run(start_timeout: float):
        return papermill.execute_notebook(
            str(notebook),
            str(staged),
            parameters=parameters,
            kernel_name=kernels.KERNEL_NAME,
            kernel_manager_class=kernels.BuildKernelManager,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            cwd=str(notebook.parent),
            start_timeout=start_timeout,
            execution_timeout=timeout,
            timeout_func=cell_timeout,
            on_notebook_start=on_notebook_start,
            on_cell_start=on_cell_start,
            interrupt_on_timeout=False,
            shutdown_kernel="immediate",
        )

    try:
        if not kernels.fork_available():
            return run(START_TIMEOUT)
        try:
            return run(FORKED_START_TIMEOUT)
        except RuntimeError as exc:
            # A forked kernel answers within a second. One that does not, or dies before its first answer, is
            # killed and the brief starts again in a fresh kernel; the brief's log line says which, and what is
            # known of why (docs/building.md, "When a forked kernel fails").
            why = next((why for start, why in FORK_START_FAILURES if str(exc).startswith(start)), None)
            if "cell" in state or why is None or kernels.LAST_LAUNCH != "forked":
                raise
            if why == FORK_START_FAILURES[0][1]:
                why += f" in {FORKED_START_TIMEOUT:g} s"
            else:
                known = kernels.TEMPLATE.why_last_kernel_died()
                why += f": {known}" if known else ""
            with kernels.fresh_kernels():
                result = run(START_TIMEOUT)
            kernels.LAST_LAUNCH = f"fresh (the forked kernel {why})"
            return result
    except DeadKernelError:
        state["exit_code"] = kernels.exit_code_of_last_kernel()
        raise
    finally:
        state["kernel_note"] = kernels.LAST_LAUNCH


def _path_replacements(folders: dict[str, Path | None]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    root = str(config.PROJECT_ROOT) if config.PROJECT_ROOT is not None else None
    for name, folder in folders.items():
        if folder is None:
            continue
        text = str(Path(folder).resolve())
        if root is None or not (text + os.sep).startswith(root + os.sep):
            pairs += [(text + os.sep, f"<{name}>/"), (text, f"<{name}>")]
    if root is not None:
        pairs += [(root + os.sep, ""), (root, ".")]
    pairs += [(sys.prefix + os.sep, "<env>/"), (os.path.expanduser("~") + os.sep, "~/")]
    return sorted(pairs, key=lambda pair: -len(pair[0]))  # the most specific first


def relative_paths(text: str, folders: dict[str, Path | None] | None = None) -> str:
    """Strip this machine's paths from text stored in an executed notebook (also as JSON escapes them)."""
    for old, new in _path_replacements(folders or {}):
        if len(old) > 2:
            text = text.replace(old, new)
            escaped = json.dumps(old, ensure_ascii=False)[1:-1]
            if escaped != old:
                text = text.replace(escaped, json.dumps(new, ensure_ascii=False)[1:-1])
    return text


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def describe_failure(exc: BaseException, nb, state: dict, timeout: float) -> tuple[int | None, str, str]:
    """The failing cell's index (in the executed notebook), the error's name and its message."""
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    index = state.get("cell")
    if isinstance(exc, PapermillExecutionError):
        index, name, message = exc.cell_index, exc.ename, _ANSI.sub("", str(exc.evalue))
    elif isinstance(exc, TimeoutError) and index is not None:
        name, message = "TimeoutError", f"the brief ran past its time limit of {timeout:g} s; its kernel was killed"
    elif isinstance(exc, DeadKernelError):
        code = state.get("exit_code")
        name = "DeadKernelError"
        message = "the kernel died while running this cell" + (f" (exit code {code})" if code is not None else "")
    else:
        name, message = type(exc).__name__, _ANSI.sub("", str(exc))
    return index, name, message[:300]


_PAPERMILL_MARKER = "papermill-error-cell-tag"  # the banner and anchor cells papermill adds to a failed notebook


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def _executed_cells(nb) -> list:
    """The cells as they were executed (the indices errors refer to): without papermill's error markers."""
    return [] if nb is None else [c for c in nb.cells if _PAPERMILL_MARKER not in _tags(c)]


def cell_label(nb, index: int | None) -> str:
    """``cell 4 (`first line`)``: the index counts the cells of the notebook file from 0, as nbformat does (the
    injected parameters cell does not count)."""
    cells = _executed_cells(nb)
    if index is None or not (0 <= index < len(cells)):
        return "before any cell ran" if index is None else f"cell {index}"
    cell = cells[index]
    if "injected-parameters" in _tags(cell):
        return "the injected parameters cell"
    injected = sum(1 for c in cells[:index] if "injected-parameters" in _tags(c))
    first = " ".join(str(cell.get("source", "")).strip().splitlines()[:1])[:80]
    return f"cell {index - injected} (`{first}`)"


def mark_failed_cell(nb, index: int | None, name: str, message: str) -> None:
    """Show a timeout or a dead kernel in the failed notebook, as an error output of the cell that ran."""
    import nbformat

    cells = _executed_cells(nb)
    if index is None or not (0 <= index < len(cells)):
        return
    cell = cells[index]
    if cell.get("cell_type") != "code" or any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
        return
    cell.outputs.append(nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"]))
