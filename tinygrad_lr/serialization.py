"""Checkpoints: `save(obj, path)` and `load(path)` in NumPy's `.npz` format.

The file holds only named arrays (no pickled Python objects, so loading a checkpoint can never
run code). A state_dict (names -> tensors) is stored as one array per name. Anything else that
is data (a tensor; dicts, lists and tuples holding tensors, arrays, numbers, strings, bools and
None, such as an optimizer's state_dict or `{"model": ..., "epoch": 3}`) is stored as its
arrays plus a description of the nesting in JSON, itself kept as an array of bytes.

`save` writes to a temporary file in the same folder and then renames it over `path` with
`os.replace`, which is atomic: if the save is interrupted, `path` still holds the previous
checkpoint, never half of a new one. A file object (e.g. `io.BytesIO()`) is written directly.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from . import nested_data
from ._atomic import atomic_write
from .device import check_device
from .tensor import Tensor

PathLike = str | os.PathLike[str]
FileLike = PathLike | IO[bytes]


class CheckpointError(ValueError, RuntimeError):
    """A checkpoint that cannot be read, or that does not match the state it should restore."""


def save(obj: Any, f: FileLike) -> None:
    """Write `obj` (a state_dict, a tensor, or nested dicts/lists/tuples of data) to `f`, a
    path or a binary file object, as an `.npz` archive. A Module is refused: save its
    `state_dict()` instead."""
    arrays = _to_arrays(obj) if nested_data.is_flat_state(obj) else nested_data.flatten(obj)
    if not isinstance(f, (str, os.PathLike)):
        _write_arrays(f, arrays)
        return
    try:
        with atomic_write(f) as file:
            _write_arrays(file, arrays)
    except OSError as error:
        raise OSError(f"save: cannot write {os.fspath(f)!r}: {_reason(error)}") from None


def load(
    f: FileLike,
    map_location: Any = None,
    *,
    weights_only: bool | None = None,
    like: Mapping[str, Any] | None = None,
    mmap: bool | None = None,
) -> Any:
    """Read what `save` wrote: a state_dict comes back as a dict of name -> Tensor (in the
    saved order), anything else as it was saved (tensors keep `requires_grad`).

    With `like` (e.g. `model.state_dict()`), first check that the checkpoint has exactly the
    same names, and for each name the same shape and dtype; otherwise raise CheckpointError
    listing every difference. `map_location` may name the CPU. The file never holds code, so
    loading is always as safe as PyTorch's `weights_only=True`; that argument and `mmap` are
    accepted for compatibility and change nothing.
    """
    if map_location is not None and not callable(map_location):
        locations = map_location.values() if isinstance(map_location, Mapping) else [map_location]
        for location in locations:
            check_device(location, "load: map_location")
    arrays = _read_arrays(f)
    if nested_data.STRUCTURE in arrays:
        if like is not None:
            raise CheckpointError(f"load: {_name(f)} holds nested data, not a state_dict for like=")
        try:
            return nested_data.unflatten(arrays)
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"load: {_name(f)} has a damaged structure ({error})") from None
    if like is not None:
        _check_matches(arrays, _to_arrays(like), f)
    return {name: Tensor._make(array, False, None) for name, array in arrays.items()}


def _name(f: FileLike) -> str:
    return repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the file object"


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


def _read_arrays(path: FileLike) -> dict[str, np.ndarray]:
    if isinstance(path, (str, os.PathLike)) and not os.path.isfile(path):
        raise FileNotFoundError(f"load: no checkpoint file at {os.fspath(path)!r}")
    if isinstance(path, io.IOBase) or hasattr(path, "read"):
        return _read_open(path)  # type: ignore[arg-type]
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        # NumPy says e.g. "Cannot load file containing pickled data" or "Failed to interpret".
        raise CheckpointError(
            f"load: {_name(path)} is not a readable .npz checkpoint ({error})"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):  # a plain .npy file gives one array
        raise CheckpointError(f"load: {_name(path)} is not an .npz checkpoint")
    if any(name.endswith("data.pkl") for name in archive.files):
        archive.close()
        raise CheckpointError(
            f"load: {_name(path)} was written by PyTorch's torch.save (pickled objects); "
            "tinygrad_lr reads only its own .npz checkpoints (save the arrays with numpy)"
        )
    try:
        arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(
            f"load: {_name(path)} is not a readable .npz checkpoint ({error})"
        ) from None
    finally:
        archive.close()
    for name, array in arrays.items():
        if array.dtype.kind not in "fiub":
            raise CheckpointError(
                f"load: entry {name!r} in {_name(path)} has dtype {array.dtype}, not numbers"
            )
    return arrays


def _read_open(file: IO[bytes]) -> dict[str, np.ndarray]:
    try:
        with np.load(file, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, AttributeError) as error:
        raise CheckpointError(
            f"load: the file object is not a readable .npz checkpoint ({error})"
        ) from None


def _check_matches(
    found: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray], path: FileLike
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
            f"load: {_name(path)} does not match the expected state: " + "; ".join(problems)
        )


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
