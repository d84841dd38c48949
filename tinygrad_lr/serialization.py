"""Checkpoints: `save(state_dict, path)` and `load(path)` in NumPy's `.npz` format.

The file holds only named arrays (no pickled Python objects, so loading a checkpoint can never
run code). `save` writes to a temporary file in the same folder and then renames it over `path`
with `os.replace`, which is atomic: if the save is interrupted, `path` still holds the previous
checkpoint, never half of a new one.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from ._atomic import atomic_write
from .tensor import Tensor

PathLike = str | os.PathLike[str]


class CheckpointError(ValueError, RuntimeError):
    """A checkpoint that cannot be read, or that does not match the state it should restore."""


def save(state_dict: Mapping[str, Any], path: PathLike) -> None:
    """Write the named tensors (or arrays) of `state_dict` to `path` as an `.npz` archive."""
    arrays = _to_arrays(state_dict)
    try:
        with atomic_write(path) as file:
            _write_arrays(file, arrays)
    except OSError as error:
        raise OSError(f"save: cannot write {os.fspath(path)!r}: {_reason(error)}") from None


def load(path: PathLike, like: Mapping[str, Any] | None = None) -> dict[str, Tensor]:
    """Read a checkpoint written by `save` as a dict of name -> Tensor (in the saved order).

    With `like` (e.g. `model.state_dict()`), first check that the checkpoint has exactly the
    same names, and for each name the same shape and dtype; otherwise raise CheckpointError
    listing every difference.
    """
    arrays = _read_arrays(path)
    if like is not None:
        _check_matches(arrays, _to_arrays(like), path)
    return {name: Tensor._make(array, False, None) for name, array in arrays.items()}


# --- helpers ----------------------------------------------------------------------------------


def _to_arrays(state_dict: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The values as NumPy arrays, checked to be named by strings and to hold numbers."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"save: expected a mapping of names to tensors such as model.state_dict(), "
            f"got {type(state_dict).__name__}"
        )
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"save: names must be non-empty strings, got {name!r}")
        array = value._data if isinstance(value, Tensor) else np.asarray(value)
        if array.dtype.kind not in "fiub":
            raise TypeError(
                f"save: entry {name!r} must hold numbers (a tensor or an array), "
                f"got {type(value).__name__} of dtype {array.dtype}"
            )
        arrays[name] = array
    return arrays


def _write_arrays(file: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """Write the archive; its own function so that tests can simulate a failing write."""
    np.savez(file, **arrays)  # type: ignore[arg-type]


def _read_arrays(path: PathLike) -> dict[str, np.ndarray]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no checkpoint file at {os.fspath(path)!r}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        # NumPy says e.g. "Cannot load file containing pickled data" or "Failed to interpret".
        raise CheckpointError(
            f"load: {os.fspath(path)!r} is not a readable .npz checkpoint ({error})"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):  # a plain .npy file gives one array
        raise CheckpointError(f"load: {os.fspath(path)!r} is not an .npz checkpoint")
    try:
        arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(
            f"load: {os.fspath(path)!r} is not a readable .npz checkpoint ({error})"
        ) from None
    finally:
        archive.close()
    for name, array in arrays.items():
        if array.dtype.kind not in "fiub":
            raise CheckpointError(
                f"load: entry {name!r} in {os.fspath(path)!r} has dtype {array.dtype}, not numbers"
            )
    return arrays


def _check_matches(
    found: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray], path: PathLike
) -> None:
    """Raise CheckpointError naming every missing, unexpected or differently shaped entry."""
    problems = []
    missing = [name for name in expected if name not in found]
    unexpected = [name for name in found if name not in expected]
    if missing:
        problems.append(f"missing entries {missing}")
    if unexpected:
        problems.append(f"unexpected entries {unexpected}")
    for name, want in expected.items():
        have = found.get(name)
        if have is None:
            continue
        if have.shape != want.shape:
            problems.append(f"{name!r} has shape {have.shape} in the file, expected {want.shape}")
        if have.dtype != want.dtype:
            problems.append(f"{name!r} has dtype {have.dtype} in the file, expected {want.dtype}")
    if problems:
        raise CheckpointError(
            f"load: {os.fspath(path)!r} does not match the expected state: " + "; ".join(problems)
        )


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
