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


def holds(path: str | os.PathLike[str], data: bytes) -> bool:
    """Whether ``path`` is a regular file (not a link, FIFO or folder) whose bytes are ``data``, so writing it
    again would change nothing. At most ``len(data) + 1`` bytes are read."""
    from .safe_files import read_regular_bytes

    try:
        return read_regular_bytes(path, len(data)) == data
    except OSError:  # absent, unreadable, a link or larger: not the same file
        return False


def write_if_changed(path: str | os.PathLike[str], data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless the file :func:`holds` it already; return whether it wrote.

    A link at ``path`` is replaced by the file, its target never touched (``os.replace`` renames over the link).
    """
    if holds(path, data):
        return False
    write_bytes_atomic(path, data)
    return True


class PartialReplaceError(OSError):
    """A set of files could not be replaced, and not every file could be put back as it was."""


def _backup(path: Path) -> Path | None:
    """A hard link to ``path``'s current file beside it (a temporary name), or None when there is no file."""
    if not path.exists():
        return None
    for attempt in range(100):
        backup = path.parent / f".{path.name}.{os.getpid()}-{attempt}.old.tmp"
        try:
            os.link(path, backup, follow_symlinks=False)
        except FileExistsError:
            continue
        return backup
    raise FileExistsError(f"no free backup name for {path.name}")


def replace_files_atomic(files: Mapping[Path, bytes | None]) -> list[Path]:
    """Replace a set of files together: write each file whose content differs, delete each whose value is None.

    All new content goes to temporaries first and every old file is kept as a hard link; then, with interrupts
    held back, the files are renamed (or deleted) in turn. On an error every file already replaced is put back,
    so either the whole set changed or none of it did, and the OSError propagates. Should putting back fail too,
    PartialReplaceError names the files that did change. Returns the paths changed.
    """
    changed: dict[Path, bytes | None] = {}
    for p, data in files.items():
        path = Path(p)
        if data is None:
            if path.exists() or path.is_symlink():
                changed[path] = None
        elif not holds(path, data):
            changed[path] = data
    temps: dict[Path, Path] = {}
    backups: dict[Path, Path | None] = {}
    done: list[Path] = []
    try:
        for path, data in changed.items():
            if data is not None:
                temps[path] = _write_temp(path, data)
        for path in changed:
            backups[path] = _backup(path)  # an immutable or unlinkable old file stops here: nothing replaced
        with signals_held():
            try:
                for path in changed:
                    if path in temps:
                        os.replace(temps[path], path)
                        del temps[path]
                    else:
                        os.unlink(path)
                    done.append(path)
            except OSError as exc:
                _put_back(done, backups, exc)
                raise
        for folder in {path.parent for path in changed}:
            _fsync_folder(folder)
    finally:
        for leftover in [*temps.values(), *(b for b in backups.values() if b is not None)]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
    return sorted(changed)


def _put_back(done: list[Path], backups: Mapping[Path, Path | None], cause: OSError) -> None:
    """Undo the replacements in ``done`` from their backups; raise PartialReplaceError if one cannot be undone."""
    stuck = []
    for path in reversed(done):
        try:
            backup = backups.get(path)
            if backup is None:
                os.unlink(path)
            else:
                os.replace(backup, path)
        except OSError:
            stuck.append(path.name)
    if stuck:
        raise PartialReplaceError(
            f"{cause}; and {', '.join(sorted(stuck))} could not be put back, so they are "
            "the new version while the others are the old one"
        ) from cause


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
    changed = sorted(name for name, data in files.items() if not holds(folder / name, data))
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
