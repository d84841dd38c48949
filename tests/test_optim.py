"""optim: update formulas (against torch.optim when installed), validation, zero_grad."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import nn, optim

VALUES = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
SHAPES = hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)
STEPS = 5


def as_array(t: tl.Tensor) -> np.ndarray:
    return np.array(t.detach().numpy())


def run_ours(make, start: np.ndarray, grads: list[np.ndarray]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Parameter values after one step per gradient, each gradient set by hand."""
    param = tl.tensor(start, requires_grad=True)
    optimizer = make([param])
    for grad in grads:
        param.grad = tl.tensor(grad)
        optimizer.step()
    return as_array(param)


def run_torch(torch, make, start: np.ndarray, grads: list[np.ndarray]) -> np.ndarray:  # type: ignore[no-untyped-def]
    param = torch.tensor(start, requires_grad=True)
    optimizer = make([param])
    for grad in grads:
        param.grad = torch.tensor(grad)
        optimizer.step()
    return param.detach().numpy()


def start_and_grads(shape: tuple[int, ...]):  # type: ignore[no-untyped-def]
    array = hnp.arrays(np.float64, shape, elements=VALUES)
    return st.tuples(array, st.lists(array, min_size=STEPS, max_size=STEPS))


sgd_settings = st.fixed_dictionaries(
    {
        "lr": st.floats(1e-4, 1.0),
        "momentum": st.sampled_from([0.0, 0.5, 0.9]),
        "dampening": st.sampled_from([0.0, 0.1]),
        "weight_decay": st.sampled_from([0.0, 0.01]),
        "nesterov": st.booleans(),
    }
).filter(lambda s: not s["nesterov"] or (s["momentum"] > 0 and s["dampening"] == 0))

adam_settings = st.fixed_dictionaries(
    {
        "lr": st.floats(1e-4, 1.0),
        "betas": st.tuples(st.sampled_from([0.0, 0.5, 0.9]), st.sampled_from([0.0, 0.9, 0.999])),
        "eps": st.sampled_from([1e-8, 1e-3]),
        "weight_decay": st.sampled_from([0.0, 0.1]),
    }
)


@given(SHAPES.flatmap(start_and_grads), sgd_settings)
def test_sgd_matches_torch(data, settings) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    start, grads = data
    ours = run_ours(lambda p: optim.SGD(p, **settings), start, grads)
    theirs = run_torch(torch, lambda p: torch.optim.SGD(p, **settings), start, grads)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@given(SHAPES.flatmap(start_and_grads), adam_settings)
def test_adam_matches_torch(data, settings) -> None:  # type: ignore[no-untyped-def]
    """To round-off, and to how far round-off can move PyTorch's own result: near g = 0,
    Adam's step g / (|g| + eps) turns a last-bit difference in g (PyTorch rounds
    `grad + weight_decay * p` once, fused) into one of 1e-10 in the parameter."""
    torch = pytest.importorskip("torch")
    start, grads = data
    ours = run_ours(lambda p: optim.Adam(p, **settings), start, grads)
    theirs = run_torch(torch, lambda p: torch.optim.Adam(p, **settings), start, grads)
    nudged = [g * (1 + 8 * np.finfo(np.float64).eps) for g in grads]  # a few bits off
    spread = np.abs(run_torch(torch, lambda p: torch.optim.Adam(p, **settings), start, nudged)
                    - theirs)  # fmt: skip
    assert np.all(np.abs(ours - theirs) <= 1e-10 * np.abs(theirs) + 1e-12 + 10 * spread), (
        ours, theirs, spread)  # fmt: skip


def test_training_a_model_matches_torch_step_for_step() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)
    ).double()
    with torch.no_grad():
        for (_, mine), (_, other) in zip(ours.named_parameters(), theirs.named_parameters()):
            other.copy_(torch.tensor(as_array(mine)))
    our_opt = optim.Adam(ours.parameters(), lr=0.05)
    their_opt = torch.optim.Adam(theirs.parameters(), lr=0.05)
    for _ in range(10):
        our_opt.zero_grad()
        nn.functional.mse_loss(ours(tl.tensor(x)), tl.tensor(y)).backward()
        our_opt.step()
        their_opt.zero_grad()
        torch.nn.functional.mse_loss(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        their_opt.step()
    for mine, other in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(as_array(mine), other.detach().numpy(), rtol=1e-9, atol=1e-12)


# --- properties that need no reference library --------------------------------------------------


@given(SHAPES.flatmap(start_and_grads), st.floats(1e-4, 1.0))
def test_plain_sgd_step_is_p_minus_lr_times_grad(data, lr: float) -> None:  # type: ignore[no-untyped-def]
    start, grads = data
    np.testing.assert_allclose(
        run_ours(lambda p: optim.SGD(p, lr=lr), start, grads[:1]), start - lr * grads[0]
    )


@given(SHAPES.flatmap(start_and_grads), st.floats(1e-3, 1.0))
def test_first_adam_step_moves_each_entry_by_about_lr_against_the_gradient(data, lr: float) -> None:  # type: ignore[no-untyped-def]
    # At step 1 the bias-corrected moments are g and g^2, so the step is lr g / (|g| + eps):
    # about lr for every entry, whatever the gradient's size.
    start, grads = data
    moved = run_ours(lambda p: optim.Adam(p, lr=lr, eps=1e-8), start, grads[:1])
    expected = start - lr * grads[0] / (np.abs(grads[0]) + 1e-8)
    np.testing.assert_allclose(moved, expected, rtol=1e-12, atol=1e-15)


def test_momentum_accumulates_a_constant_gradient() -> None:
    # buf_1 = g, buf_2 = 0.9 g + g: after two steps p = -lr (1 + 1.9) g
    moved = run_ours(lambda p: optim.SGD(p, lr=0.1, momentum=0.9), np.zeros(1), [np.ones(1)] * 2)
    np.testing.assert_allclose(moved, [-0.1 * 2.9])


def test_step_changes_values_in_place_and_records_nothing() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    optim.SGD([w], lr=0.5).step()
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    np.testing.assert_allclose(as_array(w), [0.0, 0.0])
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()  # the graph saved the old values of w


def test_parameters_without_grad_are_skipped_and_groups_have_their_own_lr() -> None:
    a = tl.tensor([1.0], requires_grad=True)
    b = tl.tensor([1.0], requires_grad=True)
    c = tl.tensor([1.0], requires_grad=True)
    optimizer = optim.SGD([{"params": [a]}, {"params": [b, c], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = tl.ones(1), tl.ones(1)
    optimizer.step()
    assert (a.item(), b.item(), c.item()) == (pytest.approx(0.9), pytest.approx(0.5), 1.0)
    assert optimizer.param_groups[0]["lr"] == 0.1 and optimizer.param_groups[1]["lr"] == 0.5


def test_zero_grad_sets_none_or_zeros() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    grad = w.grad
    optimizer.zero_grad(set_to_none=False)
    assert w.grad is grad and not np.any(as_array(w.grad))
    optimizer.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: optim.SGD(p, lr=-0.1), "invalid lr -0.1"),
        (lambda p: optim.SGD(p, lr=math.nan), "invalid lr nan"),
        (lambda p: optim.SGD(p, lr=math.inf), "invalid lr inf"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "invalid momentum"),
        (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "invalid weight_decay"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov momentum requires momentum > 0"),
        (lambda p: optim.SGD(p, lr="fast"), "lr must be a number"),
        (lambda p: optim.Adam(p, lr=-1e-3), "invalid lr"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "beta parameter at index 0"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta parameter at index 1"),
        (lambda p: optim.Adam(p, betas=(0.9, math.nan)), "beta parameter at index 1"),
        (lambda p: optim.Adam(p, eps=-1e-8), "invalid eps"),
        (lambda p: optim.Adam(p, betas=(0.9,)), "betas must be a pair"),
    ],
)
def test_bad_hyper_parameters_fail_at_construction(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make([tl.zeros(1, requires_grad=True)])


def test_bad_parameter_lists_fail_with_a_clear_error() -> None:
    w = tl.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="SGD got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam(iter([]))
    with pytest.raises(TypeError, match="got a single Tensor"):
        optim.SGD(w, lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(ValueError, match="appears more than once"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(TypeError, match="parameter 0 is a ndarray"):
        optim.SGD([np.zeros(2)], lr=0.1)  # type: ignore[list-item]


def test_state_is_keyed_by_the_parameter_as_in_pytorch() -> None:
    w = tl.zeros(2, requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = tl.ones(2)
    optimizer.step()
    np.testing.assert_array_equal(optimizer.state[w]["momentum_buffer"], [1.0, 1.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
        lambda p: optim.Adam(p, lr=0.05, weight_decay=0.01),
    ],
)
def test_training_resumed_from_state_dicts_continues_exactly(make) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    x, y = tl.tensor(rng.standard_normal((16, 3))), tl.tensor(rng.standard_normal((16, 1)))

    def train(model: nn.Module, optimizer: optim.Optimizer, steps: int) -> None:
        for _ in range(steps):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    tl.manual_seed(1)
    straight = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    train(straight, make(straight.parameters()), 10)

    tl.manual_seed(1)
    first = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    first_optimizer = make(first.parameters())
    train(first, first_optimizer, 4)
    saved_model, saved_optimizer = first.state_dict(), first_optimizer.state_dict()
    train(first, first_optimizer, 3)  # changes after saving must not leak into the saved state

    resumed = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    resumed.load_state_dict(saved_model)
    resumed_optimizer = make(resumed.parameters())
    resumed_optimizer.load_state_dict(saved_optimizer)
    train(resumed, resumed_optimizer, 6)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(as_array(a), as_array(b))


def test_optimizer_state_dict_layout_and_mismatches() -> None:
    w, b = tl.zeros(2, 3, requires_grad=True), tl.zeros(3, requires_grad=True)
    optimizer = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    w.grad, b.grad = tl.ones(2, 3), tl.ones(3)
    optimizer.step()
    saved = optimizer.state_dict()
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in saved["param_groups"]] == [0.1, 0.5]
    assert saved["state"][0]["momentum_buffer"].shape == (2, 3)
    other = optim.SGD([tl.zeros(2, 3, requires_grad=True)], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="the state has 2 parameter groups, this optimizer has 1"):
        other.load_state_dict(saved)
    swapped = optim.SGD([{"params": [b]}, {"params": [w]}], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"momentum_buffer of parameter 0 has shape \(2, 3\)"):
        swapped.load_state_dict(saved)
    assert swapped.state == {}  # nothing changed
