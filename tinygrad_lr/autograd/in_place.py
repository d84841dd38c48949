"""In-place changes (`x += y`, `x.zero_()`, `x[i] = v`), with PyTorch's rules.

Every change raises the tensor's version, shared by the views of the same values, so a node that
saved those values refuses to use the new ones. A change that grad mode must record (self or the
other operand requires grad) is computed out of place and written into self, which then has that
op as its grad_fn: the node is *rebased*.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DTypeError, ShapeError
from . import graph
from .grad_mode import _state

if TYPE_CHECKING:
    from ..tensor import Tensor

Update = Callable[[np.ndarray, Any], Any]
OutOfPlace = Callable[["Tensor", Any], "Tensor"]


def change_in_place(
    tensor: Tensor, name: str, other: Any, update: Update, out_of_place: OutOfPlace,
    index: Any = None,
) -> Tensor:  # fmt: skip
    """Change the values of `tensor`: by `update(array, other)` on its NumPy array, or, when the
    change is recorded, by writing in `out_of_place(old_values, other)` and rebasing. `index`
    (of `x[index] = other`) is for op observers."""
    records = _state.grad_enabled and (tensor.requires_grad or _requires_grad(other))
    _check_changeable(tensor, name, records)
    if records:
        # The op reads a copy of the old values, attached where the tensor was in the graph.
        before = type(tensor)._make(tensor._data.copy())
        if tensor.grad_fn is not None:
            before._attach(tensor.grad_fn, tensor._output_nr)
        result = out_of_place(before, other)
        _write(tensor, name, result._data, np.copyto)
        assert result.grad_fn is not None
        tensor._attach(result.grad_fn, result._output_nr)
    else:
        _write(tensor, name, other._data if _is_tensor(other) else other, update)
    for observer in graph._observers:
        observer.on_in_place(tensor, name, other, index)
    return tensor


def track_view(view: Tensor) -> Tensor:
    """Note a view of a tensor that requires grad on its base: a recorded in-place change of the
    base would leave the view's graph stale, and is refused while the view lives."""
    base = view._base
    assert base is not None
    if base._views is None:
        base._views = weakref.WeakSet()
    base._views.add(view)
    return view


def _check_changeable(tensor: Tensor, name: str, records: bool) -> None:
    if records and tensor.is_leaf and tensor.requires_grad:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad cannot be changed in place while "
            "gradients are recorded; do it inside `with tl.no_grad():` (as optimisers do), or "
            "write x = x + y"
        )
    # A view and its base share values but not nodes: rebasing one would leave the other's
    # gradient wrong (PyTorch rebases both; this engine refuses).
    if records and tensor._base is not None:
        raise RuntimeError(
            f"{name}: this tensor is a view of another (made by indexing, reshape, expand or "
            "transpose); changing it in place while gradients are recorded would leave the "
            "other's gradient wrong. Write it out of place, or change a .clone() of the view"
        )
    if records and tensor._views and any(v.grad_fn is not None for v in tensor._views):
        raise RuntimeError(
            f"{name}: views of this tensor were taken before this change (by indexing, reshape, "
            "expand or transpose); changing it in place while gradients are recorded would "
            "leave their gradients wrong. Change it before taking the views, or write it out "
            "of place"
        )
    if not tensor._data.flags.writeable:
        raise RuntimeError(
            f"{name}: this tensor is a read-only view (made by expand or broadcasting); call "
            ".clone() first"
        )


def _write(tensor: Tensor, name: str, value: Any, update: Update) -> None:
    try:
        update(tensor._data, value)
    except ValueError:
        raise ShapeError(
            f"{name}: cannot write values of shape {np.shape(value)} into a tensor of shape "
            f"{tensor.shape}"
        ) from None
    except TypeError as error:
        raise DTypeError(f"{name}: {error}") from None
    except IndexError as error:
        raise IndexError(f"{name}: {error} (tensor shape {tensor.shape})") from None
    tensor._version_counter[0] += 1


def replaced(tensor: Tensor, value: Any) -> Tensor:
    """The out-of-place copy_ and fill_: `value` everywhere, broadcast to the tensor's shape;
    the gradient goes to `value`, none to the old values."""
    from .._args import _operand

    everywhere = type(tensor)._make(np.ones(tensor.shape, dtype=bool))
    return tensor.masked_fill(everywhere, _operand(value, tensor).to(tensor.dtype))


def _requires_grad(value: Any) -> bool:
    return _is_tensor(value) and value.requires_grad


def _is_tensor(value: Any) -> bool:
    return isinstance(value, _tensor.Tensor)


import tinygrad_lr.tensor as _tensor  # noqa: E402  (tensor.py builds on this module)
