"""Writing a file so that a reader sees the old version or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import IO

PathLike = str | os.PathLike[str]


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[IO[bytes]]:
    """Yield a binary file beside `path`. When the block ends normally the file is flushed to
    disk and renamed over `path` (os.replace is atomic on one file system); when it raises,
    even on Ctrl-C, the file is removed and `path` keeps what it had."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename makes it visible
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp made it private; a saved file is not
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
