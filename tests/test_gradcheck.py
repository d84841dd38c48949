"""gradcheck and gradgradcheck: they pass on right gradients, and on each classic wrong backward
they fail with a report that names the input, the elements and the op to blame."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sample_ops import MutatesInput, MutatesUpstream, Softplus

import tinygrad_lr as tl
from tinygrad_lr import Function, GradcheckError, Tensor, gradcheck, gradgradcheck

# --- ops with a right backward, and the same ops with the classic mistakes ----------------------


class WrongSign(Function):
    """z = x^2 with backward -2x: the sign is wrong."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return -2.0 * g * x


class ScaleColumns(Function):
    """z = x * w for x (n, m) and w (m,); dz/dw = sum over rows of g * x."""

    wrong_axis = False

    @staticmethod
    def forward(ctx: Any, x: Tensor, w: Tensor) -> Tensor:
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, ...]:
        x, w = ctx.saved_tensors
        # The broadcast of w over the rows must be undone by summing over dim 0; summing over
        # dim 1 has the right shape for a square x, so only the values can show the mistake.
        return g * w, (g * x).sum(dim=1 if ctx.wrong_axis else 0)


class ScaleColumnsWrongAxis(ScaleColumns):
    wrong_axis = True


class GatherRows(Function):
    """z = x[index] with repeated indices; dz/dx adds g back at every occurrence."""

    accumulate = True

    @staticmethod
    def forward(ctx: Any, x: Tensor, index: np.ndarray) -> Tensor:
        ctx.index, ctx.shape = index, x.shape
        return tl.tensor(x.detach().numpy()[index])

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, ...]:
        scattered = np.zeros(ctx.shape)
        if ctx.accumulate:
            np.add.at(scattered, ctx.index, g.numpy())
        else:
            scattered[ctx.index] = g.numpy()  # a repeated index keeps only its last gradient
        return tl.tensor(scattered), None


class GatherRowsNoAccumulation(GatherRows):
    accumulate = False


class Cube(Function):
    """z = x^3;  dz/dx = 3x^2, written with Tensor ops so it differentiates again."""

    detach = False

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        base = x.detach() if ctx.detach else x
        return 3.0 * g * base * base


class CubeDetached(Cube):
    """Right first derivative, but the backward leaves the graph: d2/dx2 comes out 0."""

    detach = True


def leaf(*shape: int, seed: int = 0) -> Tensor:
    return tl.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


# --- passing ----------------------------------------------------------------------------------


def test_right_gradients_pass() -> None:
    x, w = leaf(3, 2), leaf(2, seed=1)
    assert gradcheck(lambda x, w: (Softplus.apply(x @ w) * x.sum(1)).tanh(), (x, w))
    assert gradcheck(lambda x, w: ScaleColumns.apply(x, w).exp(), (x, w))


def test_arrays_constants_and_extra_arguments() -> None:
    """Float arrays are differentiated, tensors without requires_grad and other values are
    passed as they are; outputs may be several, and masks among them are skipped."""
    constant = tl.tensor([1.0, 2.0, 3.0])

    def fn(x: Tensor, c: Tensor, power: int) -> tuple[Tensor, Tensor]:
        return (x**power * c).sin(), x > 0

    assert gradcheck(fn, (np.array([0.3, -0.2, 1.1]), constant, 3))


def test_unused_input_and_constant_output_pass() -> None:
    x, unused = leaf(3), leaf(2, seed=1)
    assert gradcheck(lambda x, u: x.exp(), (x, unused))
    assert gradcheck(lambda x: tl.ones(2), (x,))


def test_inputs_are_not_touched() -> None:
    x = leaf(4)
    before = x.detach().numpy().copy()
    gradcheck(lambda x: x.exp().sum(), x)
    np.testing.assert_array_equal(x.detach().numpy(), before)
    assert x.grad is None


# --- the classic mistakes, and the report ------------------------------------------------------


def test_wrong_sign_is_reported_with_elements_and_values() -> None:
    x = tl.tensor([0.5, -1.0, 2.0], requires_grad=True)
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x: WrongSign.apply(x), x)
    error = caught.value
    assert error.input_index == 0
    assert error.worst_relative_error == pytest.approx(2.0)
    report = str(error)
    assert "3 of 3 elements" in report
    assert "x[0], x[1], x[2]" in report
    # analytic -2x against numerical 2x for x[2] = 2
    assert "-4" in report and " 4 " in report
    assert error.op_name == "WrongSignBackward"


def test_report_names_the_wrong_op_among_right_ones() -> None:
    x = leaf(3)

    def fn(x: Tensor) -> Tensor:
        hidden = x.exp()
        squared = WrongSign.apply(hidden)
        return (squared * 2.0).sum()

    with pytest.raises(GradcheckError) as caught:
        gradcheck(fn, x)
    error = caught.value
    assert error.op_name == "WrongSignBackward"
    assert error.op_position == 2  # exp, then the broken op, then mul and sum
    assert error.op_input_shapes == [(3,)]
    report = str(error)
    assert "wrongsign (WrongSignBackward), op 2 of 4" in report
    assert "squared = WrongSign.apply(hidden)" in report  # the line that created it
    assert __file__ in report


def test_missing_unbroadcast_sum_over_the_wrong_axis() -> None:
    x, w = leaf(3, 3), leaf(3, seed=1)
    assert gradcheck(lambda x, w: ScaleColumns.apply(x, w), (x, w))
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x, w: ScaleColumnsWrongAxis.apply(x, w).tanh(), (x, w))
    assert caught.value.input_index == 1
    assert caught.value.op_name == "ScaleColumnsWrongAxisBackward"
    assert "input 1 (shape (3,))" in str(caught.value)


def test_forgotten_accumulation_of_repeated_indices() -> None:
    x, index = leaf(3, 2), np.array([0, 2, 0])
    assert gradcheck(lambda x: GatherRows.apply(x, index), x)
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x: GatherRowsNoAccumulation.apply(x, index) * 3.0, x)
    report = str(caught.value)
    # only row 0, gathered twice, is wrong
    assert "2 of 6 elements" in report and "x[0, 0], x[0, 1]" in report
    assert caught.value.op_name == "GatherRowsNoAccumulationBackward"


def test_return_false_instead_of_raising() -> None:
    x = leaf(2)
    assert gradcheck(lambda x: WrongSign.apply(x), x, raise_exception=False) is False
    assert gradgradcheck(lambda x: CubeDetached.apply(x), x, raise_exception=False) is False


def test_kink_is_explained() -> None:
    x = tl.tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(GradcheckError, match="relu is not differentiable where") as caught:
        gradcheck(lambda x: (x * 2.0).relu(), x)
    assert caught.value.op_name == "ReluBackward"


def test_leaving_the_graph_is_explained() -> None:
    x = leaf(3)

    def fn(x: Tensor) -> Tensor:
        return tl.tensor(x.detach().numpy() ** 2) + x * 0.0

    with pytest.raises(GradcheckError) as caught:
        gradcheck(fn, x)
    report = str(caught.value)
    assert "leaves the recorded graph" in report
    assert "Every recorded op agrees" in report
    assert caught.value.op_name is None


def test_backward_that_changes_its_input_is_reported() -> None:
    with pytest.raises(GradcheckError, match=r"changed input 0 .* in place") as caught:
        gradcheck(lambda x: MutatesInput.apply(x), leaf(3))
    assert caught.value.op_name == "MutatesInputBackward"


def test_backward_that_changes_the_upstream_gradient_is_reported() -> None:
    with pytest.raises(GradcheckError, match="changed the upstream gradient in place"):
        gradcheck(lambda x: MutatesUpstream.apply(x), leaf(3))


def test_nondeterministic_function_is_reported() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(GradcheckError, match="fn is not deterministic"):
        gradcheck(lambda x: x * float(rng.uniform(1, 2)), leaf(3))


def test_nondeterministic_backward_is_reported() -> None:
    rng = np.random.default_rng(0)

    class NoisyBackward(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            return 2.0 * x

        @staticmethod
        def backward(ctx: Any, g: Tensor) -> Tensor:
            return g * (2.0 + 1e-3 * float(rng.standard_normal()))

    with pytest.raises(GradcheckError, match="backward of fn is not deterministic"):
        gradcheck(lambda x: NoisyBackward.apply(x), leaf(3))


# --- float32, bad arguments ---------------------------------------------------------------------


def test_float32_inputs_are_refused_with_the_cast_to_use() -> None:
    x = tl.tensor([1.0, 2.0], dtype=tl.float32, requires_grad=True)
    with pytest.raises(tl.DTypeError, match=r"input 0 has dtype float32.*x\.double\(\)"):
        gradcheck(lambda x: x.exp(), x)
    with pytest.raises(tl.DTypeError, match=r"astype\(np\.float64\)"):
        gradcheck(lambda x: x.exp(), np.ones(2, dtype=np.float32))
    assert gradcheck(lambda x: x.exp(), x.detach().double().requires_grad_())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda x: x.exp(), tl.tensor([1.0]))
    with pytest.raises(TypeError, match="fn must be callable"):
        gradcheck("exp", leaf(2))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must return a Tensor or a tuple of Tensors"):
        gradcheck(lambda x: float(x.sum()), leaf(2))


# --- large inputs: projections ------------------------------------------------------------------


def test_projections_on_large_inputs_cost_a_few_calls() -> None:
    x = leaf(100, 100)
    calls = 0

    def fn(x: Tensor) -> Tensor:
        nonlocal calls
        calls += 1
        return Softplus.apply(x).sum(dim=0)

    assert gradcheck(fn, x, n_projections=3)
    assert calls < 30  # the full Jacobian would take 20,000 calls
    with pytest.raises(GradcheckError, match="random projections") as caught:
        gradcheck(lambda x: WrongSign.apply(x).sum(dim=0), x)
    assert caught.value.op_name == "WrongSignBackward"
    assert "too large to list" in str(caught.value)


def test_max_full_size_switches_modes() -> None:
    x = leaf(5)
    with pytest.raises(GradcheckError, match="random projections"):
        gradcheck(lambda x: WrongSign.apply(x), x, max_full_size=2)
    with pytest.raises(GradcheckError, match="analytic Jacobian"):
        gradcheck(lambda x: WrongSign.apply(x), x, max_full_size=5)


# --- second order -------------------------------------------------------------------------------


def test_gradgradcheck_passes_on_right_second_derivatives() -> None:
    x, w = leaf(3, 2), leaf(2, seed=1)
    assert gradgradcheck(lambda x, w: Cube.apply(x @ w).sum() + Softplus.apply(w).sum(), (x, w))
    assert gradgradcheck(lambda x: x.exp(), leaf(4), grad_outputs=np.ones(4))
    assert gradgradcheck(lambda x: x * 3.0, leaf(3))  # second derivative zero everywhere


def test_gradgradcheck_catches_a_backward_that_leaves_the_graph() -> None:
    x = leaf(3)
    assert gradcheck(lambda x: CubeDetached.apply(x.sin()), x)  # first order is right
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(lambda x: CubeDetached.apply(x.sin()), x)
    error = caught.value
    assert "second derivatives" in str(error)
    assert error.op_name == "CubeDetachedBackward"
    assert error.op_position == 2


def test_gradgradcheck_is_deterministic_through_several_outputs() -> None:
    """The gradients of x and y are two roots of the second backward pass; they must be
    summed in the same order every time, so nondet_tol=0 holds."""
    x, y = leaf(1), leaf(2, 2, seed=1)
    assert gradgradcheck(lambda x, y: x * y + y.exp(), (x, y), nondet_tol=0.0)
    first = tl.grad([(x * y).sum(), (y.exp() * x).sum()], [x, y], retain_graph=True)
    for _ in range(5):
        again = tl.grad([(x * y).sum(), (y.exp() * x).sum()], [x, y])
        for a, b in zip(first, again):
            assert a is not None and b is not None
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_custom_op_is_usable_in_graphs_and_higher_order() -> None:
    x = tl.tensor([0.5, -1.0], requires_grad=True)
    (g,) = tl.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = tl.grad(g.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([0.5, -1.0]) ** 2)
    np.testing.assert_allclose(h.numpy(), 6 * np.array([0.5, -1.0]))


def test_error_attributes_default_to_none() -> None:
    error = GradcheckError("report")
    assert str(error) == "report"
    assert (error.input_index, error.op_name, error.worst_relative_error) == (None, None, None)


def test_single_tensor_backward_result_is_accepted() -> None:
    """A one-input op may return its gradient bare, as in PyTorch."""

    class Double(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            return 2.0 * x

        @staticmethod
        def backward(ctx: Any, g: Tensor) -> Any:
            return g * 2.0

    assert gradcheck(lambda x: Double.apply(x), leaf(3))


def test_backward_returning_something_else_is_a_clear_error() -> None:
    class TwoInputs(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor, y: Tensor) -> Tensor:
            return x * y

        @staticmethod
        def backward(ctx: Any, g: Tensor) -> Any:
            return g  # one gradient for two inputs

    x, y = leaf(2), leaf(2, seed=1)
    with pytest.raises(RuntimeError, match=r"TwoInputsBackward: backward returned 1 gradients"):
        TwoInputs.apply(x, y).sum().backward()


def test_custom_op_example_checks_its_ops_and_blames_the_broken_one() -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "custom_op_softplus.py"
    spec = importlib.util.spec_from_file_location("example_custom_op_softplus", path)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    results = example.main(verbose=False)
    checks = [name for name in results if name.endswith("check")]
    assert len(checks) == 5 and all(results[name] is True for name in checks)
    w, b = results["huber_fit"]
    assert abs(w - 3.0) < 0.1 and abs(b - 1.0) < 0.3  # the outliers did not drag the line
    assert results["broken_op"] == "BrokenSoftplusBackward"
    assert "activated = BrokenSoftplus.apply(hidden)" in results["broken_report"]


class CheckedSqrt(Function):
    """z = sqrt(x), whose forward refuses negative x."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        if (x < 0).any():
            raise ValueError("checkedsqrt needs x >= 0")
        ctx.save_for_backward(x)
        return x.sqrt()

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return g / (2.0 * x.sqrt())


def test_op_at_the_edge_of_its_domain_is_blamed_with_its_error() -> None:
    """x * x is 0 at x = 0, so sqrt sees 0, where its derivative is infinite (times 2x = 0 it
    is NaN); checked alone, a step of eps below 0 makes its forward refuse: the report says so."""
    x = tl.tensor([0.0, 2.0], requires_grad=True)
    for check in (gradcheck, gradgradcheck):
        with pytest.raises(GradcheckError) as caught:
            check(lambda x: CheckedSqrt.apply(x * x), x)
        assert caught.value.op_name == "CheckedSqrtBackward"
        assert "checkedsqrt needs x >= 0" in str(caught.value)


def test_float32_intermediates_are_not_blamed() -> None:
    x = leaf(3)
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x: WrongSign.apply(x.float().double() * 1.0), x, atol=1e-3)
    assert caught.value.op_name == "WrongSignBackward"


def test_several_outputs_are_named_in_the_report() -> None:
    with pytest.raises(GradcheckError, match=r"d out1\[2\] / d x\[2\]"):
        gradcheck(lambda x: (x.exp(), WrongSign.apply(x)), leaf(3))
    assert gradgradcheck(lambda x: tl.ones(2) * 1.0, leaf(3))


def test_op_level_blame_can_be_switched_off() -> None:
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x: WrongSign.apply(x), leaf(2), check_op_level=False)
    assert caught.value.op_name is None
    assert "first op whose own backward" not in str(caught.value)
    assert "Every recorded op agrees" not in str(caught.value)


def test_empty_inputs_and_outputs() -> None:
    x = tl.tensor([-1.0, -2.0], requires_grad=True)
    assert gradcheck(lambda x: x[x > 0], x)  # an empty output
    assert gradgradcheck(lambda x: x[x > 0], x)  # so an empty upstream gradient
    assert gradcheck(lambda x, e: x.exp() + e.sum(), (x, tl.zeros(0, requires_grad=True)))
