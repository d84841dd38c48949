"""The atomic file writer behind checkpoints and plots."""

import os
import stat

import pytest

from tinygrad_lr._atomic import atomic_write


def test_a_written_file_gets_the_usual_permissions(tmp_path):
    previous = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "out.bin") as file:
            file.write(b"new")
    finally:
        os.umask(previous)
    assert (tmp_path / "out.bin").read_bytes() == b"new"
    assert stat.S_IMODE((tmp_path / "out.bin").stat().st_mode) == 0o644


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_write(target) as file:
        file.write(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]
