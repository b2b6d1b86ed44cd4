"""Atomic file output: a reader sees the old file or the new one, never half of either.

Every file the project writes (processed tables, briefs, the index) goes through here: the bytes are written to
a temporary file in the destination folder, flushed to disk, then moved over the destination with ``os.replace``.
A set of files is replaced with SIGINT and SIGTERM held back, so an interrupt cannot leave a mixed set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
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


# --- A folder replaced as a set -----------------------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the system cannot."""
    import ctypes
    import errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def replace_folder_atomic(folder: Path, files: Mapping[str, bytes]) -> list[str]:
    """Give ``folder`` the files ``files`` (name to bytes) as one set; return the names whose content changed.

    When anything changed, a complete new copy of the folder (the new files, and every other file it held) is
    written beside it and swapped in by one exchange of the two folders, so a reader sees the old set or the new
    one, never a mix, even if the process is killed at any moment; the old copy is then removed. Nothing is
    written when nothing changed. A folder that is a symbolic link is refused (its target is never touched).
    """
    folder = Path(folder)
    if folder.is_symlink():
        raise OSError(f"{folder} is a symbolic link; refusing to replace what it points to (make it a real folder)")
    folder.mkdir(parents=True, exist_ok=True)
    changed = sorted(name for name, data in files.items()
                     if not ((folder / name).is_file() and (folder / name).read_bytes() == data))
    remove_stale_folders(folder.parent, folder.name)
    if not changed:
        return []
    staged = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".new", dir=folder.parent))
    try:
        os.chmod(staged, folder.stat().st_mode & 0o7777)
        for entry in folder.iterdir():
            if entry.is_file() and not entry.is_symlink() and entry.name not in files:
                shutil.copy2(entry, staged / entry.name)
        for name, data in files.items():
            target = staged / name
            with open(target, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(target, _new_file_mode(folder / name))
        _fsync_folder(staged)
        with signals_held():
            if not _exchange(staged, folder):
                # No atomic exchange here: two renames; for an instant the folder is absent, never mixed.
                retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent))
                retired.rmdir()
                os.rename(folder, retired)
                os.rename(staged, folder)
                staged = retired
        _fsync_folder(folder.parent)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return changed


def remove_stale_folders(parent: Path, name: str) -> int:
    """Delete the ``.<name>.*.new`` / ``.old`` copies a killed :func:`replace_folder_atomic` left; return how many."""
    count = 0
    for leftover in Path(parent).glob(f".{name}.*"):
        if leftover.suffix in (".new", ".old") and leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
            count += 1
    return count
