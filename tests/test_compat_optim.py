"""RMSprop, Adagrad, AdamW, Adam(amsgrad), parameter groups and the learning-rate schedulers,
step by step against torch 2.13."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lr as tl
from tinygrad_lr import optim
from tinygrad_lr.optim import lr_scheduler

STEPS = 40


def _trajectories(
    make_ours: Callable[[Any], Any], make_theirs: Callable[[Any], Any], seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Both optimizers take STEPS steps from the same start with the same gradients (drawn
    once, so that a rounding difference is not fed back through a loss); the parameters after
    every step, stacked."""
    import torch

    rng = np.random.default_rng(seed)
    start = rng.normal(size=(3, 2))
    grads = rng.normal(size=(STEPS, 3, 2)) * np.linspace(0.01, 3, STEPS)[:, None, None]
    paths = []
    for module, make in ((tl, make_ours), (torch, make_theirs)):
        p = module.tensor(start, requires_grad=True)
        opt = make([p])
        path = []
        for grad in grads:
            opt.zero_grad()
            p.grad = module.tensor(grad)
            opt.step()
            path.append(p.detach().numpy().copy())
        paths.append(np.array(path))
    return paths[0], paths[1]


def _training_runs(name: str, **options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both libraries fit the same small model with the same optimizer for 60 steps; the
    final parameters."""
    import torch

    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(32, 3)), rng.normal(size=(32, 1))
    w0, b0 = rng.normal(size=(3, 1)) * 0.3, np.zeros(1)
    finals = []
    for module in (tl, torch):
        w, b = module.tensor(w0, requires_grad=True), module.tensor(b0, requires_grad=True)
        inputs, targets = module.tensor(x), module.tensor(y)
        opt = getattr(module.optim, name)([w, b], **options)
        for _ in range(60):
            opt.zero_grad()
            (((inputs @ w + b).tanh() - targets) ** 2).mean().backward()
            opt.step()
        finals.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy()]))
    return finals[0], finals[1]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_training_with_each_optimizer_ends_where_torch_does(name: str) -> None:
    pytest.importorskip("torch")
    ours, theirs = _training_runs(name, lr=0.01)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def _close(ours: np.ndarray, theirs: np.ndarray) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)


@given(
    lr=st.sampled_from([1e-3, 1e-2, 0.1]),
    alpha=st.sampled_from([0.9, 0.99]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    centered=st.booleans(),
)
def test_rmsprop_follows_torch(
    lr: float, alpha: float, weight_decay: float, momentum: float, centered: bool
) -> None:
    torch = pytest.importorskip("torch")
    options = dict(
        lr=lr, alpha=alpha, weight_decay=weight_decay, momentum=momentum, centered=centered
    )
    _close(
        *_trajectories(
            lambda p: optim.RMSprop(p, **options), lambda p: torch.optim.RMSprop(p, **options)
        )
    )


@given(
    lr=st.sampled_from([1e-2, 0.1, 0.5]),
    lr_decay=st.sampled_from([0.0, 0.01]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    initial=st.sampled_from([0.0, 0.5]),
)
def test_adagrad_follows_torch(
    lr: float, lr_decay: float, weight_decay: float, initial: float
) -> None:
    torch = pytest.importorskip("torch")
    options = dict(
        lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, initial_accumulator_value=initial
    )
    _close(
        *_trajectories(
            lambda p: optim.Adagrad(p, **options), lambda p: torch.optim.Adagrad(p, **options)
        )
    )


@given(
    lr=st.sampled_from([1e-3, 1e-2, 0.1]),
    betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9)]),
    weight_decay=st.sampled_from([0.0, 0.01, 0.3]),
    amsgrad=st.booleans(),
    decoupled=st.booleans(),
)
def test_adam_and_adamw_follow_torch(
    lr: float, betas: Any, weight_decay: float, amsgrad: bool, decoupled: bool
) -> None:
    torch = pytest.importorskip("torch")
    options = dict(lr=lr, betas=betas, weight_decay=weight_decay, amsgrad=amsgrad)
    name = "AdamW" if decoupled else "Adam"
    _close(
        *_trajectories(
            lambda p: getattr(optim, name)(p, **options),
            lambda p: getattr(torch.optim, name)(p, **options),
        )
    )


def test_adamw_default_weight_decay_is_torchs() -> None:
    torch = pytest.importorskip("torch")
    _close(*_trajectories(lambda p: optim.AdamW(p), lambda p: torch.optim.AdamW(p)))
    assert optim.AdamW([tl.zeros(1, requires_grad=True)]).param_groups[0]["weight_decay"] == 0.01


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a large lr overflows: both libraries alike
def test_parameter_groups_use_their_own_options_like_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a0, b0 = rng.normal(size=3), rng.normal(size=(2, 2))

    def run(module: Any, make: Callable[..., Any]) -> list[np.ndarray]:
        a, b = module.tensor(a0, requires_grad=True), module.tensor(b0, requires_grad=True)
        opt = make([{"params": [a]}, {"params": [b], "lr": 0.1, "momentum": 0.9}], lr=0.05)
        for _ in range(10):
            opt.zero_grad()
            ((a**2).sum() + (b**4).sum()).backward()
            opt.step()
        return [a.detach().numpy(), b.detach().numpy()]

    for ours, theirs in zip(run(tl, optim.SGD), run(torch, torch.optim.SGD)):
        _close(ours, theirs)
    groups = optim.RMSprop(
        [{"params": [tl.zeros(1, requires_grad=True)], "alpha": 0.5}], lr=0.1
    ).param_groups
    assert groups[0]["alpha"] == 0.5 and groups[0]["lr"] == 0.1


def test_bad_options_are_named() -> None:
    w = tl.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"RMSprop: invalid alpha -0.5"):
        optim.RMSprop([w], alpha=-0.5)
    with pytest.raises(ValueError, match=r"Adagrad: invalid lr_decay -1"):
        optim.Adagrad([w], lr_decay=-1)
    with pytest.raises(ValueError, match=r"AdamW: invalid beta parameter at index 1"):
        optim.AdamW([w], betas=(0.9, 1.0))


# --- schedulers ---------------------------------------------------------------------------------

SCHEDULERS: list[tuple[str, dict[str, Any]]] = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("StepLR", {"step_size": 1}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 7}),
    ("CosineAnnealingLR", {"T_max": 4, "eta_min": 0.01}),
]


def _lr_sequence(module: Any, name: str, options: dict[str, Any], epochs: int = 25) -> list[Any]:
    w = module.zeros(2, requires_grad=True)
    v = module.zeros(1, requires_grad=True)
    opt = module.optim.SGD([{"params": [w]}, {"params": [v], "lr": 0.3}], lr=0.1)
    scheduler = getattr(module.optim.lr_scheduler, name)(opt, **options)
    sequence = [scheduler.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        sequence.append(scheduler.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == sequence[-1]
    return sequence


@pytest.mark.parametrize(("name", "options"), SCHEDULERS)
def test_schedulers_give_torchs_learning_rates(name: str, options: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(
        _lr_sequence(tl, name, options), _lr_sequence(torch, name, options), rtol=1e-13
    )


def test_lambda_lr_gives_torchs_learning_rates_with_one_function_per_group() -> None:
    torch = pytest.importorskip("torch")
    functions = [lambda epoch: 0.95**epoch, lambda epoch: 1 / (1 + epoch)]
    for options in ({"lr_lambda": functions[0]}, {"lr_lambda": functions}):
        np.testing.assert_allclose(
            _lr_sequence(tl, "LambdaLR", options), _lr_sequence(torch, "LambdaLR", options)
        )


@given(
    st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=40),
    st.sampled_from(["min", "max"]),
    st.sampled_from(["rel", "abs"]),
    st.integers(0, 3),
    st.integers(0, 2),
)
def test_reduce_lr_on_plateau_follows_torch(
    metrics: list[float], mode: str, threshold_mode: str, patience: int, cooldown: int
) -> None:
    torch = pytest.importorskip("torch")
    options = dict(
        mode=mode,
        threshold_mode=threshold_mode,
        patience=patience,
        cooldown=cooldown,
        factor=0.5,
        min_lr=0.002,
    )

    def run(module: Any) -> list[Any]:
        opt = module.optim.SGD([module.zeros(1, requires_grad=True)], lr=0.1)
        scheduler = module.optim.lr_scheduler.ReduceLROnPlateau(opt, **options)
        out = []
        for metric in metrics:
            scheduler.step(metric)
            out.append(scheduler.get_last_lr())
        return out

    assert run(tl) == run(torch)


def test_scheduler_state_dict_resumes_the_sequence() -> None:
    def make() -> tuple[Any, Any]:
        opt = optim.SGD([tl.zeros(1, requires_grad=True)], lr=1.0)
        return opt, lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    opt, scheduler = make()
    for _ in range(3):
        scheduler.step()
    saved_opt, saved = opt.state_dict(), scheduler.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 3
    scheduler.step()
    expected = scheduler.get_last_lr()
    opt2, scheduler2 = make()
    opt2.load_state_dict(saved_opt)
    scheduler2.load_state_dict(saved)
    scheduler2.step()
    assert scheduler2.get_last_lr() == expected == [0.25]


def test_scheduler_errors() -> None:
    with pytest.raises(TypeError, match="StepLR: expected an optimizer, got list"):
        lr_scheduler.StepLR([], step_size=2)  # type: ignore[arg-type]
    opt = optim.SGD([tl.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer, got 0"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor must be < 1, got 2"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=2)
    with pytest.raises(TypeError, match=r"needs the metric"):
        lr_scheduler.ReduceLROnPlateau(opt).step()
