"""Atomic file output: a reader sees the old file or the new one, never half of either.

Every file the project writes (processed tables, briefs, the index) goes through here: the bytes are written to
a temporary file in the destination folder, flushed to disk, then moved over the destination with ``os.replace``.
A set of files is replaced with SIGINT and SIGTERM held back, so an interrupt cannot leave a mixed set.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path


def _new_file_mode(target: Path) -> int:
    """An existing file keeps its mode; a new one gets 0666 less the umask, like open() (mkstemp gives 0600)."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _write_temp(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, _new_file_mode(path))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    return Path(temp_name)


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable (best effort: not every file system allows it)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the duration of the block (main thread only), then deliver them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace ``path`` with ``data`` in one step (temporary file in the same folder, fsync, rename); return it.

    Readers see the old file or the new one, never part of one; on failure the old file stays and the
    temporary file is removed.
    """
    path = Path(path)
    temp = _write_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_folder(path.parent)
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """:func:`write_bytes_atomic` for text."""
    return write_bytes_atomic(path, text.encode(encoding))


def replace_files_atomic(files: Mapping[Path, bytes]) -> list[Path]:
    """Write every file of ``files`` whose content differs from what is on disk; return the paths changed.

    All temporaries are written first; the renames then happen together with interrupts held back, so either
    every changed file is replaced or (on an error before the renames) none is.
    """
    changed = {Path(p): data for p, data in files.items() if not (Path(p).exists() and Path(p).read_bytes() == data)}
    temps: dict[Path, Path] = {}
    try:
        for path, data in changed.items():
            temps[path] = _write_temp(path, data)
        with signals_held():
            for path, temp in temps.items():
                os.replace(temp, path)
            temps.clear()
        for folder in {path.parent for path in changed}:
            _fsync_folder(folder)
    finally:
        for temp in temps.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
    return sorted(changed)


def remove_stale_temporaries(folder: Path) -> int:
    """Delete temporaries a killed process left behind (``.<name>.*.tmp``); return how many were removed."""
    count = 0
    folder = Path(folder)
    if folder.is_dir():
        for temp in folder.glob(".*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
                count += 1
    return count
