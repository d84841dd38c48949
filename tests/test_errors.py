"""Misuse gets a clear error: the right exception type, and a message that names the op (or
function) and the shapes or values involved, never NumPy's words from deep inside the engine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr import nn, optim
from tinygrad_lr.data import DataLoader, TensorDataset, data_iter
from tinygrad_lr.errors import DTypeError, ShapeError
from tinygrad_lr.nn.modules import StateDictError


def _raises(action: Callable[[], Any], kind: type[BaseException], pattern: str) -> None:
    """`action()` raises `kind` whose message starts with what `pattern` describes, and the
    traceback shows no NumPy exception underneath it."""
    with pytest.raises(kind, match="^" + pattern) as info:
        action()
    error = info.value
    # Raised `from None` (or not while handling another error): no NumPy exception is shown.
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None, repr(error.__context__)


# --- bad data ---------------------------------------------------------------------------------

BAD_DATA = [
    pytest.param(["a", "b"], DTypeError, r"tensor: data must be numbers, got list .*<U1", id="str"),
    pytest.param([1.0, "b"], DTypeError, r"tensor: data must be numbers", id="mixed"),
    pytest.param(
        [[1.0, 2.0], [3.0]], ValueError, r"tensor: the nested sequence is ragged", id="ragged"
    ),
    pytest.param(
        np.array([1, None], dtype=object),
        DTypeError,
        r"tensor: data must be numbers, got ndarray giving NumPy dtype object",
        id="object array",
    ),
    pytest.param(
        {"a": 1}, DTypeError, r"tensor: data must be numbers, got dict .*object", id="dict"
    ),
    pytest.param(None, DTypeError, r"tensor: data must be numbers, got NoneType", id="None"),
    pytest.param(
        [1 + 2j],
        DTypeError,
        r"tensor: complex numbers are not supported .*complex128",
        id="complex",
    ),
]


@pytest.mark.parametrize(("data", "kind", "pattern"), BAD_DATA)
def test_bad_data(data: Any, kind: type[Exception], pattern: str) -> None:
    _raises(lambda: tl.tensor(data), kind, pattern)


def test_bad_operand_of_an_operator_names_the_value() -> None:
    _raises(lambda: tl.ones(3) + "a", DTypeError, r"operand: data must be numbers, got str")
    _raises(lambda: tl.ones(3) * None, DTypeError, r"operand: data must be numbers, got NoneType")


@pytest.mark.parametrize("dtype", [tl.int64, tl.int32, tl.bool])
def test_requires_grad_on_integer_or_bool_data(dtype: Any) -> None:
    pattern = rf"only floating-point tensors can require gradients, got dtype {np.dtype(dtype)}"
    _raises(lambda: tl.tensor([1, 0], dtype=dtype, requires_grad=True), DTypeError, pattern)
    _raises(lambda: tl.zeros(2, dtype=dtype).requires_grad_(), DTypeError, pattern)
    _raises(lambda: tl.Tensor([1, 2], dtype=dtype, requires_grad=True), TypeError, pattern)


BAD_SIZES_AND_DTYPES = [
    pytest.param(
        lambda: tl.zeros(-1), ValueError, r"zeros: sizes must be non-negative, got \(-1,\)"
    ),
    pytest.param(lambda: tl.randn(2, -3), ValueError, r"randn: sizes must be non-negative"),
    pytest.param(lambda: tl.ones("3"), TypeError, r"ones: sizes must be integers, got \('3',\)"),
    pytest.param(lambda: tl.rand(2.5), TypeError, r"rand: sizes must be integers, got \(2.5,\)"),
    pytest.param(lambda: tl.ones(6).reshape(2.0, 3), TypeError, r"reshape: sizes must be integers"),
    pytest.param(lambda: tl.full((2,), "a"), TypeError, r"full: fill_value must be a number"),
    pytest.param(lambda: tl.randint(5, 2, (3,)), ValueError, r"randint: needs low < high"),
    pytest.param(
        lambda: tl.tensor([1.0], dtype="float99"), DTypeError, r"tensor: unknown dtype 'float99'"
    ),
    pytest.param(
        lambda: tl.zeros(2, dtype=complex), DTypeError, r"dtype: dtype complex128 is not supported"
    ),
    pytest.param(lambda: tl.ones(2).to("float99"), DTypeError, r"to: unknown dtype 'float99'"),
    pytest.param(
        lambda: tl.ones(2).to("cuda"),
        RuntimeError,
        r"to: device 'cuda': tinygrad_lr runs on the CPU",
    ),
]


@pytest.mark.parametrize(("action", "kind", "pattern"), BAD_SIZES_AND_DTYPES)
def test_bad_sizes_and_dtypes(
    action: Callable[[], Any], kind: type[Exception], pattern: str
) -> None:
    _raises(action, kind, pattern)


# --- shapes, dims and indices -----------------------------------------------------------------

SHAPE_MISUSE = [
    pytest.param(
        lambda: tl.ones(3, 4) + tl.ones(5), r"add: cannot broadcast \(3, 4\) with \(5,\)", id="add"
    ),
    pytest.param(
        lambda: tl.ones(3, 4) * np.ones(5), r"mul: cannot broadcast \(3, 4\) with \(5,\)", id="mul"
    ),
    pytest.param(
        lambda: np.ones((2, 3)) - tl.ones(4),
        r"sub: cannot broadcast \(2, 3\) with \(4,\)",
        id="rsub",
    ),
    pytest.param(
        lambda: tl.maximum(tl.ones(2), tl.ones(3)),
        r"maximum: cannot broadcast \(2,\) with \(3,\)",
        id="maximum",
    ),
    pytest.param(
        lambda: tl.where(tl.ones(3) > 0, tl.ones(3, 4), tl.ones(5)),
        r"where: cannot broadcast \(3,\) with \(3, 4\) with \(5,\)",
        id="where",
    ),
    pytest.param(
        lambda: tl.ones(3) < tl.ones(4), r"lt: cannot broadcast \(3,\) with \(4,\)", id="lt"
    ),
    pytest.param(
        lambda: tl.ones(2, 3) @ tl.ones(4, 5),
        r"matmul: inner dimensions do not match: \(2, 3\) @ \(4, 5\) \(3 != 4\)",
        id="matmul",
    ),
    pytest.param(
        lambda: tl.ones(3) @ tl.ones(4), r"matmul: inner dimensions .*\(3,\) @ \(4,\)", id="dot"
    ),
    pytest.param(
        lambda: tl.ones(2, 2, 3) @ tl.ones(3, 3, 4),
        r"matmul: batch dimensions do not broadcast: \(2, 2, 3\) @ \(3, 3, 4\)",
        id="batched matmul",
    ),
    pytest.param(
        lambda: tl.tensor(2.0) @ tl.ones(3),
        r"matmul: both operands need at least one dimension, got \(\) @ \(3,\)",
        id="matmul scalar",
    ),
    pytest.param(
        lambda: tl.ones(2, 3).reshape(4, 2),
        r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)",
        id="reshape",
    ),
    pytest.param(
        lambda: tl.ones(2, 3).view(-1, 4),
        r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(-1, 4\)",
        id="view",
    ),
    pytest.param(
        lambda: tl.ones(3).expand(4, 5),
        r"expand: cannot expand a tensor of shape \(3,\) to \(4, 5\)",
        id="expand",
    ),
    pytest.param(
        lambda: tl.cat([tl.ones(2, 3), tl.ones(3, 4)]),
        r"cat: tensors must have the same shape except in the joined dim; got \(2, 3\), \(3, 4\)",
        id="cat",
    ),
    pytest.param(
        lambda: tl.ones(2, 3).permute(0, 0),
        r"permute: \(0, 0\) is not an ordering of the 2 dims",
        id="permute",
    ),
    pytest.param(
        lambda: tl.ones(0).max(),
        r"max: cannot reduce an empty tensor of shape \(0,\)",
        id="max of empty",
    ),
    pytest.param(
        lambda: tl.ones(3).add_(tl.ones(4)),
        r"add_: cannot write values of shape \(4,\) into a tensor of shape \(3,\)",
        id="in-place add",
    ),
]


@pytest.mark.parametrize(("action", "pattern"), SHAPE_MISUSE)
def test_shape_misuse_is_a_shape_error(action: Callable[[], Any], pattern: str) -> None:
    _raises(action, ShapeError, pattern)


def test_shape_errors_are_also_value_and_runtime_errors_as_in_pytorch() -> None:
    for kind in (ValueError, RuntimeError):
        with pytest.raises(kind):
            tl.ones(3, 4) + tl.ones(5)


DIM_MISUSE = [
    pytest.param(lambda: tl.ones(2, 3).sum(dim=2), "sum", 2, 2, id="sum"),
    pytest.param(lambda: tl.ones(2, 3).mean(-3), "mean", -3, 2, id="mean"),
    pytest.param(lambda: tl.ones(2, 3).max(dim=5), "max", 5, 2, id="max"),
    pytest.param(lambda: tl.ones(2, 3).softmax(dim=2), "softmax", 2, 2, id="softmax"),
    pytest.param(lambda: tl.ones(2, 3).log_softmax(dim=7), "log_softmax", 7, 2, id="log_softmax"),
    pytest.param(lambda: tl.ones(2, 3).logsumexp(dim=2), "logsumexp", 2, 2, id="logsumexp"),
    pytest.param(lambda: tl.ones(2, 3).transpose(0, 2), "transpose", 2, 2, id="transpose"),
    pytest.param(lambda: tl.ones(2).unsqueeze(4), "unsqueeze", 4, 2, id="unsqueeze"),
    pytest.param(lambda: tl.ones(2, 3).squeeze(3), "squeeze", 3, 2, id="squeeze"),
    pytest.param(lambda: tl.cat([tl.ones(2), tl.ones(2)], dim=1), "cat", 1, 1, id="cat"),
    pytest.param(lambda: tl.stack([tl.ones(2), tl.ones(2)], dim=3), "stack", 3, 2, id="stack"),
    pytest.param(lambda: tl.ones(2, 3).size(2), "size", 2, 2, id="size"),
    pytest.param(lambda: tl.ones(2, 3).argmax(dim=2), "argmax", 2, 2, id="argmax"),
]


@pytest.mark.parametrize(("action", "op", "dim", "ndim"), DIM_MISUSE)
def test_out_of_range_dim(action: Callable[[], Any], op: str, dim: int, ndim: int) -> None:
    _raises(
        action,
        IndexError,
        rf"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions "
        rf"\(expected -{ndim} to {ndim - 1}\)",
    )


def test_dim_of_the_wrong_type() -> None:
    _raises(lambda: tl.ones(2, 3).softmax(dim=1.0), TypeError, r"softmax: dim must be an int")  # type: ignore[arg-type]


INDEX_MISUSE = [
    pytest.param(
        lambda: tl.ones(2, 3)[5], r"getitem: index 5 is out of bounds .* size 2", id="int"
    ),
    pytest.param(
        lambda: tl.ones(2, 3)[:, -4], r"getitem: index -4 is out of bounds .* size 3", id="neg"
    ),
    pytest.param(
        lambda: tl.ones(2, 3)[tl.tensor([0, 7])], r"getitem: index 7 is out of bounds", id="tensor"
    ),
    pytest.param(lambda: tl.ones(2, 3)[[0, 2]], r"getitem: index 2 is out of bounds", id="list"),
    pytest.param(lambda: tl.ones(2, 3)[0, 0, 0], r"getitem: too many indices", id="too many"),
    pytest.param(
        lambda: tl.ones(2, 3)[tl.tensor([True, False, True])],
        r"getitem: boolean index did not match .* size of axis is 2 .* boolean axis is 3",
        id="mask",
    ),
    pytest.param(
        lambda: tl.ones(2, 3)[tl.tensor([0.0])],
        r"getitem: tensors used as indices must be integer or boolean, got float64",
        id="float index",
    ),
]


@pytest.mark.parametrize(("action", "pattern"), INDEX_MISUSE)
def test_out_of_range_or_invalid_index(action: Callable[[], Any], pattern: str) -> None:
    _raises(action, IndexError, pattern)


def test_setitem_out_of_range() -> None:
    x = tl.zeros(3)
    _raises(
        lambda: x.__setitem__(3, 1.0),
        IndexError,
        r"setitem: index 3 is out of bounds for axis 0 with size 3 \(tensor shape \(3,\)\)",
    )


# --- leaving the graph ------------------------------------------------------------------------


def test_item_and_float_on_many_elements() -> None:
    pattern = r"\(\): a tensor with 3 elements \(shape \(3,\)\) cannot be converted"
    _raises(lambda: tl.ones(3).item(), RuntimeError, "item" + pattern)
    _raises(lambda: float(tl.ones(3)), RuntimeError, "float" + pattern)
    _raises(lambda: int(tl.ones(1, 3)), RuntimeError, r"int\(\): a tensor with 3 elements")


def test_truth_value_of_many_elements() -> None:
    _raises(lambda: bool(tl.ones(2)), RuntimeError, r"the truth value of a tensor with 2 elements")


def test_numpy_on_a_tensor_that_requires_grad() -> None:
    _raises(
        lambda: tl.ones(2, requires_grad=True).numpy(),
        RuntimeError,
        r"numpy\(\): can't call numpy\(\) on a tensor that requires grad; use tensor.detach",
    )


def test_len_of_a_0d_tensor() -> None:
    _raises(lambda: len(tl.tensor(1.0)), TypeError, r"len\(\) of a 0-d tensor")


# --- backward ---------------------------------------------------------------------------------


def test_backward_on_a_non_scalar_without_gradient() -> None:
    x = tl.ones(3, requires_grad=True)
    _raises(
        lambda: (x * 2).backward(),
        RuntimeError,
        r"backward\(\): gradient can be implied only for a one-element output, but the output "
        r"has shape \(3,\); pass gradient=",
    )


def test_backward_with_a_gradient_of_the_wrong_shape() -> None:
    x = tl.ones(2, 3, requires_grad=True)
    y = x * 2
    pattern = r"backward\(\): gradient has shape \(3, 2\) but the output has shape \(2, 3\)"
    _raises(lambda: y.backward(tl.ones(3, 2)), ShapeError, pattern)
    _raises(lambda: y.backward(np.ones((3, 2))), ShapeError, pattern)
    assert x.grad is None


def test_backward_twice_through_a_freed_graph() -> None:
    x = tl.ones(3, requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    _raises(
        loss.backward,
        RuntimeError,
        r"MulBackward: trying to backward through the graph a second time .* retain_graph=True",
    )


def test_backward_through_a_shared_part_of_a_freed_graph() -> None:
    x = tl.ones(3, requires_grad=True)
    hidden = x.exp()
    first, second = hidden.sum(), (hidden * 2).sum()
    first.backward()
    _raises(second.backward, RuntimeError, r"ExpBackward: trying to backward through the graph")


def test_backward_through_a_tensor_changed_in_place_after_it_was_saved() -> None:
    w = tl.ones(3, requires_grad=True)
    loss = (w * w).sum()
    with tl.no_grad():
        w -= 0.1  # an optimiser step before backward: the saved w is stale
    _raises(
        loss.backward,
        RuntimeError,
        r"MulBackward: saved tensor 0 \(shape \(3,\)\) was modified by an in-place operation "
        r"after it was saved for backward: it is at version 1, saved at version 0",
    )
    assert w.grad is None  # no silently wrong gradient


def test_backward_through_a_view_changed_in_place_after_it_was_saved() -> None:
    x = tl.arange(6.0).requires_grad_()
    y = x * 1.0
    rows = y.reshape(2, 3)
    out = rows.sin().sum()
    with tl.no_grad():
        y[0] = 10.0  # the view `rows` shares y's values and version
    _raises(
        out.backward, RuntimeError, r"SinBackward: saved tensor 0 \(shape \(2, 3\)\) was modified"
    )


@pytest.mark.parametrize("op", ["exp", "tanh", "sigmoid", "sqrt"])
def test_backward_through_an_output_changed_in_place_after_it_was_saved(op: str) -> None:
    # These ops keep their output for backward (d e^x/dx = e^x), so changing it is caught too.
    x = tl.tensor([0.5, 2.0], requires_grad=True)
    z = getattr(x, op)()
    out = (z + 1.0).sum()  # add keeps nothing for backward: only exp itself can object
    with tl.no_grad():
        z[0] = 10.0
    _raises(
        out.backward,
        RuntimeError,
        rf"{op.capitalize()}Backward: saved tensor 0 \(its output\) \(shape \(2,\)\) was modified",
    )
    assert x.grad is None


def test_backward_from_a_tensor_that_records_nothing() -> None:
    x = tl.ones(3, requires_grad=True)
    with tl.no_grad():
        loss = (x * 2).sum()
    _raises(loss.backward, RuntimeError, r"backward\(\).* does not require grad")
    _raises(tl.ones(3).sum().backward, RuntimeError, r"backward\(\).* does not require grad")


def test_grad_with_an_unused_input_or_one_that_needs_no_grad() -> None:
    x, unused = tl.ones(3, requires_grad=True), tl.ones(3, requires_grad=True)
    _raises(
        lambda: tl.grad((x * 2).sum(), [x, unused]),
        RuntimeError,
        r"grad: input 1 \(shape \(3,\)\) was not used to compute the outputs; pass allow_unused",
    )
    _raises(
        lambda: tl.grad((x * 2).sum(), [tl.ones(3)]),
        RuntimeError,
        r"grad: input 0 does not require grad",
    )


# --- in-place changes -------------------------------------------------------------------------

IN_PLACE_ON_LEAF = [
    pytest.param(lambda x: x.__iadd__(1.0), "add_", id="+="),
    pytest.param(lambda x: x.__isub__(1.0), "sub_", id="-="),
    pytest.param(lambda x: x.mul_(2.0), "mul_", id="mul_"),
    pytest.param(lambda x: x.div_(2.0), "div_", id="div_"),
    pytest.param(lambda x: x.copy_(tl.zeros(3)), "copy_", id="copy_"),
    pytest.param(lambda x: x.zero_(), "zero_", id="zero_"),
    pytest.param(lambda x: x.__setitem__(0, 5.0), "setitem", id="setitem"),
]


@pytest.mark.parametrize(("change", "name"), IN_PLACE_ON_LEAF)
def test_in_place_change_of_a_leaf_that_requires_grad(
    change: Callable[[Any], Any], name: str
) -> None:
    x = tl.ones(3, requires_grad=True)
    _raises(
        lambda: change(x),
        RuntimeError,
        rf"{name}: a leaf tensor that requires grad cannot be changed in place while gradients "
        r"are recorded; do it inside `with tl.no_grad\(\):`",
    )
    np.testing.assert_array_equal(x.detach().numpy(), np.ones(3))
    with tl.no_grad():
        change(x)  # the documented way works


def test_add_to_a_leaf_that_requires_grad_is_refused() -> None:
    w = tl.ones(3, requires_grad=True)
    _raises(
        lambda: w.add_(1.0),
        RuntimeError,
        r"add_: a leaf tensor that requires grad cannot be changed in place while gradients are "
        "recorded",
    )


def test_in_place_change_of_a_broadcast_view() -> None:
    view = tl.ones(3).expand(2, 3)
    _raises(lambda: view.add_(1.0), RuntimeError, r"add_: this tensor is a read-only view")


# --- modules ----------------------------------------------------------------------------------


class _Scaled(nn.Module):
    """A module with one Parameter and one plain tensor that requires grad."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(tl.ones(2))
        self.offset = tl.ones(2, requires_grad=True)

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return x * self.weight + self.offset


def test_a_plain_tensor_attribute_is_not_a_parameter_as_documented() -> None:
    # Documented in tinygrad_lr/nn/modules.py, as in PyTorch: only Parameter is registered.
    assert re.search(r"Tensor.*not\W*registered", nn.modules.__doc__ or "", re.S)
    model = _Scaled()
    assert [name for name, _ in model.named_parameters()] == ["weight"]
    assert list(model.state_dict()) == ["weight"]
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    model(tl.ones(2)).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(model.offset.detach().numpy(), np.ones(2))  # not updated
    np.testing.assert_array_equal(model.weight.detach().numpy(), np.full(2, 0.5))


def test_a_parameter_assigned_before_module_init() -> None:
    class Early(nn.Module):
        def __init__(self) -> None:
            self.weight = nn.Parameter(tl.ones(2))
            super().__init__()

    _raises(Early, AttributeError, r"cannot assign Parameter 'weight' before Module.__init__\(\)")


@pytest.fixture
def linear() -> nn.Linear:
    return nn.Linear(2, 3)


def test_load_state_dict_with_a_missing_entry(linear: nn.Linear) -> None:
    before = linear.weight.detach().numpy().copy()
    _raises(
        lambda: linear.load_state_dict({"weight": tl.zeros(3, 2)}),
        StateDictError,
        r"Error\(s\) in loading state_dict for Linear: missing keys: 'bias'",
    )
    np.testing.assert_array_equal(linear.weight.detach().numpy(), before)  # nothing changed


def test_load_state_dict_with_an_unexpected_entry(linear: nn.Linear) -> None:
    state = {"weight": tl.zeros(3, 2), "bias": tl.zeros(3), "scale": tl.zeros(1)}
    _raises(
        lambda: linear.load_state_dict(state),
        StateDictError,
        r"Error\(s\) in loading state_dict for Linear: unexpected keys: 'scale'",
    )


def test_load_state_dict_with_a_mis_shaped_entry(linear: nn.Linear) -> None:
    _raises(
        lambda: linear.load_state_dict({"weight": tl.zeros(2, 3), "bias": tl.zeros(3)}),
        StateDictError,
        r"Error\(s\) in loading state_dict for Linear: size mismatch for 'weight': the state_dict "
        r"has shape \(2, 3\), the model has shape \(3, 2\)",
    )


def test_load_state_dict_with_a_non_numeric_entry(linear: nn.Linear) -> None:
    _raises(
        lambda: linear.load_state_dict({"weight": "zeros", "bias": tl.zeros(3)}),
        StateDictError,
        r"Error\(s\) in loading state_dict for Linear: 'weight' must hold numbers, got str",
    )


def test_linear_with_the_wrong_number_of_features(linear: nn.Linear) -> None:
    _raises(
        lambda: linear(tl.ones(4, 5)),
        ShapeError,
        r"Linear\(in_features=2, out_features=3, bias=True\): input of shape \(4, 5\) must have "
        r"last dimension 2",
    )


def test_losses_refuse_shapes_that_would_broadcast_silently() -> None:
    _raises(
        lambda: nn.functional.mse_loss(tl.ones(4, 1), tl.ones(4)),
        ShapeError,
        r"mse_loss: input has shape \(4, 1\) but target has shape \(4,\); they must match "
        r"\(e.g. target.reshape\(\(4, 1\)\)\)",
    )


def test_cross_entropy_misuse() -> None:
    logits = tl.zeros(4, 3)
    _raises(
        lambda: nn.functional.cross_entropy(logits, tl.tensor([0, 1, 2, 3])),
        ValueError,
        r"cross_entropy: target values must lie in \[0, 3\), got values from 0 to 3",
    )
    _raises(
        lambda: nn.functional.cross_entropy(logits, tl.tensor([0.0, 1.0, 2.0, 1.0])),
        DTypeError,
        r"cross_entropy: a target of shape \(4,\) holds class indices, which must be integers",
    )


# --- optimisers -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [optim.SGD, optim.Adam])
def test_optimiser_with_no_parameters(make: Any) -> None:
    name = make.__name__
    _raises(lambda: make([], lr=0.1), ValueError, rf"{name} got an empty parameter list")
    _raises(
        lambda: make(nn.ReLU().parameters(), lr=0.1),
        ValueError,
        rf"{name} got an empty parameter list",
    )
    _raises(
        lambda: make(tl.ones(2, requires_grad=True), lr=0.1),
        TypeError,
        rf"{name}: params must be an iterable of tensors",
    )


BAD_HYPER_PARAMETERS = [
    pytest.param(optim.SGD, {"lr": -0.1}, r"SGD: invalid lr -0.1", id="SGD negative lr"),
    pytest.param(optim.SGD, {"lr": float("nan")}, r"SGD: invalid lr nan", id="SGD NaN lr"),
    pytest.param(optim.SGD, {"lr": "0.1"}, r"SGD: lr must be a number, got '0.1'", id="SGD str"),
    pytest.param(
        optim.SGD, {"lr": 0.1, "momentum": -0.5}, r"SGD: invalid momentum -0.5", id="momentum"
    ),
    pytest.param(
        optim.SGD, {"lr": 0.1, "nesterov": True}, r"SGD: nesterov momentum requires", id="nesterov"
    ),
    pytest.param(optim.Adam, {"lr": -1.0}, r"Adam: invalid lr -1.0", id="Adam lr"),
    pytest.param(optim.Adam, {"eps": -1e-8}, r"Adam: invalid eps -1e-08", id="Adam eps"),
    pytest.param(
        optim.Adam,
        {"betas": (0.9, 1.5)},
        r"Adam: invalid beta parameter at index 1: 1.5",
        id="beta",
    ),
    pytest.param(optim.Adam, {"betas": 0.9}, r"Adam: betas must be a pair", id="betas"),
]


@pytest.mark.parametrize(("make", "settings", "pattern"), BAD_HYPER_PARAMETERS)
def test_optimiser_with_bad_hyper_parameters(
    make: Any, settings: dict[str, Any], pattern: str
) -> None:
    _raises(lambda: make(nn.Linear(2, 1).parameters(), **settings), ValueError, pattern)


def test_optimiser_with_a_non_leaf_parameter() -> None:
    computed = tl.ones(2, requires_grad=True) * 2
    _raises(
        lambda: optim.SGD([computed], lr=0.1),
        ValueError,
        r"SGD: parameter 0 \(shape \(2,\)\) is not a leaf tensor",
    )


# --- data -------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, None, True])
def test_data_loader_with_a_bad_batch_size(batch_size: Any) -> None:
    dataset = TensorDataset(tl.ones(4, 2), tl.ones(4))
    _raises(
        lambda: DataLoader(dataset, batch_size=batch_size),
        ValueError,
        rf"DataLoader: batch_size must be a positive integer, got {batch_size!r}",
    )
    _raises(
        lambda: list(data_iter(batch_size, tl.ones(4, 2), tl.ones(4))),
        ValueError,
        rf"data_iter: batch_size must be a positive integer, got {batch_size!r}",
    )


def test_data_with_mismatched_lengths() -> None:
    _raises(
        lambda: TensorDataset(tl.ones(4, 2), tl.ones(5)),
        ValueError,
        r"TensorDataset: tensors have different first dimensions \[4, 5\]",
    )
    _raises(
        lambda: list(data_iter(2, tl.ones(4, 2), tl.ones(5))),
        ValueError,
        r"data_iter: 4 feature rows but 5 labels",
    )


def test_data_loader_over_something_that_is_not_a_dataset() -> None:
    _raises(
        lambda: DataLoader(42, batch_size=2),
        TypeError,
        r"DataLoader: dataset must support len\(\) and indexing, got int",
    )


# --- the command line -------------------------------------------------------------------------

_ROOT = str(Path(tl.__file__).resolve().parent.parent)


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_lr", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], pattern: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.match(r"tinygrad-lr: error: " + pattern, lines[0]), lines[0]


CSV_PROBLEMS = [
    pytest.param(None, "y", r"missing\.csv: no such file", id="missing"),
    pytest.param("", "y", r"data\.csv: the file is empty", id="empty"),
    pytest.param("a,b,y\n", "y", r"data\.csv: the file has a header but no data rows", id="header"),
    pytest.param(
        "a,b,y\n1,2,3\n4,x,6\n",
        "y",
        r"data\.csv:3: column 'b' has 'x', which is not a number",
        id="non-numeric",
    ),
    pytest.param(
        "a,b,y\n1,2,3\n4,5\n",
        "y",
        r"data\.csv:3: expected 3 values \(one per header column\), found 2",
        id="ragged",
    ),
    pytest.param(
        "a,b,y\n1,2,3\n4,5,6\n",
        "price",
        r"data\.csv: no column named 'price'; the columns are a, b, y",
        id="unknown target",
    ),
]


@pytest.mark.parametrize(("content", "target", "pattern"), CSV_PROBLEMS)
def test_cli_with_a_bad_csv(tmp_path: Path, content: str | None, target: str, pattern: str) -> None:
    name = "missing.csv" if content is None else "data.csv"
    if content is not None:
        (tmp_path / name).write_text(content)
    _assert_one_clear_line(_run_cli("--csv", name, "--target", target, cwd=tmp_path), pattern)


@pytest.fixture
def good_csv(tmp_path: Path) -> Path:
    path = tmp_path / "good.csv"
    path.write_text("a,b,y\n1,2,3\n4,5,6\n7,8,10\n2,1,0\n")
    return path


def test_cli_with_an_output_path_in_a_missing_folder(tmp_path: Path, good_csv: Path) -> None:
    result = _run_cli(
        "--csv", "good.csv", "--target", "y", "--plot", "nowhere/fit.png", cwd=tmp_path
    )
    _assert_one_clear_line(
        result, r"--plot nowhere/fit\.png: the directory .*nowhere does not exist"
    )


def test_cli_with_an_output_path_that_is_a_folder(tmp_path: Path, good_csv: Path) -> None:
    (tmp_path / "fit.png").mkdir()
    result = _run_cli("--csv", "good.csv", "--target", "y", "--plot", "fit.png", cwd=tmp_path)
    _assert_one_clear_line(result, r"--plot fit\.png: is a directory")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
def test_cli_with_an_output_path_in_a_read_only_folder(tmp_path: Path, good_csv: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = _run_cli(
            "--csv", "good.csv", "--target", "y", "--plot", "locked/fit.png", cwd=tmp_path
        )
    finally:
        locked.chmod(0o700)
    _assert_one_clear_line(result, r"--plot locked/fit\.png: not writable")
