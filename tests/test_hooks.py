"""Tensor hooks and retain_grad, checked against PyTorch's semantics: a hook sees the summed
gradient flowing into its tensor, may replace it (same shape), runs in registration order,
once per backward pass, and is undone by its handle."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl

values = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=2, max_side=4),
    elements=st.floats(-3, 3, allow_nan=False),
)


@pytest.fixture(scope="module")
def torch() -> Iterator[Any]:
    """PyTorch with float64 as the default, as here, so results agree to rounding."""
    torch = pytest.importorskip("torch")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(previous)


def as_array(t: Any) -> np.ndarray:
    return np.asarray(t.detach())


def grad_of(lib: Any) -> Callable[..., Any]:
    return lib.grad if lib is tl else lib.autograd.grad


def run_in_both(torch: Any, scenario: Callable[[Any], Any]) -> tuple[Any, Any]:
    return scenario(tl), scenario(torch)


def assert_same(ours: Any, theirs: Any) -> None:
    """Equal structure, numbers equal to float64 rounding."""
    if isinstance(ours, (list, tuple)):
        assert isinstance(theirs, (list, tuple)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    elif ours is None or isinstance(ours, (bool, str)):
        assert ours == theirs
    else:
        np.testing.assert_allclose(as_array(ours), as_array(theirs), rtol=1e-12, atol=1e-12)


# --- against PyTorch --------------------------------------------------------------------------


@given(x=values)
def test_leaf_hook_sees_the_summed_gradient_and_replaces_it(torch, x):
    def scenario(lib):
        t = lib.tensor(x, requires_grad=True)
        seen = []
        t.register_hook(lambda g: seen.append(g.detach().clone()) or g * 10)
        (t * t + 3 * t).sum().backward()
        return seen, t.grad

    assert_same(*run_in_both(torch, scenario))


@given(x=values)
def test_non_leaf_hook_changes_what_flows_to_the_inputs(torch, x):
    def scenario(lib):
        t = lib.tensor(x, requires_grad=True)
        y = t.sin()
        seen = []
        y.register_hook(lambda g: seen.append(g.detach().clone()) or g + 1)
        (y * y).sum().backward()
        return seen, t.grad

    assert_same(*run_in_both(torch, scenario))


@given(x=values)
def test_hooks_run_in_order_each_seeing_the_last_result(torch, x):
    def scenario(lib):
        t = lib.tensor(x, requires_grad=True)
        y = t * 2
        seen = []
        y.register_hook(lambda g: g * 3)
        y.register_hook(lambda g: seen.append(g.detach().clone()))  # None keeps the gradient
        y.register_hook(lambda g: g - 1)
        y.exp().sum().backward()
        return seen, t.grad

    assert_same(*run_in_both(torch, scenario))


def test_retain_grad_keeps_the_gradient_after_every_hook(torch):
    def scenario(lib):
        t = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
        y = t * 2
        y.retain_grad()  # registered first, yet PyTorch stores the hooked gradient
        y.register_hook(lambda g: g * 3)
        (y * y).sum().backward()
        return y.grad, t.grad, y.retains_grad, t.retains_grad

    assert_same(*run_in_both(torch, scenario))


def test_hook_on_the_output_sees_the_seed_gradient(torch):
    def scenario(lib):
        t = lib.tensor([1.0, 2.0], requires_grad=True)
        loss = (t * t).sum()
        seen = []
        loss.register_hook(lambda g: seen.append(g.detach().clone()) or g * 2)
        loss.backward()
        return seen, t.grad

    assert_same(*run_in_both(torch, scenario))


def test_leaf_hook_sees_the_gradient_in_the_leafs_shape_after_broadcasting(torch):
    def scenario(lib):
        b = lib.tensor([0.5], requires_grad=True)
        seen = []
        b.register_hook(lambda g: seen.append(g.detach().clone()))
        (lib.ones(3, 2, dtype=lib.float64) * b).sum().backward()
        return seen, b.grad

    ours, theirs = run_in_both(torch, scenario)
    assert ours[0][0].shape == (1,)
    assert_same(ours, theirs)


def test_hooks_run_on_every_backward_and_gradients_accumulate(torch):
    def scenario(lib):
        t = lib.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        t.register_hook(lambda g: seen.append(g.detach().clone()))
        t.sum().backward()
        (3 * t).sum().backward()
        return seen, t.grad

    assert_same(*run_in_both(torch, scenario))


def test_hooks_also_run_for_grad(torch):
    def scenario(lib):
        t = lib.tensor([1.0, 2.0], requires_grad=True)
        y = t * 3
        calls = []
        t.register_hook(lambda g: calls.append("t") or g * 10)
        y.register_hook(lambda g: calls.append("y") or g * 2)
        (dt,) = grad_of(lib)((y * y).sum(), t)
        return calls, dt, t.grad

    assert_same(*run_in_both(torch, scenario))


def test_hooked_gradient_of_a_captured_intermediate(torch):
    def scenario(lib):
        t = lib.tensor([1.0, 2.0], requires_grad=True)
        y = t * 3
        y.register_hook(lambda g: g * 2)
        return grad_of(lib)((y * y).sum(), y)

    assert_same(*run_in_both(torch, scenario))


def test_hooks_take_part_in_second_derivatives(torch):
    def scenario(lib):
        t = lib.tensor([0.3, -1.2], requires_grad=True)
        y = t.sin()
        y.register_hook(lambda g: g * y)  # a differentiable replacement
        (dt,) = grad_of(lib)((y * t).sum(), t, create_graph=True)
        (ddt,) = grad_of(lib)(dt.sum(), t)
        return dt, ddt

    assert_same(*run_in_both(torch, scenario))


def test_removed_hooks_do_not_run(torch):
    def scenario(lib):
        t = lib.tensor([1.0, 2.0], requires_grad=True)
        y = t * 2
        keep = y.register_hook(lambda g: g * 3)
        drop = y.register_hook(lambda g: g * 100)
        leaf = t.register_hook(lambda g: g * 100)
        drop.remove()
        leaf.remove()
        leaf.remove()  # removing twice is harmless
        y.sum().backward()
        del keep
        return t.grad

    assert_same(*run_in_both(torch, scenario))


def test_the_same_function_registered_twice_runs_twice_until_removed(torch):
    def scenario(lib):
        t = lib.tensor([1.0, 2.0], requires_grad=True)

        def double(g):
            return g * 2

        first = t.register_hook(double)
        t.register_hook(double)
        t.sum().backward(retain_graph=True)
        after_two = t.grad.detach().clone()
        first.remove()
        t.grad = None
        t.sum().backward()
        return after_two, t.grad

    assert_same(*run_in_both(torch, scenario))


# --- errors -----------------------------------------------------------------------------------


def test_a_hook_on_a_tensor_without_grad_is_refused():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.tensor([1.0]).register_hook(lambda g: g)


def test_retain_grad_on_a_tensor_without_grad_is_refused():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.tensor([1.0]).retain_grad()


@pytest.mark.parametrize("on_leaf", [True, False])
def test_a_hook_may_not_change_the_gradients_shape(on_leaf):
    t = tl.tensor([1.0, 2.0], requires_grad=True)
    target = t if on_leaf else t * 2

    def summed(g):
        return g.sum()

    target.register_hook(summed)
    with pytest.raises(RuntimeError, match=r"hook 'summed' changed the shape .* \(2,\) to \(\)"):
        (target * target).sum().backward()


def test_a_hook_must_return_a_tensor_or_none():
    t = tl.tensor([1.0, 2.0], requires_grad=True)
    t.register_hook(lambda g: g.numpy() * 2)
    with pytest.raises(TypeError, match="must return a Tensor or None, got ndarray"):
        t.sum().backward()


# --- things PyTorch users rely on -------------------------------------------------------------


def test_hooks_on_an_intermediate_survive_backward_with_retain_graph():
    t = tl.tensor([1.0, 2.0], requires_grad=True)
    y = t * 2
    calls = []
    y.register_hook(lambda g: calls.append(1))
    loss = (y * y).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert calls == [1, 1]


def test_retained_gradient_accumulates_like_a_leafs():
    t = tl.tensor([1.0, 2.0], requires_grad=True)
    y = t * 2
    y.retain_grad()
    loss = (y * y).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * (2 * 2 * np.array([1.0, 2.0])))


def test_a_hook_that_records_does_not_alias_grad():
    t = tl.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    t.register_hook(seen.append)
    t.sum().backward()
    t.sum().backward()
    # .grad accumulated in place; what the hook saw the first time must not change with it
    np.testing.assert_allclose(seen[0].numpy(), [1.0, 1.0])
    np.testing.assert_allclose(t.grad.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("earlier_graph_alive", [False, True])
def test_leaf_hooks_fire_as_soon_as_the_leafs_gradient_is_complete(
    torch: Any, earlier_graph_alive: bool
) -> None:
    """A leaf's AccumulateGrad runs right after the last node feeding it, as in PyTorch, even
    when an earlier graph still alive made that node (its place would otherwise be its age)."""

    def order(lib: Any) -> list[str]:
        a, b, c = (lib.tensor([1.0, 2.0], requires_grad=True) for _ in range(3))
        fired: list[str] = []
        for name, leaf in zip("abc", (a, b, c)):
            leaf.register_hook(lambda g, name=name: fired.append(name))
        kept = (c * b * a).sum() if earlier_graph_alive else None  # its nodes: c, b, a
        ((a * 2.0 + b) * c.exp()).sum().backward()
        assert kept is None or kept.requires_grad
        return fired

    assert order(tl) == order(torch)
