"""PyTorch's semantics at the Tensor level, each compared with torch itself: type promotion,
the legacy constructor, 0-d tensors, clamp with tensor bounds, random fills with a generator,
missing methods, erf, GELU and norm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from torch_semantics import VALUES, both, same, torch, torch_default_float64

import tinygrad_lr as tl

pytestmark = pytest.mark.usefixtures(torch_default_float64.__name__)


# --- type promotion --------------------------------------------------------------------------

DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
OPERANDS = [(dtype, ndim) for dtype in DTYPES for ndim in (0, 1)] + [
    ("python", 2),
    ("python", 2.5),
    ("python", True),
]


def _operand(library: Any, spec: tuple[str, Any]) -> Any:
    dtype, shape = spec
    if dtype == "python":
        return shape
    values = np.ones(()) if shape == 0 else np.ones(2)
    return library.tensor(values, dtype=getattr(library, dtype))


@pytest.mark.parametrize("left", OPERANDS[:-3], ids=str)
@pytest.mark.parametrize("right", OPERANDS, ids=str)
def test_binary_ops_promote_as_torch_result_type(left: Any, right: Any) -> None:
    expected = str(torch.result_type(_operand(torch, left), _operand(torch, right)))
    assert (_operand(tl, left) + _operand(tl, right)).dtype.name == expected.removeprefix("torch.")
    ops = (
        lambda lib, a, b: b * a,
        lambda lib, a, b: (a < b).dtype,
        lambda lib, a, b: lib.where(lib.tensor(True), a, b),
    )
    for op in ops:
        ours, theirs = (
            op(tl, _operand(tl, left), _operand(tl, right)),
            op(torch, _operand(torch, left), _operand(torch, right)),
        )
        ours, theirs = getattr(ours, "dtype", ours), getattr(theirs, "dtype", theirs)
        assert ours.name == str(theirs).removeprefix("torch.")


def test_promotion_keeps_gradients() -> None:
    x = tl.tensor([1.0, 2.0], dtype=tl.float32, requires_grad=True)
    scale = tl.tensor(3.0, dtype=tl.float64, requires_grad=True)
    y = x * scale
    assert y.dtype == tl.float32
    y.sum().backward()
    assert x.grad is not None and scale.grad is not None
    assert scale.grad.dtype == tl.float64 and float(scale.grad) == 3.0


# --- the legacy constructor and 0-d tensors --------------------------------------------------


@pytest.mark.parametrize("args", [(3,), (2, 3), ([1, 2],), ([[1.5], [2.0]],), ()], ids=str)
def test_legacy_constructor(args: tuple[Any, ...]) -> None:
    ours, theirs = tl.Tensor(*args), torch.Tensor(*args)
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype == tl.float64 and theirs.dtype == torch.float64  # the default float
    if args and isinstance(args[0], list):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_legacy_constructor_refuses_a_number() -> None:
    with pytest.raises(TypeError):
        torch.Tensor(3.5)
    with pytest.raises(TypeError, match=r"Tensor\(3\.5,\): takes sizes .* tl\.tensor\(value\)"):
        tl.Tensor(3.5)


ZERO_D = [
    lambda x: x.transpose(0, 0),
    lambda x: x.transpose(-1, 0),
    lambda x: x.log_softmax(0),
    lambda x: x.softmax(-1),
    lambda x: x.max(0).values,
    lambda x: x.min(dim=0, keepdim=True)[0],
    lambda x: x.max(0).indices,
    lambda x: x.argmax(0),
    lambda x: x.squeeze(0),
    lambda x: x.squeeze(),
    lambda x: x.unsqueeze(0),
    lambda x: x.unsqueeze(-1),
    lambda x: x.sum(0),
    lambda x: x.norm(),
]


@pytest.mark.parametrize("op", ZERO_D)
def test_zero_d_tensors(op: Callable[[Any], Any]) -> None:
    ours, theirs = both(lambda lib, x: op(x), np.array(1.5))
    same(ours, theirs)
    if ours.dtype.kind == "f":
        grads = both(
            lambda lib, x: lib.autograd.grad(op(x), x)[0], np.array(1.5), requires_grad=True
        )
        same(*grads)


# --- clamp with tensor bounds ----------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda x, low, high: x.clamp(min=low, max=high),
        lambda x, low, high: x.clamp(min=low),
        lambda x, low, high: x.clip(max=high),
        lambda x, low, high: x.clamp(min=low[0], max=high[1]),
    ],
)
def test_clamp_with_tensor_bounds(call: Callable[..., Any]) -> None:
    values = [
        np.array([[0.5, -2.0, 3.0], [1.0, -0.1, 0.2]]),
        np.array([0.0, -1.0, 0.3]),
        1.0 + 0 * np.ones(3),
    ]
    same(*both(lambda lib, *t: call(*t), *values))
    grads = both(
        lambda lib, *t: lib.autograd.grad(call(*t).sum(), t, allow_unused=True),
        *values,
        requires_grad=True,
    )
    for g_ours, g_theirs in zip(*grads):
        assert (g_ours is None) == (g_theirs is None)
        if g_ours is not None:
            same(g_ours, g_theirs)


def test_clamp_bounds_of_another_dtype_promote_as_torch() -> None:
    for library in (tl, torch):
        x = library.tensor([0.5, -2.0], dtype=library.float32)
        assert x.clamp(min=library.tensor(0.0, dtype=library.float64)).dtype == library.float32
        assert library.tensor([1, 5]).clamp(min=2.5).dtype == library.float64


# --- random fills with a generator -----------------------------------------------------------


@pytest.mark.parametrize("fill", ["normal_", "uniform_"])
def test_random_fills_take_a_generator(fill: str) -> None:
    draws = []
    for _ in range(2):
        generator = tl.Generator().manual_seed(7)
        draws.append(getattr(tl.zeros(5), fill)(generator=generator).numpy().copy())
    np.testing.assert_array_equal(draws[0], draws[1])
    tl.manual_seed(7)
    assert not np.array_equal(getattr(tl.zeros(5), fill)().numpy(), tl.zeros(5).numpy())
    # torch takes the same keyword
    getattr(torch.zeros(5), fill)(generator=torch.Generator().manual_seed(7))


# --- missing names ---------------------------------------------------------------------------


def test_a_missing_tensor_method_says_so() -> None:
    x = tl.ones(2)
    with pytest.raises(AttributeError) as info:
        x.bfloat16()
    message = str(info.value)
    assert "torch.Tensor.bfloat16 is not in tinygrad_lr" in message and "float()" in message
    assert "Did you mean" not in message
    assert hasattr(torch.ones(2), "bfloat16") and not hasattr(x, "bfloat16")
    with pytest.raises(AttributeError, match="'Tensor' object has no attribute '_secret'"):
        x._secret  # noqa: B018


# --- erf, GELU, norm -------------------------------------------------------------------------

ERF_INPUTS = np.array([-6.0, -2.5, -1.0, -1e-3, 0.0, 0.3, 1.0, 2.0, 5.5])


def test_erf_values_and_derivatives_match_torch() -> None:
    def derivatives(lib: Any, x: Any) -> Any:
        (first,) = lib.autograd.grad(lib.erf(x).sum(), x, create_graph=True)
        (second,) = lib.autograd.grad(first.sum(), x)
        return lib.stack([lib.erf(x), first, second])

    same(*both(derivatives, ERF_INPUTS, requires_grad=True), rtol=1e-12)
    ours, theirs = (
        tl.tensor(ERF_INPUTS, dtype=tl.float32).erf(),
        torch.tensor(ERF_INPUTS).float().erf(),
    )
    same(ours.detach(), theirs, rtol=1e-6)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_second_derivative_matches_torch(approximate: str) -> None:
    def second(lib: Any, x: Any) -> Any:
        y = lib.nn.GELU(approximate=approximate)(x)
        (first,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        return lib.autograd.grad(first.sum(), x)[0]

    same(*both(second, ERF_INPUTS, requires_grad=True), rtol=1e-9)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: lib.norm(x),
        lambda lib, x: x.norm(dim=1),
        lambda lib, x: x.norm(p=1, dim=0, keepdim=True),
        lambda lib, x: x.norm(p=3),
        lambda lib, x: x.norm(p=float("inf"), dim=1),
        lambda lib, x: x.norm(p="fro"),
        lambda lib, x: (x * 0).norm(dim=0),  # no derivative at 0: torch takes 0
    ],
)
def test_norm_and_its_gradient(call: Callable[[Any, Any], Any]) -> None:
    same(*both(call, VALUES))
    grads = both(
        lambda lib, x: lib.autograd.grad(call(lib, x).sum(), x)[0], VALUES, requires_grad=True
    )
    same(*grads)


def test_norm_refuses_integers_and_bad_p() -> None:
    with pytest.raises(tl.DTypeError, match="norm: expects a floating-point tensor"):
        tl.tensor([1, 2]).norm()
    with pytest.raises(ValueError, match="norm: p must be a positive number"):
        tl.ones(2).norm(p=0)


def test_in_place_update_after_a_product_with_a_number() -> None:
    """micrograd's `d += 3 * d + ...`: the product by a number saves nothing, so changing d
    afterwards is allowed, as in torch."""

    def program(lib: Any, a: Any) -> Any:
        d = a * 2.0
        d += 3 * d + 1
        c = a + 1
        c += c + 1
        return lib.autograd.grad((d * c).sum(), a)[0]

    same(*both(program, np.array([-4.0, 1.5]), requires_grad=True))
