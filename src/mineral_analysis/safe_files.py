"""Reading files that someone else may have placed: regular files only, of bounded size, links not followed.

Every file the project reads from a folder it does not fully control (a reports folder sent for ``verify``, the
raw data, releases, the briefs the preview serves) goes through here. A link, a FIFO, a device or a folder where
a file should be is refused with an ``UnsafeFileError`` naming the file and what it is, before a byte is read:
a FIFO opened for reading would block, ``/dev/zero`` would never end, and a link would read a file elsewhere.
A file larger than its limit is refused rather than read into memory.

Also here: ``spreadsheet_safe``, which neutralises a text cell a spreadsheet would run as a formula.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

MiB = 1 << 20
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO is opened without waiting for a writer, then refused


class UnsafeFileError(OSError):
    """A file that must not be read as it is: a link, not a regular file, or larger than allowed."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike[str], *, follow_links: bool = False, dir_fd: int | None = None) -> int:
    """A read-only descriptor of ``path`` once it is known to be a regular file (UnsafeFileError otherwise;
    FileNotFoundError when it is absent). Without ``follow_links`` the last component may not be a link."""
    name = os.fspath(path)
    shown = Path(name).name or name
    flags = os.O_RDONLY | NONBLOCK | (0 if follow_links else NOFOLLOW)
    try:
        if not follow_links and stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode):
            raise UnsafeFileError(f"{shown} is a symbolic link; a link is not followed here")
        fd = os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if isinstance(exc, (UnsafeFileError, FileNotFoundError)):
            raise
        if exc.errno in (getattr(os, "ELOOP", -1), getattr(os, "EMLINK", -1)):
            raise UnsafeFileError(f"{shown} is a symbolic link; a link is not followed here") from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UnsafeFileError(f"{shown} is {_kind(mode)}, not a regular file")
    if NONBLOCK:
        os.set_blocking(fd, True)
    return fd


def read_regular_bytes(
    path: str | os.PathLike[str], limit: int, *, follow_links: bool = False, dir_fd: int | None = None
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (``open_regular``; UnsafeFileError when larger)."""
    fd = open_regular(path, follow_links=follow_links, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnsafeFileError(f"{Path(os.fspath(path)).name} is larger than {limit:,} bytes; refused")
    return data


def read_regular_text(
    path: str | os.PathLike[str], limit: int, *, follow_links: bool = False, dir_fd: int | None = None
) -> str:
    """A bounded regular file's text as UTF-8; a byte that is not UTF-8 is a UnicodeDecodeError naming the file
    and the line (``describe_decode_error``)."""
    data = read_regular_bytes(path, limit, follow_links=follow_links, dir_fd=dir_fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeFileError(describe_decode_error(Path(os.fspath(path)).name, data, exc)) from None


def describe_decode_error(name: str, data: bytes, exc: UnicodeDecodeError) -> str:
    """``<name> line N, column C: byte 0x.. is not UTF-8``: where a decoding error is."""
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    return f"{name} line {line}, column {column}: byte 0x{data[exc.start]:02x} is not UTF-8 (save the file as UTF-8)"


def sha256_regular(path: str | os.PathLike[str], *, dir_fd: int | None = None) -> str:
    """The hex sha256 of a regular file's bytes (``open_regular``: no link followed), read in blocks."""
    digest = hashlib.sha256()
    with os.fdopen(open_regular(path, dir_fd=dir_fd), "rb") as handle:
        for block in iter(lambda: handle.read(MiB), b""):
            digest.update(block)
    return digest.hexdigest()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell as a spreadsheet shows it without running it: text starting with ``= + - @`` (or a tab or
    carriage return) gets a leading apostrophe (OWASP's advice for CSV injection). Numbers and other values are
    returned as they are (a negative number is a number, not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe_frame(frame):
    """A copy of a pandas DataFrame with every text cell ``spreadsheet_safe``: what every CSV the project exports
    goes through (``changes --format csv``, a brief's CSV download), wherever its text came from."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind == "O" or str(out[column].dtype).startswith("string"):
            out[column] = out[column].map(spreadsheet_safe)
    return out
