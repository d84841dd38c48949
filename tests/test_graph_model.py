"""PyTorch's graph model: nodes keep what their rule saved and `next_functions` edges; saved
values are version-checked; `.grad` accumulates as in PyTorch; in-place changes rebase the node;
users' ops are `torch.autograd.Function`s."""

from __future__ import annotations

import traceback
import weakref
from typing import Any

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr import DTypeError, Tensor
from tinygrad_lr.autograd import Function
from tinygrad_lr.autograd.function import once_differentiable
from tinygrad_lr.autograd.graph import AccumulateGrad, saved_tensors_hooks


def leaf(values: Any) -> Tensor:
    return tl.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# --- .grad accumulates as in PyTorch, across ordinary and create_graph passes -------------------


def test_create_graph_gradient_is_added_to_by_a_later_plain_backward() -> None:
    """The gradient-penalty pattern: d(x^3)/dx from a create_graph pass, then d(x^2)/dx."""
    x = leaf([1.0, 2.0, 3.0])
    (x**3).sum().backward(create_graph=True)
    assert x.grad is not None and x.grad.requires_grad  # part of a graph, as in PyTorch
    (x**2).sum().backward()
    values = x.detach().numpy()
    np.testing.assert_allclose(x.grad.detach().numpy(), 3 * values**2 + 2 * values)


def test_a_plain_gradient_is_added_to_by_a_later_create_graph_backward() -> None:
    x = leaf([0.5, -1.0])
    (x**2).sum().backward()
    first = x.grad
    (x**3).sum().backward(create_graph=True)
    values = x.detach().numpy()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * values + 3 * values**2)
    assert x.grad is not first and x.grad.requires_grad  # replaced by the recorded sum
    (g,) = tl.grad(x.grad.sum(), x)  # d/dx (2x + 3x^2) = 2 + 6x: only the recorded part
    np.testing.assert_allclose(g.numpy(), 6 * values)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_accumulation_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    values = np.array([0.3, -1.2, 2.0])
    ours, theirs = leaf(values), torch.tensor(values, requires_grad=True)
    for x in (ours, theirs):
        (x**3).sum().backward(create_graph=True)
        (x.sin() * x).sum().backward()
    np.testing.assert_allclose(ours.grad.detach().numpy(), theirs.grad.detach().numpy())


def test_a_plain_grad_is_a_copy_and_accumulates_in_place() -> None:
    x = leaf([1.0, 2.0])
    upstream = tl.tensor([1.0, 1.0])
    (x * 1.0).backward(upstream)
    grad = x.grad
    assert grad is not None and not np.shares_memory(grad.numpy(), upstream.numpy())
    (x * 3.0).backward(upstream)
    assert x.grad is grad  # the same tensor, added to
    np.testing.assert_array_equal(grad.numpy(), [4.0, 4.0])


# --- saved values are version-checked: inputs, outputs, masks and indices -----------------------


def test_a_where_mask_changed_in_place_is_refused() -> None:
    x = leaf([1.0, -2.0, 3.0])
    mask = x.detach() > 0
    y = x.where(mask, 0.0)
    mask[0] = False
    with pytest.raises(RuntimeError, match=r"WhereBackward: saved tensor 0 .* by an in-place"):
        y.sum().backward()
    assert x.grad is None


def test_an_index_tensor_changed_in_place_is_refused() -> None:
    x = leaf([1.0, 2.0, 3.0])
    index = tl.tensor([0, 2])
    y = x[index]
    index[0] = 1
    with pytest.raises(RuntimeError, match=r"GetItemBackward: saved tensor 0 .* modified"):
        y.sum().backward()


def test_a_boolean_mask_whose_count_changes_is_refused_clearly() -> None:
    x = leaf([1.0, -2.0, 3.0])
    mask = tl.tensor([True, False, True])
    y = x[mask]
    mask[1] = True  # three True now: the old gradient no longer fits
    with pytest.raises(RuntimeError, match=r"GetItemBackward: saved tensor 0 .* modified"):
        y.sum().backward()


def test_a_change_to_a_value_no_rule_saved_is_allowed() -> None:
    x = leaf([0.5, 1.5])
    h = x.sin()  # sin saves x, not h
    with tl.no_grad():
        h += 1.0
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.5, 1.5]))


# --- requires_grad follows requires_grad_()'s rules ---------------------------------------------


def test_requires_grad_attribute_is_refused_on_integer_tensors() -> None:
    t = tl.tensor([1, 2, 3])
    with pytest.raises(DTypeError, match="only floating-point tensors can require gradients"):
        t.requires_grad = True
    assert not t.requires_grad


def test_requires_grad_false_is_refused_on_a_non_leaf() -> None:
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="only leaf tensors can change requires_grad"):
        y.requires_grad = False
    y.requires_grad = True  # already true: nothing changes, as in PyTorch
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])  # the path was kept


# --- in-place ops on non-leaves are recorded (the node is rebased) ------------------------------


def test_in_place_add_on_a_non_leaf_is_recorded() -> None:
    x = leaf([1.0, 2.0])
    y = x * 2
    y += x
    assert y.grad_fn is not None and y.grad_fn.name() == "AddBackward"
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 9 * x.detach().numpy())  # y = 3x


def test_in_place_changes_match_torch() -> None:
    torch = pytest.importorskip("torch")
    values = np.array([0.4, -0.7, 1.1])
    results = []
    for lib, x in ((tl, leaf(values)), (torch, torch.tensor(values, requires_grad=True))):
        y = x * 1.5
        y.mul_(x)
        y[0] = x[1] * 4.0
        y.sub_(x.sin())
        y.sum().backward()
        results.append((y.detach().numpy().copy(), x.grad.numpy().copy()))
        assert lib is not None
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs)


def test_in_place_change_of_a_saved_output_is_refused() -> None:
    x = leaf([0.1, 0.2])
    y = x.exp()  # exp saves its output
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"ExpBackward: saved tensor 0 \(its output\)"):
        y.sum().backward()


# --- the graph: next_functions, name(), AccumulateGrad, freed values ----------------------------


def test_next_functions_lead_to_the_leaves_through_accumulate_grad() -> None:
    w, b = leaf([1.0, 2.0]), leaf(0.5)
    data = tl.tensor([3.0, 4.0])
    loss = (data * w + b).sum()
    node = loss.grad_fn
    assert node.name() == "SumBackward"
    ((add, _),) = node.next_functions
    assert add.name() == "AddBackward"
    (mul, _), (accumulate_b, _) = add.next_functions
    assert isinstance(accumulate_b, AccumulateGrad) and accumulate_b.variable is b
    assert mul.next_functions[0] == (None, 0)  # the data needs no gradient
    assert mul.next_functions[1][0].variable is w
    assert mul.needs_input_grad == (False, True)


def test_the_structure_matches_torch() -> None:
    torch = pytest.importorskip("torch")

    def names(node: Any) -> Any:
        if node is None:
            return None
        # torch numbers its nodes (MulBackward0) and names its leaf nodes with a namespace
        name = node.name().rstrip("0123456789").removeprefix("torch::autograd::")
        return (name, [names(child) for child, _ in node.next_functions])

    values = np.array([1.0, -2.0])
    trees = []
    for x in (leaf(values), torch.tensor(values, requires_grad=True)):
        loss = ((x * 3.0).exp() + x).sum()
        trees.append(names(loss.grad_fn))
    assert trees[0] == trees[1]


def test_after_backward_the_edges_stay_and_the_saved_values_go() -> None:
    x = leaf([1.0, 2.0])
    y = x * x
    loss = y.sum()
    loss.backward()
    assert loss.grad_fn.next_functions[0][0] is y.grad_fn
    with pytest.raises(RuntimeError, match="MulBackward: trying to backward through the graph"):
        y.grad_fn.saved_tensors  # noqa: B018


def test_retain_graph_keeps_the_saved_values() -> None:
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])


def test_intermediates_no_rule_saved_are_freed_during_the_forward_pass() -> None:
    x = leaf(np.ones(4))
    hidden = x * 2.0
    loss = hidden.sum()  # sum saves nothing
    kept = weakref.ref(hidden)
    del hidden
    assert kept() is None, "an intermediate no rule saved outlived the forward pass"
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(4, 2.0))


def test_a_saved_intermediate_lives_until_backward_frees_it() -> None:
    x = leaf(np.ones(3))
    hidden = x * 2.0
    loss = (hidden * hidden).sum()  # mul saves both inputs: hidden
    kept = weakref.ref(hidden)
    del hidden
    assert kept() is not None
    loss.backward()
    assert kept() is None


# --- users' ops are PyTorch's autograd.Function -------------------------------------------------


class Legendre3(Function):
    """P3(x) = (5x^3 - 3x) / 2, written as in PyTorch's tutorial on custom Functions."""

    @staticmethod
    def forward(ctx: Any, input: Tensor) -> Tensor:
        ctx.save_for_backward(input)
        return 0.5 * (5 * input**3 - 3 * input)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> Tensor:
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input**2 - 1)


class ClampedRelu(Function):
    """relu, with the tutorial's backward: copy the gradient, zero it where the input < 0."""

    @staticmethod
    def forward(ctx: Any, input: Tensor) -> Tensor:
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> Tensor:
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


def test_tutorial_style_functions_give_their_gradients() -> None:
    x = leaf([-1.0, 0.3, 2.0])
    Legendre3.apply(x).sum().backward()
    values = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), 1.5 * (5 * values**2 - 1))
    assert tl.gradcheck(Legendre3.apply, leaf([0.2, -0.4]))
    assert tl.gradgradcheck(Legendre3.apply, leaf([0.2, -0.4]))
    x.grad = None
    ClampedRelu.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0])


def test_needs_input_grad_and_numbers_among_the_arguments() -> None:
    seen = []

    class Scale(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor, factor: float, y: Tensor) -> Tensor:
            ctx.factor = factor
            return x * factor + y

        @staticmethod
        def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, ...]:
            seen.append(ctx.needs_input_grad)
            return g * ctx.factor, None, (g if ctx.needs_input_grad[2] else None)

    x, y = leaf([1.0, 2.0]), tl.tensor([5.0, 5.0])
    Scale.apply(x, 3.0, y).sum().backward()
    assert seen == [(True, False, False)]
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_mark_non_differentiable_outputs_get_no_gradient() -> None:
    class SortWithIndices(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> tuple[Tensor, Tensor]:
            order = tl.tensor(np.argsort(x.detach().numpy()))
            ctx.save_for_backward(order)
            ctx.mark_non_differentiable(order)
            return x[order], order

        @staticmethod
        def backward(ctx: Any, g: Tensor, g_order: Tensor) -> Tensor:
            (order,) = ctx.saved_tensors
            grad = tl.zeros(g.shape, dtype=g.dtype)
            grad[order] = g
            return grad

    x = leaf([3.0, 1.0, 2.0])
    values, order = SortWithIndices.apply(x)
    assert values.requires_grad and not order.requires_grad
    (values * tl.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [100.0, 1.0, 10.0])


def test_once_differentiable_refuses_a_second_derivative() -> None:
    class NumpySquare(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx: Any, g: Tensor) -> Tensor:
            (x,) = ctx.saved_tensors
            return tl.tensor(2 * x.detach().numpy() * g.detach().numpy())  # leaves the graph

    x = leaf([1.0, 2.0])
    NumpySquare.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    v = leaf([1.0, 1.0])  # an upstream gradient that requires grad, as gradgradcheck uses
    (g,) = tl.grad(NumpySquare.apply(x), x, grad_outputs=v, create_graph=True)
    with pytest.raises(RuntimeError, match="NumpySquareBackward: trying to differentiate twice"):
        g.sum().backward()


def test_set_materialize_grads_false_passes_none_for_unused_outputs() -> None:
    received = []

    class Split(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> tuple[Tensor, Tensor]:
            ctx.set_materialize_grads(False)
            return x * 1.0, x * 2.0

        @staticmethod
        def backward(ctx: Any, g1: Tensor | None, g2: Tensor | None) -> Tensor:
            received.append((g1 is None, g2 is None))
            return g1 if g1 is not None else 2.0 * g2

    x = leaf([1.0])
    Split.apply(x)[1].sum().backward()
    assert received == [(True, False)]
    np.testing.assert_array_equal(x.grad.numpy(), [2.0])


def test_an_error_in_a_users_forward_keeps_the_users_line() -> None:
    class Refuses(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            raise ValueError("refused here")  # the user's line

        @staticmethod
        def backward(ctx: Any, g: Tensor) -> Tensor:
            return g

    with pytest.raises(ValueError, match="refused here") as caught:
        Refuses.apply(leaf([1.0]))
    lines = [frame.line for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert 'raise ValueError("refused here")  # the user\'s line' in lines


def test_saved_tensors_hooks_see_what_ops_save() -> None:
    packed: list[tuple[int, ...]] = []

    def pack(t: Tensor) -> Any:
        packed.append(t.shape)
        return t.detach().numpy().copy()

    def unpack(array: Any) -> Tensor:
        return tl.tensor(array)

    x = leaf([1.0, 2.0])
    with saved_tensors_hooks(pack, unpack):
        y = (x * x).sum()
    assert packed == [(2,), (2,)]
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_node_hooks_see_the_gradients_in_and_out() -> None:
    x = leaf([1.0, 2.0])
    y = x * 3.0
    seen: dict[str, Any] = {}
    y.grad_fn.register_prehook(lambda grad_outputs: seen.setdefault("pre", grad_outputs))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.setdefault("post", grad_inputs))
    y.sum().backward()
    np.testing.assert_array_equal(seen["pre"][0].numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(seen["post"][0].numpy(), [3.0, 3.0])


# --- cases found by review, each once a silently wrong gradient or a crash ----------------------


def test_tensors_unpacked_through_hooks_keep_their_place_in_the_graph() -> None:
    x = leaf([0.5, 1.0])
    with saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
        first = (x.exp() + x.sin()).sum()
    (g,) = tl.grad(first, x, create_graph=True)
    (h,) = tl.grad(g.sum(), x)
    values = x.detach().numpy()
    np.testing.assert_allclose(h.numpy(), np.exp(values) - np.sin(values))


def test_saved_tensors_hooks_are_per_thread() -> None:
    import threading

    packed: list[str] = []
    inside, done = threading.Event(), threading.Event()

    def other_thread() -> None:
        inside.wait(5)
        (leaf([1.0]) * leaf([2.0])).sum()  # saves two tensors, with no hooks of its own
        done.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    with saved_tensors_hooks(lambda t: packed.append("main") or t, lambda t: t):
        inside.set()
        done.wait(5)
    worker.join(5)
    assert packed == []


def test_a_recorded_change_of_a_tensor_with_views_is_refused() -> None:
    a = leaf([1.0, 2.0, 3.0])
    x = a * 1.0
    view = x[0:2]
    with pytest.raises(RuntimeError, match="mul_: views of this tensor were taken before"):
        x.mul_(2.0)
    view.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0, 0.0])


def test_a_recorded_change_of_a_view_is_refused() -> None:
    x, w = tl.zeros(3), leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="copy_: this tensor is a view of another"):
        x[0:2].copy_(w)


def test_a_gradient_of_another_dtype_is_refused() -> None:
    x = leaf([1.0])
    with pytest.raises(TypeError, match="gradient of dtype float32 to a tensor of dtype float64"):
        x.grad = tl.tensor([1.0], dtype=tl.float32)


def test_grad_runs_only_the_nodes_that_lead_to_its_inputs() -> None:
    class Refuses(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            return x * 1.0

        @staticmethod
        def backward(ctx: Any, g: Tensor) -> Tensor:
            raise AssertionError("a node that does not lead to w was run")

    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (gw,) = tl.grad((Refuses.apply(x) * w).sum(), w)
    np.testing.assert_array_equal(gw.numpy(), [1.0, 2.0])


def test_set_detect_anomaly_works_as_a_context_too() -> None:
    with tl.autograd.set_detect_anomaly(True):
        assert tl.autograd.is_anomaly_enabled()
    assert not tl.autograd.is_anomaly_enabled()


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param(lambda lib, x, lo, hi: x.clamp(lo, hi), id="clamp_low_above_high"),
        pytest.param(lambda lib, x, lo, hi: x ** (hi * 0.0), id="pow_zero_exponent_at_zero"),
        pytest.param(lambda lib, x, lo, hi: lib.norm(x, p=0.5), id="norm_below_one_at_zero"),
    ],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 0 ** -1 on the way: inf, as in torch
def test_gradients_at_edges_match_torch(expression: Any) -> None:
    torch = pytest.importorskip("torch")
    values = {"x": [0.0, 2.0, -3.0], "lo": [1.0, 1.0, 1.0], "hi": [-1.0, 3.0, 3.0]}
    grads = []
    for lib in (tl, torch):
        tensors = [lib.tensor(v, dtype=lib.float64, requires_grad=True) for v in values.values()]
        expression(lib, *tensors).sum().backward()
        grads.append([np.zeros(3) if t.grad is None else t.grad.detach().numpy() for t in tensors])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs)
