"""The backward pass: the classic bugs of hand-written autograd, graph lifetime, grad mode,
higher-order gradients and in-place safety. Expected gradients are derived by hand here."""

import threading

import numpy as np
import pytest

import tinygrad_lr as tl


def leaf(values, dtype=np.float64):
    return tl.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_square_through_one_mul_uses_both_inputs(rng):
    x = leaf(rng.normal(size=5))
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy())


def test_reused_intermediate_gets_both_gradients(rng):
    x = leaf(rng.normal(size=(4, 3)))
    y = x.relu()
    (y * y).sum().backward()
    xv = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.maximum(xv, 0) * (xv > 0))


def test_diamond_adds_both_paths(rng):
    x = leaf(rng.normal(size=6))
    c = x * 2 + x.exp()
    (c * c).sum().backward()
    xv = x.detach().numpy()
    cv = 2 * xv + np.exp(xv)
    np.testing.assert_allclose(x.grad.numpy(), 2 * cv * (2 + np.exp(xv)))


def test_fan_out_fan_in_repeated_ten_thousand_times():
    x = leaf([0.5, -1.5, 3.0])
    y = x
    for _ in range(10_000):
        y = (y + y) / 2
    weights = tl.tensor([1.0, 2.0, 3.0])
    (y * weights).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), weights.numpy())


def test_chain_of_100_000_ops_needs_no_recursion():
    x = leaf([2.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0])


def test_dropping_a_long_unused_graph_does_not_crash():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y + 1.0
    del y  # freeing a deep chain of nodes must not overflow the C stack


def test_backward_twice_accumulates_with_retain_graph(rng):
    x = leaf(rng.normal(size=3))
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.detach().numpy())


def test_backward_through_a_freed_graph_is_an_error():
    x = leaf([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_grad_accumulates_across_graphs_and_zero_clears():
    x = leaf([1.0, 2.0])
    (3 * x).sum().backward()
    (5 * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [8.0, 8.0])
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_non_leaf_grad_only_after_retain_grad():
    x = leaf([1.0, -2.0])
    hidden = x * 3
    kept = x * 4
    kept.retain_grad()
    (hidden * kept).sum().backward()
    assert hidden.grad is None
    assert kept.retains_grad
    np.testing.assert_allclose(kept.grad.numpy(), hidden.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), 24 * x.detach().numpy())


def test_gradients_do_not_alias_the_upstream_gradient_or_each_other():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    upstream = tl.tensor([1.0, 1.0])
    (a + b).backward(upstream)
    a.grad.add_(1.0)
    np.testing.assert_array_equal(upstream.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_broadcast_gradients_are_summed_to_each_input_shape(rng):
    x = leaf(rng.normal(size=(4, 1, 3)))
    b = leaf(rng.normal(size=(5, 1)))
    upstream = rng.normal(size=(4, 5, 3))
    (x * b).backward(tl.tensor(upstream))
    np.testing.assert_allclose(
        x.grad.numpy(), (upstream * b.detach().numpy()).sum(1, keepdims=True)
    )
    np.testing.assert_allclose(
        b.grad.numpy(), (upstream * x.detach().numpy()).sum(axis=(0, 2))[:, None]
    )


# --- grad mode ----------------------------------------------------------------------------------


def test_no_grad_records_nothing_and_enable_grad_resumes():
    x = leaf([1.0])
    with tl.no_grad():
        y = x * 2
        with tl.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    assert tl.is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators():
    x = leaf([1.0])

    @tl.no_grad()
    def called() -> tl.Tensor:
        return x * 2

    @tl.no_grad
    def bare() -> tl.Tensor:
        return x * 2

    @tl.enable_grad()
    def recorded() -> tl.Tensor:
        return x * 2

    assert not called().requires_grad and not bare().requires_grad
    with tl.no_grad():
        assert recorded().requires_grad
    assert called.__name__ == "called"


def test_set_grad_enabled_works_as_call_and_context():
    with tl.set_grad_enabled(False):
        assert not tl.is_grad_enabled()
    assert tl.is_grad_enabled()
    tl.set_grad_enabled(False)
    try:
        assert not tl.is_grad_enabled()
    finally:
        tl.set_grad_enabled(True)


def test_no_grad_is_per_thread():
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def worker() -> None:
        with tl.no_grad():
            inside.set()
            release.wait(5)
            seen["worker"] = tl.is_grad_enabled()

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    seen["main"] = tl.is_grad_enabled()
    release.set()
    thread.join()
    assert seen == {"worker": False, "main": True}


def test_backward_works_inside_no_grad():
    x = leaf([1.0, 2.0])
    loss = (x * x).sum()
    with tl.no_grad():
        loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_detach_cuts_the_graph():
    x = leaf([3.0])
    (x.detach() * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0])


# --- higher order -------------------------------------------------------------------------------


def test_second_derivative_of_cube():
    x = leaf([0.5, -2.0, 3.0])
    (dy,) = tl.grad((x**3).sum(), x, create_graph=True)
    np.testing.assert_allclose(dy.detach().numpy(), 3 * x.detach().numpy() ** 2)
    (d2y,) = tl.grad(dy.sum(), x)
    np.testing.assert_allclose(d2y.numpy(), 6 * x.detach().numpy())


def test_create_graph_backward_makes_grad_differentiable():
    x = leaf([2.0])
    (x**3).sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [12.0])


def test_hessian_vector_product_matches_finite_differences_of_the_gradient(rng):
    a = tl.tensor(rng.normal(size=(4, 4)))
    direction = rng.normal(size=4)

    def f(x: tl.Tensor) -> tl.Tensor:
        return x.tanh() @ a @ x.sigmoid() + (x**3).sum()

    def gradient(point: np.ndarray) -> np.ndarray:
        x = leaf(point)
        (g,) = tl.grad(f(x), x)
        return g.numpy()

    point = rng.normal(size=4)
    x = leaf(point)
    (g,) = tl.grad(f(x), x, create_graph=True)
    (hvp,) = tl.grad(g, x, grad_outputs=tl.tensor(direction))
    eps = 1e-6
    numeric = (gradient(point + eps * direction) - gradient(point - eps * direction)) / (2 * eps)
    np.testing.assert_allclose(hvp.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_grad_does_not_touch_dot_grad_and_reports_unused_inputs():
    x, unused = leaf([1.0, 2.0]), leaf([5.0])
    y = (x * x).sum()
    with pytest.raises(RuntimeError, match=r"input 1 .* was not used"):
        tl.grad(y, [x, unused], retain_graph=True)
    gx, gu = tl.grad(y, [x, unused], allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), [2.0, 4.0])
    assert gu is None and x.grad is None


def test_grad_of_an_intermediate_tensor():
    x = leaf([1.0, 2.0])
    hidden = x * 3
    (g,) = tl.grad((hidden * hidden).sum(), hidden)
    np.testing.assert_allclose(g.numpy(), 2 * hidden.detach().numpy())


# --- in place -----------------------------------------------------------------------------------


def test_in_place_on_a_leaf_that_requires_grad_needs_no_grad():
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"sub_: a leaf tensor that requires grad.*no_grad"):
        w -= 1.0
    with tl.no_grad():
        w -= 1.0
    np.testing.assert_array_equal(w.detach().numpy(), [0.0, 1.0])
    assert w.requires_grad and w.is_leaf


def test_changing_a_saved_tensor_in_place_makes_backward_refuse():
    x = leaf([1.0, 2.0])
    c = tl.tensor([3.0, 4.0])
    y = (x * c).sum()
    c.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_changing_a_view_of_a_saved_tensor_is_seen_too():
    x = leaf([1.0, 2.0, 3.0])
    c = tl.tensor([3.0, 4.0, 5.0])
    y = (x * c).sum()
    view = c[1:]
    view.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_changing_an_unsaved_input_in_place_is_fine():
    x = leaf([1.0, 2.0])
    c = tl.tensor([3.0, 4.0])
    y = (x + c).sum()  # add's gradient does not depend on c
    c.zero_()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_sgd_step_in_place_under_no_grad_then_zero_grad():
    w = leaf([1.0, -1.0])
    (w * w).sum().backward()
    with tl.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
    np.testing.assert_allclose(w.detach().numpy(), [0.8, -0.8])
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])


# --- hooks and anomaly mode (the basics; more in their own test files) ---------------------------


def test_hook_can_replace_a_gradient_and_be_removed():
    x = leaf([1.0, 2.0])
    handle = x.register_hook(lambda g: g * 10)
    (x * 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 10.0])
    handle.remove()
    x.grad = None
    (x * 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_anomaly_mode_names_the_op_that_made_a_nan():
    x = leaf([0.0, 1.0])
    with tl.detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt()  # d sqrt(x)/dx = inf at 0
        with pytest.raises(
            RuntimeError, match=r"(?s)SqrtBackward .*non-finite.*test_autograd.py:\d+: y = x.sqrt"
        ):
            y.sum().backward()


def test_a_backward_returning_an_array_gets_a_clear_error():
    class Twice(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return 2 * g.detach().numpy()  # an array, not a Tensor

    x = leaf([1.0])
    with pytest.raises(TypeError, match=r"TwiceBackward: backward returned a ndarray for input 0"):
        Twice.apply(x).sum().backward()


def test_backward_leaves_the_cycle_collector_as_it_found_it():
    import gc

    x = leaf([1.0])
    assert gc.isenabled()
    (x * 2).sum().backward()
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        (x * 2).backward(tl.ones(2))  # fails before the pass starts
    bad = x.register_hook(lambda g: g.reshape(1, 1))
    with pytest.raises(ValueError):
        (x * 2).sum().backward()  # fails inside the pass
    bad.remove()
    assert gc.isenabled()
    gc.disable()
    try:
        (x * 2).sum().backward()
        assert not gc.isenabled()
    finally:
        gc.enable()
