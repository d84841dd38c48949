"""Training idioms met in real code, each run eagerly and compiled from the same start and
compared bit for bit: the gradient of the input (FGSM), a gradient penalty, `model.train()`
inside the step with `model.eval()` outside, a learning rate decayed inside the step, the
stable-softmax shift, gradient clipping on fresh gradients."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr import nn
from tinygrad_lr.compile import CompileWarning
from tinygrad_lr.nn import functional as F  # noqa: N812 (as PyTorch code writes it)

Run = Callable[[Callable[..., Any]], Any]  # given the step (eager or compiled), what it gives


def _both(make: Callable[[], tuple[Callable[..., Any], Run]]) -> tuple[Any, Any, Any]:
    """`make()` gives a step and how to run it; run it eagerly, then compiled, each from a
    fresh `make()`, with CompileWarnings as errors: (eager's outcome, compiled's, the step)."""
    outcomes = []
    for compiled in (False, True):
        step, run = make()
        runner = tl.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            outcomes.append(run(runner))
    return outcomes[0], outcomes[1], runner


def _arrays(*tensors: tl.Tensor | None) -> list[Any]:
    return [None if t is None else t.detach().numpy().tolist() for t in tensors]


def test_the_gradient_of_the_input_leaves_the_argument_without_a_grad() -> None:
    def make() -> tuple[Callable[..., Any], Run]:
        tl.manual_seed(0)
        w, x = tl.randn(4, 3, requires_grad=True), tl.randn(8, 4)

        def step(inputs: tl.Tensor) -> tl.Tensor:
            leaf = inputs.detach().requires_grad_()  # the input, a leaf of its own
            ((leaf @ w) ** 2).mean().backward()
            adversarial = (inputs + 0.1 * leaf.grad.sign()).detach()
            with tl.no_grad():
                w.sub_(0.1 * w.grad)
                w.grad = None
            return adversarial

        def run(step: Callable[..., Any]) -> Any:
            outs = [step(x) for _ in range(4)]
            return _arrays(w, *outs), x.grad

        return step, run

    (eager, eager_grad), (compiled, compiled_grad), step = _both(make)
    assert step.code is not None and compiled == eager
    assert eager_grad is None and compiled_grad is None  # the leaf's .grad, not the input's


def test_a_leaf_cloned_from_the_input_replays() -> None:
    def make() -> tuple[Callable[..., Any], Run]:
        tl.manual_seed(1)
        w, x = tl.randn(3, 2, requires_grad=True), tl.randn(5, 3)

        def step(inputs: tl.Tensor) -> tl.Tensor:
            leaf = inputs.clone().detach().requires_grad_(True)  # PGD's start
            (leaf @ w).tanh().sum().backward()
            return leaf.grad * 2.0

        return step, lambda step: _arrays(*[step(x) for _ in range(4)], w.grad)

    eager, compiled, step = _both(make)
    assert step.code is not None and compiled == eager


def test_a_gradient_penalty_on_a_computed_leaf_replays() -> None:
    def make() -> tuple[Callable[..., Any], Run]:
        tl.manual_seed(2)
        w, x = tl.randn(4, 1, requires_grad=True), tl.randn(8, 4)

        def step(inputs: tl.Tensor) -> tl.Tensor:
            scaled = (inputs * 0.5).requires_grad_(True)
            (gx,) = tl.autograd.grad((scaled @ w).tanh().sum(), [scaled], create_graph=True)
            penalty = ((gx**2).sum(dim=1) - 1).pow(2).mean()
            (gw,) = tl.autograd.grad(penalty, [w])
            with tl.no_grad():
                w.sub_(0.1 * gw)
            return penalty

        return step, lambda step: _arrays(*[step(x) for _ in range(4)], w)

    eager, compiled, step = _both(make)
    assert step.code is not None and compiled == eager


def test_a_step_returning_a_leaf_it_made_runs_eagerly() -> None:
    x = tl.tensor([1.0, -2.0])

    @tl.compile
    def step(inputs: tl.Tensor) -> tl.Tensor:
        leaf = inputs.detach().requires_grad_()
        (leaf * leaf).sum().backward()
        return leaf

    with pytest.warns(CompileWarning, match="returns a leaf it made"):
        leaves = [step(x) for _ in range(3)]
    assert all(leaf.grad is not None and _arrays(leaf.grad) == [[2.0, -4.0]] for leaf in leaves)


@pytest.mark.parametrize("steps_per_epoch", [1, 2, 3])
def test_model_train_inside_the_step_with_eval_outside_replays(steps_per_epoch: int) -> None:
    def make() -> tuple[Callable[..., Any], Run]:
        tl.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))
        optimizer = tl.optim.SGD(model.parameters(), lr=0.1)
        x, y = tl.randn(12, 4), tl.tensor([0, 1, 2, 1] * 3)

        def step(inputs: tl.Tensor, labels: tl.Tensor) -> tl.Tensor:
            model.train()
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), labels)
            loss.backward()
            optimizer.step()
            return loss

        def run(step: Callable[..., Any]) -> Any:
            flags, losses = [], []
            for _ in range(6):
                for k in range(steps_per_epoch):
                    losses.append(step(x[4 * k : 4 * k + 4], y[4 * k : 4 * k + 4]))
                flags.append(model.training)
                model.eval()  # evaluation, outside the step
                with tl.no_grad():
                    losses.append(model(x))
            return flags, _arrays(*losses, *model.parameters())

        return step, run

    eager, compiled, step = _both(make)
    assert step.code is not None and "_train(True)" in step.code
    assert compiled == eager and eager[0] == [True] * 6


def test_an_evaluation_step_calling_model_eval_leaves_the_model_in_eval_mode() -> None:
    def make() -> tuple[Callable[..., Any], Run]:
        tl.manual_seed(3)
        model = nn.Sequential(nn.Linear(3, 5), nn.Dropout(0.5), nn.Linear(5, 1))
        x = tl.randn(6, 3)

        def evaluate(inputs: tl.Tensor) -> tl.Tensor:
            model.eval()
            with tl.no_grad():
                return model(inputs)

        def run(step: Callable[..., Any]) -> Any:
            flags, outs = [], []
            for _ in range(5):
                model.train()
                outs.append(model(x))  # dropout on
                outs.append(step(x))
                flags.append(model.training)
            return flags, _arrays(*outs), _arrays(model(x))

        return evaluate, run

    eager, compiled, step = _both(make)
    assert step.code is not None and compiled == eager and eager[0] == [False] * 5


def _decay(group: dict[str, Any]) -> None:
    group["lr"] *= 0.9


def _decay_by_pop(group: dict[str, Any]) -> None:
    group.setdefault("lr", group.pop("lr") * 0.9)


def _momentum_by_del(group: dict[str, Any]) -> None:
    del group["momentum"]
    group.setdefault("momentum", 0.5)


def _decay_by_merge(group: dict[str, Any]) -> None:
    group |= {"lr": 0.05}


@pytest.mark.parametrize("change", [_decay, _decay_by_pop, _momentum_by_del, _decay_by_merge])
def test_a_parameter_group_changed_inside_the_step_runs_eagerly(
    change: Callable[[dict[str, Any]], None],
) -> None:
    def make(compiled: bool) -> tuple[Any, tl.Tensor, Any]:
        tl.manual_seed(4)
        w = tl.randn(3, requires_grad=True)
        optimizer = tl.optim.SGD([w], lr=0.1)

        def step(x: tl.Tensor) -> None:
            optimizer.zero_grad()
            (x * w).sum().backward()
            optimizer.step()
            for group in optimizer.param_groups:  # an item of the optimiser's list
                change(group)

        return (tl.compile(step) if compiled else step), w, optimizer

    results = []
    for compiled in (False, True):
        step, w, optimizer = make(compiled)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CompileWarning)
            for _ in range(6):
                step(tl.tensor([1.0, 2.0, -1.0]))
        assert not compiled or re.search("parameter group|on a ParamGroup", str(caught[0].message))
        results.append((_arrays(w), dict(optimizer.param_groups[0], params=None)))
    assert results[0] == results[1]


def test_the_stable_softmax_shift_by_the_maximum_replays() -> None:
    def make() -> tuple[Callable[..., Any], Run]:
        tl.manual_seed(5)
        w, x, labels = tl.randn(4, 3, requires_grad=True), tl.randn(8, 4), tl.arange(8) % 3

        def step(inputs: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
            logits = inputs @ w
            shifted = logits - logits.max() + logits.min(dim=0).values.mean()
            loss = F.cross_entropy(shifted - tl.amax(shifted, dim=1, keepdim=True), y)
            loss.backward()
            with tl.no_grad():
                w.sub_(0.1 * w.grad)
                w.grad = None
            return loss

        return step, lambda step: _arrays(*[step(x, labels) for _ in range(5)], w)

    eager, compiled, step = _both(make)
    assert step.code is not None and compiled == eager


def test_versions_of_fresh_gradients_and_returned_views_count_as_in_eager() -> None:
    def make() -> tuple[Callable[..., Any], Run]:
        tl.manual_seed(6)
        w, x = tl.randn(4, 3, requires_grad=True), tl.randn(8, 4)

        def step(inputs: tl.Tensor) -> Any:
            w.grad = None
            ((inputs @ w) ** 2).mean().backward()
            nn.utils.clip_grad_norm_([w], 0.5)  # scales the new .grad in place
            with tl.no_grad():  # (views with a graph would make the step run eagerly)
                w.sub_(0.1 * w.grad)
                return w.T, w[0], w.detach()

        def run(step: Callable[..., Any]) -> Any:
            views = [step(x) for _ in range(4)][-1]
            assert w.grad is not None
            return [w._version, w.grad._version, *(v._version for v in views)], _arrays(w)

        return step, run

    eager, compiled, step = _both(make)
    assert step.code is not None and compiled == eager and eager[0][1] == 1


def test_a_held_loss_does_not_change_the_order_of_the_backward_pass() -> None:
    """The first graph's AccumulateGrad nodes outlive it while its loss is held; a leaf's
    gradient is still accumulated as soon as it is complete, so the two records agree."""
    w, b = tl.ones(3, 1, requires_grad=True), tl.zeros(1, requires_grad=True)
    x = tl.tensor(np.arange(6.0).reshape(2, 3))

    @tl.compile
    def step(inputs: tl.Tensor) -> tl.Tensor:
        loss = ((inputs @ w + b) ** 2).sum()
        loss.backward()
        with tl.no_grad():
            for p in (w, b):
                p -= 0.01 * p.grad
                p.grad.zero_()
        return loss

    step(x)  # the first record makes the .grads
    held = [step(x), step(x)]  # two more, the first one's graph alive during the second
    assert step.code is not None and len(held) == 2


class _MyReLU(tl.autograd.Function):
    """The official tutorial's Function: its backward assigns through a mask."""

    @staticmethod
    def forward(ctx: Any, x: tl.Tensor) -> tl.Tensor:
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad_output: tl.Tensor) -> tl.Tensor:
        (x,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[x < 0] = 0
        return grad_input


def test_item_assignment_outside_the_graph_replays() -> None:
    def make() -> tuple[Callable[..., Any], Run]:
        tl.manual_seed(7)
        w, x = tl.randn(4, 3, requires_grad=True), tl.randn(8, 4)

        def step(inputs: tl.Tensor) -> tl.Tensor:
            loss = _MyReLU.apply(inputs @ w).pow(2).sum()
            loss.backward()
            with tl.no_grad():
                w.sub_(0.01 * w.grad)
                w[0, 0] = 0.0  # a constraint on the parameter
                w[:, 1][w[:, 1] > 1.0] = 1.0  # and one through a mask
                w.grad = None
            return loss

        def run(step: Callable[..., Any]) -> Any:
            losses = [step(x) for _ in range(6)]
            return _arrays(*losses, w), w._version

        return step, run

    eager, compiled, step = _both(make)
    assert step.code is not None and "_set_item(" in step.code and compiled == eager
