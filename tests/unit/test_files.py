"""core/files.py: reading files a person may have replaced by a pipe, a device or something
huge, without blocking and never past a cap."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from vault_app.core import files


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    assert files.read_capped(path, 5) == b"hello"


def test_more_than_the_cap_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 11)
    with pytest.raises(files.FileTooLarge, match=r"larger than 0\.0097"):
        files.read_capped(path, 10)
    with pytest.raises(files.FileTooLarge):
        files.read_capped(Path("/dev/zero"), 1 << 20, regular=False)  # endless: cut at the cap


def test_a_named_pipe_is_refused_at_once(tmp_path: Path) -> None:
    """No writer will ever come: a plain open() would wait for ever."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(OSError, match="a named pipe, not a regular file"):
        files.read_capped(fifo, 100)


def test_other_kinds_of_file_are_refused() -> None:
    with pytest.raises(OSError, match="a device, not a regular file"):
        files.read_capped(Path("/dev/zero"), 100)
    with pytest.raises(IsADirectoryError):
        files.read_capped(Path("/"), 100)


def test_a_pipe_is_read_when_asked_for(tmp_path: Path) -> None:
    """`--secret-file key=<(pass show key)`: a pipe with a writer is read, up to the cap."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)

    def write() -> None:
        with open(fifo, "wb") as out:
            out.write(b"secret-from-a-pipe\n")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert files.read_capped(fifo, 100, regular=False) == b"secret-from-a-pipe\n"
    finally:
        writer.join(10)


def test_the_check_sees_the_open_files_stat(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    seen: list[int] = []
    files.read_capped(path, 5, check=lambda info: seen.append(info.st_size))
    assert seen == [1]


@pytest.mark.parametrize("mode", [0o600, 0o644])
def test_an_atomic_write_ends_with_its_mode_and_leaves_nothing_beside(
    tmp_path: Path, mode: int
) -> None:
    """The vault file and exports stay 0600; a desktop entry, an icon or a systemd unit is
    0644, given once the data is written and synced, before the rename (before_replace sees
    it). Nothing else is left in the folder, whatever the umask."""
    target = tmp_path / "out"
    target.write_bytes(b"before")
    old_umask = os.umask(0)
    seen: list[int] = []
    try:
        files.write_atomically(
            target, b"after", mode=mode, before_replace=lambda info: seen.append(info.st_mode)
        )
    finally:
        os.umask(old_umask)
    assert target.read_bytes() == b"after"
    assert target.stat().st_mode & 0o777 == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert seen and seen[0] & 0o777 == mode
