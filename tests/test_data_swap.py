"""`data` replaces the processed tables as one set, under a lock that keeps two runs (and a build) apart: a reader
never sees CSV new and Parquet old, a killed run leaves the old set or the new one, and a symbolic link is never
followed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import ReadWriteLock

from mineral_analysis import cli, config
from mineral_analysis.atomic import replace_folder_atomic
from mineral_analysis.clean.pipeline import DataLockedError, build_processed


def _read(name: str, dir_fd: int) -> bytes:
    fd = os.open(name, os.O_RDONLY, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def consistent(folder: Path) -> bool:
    """Every file metadata.json lists has the hash it records: one set, not a mix.

    The files are read through one handle on the folder, so the check sees a single folder object even while
    `data` swaps another in under the same name (a file-by-file replace in place would show here as a mix).
    """
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        meta = json.loads(_read(config.PROCESSED_METADATA, dir_fd))
        return all(hashlib.sha256(_read(name, dir_fd)).hexdigest() == digest for name, digest in meta["files"].items())
    finally:
        os.close(dir_fd)


def edited_raw(tmp_path: Path) -> Path:
    """A copy of data/raw with one DOE amount changed (so its processed set differs from the real one)."""
    raw = tmp_path / "raw-edited"
    shutil.copytree(config.RAW_DIR, raw)
    financing = raw / config.RAW_FINANCING
    lines = financing.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("DOE-"))
    fields = lines[index].split(",")
    fields[3] = "$123 млн"
    lines[index] = ",".join(fields)
    financing.write_text("".join(lines), encoding="utf-8")
    return raw


def test_folder_replaced_as_a_set_and_other_files_kept(tmp_path):
    folder = tmp_path / "processed"
    folder.mkdir()
    (folder / ".gitkeep").write_bytes(b"")
    (folder / "a").write_bytes(b"old a")
    assert replace_folder_atomic(folder, {"a": b"new a", "b": b"b"}) == ["a", "b"]
    assert sorted(p.name for p in folder.iterdir()) == [".gitkeep", "a", "b"]
    assert (folder / "a").read_bytes() == b"new a"
    before = folder.stat().st_ino
    assert replace_folder_atomic(folder, {"a": b"new a", "b": b"b"}) == []  # unchanged: nothing written
    assert folder.stat().st_ino == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["processed"]  # no copy left beside it


def test_a_symlinked_folder_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    link = tmp_path / "processed"
    link.symlink_to(target, target_is_directory=True)
    with pytest.raises(OSError, match="symbolic link"):
        replace_folder_atomic(link, {"financing.csv": b"x"})
    assert sorted(p.name for p in target.iterdir()) == ["precious.txt"]
    assert cli.main(["data", "--processed-dir", str(link)]) == cli.EXIT_FAILED
    assert sorted(p.name for p in target.iterdir()) == ["precious.txt"]


def test_a_second_data_run_is_refused_while_the_lock_is_held(tmp_path, capsys):
    processed = tmp_path / "processed"
    with ReadWriteLock(config.data_lock_path(processed), is_singleton=False).write_lock():
        with pytest.raises(DataLockedError, match="--wait"):
            build_processed(config.RAW_DIR, processed)
        assert cli.main(["data", "--processed-dir", str(processed)]) == cli.EXIT_LOCKED
    assert "in use by another" in capsys.readouterr().err
    assert not processed.exists() or not any(processed.iterdir())
    build_processed(config.RAW_DIR, processed)  # once the lock is free
    assert consistent(processed)


@pytest.mark.slow
def test_readers_never_see_a_mixed_set_while_data_alternates(tmp_path):
    """A reader checks the set over and over while another process rewrites it 12 times between two datasets."""
    processed = tmp_path / "processed"
    build_processed(config.RAW_DIR, processed)
    raws = [str(edited_raw(tmp_path)), str(config.RAW_DIR)]
    code = (
        "import sys\nfrom mineral_analysis.clean.pipeline import build_processed\n"
        "for i in range(12):\n    build_processed(sys.argv[1 + i % 2], sys.argv[3], wait=True)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code, *raws, str(processed)])
    checks = 0
    try:
        while writer.poll() is None:
            try:
                assert consistent(processed), "a reader saw files of two data versions in one folder"
            except FileNotFoundError:
                continue  # the folder this check held was swapped out and removed meanwhile: check the new one
            checks += 1
    finally:
        writer.wait(timeout=300)
    assert writer.returncode == 0 and checks > 0 and consistent(processed)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9, 1.2, 1.5, 2.0])
def test_a_killed_data_run_leaves_one_whole_set(tmp_path, delay):
    processed = tmp_path / "processed"
    build_processed(config.RAW_DIR, processed)
    before = {p.name: p.read_bytes() for p in processed.iterdir()}
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mineral_analysis.cli",
            "data",
            "--raw-dir",
            str(edited_raw(tmp_path)),
            "--processed-dir",
            str(processed),
        ]
    )
    time.sleep(delay)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=60)
    assert consistent(processed)
    after = {p.name: p.read_bytes() for p in processed.iterdir()}
    assert after == before or after["metadata.json"] != before["metadata.json"]
    # The next run clears what the killed one left beside the folder, and completes.
    assert cli.main(["data", "--processed-dir", str(processed)]) == cli.EXIT_OK
    assert consistent(processed)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".processed.") and p.suffix in (".new", ".old")]
    assert os.listdir(tmp_path)
