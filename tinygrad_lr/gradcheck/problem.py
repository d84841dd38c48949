"""The function under test: fn, its arguments (leaf copies the check owns and perturbs), and for
gradgradcheck the first-derivative problem (x, v) -> J(x)^T v."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autograd import grad
from ..errors import DTypeError
from ..tensor import Tensor


@dataclass
class _Options:
    eps: float
    atol: float
    rtol: float
    nondet_tol: float
    max_full_size: int
    n_projections: int
    seed: int


@dataclass
class _Problem:
    """fn and its arguments: leaf copies of the tensors, so the check owns what it perturbs."""

    fn: Callable[..., Any]
    args: list[Any]
    wrt: list[int]  # positions of the arguments that are differentiated
    names: list[str]  # how the report names each argument

    @classmethod
    def build(cls, fn: Callable[..., Any], inputs: Any, where: str) -> _Problem:
        if not callable(fn):
            raise TypeError(f"{where}: fn must be callable, got {type(fn).__name__}")
        given = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
        args: list[Any] = []
        wrt: list[int] = []
        names: list[str] = []
        for position, value in enumerate(given):
            if isinstance(value, np.ndarray):
                value = Tensor._make(value, value.dtype.kind == "f", None)
            if isinstance(value, Tensor):
                differentiate = value.requires_grad
                if differentiate and value.dtype != np.float64:
                    raise DTypeError(
                        f"{where}: input {position} has dtype {value.dtype}, but finite "
                        f"differences need float64 (in {value.dtype} rounding errors swamp the "
                        "differences); cast it first, e.g. x.double() for a tensor or "
                        "x.astype(np.float64) for an array, and build the tensors of fn in "
                        "float64 too"
                    )
                copy = Tensor._make(np.array(value._data), differentiate, None)
                if differentiate:
                    wrt.append(position)
                value = copy
            names.append(_describe_input(position, value))
            args.append(value)
        if not wrt:
            raise ValueError(
                f"{where}: no input requires grad; pass tensors made with requires_grad=True "
                "(or floating NumPy arrays)"
            )
        return cls(fn, args, wrt, names)

    def tensors(self) -> list[Tensor]:
        return [self.args[i] for i in self.wrt]

    def outputs(self, args: list[Any] | None = None) -> list[Tensor | None]:
        """fn(args) as a list of its outputs; non-floating outputs (masks, indices) as None."""
        result = self.fn(*(self.args if args is None else args))
        items = list(result) if isinstance(result, (tuple, list)) else [result]
        if not items or not all(isinstance(item, Tensor) for item in items):
            raise TypeError(
                f"gradcheck: fn must return a Tensor or a tuple of Tensors, got {result!r:.80}"
            )
        return [item if item.dtype.kind == "f" else None for item in items]

    def values(self, replaced: dict[int, np.ndarray]) -> np.ndarray:
        """All floating outputs of fn, flattened into one float64 vector, with the arguments
        at the positions of `replaced` given new values."""
        args = list(self.args)
        for position, array in replaced.items():
            args[position] = Tensor._make(array, True, None)
        outputs = self.outputs(args)
        parts = [
            np.asarray(out._data, dtype=np.float64).ravel() for out in outputs if out is not None
        ]
        return np.concatenate(parts) if parts else np.zeros(0)


def _describe_input(position: int, value: Any) -> str:
    if isinstance(value, Tensor):
        label = f" '{value.name}'" if value.name else ""
        return f"input {position}{label} (shape {value.shape})"
    return f"input {position}"


def _first_derivative_problem(problem: _Problem, grad_outputs: Any, seed: int) -> _Problem:
    """The problem (x, v) -> d<v, fn(x)>/dx, recorded with create_graph=True, for
    gradgradcheck: its Jacobian holds the second derivatives of fn."""
    outputs = [out for out in problem.outputs() if out is not None]
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        upstream = [rng.standard_normal(out.shape) for out in outputs]
    else:
        given = grad_outputs if isinstance(grad_outputs, (tuple, list)) else [grad_outputs]
        upstream = [np.array(np.asarray(g), dtype=np.float64) for g in given]
    n_args = len(problem.args)

    def first_derivative(*args: Any) -> tuple[Tensor, ...]:
        xs = [args[i] for i in problem.wrt]
        outs = [out for out in problem.outputs(list(args[:n_args])) if out is not None]
        vs = list(args[n_args:])
        live = [k for k, out in enumerate(outs) if out.requires_grad]
        if not live:
            return tuple(x * 0.0 for x in xs)
        grads = grad(
            [outs[k] for k in live],
            xs,
            grad_outputs=[vs[k] for k in live],
            create_graph=True,
            allow_unused=True,
        )
        # An input the gradient does not reach has a zero gradient, constant in x and v.
        return tuple(x * 0.0 if g is None else g for x, g in zip(xs, grads))

    upstream_tensors = [Tensor._make(v, True, None) for v in upstream]
    names = problem.names + [f"grad_output {k} (shape {v.shape})" for k, v in enumerate(upstream)]
    wrt = problem.wrt + list(range(n_args, n_args + len(upstream)))
    return _Problem(first_derivative, problem.args + upstream_tensors, wrt, names)
