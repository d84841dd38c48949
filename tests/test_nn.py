"""nn: Module registration, state_dict round trips, Linear, activations and losses."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import nn
from tinygrad_lr.nn import functional

SIZES = st.integers(1, 5)
FINITE = st.floats(-5, 5, allow_nan=False, allow_infinity=False)


def as_array(t: tl.Tensor) -> np.ndarray:
    return np.array(t.detach().numpy())


# --- registration -------------------------------------------------------------------------------


class TwoLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(3, 4)
        self.scale = nn.Parameter(tl.ones(1))
        self.out = nn.Linear(4, 2)
        self.plain = tl.zeros(2, requires_grad=True)  # a plain tensor: not registered

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return self.out(self.hidden(x).tanh() * self.scale)


def test_parameters_and_modules_assigned_as_attributes_are_registered_in_order() -> None:
    model = TwoLayer()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert [name for name, _ in model.named_children()] == ["hidden", "out"]
    assert [name for name, _ in model.named_modules()] == ["", "hidden", "out"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())


def test_a_plain_tensor_attribute_is_not_a_parameter() -> None:
    model = TwoLayer()
    assert all(p is not model.plain for p in model.parameters())
    assert "plain" not in model.state_dict()


def test_reassigning_an_attribute_replaces_or_unregisters_it() -> None:
    model = TwoLayer()
    model.scale = nn.Parameter(tl.zeros(1))
    assert model.scale.item() == 0.0
    model.out = None  # type: ignore[assignment]
    assert [name for name, _ in model.named_children()] == ["hidden"]
    del model.scale
    assert "scale" not in dict(model.named_parameters())


def test_a_shared_parameter_is_listed_once() -> None:
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.Tanh(), layer)
    assert len(list(model.parameters())) == 2


def test_assigning_before_init_names_the_fix() -> None:
    class Forgetful(nn.Module):
        def __init__(self) -> None:
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgetful()


def test_unknown_attribute_error_names_the_module() -> None:
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        _ = nn.Linear(1, 1).wieght


def test_train_and_eval_set_the_flag_on_every_module() -> None:
    model = TwoLayer()
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_call_runs_forward_and_gradients_reach_every_parameter() -> None:
    tl.manual_seed(0)
    model = TwoLayer()
    model(tl.randn(5, 3)).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_zero_grad_can_keep_zeroed_tensors() -> None:
    model = nn.Linear(2, 1)
    model(tl.ones(1, 2)).sum().backward()
    grad = model.weight.grad
    model.zero_grad(set_to_none=False)
    assert model.weight.grad is grad and not np.any(as_array(grad))


# --- state_dict ---------------------------------------------------------------------------------


@given(SIZES, SIZES, SIZES, st.integers(0, 2**16))
def test_state_dict_round_trip_reproduces_the_model(
    n_in: int, n_hidden: int, n_out: int, seed: int
) -> None:
    tl.manual_seed(seed)
    source = nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))
    target = nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))
    target_params = list(target.parameters())
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = tl.randn(3, n_in)
    np.testing.assert_array_equal(as_array(target(x)), as_array(source(x)))
    # loaded in place: an optimizer built before loading still holds the model's parameters
    assert all(a is b for a, b in zip(target_params, target.parameters()))


def test_state_dict_is_a_snapshot_not_a_view() -> None:
    model = nn.Linear(2, 2)
    saved = model.state_dict()
    before = as_array(saved["weight"])
    with tl.no_grad():
        model.weight.add_(1.0)
    np.testing.assert_array_equal(as_array(saved["weight"]), before)
    assert list(saved) == ["weight", "bias"]


def test_load_state_dict_names_missing_unexpected_and_misshaped_keys_and_changes_nothing() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    before = {k: as_array(v) for k, v in model.state_dict().items()}
    bad = {"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(4), "extra": np.zeros(1)}
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(bad)
    message = str(info.value)
    assert "missing keys: '1.weight', '1.bias'" in message
    assert "unexpected keys: 'extra'" in message
    assert "size mismatch for '0.bias'" in message and "(4,)" in message and "(3,)" in message
    assert isinstance(info.value, RuntimeError)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(as_array(value), before[key])


def test_load_state_dict_non_strict_reports_what_it_skipped() -> None:
    model = nn.Linear(2, 1)
    result = model.load_state_dict({"weight": np.ones((1, 2)), "other": np.ones(3)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["other"]
    np.testing.assert_array_equal(as_array(model.weight), np.ones((1, 2)))
    with pytest.raises(nn.StateDictError, match="size mismatch"):
        model.load_state_dict({"weight": np.ones((2, 2))}, strict=False)


# --- Linear and Sequential ----------------------------------------------------------------------


@given(SIZES, SIZES, st.booleans(), st.integers(0, 2**16))
def test_linear_layout_init_and_forward(n_in: int, n_out: int, bias: bool, seed: int) -> None:
    tl.manual_seed(seed)
    layer = nn.Linear(n_in, n_out, bias=bias)
    assert layer.weight.shape == (n_out, n_in)
    bound = 1 / math.sqrt(n_in)
    assert np.all(np.abs(as_array(layer.weight)) <= bound)
    x = np.random.default_rng(seed).standard_normal((4, n_in))
    expected = x @ as_array(layer.weight).T
    if bias:
        assert layer.bias.shape == (n_out,)
        assert np.all(np.abs(as_array(layer.bias)) <= bound)
        expected = expected + as_array(layer.bias)
    else:
        assert layer.bias is None and len(list(layer.parameters())) == 1
    np.testing.assert_allclose(as_array(layer(tl.tensor(x))), expected, rtol=1e-12, atol=1e-12)


def test_linear_init_uses_the_global_generator() -> None:
    tl.manual_seed(7)
    first = as_array(nn.Linear(3, 2).weight)
    tl.manual_seed(7)
    np.testing.assert_array_equal(as_array(nn.Linear(3, 2).weight), first)
    assert not np.array_equal(as_array(nn.Linear(3, 2).weight), first)


def test_linear_init_spreads_over_the_whole_interval() -> None:
    tl.manual_seed(0)
    weights = as_array(nn.Linear(16, 1000).weight)
    assert weights.min() < -0.24 and weights.max() > 0.24  # bound is 1/4


def test_linear_rejects_the_wrong_input_width_with_the_shapes() -> None:
    with pytest.raises(tl.ShapeError, match=r"input of shape \(5, 3\).*last dimension 2"):
        nn.Linear(2, 1)(tl.zeros(5, 3))
    with pytest.raises(ValueError, match="in_features must be a positive integer"):
        nn.Linear(0, 1)


def test_sequential_indexing_len_and_repr_match_pytorch_layout() -> None:
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1, bias=False))
    assert len(model) == 3 and isinstance(model[1], nn.ReLU) and list(model)[2] is model[2]
    expected = (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=8, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=8, out_features=1, bias=False)\n"
        ")"
    )
    assert repr(model) == expected
    torch = pytest.importorskip("torch")
    reference = torch.nn.Sequential(
        torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1, bias=False)
    )
    assert repr(model) == repr(reference)


def test_nested_repr_indents_like_pytorch() -> None:
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Sequential(nn.Linear(1, 2), nn.Tanh()), nn.Sigmoid())
    theirs = torch.nn.Sequential(
        torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.Tanh()), torch.nn.Sigmoid()
    )
    assert repr(ours) == repr(theirs)
    assert repr(nn.MSELoss()) == repr(torch.nn.MSELoss())


def test_sequential_rejects_non_modules() -> None:
    with pytest.raises(TypeError, match="argument 1 is a builtin_function_or_method, not a Module"):
        nn.Sequential(nn.ReLU(), abs)  # type: ignore[arg-type]


# --- functional: values and gradients -----------------------------------------------------------


def values_and_grad(fn, x: np.ndarray, *args, **kwargs) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    t = tl.tensor(x, requires_grad=True)
    out = fn(t, *args, **kwargs)
    out.sum().backward()
    return as_array(out), as_array(t.grad)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -x))  # 1 / (1 + e^-x) without overflow


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4), elements=FINITE))
def test_activations_and_their_gradients(x: np.ndarray) -> None:
    value, grad = values_and_grad(functional.sigmoid, x)
    np.testing.assert_allclose(value, sigmoid(x), rtol=1e-12)
    np.testing.assert_allclose(grad, sigmoid(x) * (1 - sigmoid(x)), rtol=1e-10, atol=1e-15)
    value, grad = values_and_grad(functional.tanh, x)
    np.testing.assert_allclose(grad, 1 - np.tanh(x) ** 2, rtol=1e-10, atol=1e-15)
    shifted = np.where(x == 0, 1.0, x)  # relu has a kink at 0
    value, grad = values_and_grad(nn.ReLU(), shifted)
    np.testing.assert_array_equal(value, np.maximum(shifted, 0))
    np.testing.assert_array_equal(grad, (shifted > 0).astype(float))


@given(hnp.arrays(np.float64, st.tuples(SIZES, SIZES), elements=FINITE))
def test_softmax_rows_sum_to_one_and_log_softmax_matches(x: np.ndarray) -> None:
    probabilities = as_array(functional.softmax(tl.tensor(x), dim=1))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(
        as_array(functional.log_softmax(tl.tensor(x), dim=1)), np.log(probabilities), atol=1e-12
    )


@given(
    hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4), elements=st.floats(-50, 50))
)
def test_softplus_is_exact_with_gradient_sigmoid_everywhere(x: np.ndarray) -> None:
    value, grad = values_and_grad(functional.softplus, x)
    # log(1 + tiny) rounds tiny away for x << 0: an absolute error below 1e-15, harmless in a loss
    np.testing.assert_allclose(value, np.logaddexp(0, x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad, sigmoid(x), rtol=1e-12)


def regression_pair(max_side: int = 5):  # type: ignore[no-untyped-def]
    shape = hnp.array_shapes(max_dims=2, max_side=max_side)
    return shape.flatmap(
        lambda s: st.tuples(
            hnp.arrays(np.float64, s, elements=FINITE), hnp.arrays(np.float64, s, elements=FINITE)
        )
    )


@given(regression_pair(), st.sampled_from(["mean", "sum", "none"]))
def test_mse_and_l1_losses_values_and_gradients(
    pair: tuple[np.ndarray, np.ndarray], reduction: str
) -> None:
    x, target = pair
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    scale = 1 / x.size if reduction == "mean" else 1.0
    value, grad = values_and_grad(functional.mse_loss, x, tl.tensor(target), reduction=reduction)
    np.testing.assert_allclose(value, reduce((x - target) ** 2), rtol=1e-12)
    np.testing.assert_allclose(grad, 2 * (x - target) * scale, rtol=1e-12, atol=1e-15)
    apart = np.where(x == target, x + 1, x)  # |x - t| has a kink where they are equal
    value, grad = values_and_grad(nn.L1Loss(reduction), apart, target)  # type: ignore[arg-type]
    np.testing.assert_allclose(value, reduce(np.abs(apart - target)), rtol=1e-12)
    np.testing.assert_allclose(grad, np.sign(apart - target) * scale, rtol=1e-12)


@given(
    hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-1000, 1000)),
    st.data(),
)
def test_bce_with_logits_is_stable_and_its_gradient_is_sigmoid_minus_target(
    x: np.ndarray, data
) -> None:  # type: ignore[no-untyped-def]
    target = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(0, 1)))
    value, grad = values_and_grad(
        functional.binary_cross_entropy_with_logits, x, target, reduction="none"
    )
    np.testing.assert_allclose(value, np.logaddexp(0, x) - x * target, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, sigmoid(x) - target, rtol=1e-10, atol=1e-12)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))


def test_bce_gradient_at_a_zero_logit_is_one_half_minus_target() -> None:
    # A zero-initialised logistic regression starts exactly here; a relu/abs formula gets 0.
    _, grad = values_and_grad(
        functional.binary_cross_entropy_with_logits,
        np.zeros(2),
        np.array([0.0, 1.0]),
        reduction="sum",
    )
    np.testing.assert_allclose(grad, [0.5, -0.5])


@given(
    hnp.arrays(np.float64, st.tuples(SIZES, st.integers(2, 5)), elements=st.floats(-500, 500)),
    st.data(),
)
def test_cross_entropy_with_indices_and_with_probabilities(logits: np.ndarray, data) -> None:  # type: ignore[no-untyped-def]
    n, c = logits.shape
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    one_hot = np.eye(c)[labels]
    value, grad = values_and_grad(functional.cross_entropy, logits, tl.tensor(labels))
    np.testing.assert_allclose(
        value, -log_probs[np.arange(n), labels].mean(), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(grad, (np.exp(log_probs) - one_hot) / n, atol=1e-12)
    value, _ = values_and_grad(nn.CrossEntropyLoss(reduction="none"), logits, one_hot)
    np.testing.assert_allclose(value, -log_probs[np.arange(n), labels], rtol=1e-10, atol=1e-12)


def test_squared_loss_reshapes_the_labels_as_the_chapter_does() -> None:
    y_hat = tl.tensor([[1.0], [2.0], [4.0]])
    loss = functional.squared_loss(y_hat, tl.tensor([1.0, 1.0, 1.0]))
    assert loss.shape == (3, 1)
    np.testing.assert_array_equal(as_array(loss), [[0.0], [0.5], [4.5]])
    with pytest.raises(tl.ShapeError, match="squared_loss"):
        functional.squared_loss(y_hat, tl.ones(4))


def test_loss_errors_name_the_function_and_shapes() -> None:
    with pytest.raises(
        tl.ShapeError, match=r"mse_loss: input has shape \(3, 1\) but target has shape \(3,\)"
    ):
        functional.mse_loss(tl.zeros(3, 1), tl.zeros(3))
    with pytest.raises(ValueError, match="reduction must be one of"):
        functional.l1_loss(tl.zeros(2), tl.zeros(2), reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"cross_entropy: target values must lie in \[0, 3\)"):
        functional.cross_entropy(tl.zeros(2, 3), tl.tensor([0, 3]))
    with pytest.raises(tl.ShapeError, match="cross_entropy: class-index target must have shape"):
        functional.cross_entropy(tl.zeros(2, 3), tl.tensor([[0], [1]]))


# --- parity with PyTorch ------------------------------------------------------------------------


@given(hnp.arrays(np.float64, st.tuples(SIZES, st.integers(2, 4)), elements=FINITE), st.data())
def test_losses_match_pytorch(logits: np.ndarray, data) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    n, c = logits.shape
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    target = data.draw(hnp.arrays(np.float64, logits.shape, elements=st.floats(0, 1)))
    cases = [
        (functional.cross_entropy, torch.nn.functional.cross_entropy, labels),
        (
            functional.binary_cross_entropy_with_logits,
            torch.nn.functional.binary_cross_entropy_with_logits,
            target,
        ),
        (functional.mse_loss, torch.nn.functional.mse_loss, target),
        (functional.l1_loss, torch.nn.functional.l1_loss, target),
    ]
    for ours, theirs, second in cases:
        ours_value, ours_grad = values_and_grad(ours, logits, tl.tensor(second))
        x = torch.tensor(logits, requires_grad=True)
        theirs_value = theirs(x, torch.tensor(second))
        theirs_value.sum().backward()
        np.testing.assert_allclose(
            ours_value, theirs_value.detach().numpy(), rtol=1e-10, atol=1e-12
        )
        np.testing.assert_allclose(ours_grad, x.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_assigning_a_plain_tensor_over_a_parameter_is_refused() -> None:
    # `self.weight = self.weight * 2` would silently take the weight away from the optimizer.
    layer = nn.Linear(2, 1)
    with pytest.raises(
        TypeError, match=r"'weight', a registered Parameter of Linear.*Parameter\(\.\.\.\)"
    ):
        layer.weight = layer.weight * 2
    layer.weight = nn.Parameter(tl.zeros(1, 2))  # a new Parameter replaces it
    assert next(layer.parameters()) is layer.weight


def test_sequential_slices_share_their_modules() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    with pytest.raises(IndexError, match="index 3 is out of range for 3 modules"):
        model[3]
