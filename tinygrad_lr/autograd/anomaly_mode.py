"""Anomaly mode: each op remembers the line that created it, and the backward pass stops at the
first op whose backward makes a NaN or an infinity, naming the op and that line."""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .grad_mode import _state

if TYPE_CHECKING:
    from ..tensor import Tensor
    from .graph import Node

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class detect_anomaly:
    """`with detect_anomaly(): ...` turns anomaly mode on inside the block.

    With `check_nan=False` ops still remember where they were created, but NaN passes."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._previous: list[tuple[bool, bool]] = []

    def __enter__(self) -> None:
        self._previous.append((_state.detect_anomaly, _state.anomaly_check_nan))
        _state.detect_anomaly, _state.anomaly_check_nan = True, self.check_nan

    def __exit__(self, *exc_info: object) -> None:
        _state.detect_anomaly, _state.anomaly_check_nan = self._previous.pop()


class set_detect_anomaly:
    """Switch anomaly detection on or off for this thread now; as a context (`with
    set_detect_anomaly(True):`) it restores the previous setting on exit, as in PyTorch."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._previous = (_state.detect_anomaly, _state.anomaly_check_nan)
        _state.detect_anomaly, _state.anomaly_check_nan = bool(mode), bool(check_nan)

    def __enter__(self) -> None:
        pass  # already switched by __init__

    def __exit__(self, *exc_info: object) -> None:
        _state.detect_anomaly, _state.anomaly_check_nan = self._previous


def is_anomaly_enabled() -> bool:
    return _state.detect_anomaly


def is_anomaly_check_nan_enabled() -> bool:
    """True when anomaly mode stops the backward pass at NaN and inf gradients."""
    return _state.detect_anomaly and _state.anomaly_check_nan


def remember_origin(node: Node) -> None:
    """Anomaly mode: keep the stack that created `node` in `node.metadata`, as PyTorch does."""
    node.metadata["traceback_"] = traceback.extract_stack()[:-3]


def user_line(node: Node) -> str:
    """The line of user code (the last frame outside this package) that created `node`, as
    `file:line: code`, or "" when anomaly mode did not record one."""
    stack = node.metadata.get("traceback_", ())
    frames = [f for f in stack if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    if not frames:
        return ""
    frame = frames[-1]
    return f"{frame.filename}:{frame.lineno}: {frame.line}"


def check_finite(grad: Tensor, node: Node, position: int) -> None:
    """Stop at the first op whose backward made a NaN or an infinity."""
    data = grad._data
    if np.all(np.isfinite(data)):
        return
    counts = ((int(np.isnan(data).sum()), "NaN"), (int(np.isinf(data).sum()), "inf"))
    found = " and ".join(f"{n} {kind}" for n, kind in counts if n)
    origin = user_line(node)
    raise RuntimeError(
        f"{node.name()} returned a non-finite gradient ({found} of {data.size} values) for "
        f"input {position} of shape {data.shape}."
        + (f"\nThe op was created at {origin}" if origin else "")
    )


def warn_error_in(node: Node) -> None:
    """Anomaly mode, as PyTorch does: an error in a node's backward is preceded by a warning
    naming the node and the line that created it, pointing at the user's backward() call."""
    level, frame = 1, sys._getframe(0)
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE_DIR
    ):
        level, frame = level + 1, frame.f_back
    warnings.warn(f"Error detected in {node.name()}. {user_line(node)}", stacklevel=level)
