"""Grad mode: whether operations on tensors that require grad are recorded.

As in PyTorch the switch is per thread: `no_grad` in one thread leaves the others recording.
Each mode works as a `with` block and as a decorator (`@no_grad()`, and `@no_grad` bare).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _ThreadState(threading.local):
    """The per-thread switches of the engine."""

    grad_enabled: bool = True
    detect_anomaly: bool = False
    anomaly_check_nan: bool = True
    op_depth: int = 0  # how many Function.apply calls are running (ops inside ops)
    saved_tensors_hooks: tuple[tuple[Any, Any], ...] = ()  # (pack, unpack), innermost last


_state = _ThreadState()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded."""
    return _state.grad_enabled


class _GradMode:
    """Sets grad mode to `self.mode` inside a `with` block, or around each call of a function."""

    mode: bool

    def __init__(self) -> None:
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(_state.grad_enabled)
        _state.grad_enabled = self.mode

    def __exit__(self, *exc_info: object) -> None:
        _state.grad_enabled = self._previous.pop()

    def __call__(self, func: F) -> F:
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = _state.grad_enabled
            _state.grad_enabled = mode
            try:
                return func(*args, **kwargs)
            finally:
                _state.grad_enabled = previous

        return wrapper  # type: ignore[return-value]


class _FixedGradMode(_GradMode):
    """A mode fixed by the class; `@mode()` and, as in PyTorch, bare `@mode` both work."""

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        self = super().__new__(cls)
        if func is None:
            return self
        self.__init__()  # type: ignore[misc]
        return self(func)


class no_grad(_FixedGradMode):
    """Record nothing: `with no_grad(): ...`, `@no_grad()` or `@no_grad`."""

    mode = False


class enable_grad(_FixedGradMode):
    """Record again inside a `no_grad` block: `with enable_grad(): ...`, `@enable_grad()`."""

    mode = True


class set_grad_enabled(_GradMode):
    """`set_grad_enabled(False)` switches recording off now; as a context it restores on exit."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.mode = bool(mode)
        self._previous.append(_state.grad_enabled)
        _state.grad_enabled = self.mode

    def __enter__(self) -> None:
        pass  # already switched by __init__, as in PyTorch

    def __call__(self, func: F) -> F:
        # Used as a decorator: undo the switch made by __init__; each call sets the mode.
        _state.grad_enabled = self._previous.pop()
        return super().__call__(func)
