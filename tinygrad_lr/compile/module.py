"""`tl.compile(model)`: the model itself, with a compiled forward for calls under no_grad."""

from __future__ import annotations

from typing import Any

from ..autograd.grad_mode import _state
from ..nn.modules import Module


class CompiledModule:
    """Behaves as `module` (attributes and methods are the module's; `_orig_mod` is it, as in
    PyTorch). With grad mode on, a call runs the module eagerly: the caller's backward needs
    the graph. Under no_grad, the forward is recorded and replayed as NumPy, with the modules'
    `training` flags (dropout, batch statistics) part of the signature."""

    def __init__(self, module: Module, fullgraph: bool) -> None:
        from . import CompiledFunction

        object.__setattr__(self, "_orig_mod", module)

        def forward(training: tuple[bool, ...], *args: Any) -> Any:
            return module(*args)

        forward.__name__ = f"{type(module).__name__.lower()}_forward"
        object.__setattr__(self, "_forward", CompiledFunction(forward, fullgraph))

    @property
    def code(self) -> str | None:
        """The generated source of the latest no_grad forward."""
        return self._forward.code

    def __call__(self, *args: Any) -> Any:
        module = self._orig_mod
        if _state.grad_enabled:
            return module(*args)
        return self._forward(tuple(m.training for m in module.modules()), *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._orig_mod, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._orig_mod, name, value)

    def __repr__(self) -> str:
        return f"CompiledModule({self._orig_mod!r})"
