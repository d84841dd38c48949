"""Every optimiser and schedule inside a compiled training step: the replay agrees with eager
bit for bit (parameters, losses, state), learning rates are read live, and what the replay
cannot follow (a scheduler stepped inside the step, replaced state) is never frozen."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from test_optim_exact import CONFIGS

import tinygrad_lr as tl
from tinygrad_lr import nn, optim
from tinygrad_lr.compile import CompileWarning
from tinygrad_lr.optim import lr_scheduler

Make = Callable[[Any], optim.Optimizer]


Schedule = Callable[[optim.Optimizer], Any]


def _train(make: Make, steps: int, compiled: bool, dtype: Any = tl.float64,
           schedule: Schedule | None = None) -> tuple[Any, ...]:  # fmt: skip
    """A small MLP trained on fixed batches; returns parameters, losses and the optimizer."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).to(dtype)
    opt = make(model.parameters())
    scheduler = schedule(opt) if schedule is not None else None
    rng = np.random.default_rng(0)
    x = tl.tensor(rng.standard_normal((40, 3)), dtype=dtype)
    y = tl.tensor(rng.standard_normal((40, 1)), dtype=dtype)

    def step(xb: tl.Tensor, yb: tl.Tensor) -> tl.Tensor:
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    run = tl.compile(step, fullgraph=True) if compiled else step
    losses = []
    for k in range(steps):
        i = (k % 4) * 10
        losses.append(run(x[i : i + 10], y[i : i + 10]).detach().numpy().copy())
        if scheduler is not None:
            scheduler.step()
    if compiled:
        assert run.code is not None
    return [p.detach().numpy().copy() for p in model.parameters()], losses, opt, run


def _assert_same(compiled: tuple[Any, ...], eager: tuple[Any, ...]) -> None:
    for a, b in zip(compiled[0], eager[0]):
        np.testing.assert_array_equal(a, b, strict=True)
    np.testing.assert_array_equal(compiled[1], eager[1], strict=True)
    for state, eager_state in zip(compiled[2].state.values(), eager[2].state.values()):
        assert state.keys() == eager_state.keys()
        for key in state:
            np.testing.assert_array_equal(np.asarray(state[key]), np.asarray(eager_state[key]))


def _maker(name: str) -> Make:
    kind, settings = CONFIGS[name]
    return lambda params: kind(params, **settings)


@pytest.mark.parametrize("dtype", [tl.float64, tl.float32])
@pytest.mark.parametrize("name", CONFIGS)
def test_every_optimizer_replays_bit_for_bit(name: str, dtype: Any) -> None:
    eager = _train(_maker(name), 120, compiled=False, dtype=dtype)
    compiled = _train(_maker(name), 120, compiled=True, dtype=dtype)
    _assert_same(compiled, eager)
    # the rate is a live value, read at every call, not a constant of the code
    rate = r"= np\.array\(_(lr|step_size|minus_step_lr|minus_lr)(_\d+)?\(\)"
    assert re.search(rate, compiled[3].code)


SCHEDULES = {
    "step": lambda opt: lr_scheduler.StepLR(opt, step_size=30, gamma=0.5),
    "exponential": lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.99),
}


@pytest.mark.parametrize("optimizer", ["sgd_nesterov_decay", "adamw_amsgrad_betas"])
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_between_compiled_steps_are_read_live(schedule: str, optimizer: str) -> None:
    eager = _train(_maker(optimizer), 200, False, schedule=SCHEDULES[schedule])
    compiled = _train(_maker(optimizer), 200, True, schedule=SCHEDULES[schedule])
    _assert_same(compiled, eager)
    lrs = [g["lr"] for g in compiled[2].param_groups]
    assert lrs == [g["lr"] for g in eager[2].param_groups] and lrs[0] < 0.01


def test_a_scheduler_stepped_inside_the_step_runs_eagerly() -> None:
    w = tl.ones(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    scheduler = lr_scheduler.ExponentialLR(opt, gamma=0.5)

    def step() -> None:
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        scheduler.step()  # Python state: a replay would keep the first rate

    compiled = tl.compile(step)
    with pytest.warns(CompileWarning, match=r"ExponentialLR.step\(\) changes Python state"):
        for _ in range(5):
            compiled()
    assert compiled.code is None and opt.param_groups[0]["lr"] == 0.1 * 0.5**5


def test_a_parameter_without_grad_is_checked_before_each_call() -> None:
    w, unused = tl.ones(2, requires_grad=True), tl.ones(2, requires_grad=True)
    opt = optim.SGD([w, unused], lr=0.1, momentum=0.9)

    def step() -> None:
        (w * w).sum().backward()
        opt.step()  # skips `unused`, which has no .grad
        w.grad = None

    compiled = tl.compile(step)
    for _ in range(4):
        compiled()
    assert compiled.code is not None
    unused.grad = tl.ones(2)  # set outside the step: eager would update `unused` now
    compiled()
    np.testing.assert_array_equal(unused.detach().numpy(), [0.9, 0.9])


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_an_update_step_with_backward_outside_it_replays(name: str) -> None:
    """Gradient accumulation: backward at every batch, `opt.step(); opt.zero_grad()` (which
    sets .grad to None) compiled and called every other batch."""

    def train(compiled: bool) -> list[Any]:
        tl.manual_seed(1)
        model = nn.Linear(3, 1)
        opt = (optim.SGD if name == "sgd" else optim.Adam)(model.parameters(), lr=0.1)

        def update() -> None:
            opt.step()
            opt.zero_grad()

        run = tl.compile(update) if compiled else update
        x = tl.randn(12, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            for batch in range(12):
                (model(x[batch : batch + 1]) ** 2).sum().backward()
                if batch % 2:
                    run()
        assert not compiled or run.code is not None  # type: ignore[attr-defined]
        return [p.detach().numpy().tolist() for p in model.parameters()]

    assert train(False) == train(True)


def test_a_setting_removed_between_calls_raises_where_eager_raises() -> None:
    def outcome(compiled: bool) -> Any:
        w = tl.ones(2, requires_grad=True)
        opt = optim.SGD([w], lr=0.1, weight_decay=0.01)

        def step() -> None:
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()

        run = tl.compile(step) if compiled else step
        for _ in range(3):
            run()
        del opt.param_groups[0]["weight_decay"]
        with pytest.raises(KeyError, match="weight_decay"):
            run()
        return w.detach().numpy().tolist(), w.grad.numpy().tolist(), w._version

    assert outcome(False) == outcome(True)


def test_a_rate_the_step_reads_from_its_scheduler_is_checked_before_each_call() -> None:
    def losses(compiled: bool) -> list[float]:
        w = tl.ones(3, requires_grad=True)
        opt = optim.SGD([w], lr=0.1)
        scheduler = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)

        def step(x: tl.Tensor) -> tl.Tensor:
            loss = (w * x).sum() ** 2
            loss.backward()
            with tl.no_grad():
                w.sub_(scheduler.get_last_lr()[0] * w.grad)
                w.grad = None
            return loss

        run = tl.compile(step) if compiled else step
        result = []
        for _ in range(9):
            result.append(run(tl.tensor([0.5, -1.0, 2.0])).item())
            scheduler.step()  # a new rate every third call
        assert not compiled or run.code is not None  # type: ignore[attr-defined]
        return result

    assert losses(False) == losses(True)


def test_loading_a_state_dict_between_calls_is_seen() -> None:
    def run(compiled: bool) -> np.ndarray:
        tl.manual_seed(0)
        w = tl.randn(4, requires_grad=True)
        opt = optim.Adam([w], lr=0.05)

        def step() -> None:
            opt.zero_grad()
            ((w - 1.0) ** 2).sum().backward()
            opt.step()

        call = tl.compile(step) if compiled else step
        for _ in range(5):
            call()
        saved = opt.state_dict()
        for _ in range(5):
            call()
        opt.load_state_dict(saved)  # new state tensors and groups: the program's are stale
        for _ in range(5):
            call()
        return w.detach().numpy().copy()

    np.testing.assert_array_equal(run(True), run(False), strict=True)


def test_a_changed_branch_is_recorded_again_without_warnings() -> None:
    results = []
    for compiled in (False, True):
        tl.manual_seed(0)
        w = tl.randn(3, requires_grad=True)
        opt = optim.RMSprop([w], lr=0.01, alpha=0.9)

        def step(w: tl.Tensor = w, opt: optim.RMSprop = opt) -> None:
            opt.zero_grad()
            (w * w * w).sum().backward()
            opt.step()

        call = tl.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for k in range(30):
                if k == 10:
                    opt.param_groups[0]["alpha"] = 0.3  # the running mean's other end
                if k == 20:
                    opt.param_groups[0]["weight_decay"] = 0.1
                call()
        results.append(w.detach().numpy().copy())
    np.testing.assert_array_equal(results[0], results[1], strict=True)


def test_the_grad_of_a_frozen_parameter_is_read_and_checked_at_every_call() -> None:
    """A parameter frozen with requires_grad_(False) keeps its .grad, which SGD's momentum
    still applies; once that .grad is dropped, eager leaves the parameter alone."""

    def train(compiled: bool) -> list[Any]:
        w, b = tl.tensor([1.0, 2.0], requires_grad=True), tl.tensor([0.5], requires_grad=True)
        opt = optim.SGD([w, b], lr=0.1, momentum=0.9)
        ((w * 3).sum() + (b * 2).sum()).backward()
        opt.step()
        b.requires_grad_(False)

        def step() -> None:
            opt.zero_grad(set_to_none=False)
            (w * w).sum().backward()
            opt.step()

        run = tl.compile(step) if compiled else step
        seen = []
        for call in range(7):
            if call == 4:
                b.grad = None
            run()
            seen.append((w.tolist(), b.tolist()))
        assert not compiled or run.code is not None  # type: ignore[attr-defined]
        return seen

    assert train(False) == train(True)
