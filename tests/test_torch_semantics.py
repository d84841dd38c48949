"""PyTorch's semantics at the Tensor level, each compared with torch itself: dtype and device
conversions, argument spellings, out=, Size, // and %, and indexing (the dtype rules, the legacy
constructor, 0-d tensors, clamp, erf and norm are in test_torch_dtypes_and_edges.py)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_table import lib
from torch_semantics import VALUES, both, same, torch, torch_default_float64

import tinygrad_lr as tl
from tinygrad_lr.errors import DeviceError

pytestmark = pytest.mark.usefixtures(torch_default_float64.__name__)


# --- dtypes and devices --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["float", "double", "half", "int", "long", "bool"])
def test_conversion_methods(method: str) -> None:
    ours, theirs = both(lambda lib, x: getattr(x, method)(), VALUES)
    same(ours, theirs)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: x.type(lib.float32),
        lambda lib, x: x.type("torch.LongTensor"),
        lambda lib, x: x.to(lib.int32),
        lambda lib, x: x.to("cpu"),
        lambda lib, x: x.to(lib.device("cpu"), lib.float16),
        lambda lib, x: x.to("cpu", dtype=lib.float32),
        lambda lib, x: x.to(dtype=lib.float32),
        lambda lib, x: x.to(device="cpu"),
        lambda lib, x: x.to(lib.zeros(1, dtype=lib.int64)),
    ],
)
def test_type_and_to(call: Callable[[Any, Any], Any]) -> None:
    ours, theirs = both(call, VALUES)
    same(ours, theirs)


def test_type_name_device_and_cuda() -> None:
    for dtype, name in [(tl.float32, "torch.FloatTensor"), (tl.int64, "torch.LongTensor")]:
        assert tl.zeros(2, dtype=dtype).type() == name
        assert torch.zeros(2, dtype=getattr(torch, str(dtype))).type() == name
    x = tl.ones(2)
    assert x.device == tl.device("cpu") and x.device.type == "cpu"
    assert x.to(tl.float64) is x  # as in torch: the same dtype returns self
    with pytest.raises(DeviceError, match=r"to: device 'cuda'.*CPU only"):
        x.to("cuda")
    with pytest.raises(DeviceError, match=r"to: device 'mps'"):
        x.to(device="mps", dtype=tl.float32)
    with pytest.raises(DeviceError, match=r"cuda\(\): tinygrad_lr runs on the CPU only"):
        x.cuda()
    with pytest.raises(TypeError, match=r"to\(\) got an unexpected keyword argument 'size'"):
        x.to(size=3)


# --- argument spellings --------------------------------------------------------------------------

SPELLINGS = [
    lambda lib, x: x.argmax(axis=1),
    lambda lib, x: x.argmin(axis=0, keepdims=True),
    lambda lib, x: x.sum(axis=1, keepdims=True),
    lambda lib, x: x.mean(axis=(0, 1)),
    lambda lib, x: x.max(axis=1).values,
    lambda lib, x: x.amax(axis=0, keepdims=True),
    lambda lib, x: x.var(axis=1),
    lambda lib, x: x.std(axis=0, keepdims=True),
    lambda lib, x: x.logsumexp(axis=1),
    lambda lib, x: x.softmax(axis=0),
    lambda lib, x: x[:1].squeeze(axis=0),
    lambda lib, x: lib.cat([x, x], axis=1),
    lambda lib, x: lib.stack([x, x], axis=1),
    lambda lib, x: lib.sum(x, dim=1),
    lambda lib, x: lib.argmax(x, dim=1, keepdim=True),
    lambda lib, x: lib.matmul(input=x, other=x.T),
    lambda lib, x: lib.mm(x, x.T),
    lambda lib, x: x.mm(x.T),
    lambda lib, x: lib.add(input=x, other=x, alpha=2),
    lambda lib, x: lib.sub(x, 1.0, alpha=0.5),
    lambda lib, x: x.add(x * 3.0, alpha=-0.5),
    lambda lib, x: x.sub(2.0, alpha=2),
    lambda lib, x: x.clone().add_(x.exp(), alpha=-0.1),  # `p.data.add_(p.grad, alpha=-lr)`
    lambda lib, x: x.clone().sub_(x, alpha=0.25),
    lambda lib, x: lib.mul(input=x, other=3.0),
    lambda lib, x: lib.div(x, 0.3, rounding_mode="floor"),
    lambda lib, x: lib.clamp(x, min=-1.0, max=1.0),
    lambda lib, x: lib.where(x > 0, input=x, other=0.0),
]


@pytest.mark.parametrize("call", SPELLINGS)
def test_numpy_and_torch_keywords(call: Callable[[Any, Any], Any]) -> None:
    ours, theirs = both(call, VALUES)
    same(ours, theirs)


def test_unknown_keywords_are_refused_naming_the_op() -> None:
    x = tl.ones(2, 3)
    with pytest.raises(TypeError, match=r"sum\(\) got an unexpected keyword argument 'dims'"):
        x.sum(dims=1)
    with pytest.raises(TypeError, match=r"argmax\(\): give dim or axis, not both"):
        x.argmax(dim=0, axis=1)
    with pytest.raises(TypeError, match=r"softmax\(\) got an unexpected keyword argument"):
        x.softmax(keepdim=True)


def test_max_and_min_of_two_tensors() -> None:
    a, b = VALUES, VALUES[::-1] * 0.7

    def forms(lib: Any, x: Any, y: Any) -> Any:
        return lib.max(x, y) * 2 + x.max(y) - lib.min(x, y) + x.min(other=y)

    same(*both(forms, a, b))
    grads = both(
        lambda lib, x, y: lib.autograd.grad(forms(lib, x, y).sum(), [x, y]),
        a,
        b,
        requires_grad=True,
    )
    for g_ours, g_theirs in zip(*grads):
        same(g_ours, g_theirs)


# --- out= ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["matmul", "mul", "add", "exp", "sum"])
def test_out_is_written_into_and_returned(name: str) -> None:
    def run(lib: Any, x: Any) -> Any:
        args = {"matmul": (x, x.T), "mul": (x, x), "add": (x, 2.0), "exp": (x,), "sum": (x, 1)}
        out = lib.zeros(lib.__dict__[name](*args[name]).shape, dtype=lib.float64)
        returned = lib.__dict__[name](*args[name], out=out)
        assert returned is out
        return out

    same(*both(run, VALUES))


def test_out_refuses_recorded_inputs_and_resizes_with_a_warning() -> None:
    x = tl.ones(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        tl.mul(x, x, out=tl.zeros(2, 2))
    out = tl.zeros(3)
    with pytest.warns(UserWarning, match=r"resized to \(2, 2\)"):
        tl.matmul(tl.ones(2, 2), tl.ones(2, 2), out=out)
    np.testing.assert_array_equal(out.numpy(), np.full((2, 2), 2.0))
    with pytest.raises(tl.DTypeError, match="can't be cast"):
        tl.mul(tl.ones(2), 0.5, out=tl.zeros(2, dtype=tl.int64))


def test_size_is_a_tuple_with_numel() -> None:
    ours, theirs = tl.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    for shape_ours, shape_theirs in [(ours.size(), theirs.size()), (ours.shape, theirs.shape)]:
        assert isinstance(shape_ours, tuple) and isinstance(shape_ours, tl.Size)
        assert shape_ours == tuple(shape_theirs) and shape_ours.numel() == shape_theirs.numel()
    assert ours.size(-1) == theirs.size(-1)


# --- floor division and remainder ----------------------------------------------------------------

INTS = hnp.arrays(np.int64, hnp.array_shapes(max_dims=2, max_side=4), elements=st.integers(-9, 9))
FLOATS = hnp.arrays(
    np.float64, hnp.array_shapes(max_dims=2, max_side=4), elements=st.floats(-9, 9, width=32)
)


@given(values=st.one_of(INTS, FLOATS), divisor=st.sampled_from([2, -3, 2.5, -0.75]))
def test_floor_division_and_remainder_signs(values: np.ndarray, divisor: float) -> None:
    for op in (lambda x: x // divisor, lambda x: x % divisor, lambda x: 7 % (x.abs() + 1)):
        ours, theirs = op(tl.tensor(values)), op(torch.tensor(values))
        same(ours, theirs)


def test_remainder_gradient_and_no_gradient_through_floor_division() -> None:
    a, b = np.array([5.0, -5.0, 3.3]), np.array([2.0, 2.0, -2.0])
    grads = both(
        lambda lib, x, y: lib.autograd.grad((x % y).sum(), [x, y]), a, b, requires_grad=True
    )
    for g_ours, g_theirs in zip(*grads):
        same(g_ours, g_theirs)
    x = tl.tensor(a, requires_grad=True)
    assert not (x // 2).requires_grad  # torch records it, then refuses in backward


# --- indexing ------------------------------------------------------------------------------------

MIXED_INDICES: list[Callable[[Any], Any]] = [
    lambda x: x[0, :, [0, 1]],
    lambda x: x[[0, 1], :, 0],
    lambda x: x[:, 0, [0, 1]],
    lambda x: x[None, 0, :, [0, 1]],
    lambda x: x[0, ..., [0, 3, 3]],
    lambda x: x[1, None, [0, 2], None],
    lambda x: x[-1, :, x[0, 0] > 1],
    lambda x: x[0, [[0], [2]], [1, 3]],
    lambda x: x[lib(x).tensor(1), :, [0, 1]],  # a 0-d int tensor counts as an int
]


@pytest.mark.parametrize("index", MIXED_INDICES)
def test_mixed_int_and_array_indexing_follows_torch(index: Callable[[Any], Any]) -> None:
    values = np.arange(24.0).reshape(2, 3, 4)
    ours, theirs = both(lambda lib, x: index(x), values)
    same(ours, theirs)
    upstream = np.linspace(-1, 1, int(np.prod(ours.shape))).reshape(ours.shape)
    grads = both(
        lambda lib, x: lib.autograd.grad(index(x), x, lib.tensor(upstream))[0],
        values,
        requires_grad=True,
    )
    same(*grads)


@pytest.mark.parametrize("index", MIXED_INDICES[:4])
def test_mixed_index_assignment_follows_torch(index: Callable[[Any], Any]) -> None:
    def assign(lib: Any, x: Any, w: Any) -> Any:
        y = x * 1.0
        target_shape = index(y).shape
        patch = lib.arange(float(math.prod(target_shape)), dtype=lib.float64).reshape(target_shape)
        key = index(_Recorder()).key
        y[key] = patch * w
        return y

    def gradients(lib: Any, x: Any, w: Any) -> Any:
        weights = lib.linspace(-1.0, 1.0, 24, dtype=lib.float64).reshape(2, 3, 4)
        return lib.autograd.grad((assign(lib, x, w) * weights).sum(), [x, w])

    values = np.arange(24.0).reshape(2, 3, 4)
    ours, theirs = both(assign, values, np.array(2.0), requires_grad=True)
    same(ours, theirs)
    for g_ours, g_theirs in zip(*both(gradients, values, np.array(2.0), requires_grad=True)):
        same(g_ours, g_theirs)


ELEMENT_INDICES: list[Callable[[Any], Any]] = [
    lambda x: x[1, 2],
    lambda x: x[-1, 0],
    lambda x: x[0][1],  # a row, then an element of it
    lambda x: x[1, 1][()],  # the 0-d element, indexed by ()
]


@pytest.mark.parametrize("index", ELEMENT_INDICES)
def test_an_int_for_every_axis_gives_a_view_as_in_torch(index: Callable[[Any], Any]) -> None:
    def change_the_element(lib: Any, x: Any) -> Any:
        element = index(x)
        element.mul_(10.0)  # changes x too: the element is a view of it
        return x, element, x._version

    (x, element, version), (tx, telement, tversion) = both(change_the_element, VALUES)
    same(x, tx)
    same(element, telement)
    assert version == tversion


class _Recorder:
    """Captures the index an indexing lambda applies."""

    def __getitem__(self, key: Any) -> Any:
        self.key = key
        return self


def test_mask_assignment_on_a_clone_of_a_gradient() -> None:
    """MyReLU's backward: grad_input = grad_output.clone(); grad_input[input < 0] = 0."""
    values, upstream = np.array([-1.0, 2.0, -0.5, 3.0]), np.array([0.1, 0.2, 0.3, 0.4])
    results = []
    for library in (tl, torch):
        x, g = library.tensor(values), library.tensor(upstream)
        grad_input = g.clone()
        grad_input[x < 0] = 0
        results.append(grad_input)
    same(*results)


def test_empty_dim_reduces_everything() -> None:
    for call in (lambda lib, x: x.sum(dim=()), lambda lib, x: x.mean(dim=())):
        same(*both(call, VALUES))


def test_cat_and_stack_refuse_a_single_tensor() -> None:
    for name in ("cat", "stack"):
        with pytest.raises(TypeError):
            getattr(torch, name)(torch.ones(2, 2))
        with pytest.raises(TypeError, match=rf"{name}\(\): expects a list or tuple of tensors"):
            getattr(tl, name)(tl.ones(2, 2))
