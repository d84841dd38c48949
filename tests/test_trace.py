"""trace_backward: the steps of the backward pass, checked against gradients derived by hand,
and against an ordinary backward() on the same graph."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import viz


def scalar_graph():
    """micrograd's example: e = a * b; d = e + c; L = d * f."""
    a = tl.tensor(2.0, requires_grad=True, name="a")
    b = tl.tensor(-3.0, requires_grad=True, name="b")
    c = tl.tensor(10.0, requires_grad=True, name="c")
    f = tl.tensor(-2.0, requires_grad=True, name="f")
    with viz.watch():
        e = a * b
        e.name = "e"
        d = e + c
        d.name = "d"
        loss = d * f
    return loss, (a, b, c, f)


def step_named(trace, equation_start):
    (step,) = [s for s in trace.steps if s.equation.startswith(equation_start)]
    return step


def test_scalar_steps_match_the_chain_rule_by_hand():
    loss, (a, b, c, f) = scalar_graph()
    trace = viz.trace_backward(loss)
    # by hand: d = a*b + c = 4; dL/dd = f = -2, dL/df = d = 4; dL/de = dL/dc = -2;
    # dL/da = dL/de * b = 6, dL/db = dL/de * a = -4
    first = trace.steps[0]
    assert first.name == "MulBackward" and first.equation == "L = mul(d, f)"
    assert first.arrived[0] == 1.0
    assert {s.target: float(s.grad) for s in first.sent} == {"d": -2.0, "f": 4.0}
    add = step_named(trace, "d = add")
    assert float(add.arrived[0]) == -2.0
    assert {s.target: float(s.grad) for s in add.sent} == {"e": -2.0, "c": -2.0}
    mul = step_named(trace, "e = mul")
    assert {s.target: float(s.grad) for s in mul.sent} == {"a": 6.0, "b": -4.0}
    assert "dz/dx = y" in mul.math
    accumulated = {s.outputs[0]: float(s.arrived[0]) for s in trace.steps
                   if s.name == "AccumulateGrad"}  # fmt: skip
    assert accumulated == {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0}
    assert [t.grad.item() for t in (a, b, c, f)] == [6.0, -4.0, -2.0, 4.0]


def test_each_gradient_goes_to_a_later_step_of_the_node_that_made_the_input():
    loss, _ = scalar_graph()
    trace = viz.trace_backward(loss)
    assert [s.index for s in trace.steps] == list(range(1, len(trace.steps) + 1))
    for step in trace.steps:
        for item in step.sent:
            assert item.to_step is not None and item.to_step > step.index
            receiver = trace.steps[item.to_step - 1]
            assert item.target in receiver.outputs
    assert len(trace.steps) == 3 + 4  # three ops, four leaves


def test_linear_regression_gradients_are_the_mse_derivatives():
    rng = np.random.default_rng(0)
    n = 5
    x_data, y_data = rng.normal(size=(n, 2)), rng.normal(size=(n, 1))
    w = tl.tensor(rng.normal(size=(2, 1)), requires_grad=True, name="w")
    b = tl.tensor(np.zeros(1), requires_grad=True, name="b")
    with viz.watch():
        y_hat = tl.tensor(x_data, name="X") @ w + b
        y_hat.name = "y_hat"
        loss = ((y_hat - tl.tensor(y_data, name="y")) ** 2).mean()
    trace = viz.trace_backward(loss)
    residual = x_data @ w.detach().numpy() + b.detach().numpy() - y_data
    d_y_hat = 2 * residual / n  # d mean(r^2) / d y_hat
    add = step_named(trace, "y_hat = add")
    np.testing.assert_allclose(add.arrived[0], d_y_hat)
    np.testing.assert_allclose(add.values[0], x_data @ w.detach().numpy())
    np.testing.assert_allclose(w.grad.numpy(), x_data.T @ d_y_hat)
    np.testing.assert_allclose(b.grad.numpy(), d_y_hat.sum(axis=0))
    (y_hat_box,) = [box for box in trace.graph.tensors if box.symbol == "y_hat"]
    np.testing.assert_allclose(y_hat_box.grad, d_y_hat)  # pictures show it too


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3))
def test_the_grads_are_those_of_an_ordinary_backward(shapes):
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=s) for s in shapes.input_shapes]

    def run(traced: bool):
        a, b, c = (tl.tensor(v, requires_grad=True) for v in arrays)
        out = ((a * b - c).tanh() * a).sum()
        viz.trace_backward(out) if traced else out.backward()
        return [t.grad.numpy() for t in (a, b, c)]

    for traced, plain in zip(run(True), run(False)):
        np.testing.assert_array_equal(traced, plain)


def test_a_gradient_argument_and_a_tensor_hook_are_respected():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    x.register_hook(lambda g: g * 10)
    trace = viz.trace_backward(x * 2.0, gradient=tl.tensor([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(trace.steps[0].arrived[0], [1.0, 0.0, -1.0])
    np.testing.assert_array_equal(trace.steps[-1].arrived[0], [20.0, 0.0, -20.0])
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 0.0, -20.0])


def test_the_hooks_are_removed_after_the_pass():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    viz.trace_backward((y * 1.0).sum(), retain_graph=True)
    grads = []
    y.grad_fn.register_prehook(lambda g: grads.append(len(g)))
    (y * 3.0).sum().backward()  # shares y's node, whose hooks from the trace must be gone
    assert grads == [1]
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.exp([1.0, 2.0]))


def test_without_watch_the_trace_has_gradients_but_no_intermediate_values():
    x = tl.tensor([1.0, 2.0], requires_grad=True, name="x")
    data = tl.tensor([3.0, 4.0])
    trace = viz.trace_backward((x * data).sum())
    mul = trace.steps[1]
    assert mul.values == [None] and mul.equation == "v1 = mul(x, …)"
    np.testing.assert_array_equal(mul.arrived[0], [1.0, 1.0])
    # without watch(), an input that needs no gradient cannot be told from an option
    assert [s.target for s in mul.sent] == ["x"]


def test_printing_reads_like_the_steps_on_paper():
    loss, _ = scalar_graph()
    text = str(viz.trace_backward(loss))
    assert text.splitlines()[0] == "backward pass from L: 7 steps, in the engine's order"
    assert "step 1  MulBackward:  L = mul(d, f)" in text
    assert "    got     dL/dL = 1" in text
    assert "    sent    dL/dd = -2  -> step " in text
    assert "    value   d = 4" in text
    assert "a.grad += dL/da" in text


def test_big_tensors_are_summarised_in_the_text():
    x = tl.tensor(np.arange(100.0), requires_grad=True, name="x")
    text = str(viz.trace_backward((x * 2.0).sum()))
    assert "sent    dL/dv1 = all 1" in text and "dL/dx = all 2" in text


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="trace_backward: expected a Tensor"):
        viz.trace_backward(3.0)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="does not require grad"):
        viz.trace_backward(tl.tensor([1.0]).sum())
