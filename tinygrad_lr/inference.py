"""`inference_mode`: PyTorch's context manager and decorator for evaluation code.

Here it is `no_grad` under another name: inside it nothing is recorded for backward. PyTorch
additionally marks the tensors made inside as "inference tensors" that can never join a
graph later, which makes its version a little faster; tinygrad_lr has no such tensors, so
results made inside can be used with autograd afterwards (as after no_grad).

    with tl.inference_mode():
        predictions = model(X_test)

    @tl.inference_mode()
    def evaluate(model, X): ...
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .autograd import no_grad

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["inference_mode", "is_inference_mode_enabled"]


class _Depth(threading.local):
    """How many enabled inference_mode blocks are open in this thread."""

    open_blocks = 0


_depth = _Depth()


class inference_mode:
    """`with inference_mode():`, `@inference_mode()`, `@inference_mode`; `inference_mode(False)`
    changes nothing (so code can switch it off with a flag)."""

    def __new__(cls, mode: Any = True) -> Any:
        self = super().__new__(cls)
        if callable(mode):  # used bare, as @inference_mode
            self.__init__()  # type: ignore[misc]
            return self(mode)
        return self

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)
        self._contexts: list[no_grad] = []

    def __enter__(self) -> None:
        context = no_grad()
        self._contexts.append(context)
        if self.mode:
            context.__enter__()
            _depth.open_blocks += 1

    def __exit__(self, *exc_info: object) -> None:
        context = self._contexts.pop()
        if self.mode:
            _depth.open_blocks -= 1
            context.__exit__(*exc_info)

    def __call__(self, func: F) -> F:
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):  # a fresh context per call, safe across threads
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def is_inference_mode_enabled() -> bool:
    """True inside an `inference_mode()` block."""
    return _depth.open_blocks > 0
