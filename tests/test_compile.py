"""tl.compile: replays agree with eager bit for bit; signatures, guards, live state; every
pattern that cannot be replayed falls back to eager with one warning (or raises)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr import nn, optim
from tinygrad_lr.compile import CompiledFunction, CompileWarning, Unsupported


def _data(n: int = 40, d: int = 3, seed: int = 0) -> tuple[tl.Tensor, tl.Tensor]:
    rng = np.random.default_rng(seed)
    return tl.tensor(rng.standard_normal((n, d))), tl.tensor(rng.standard_normal((n, 1)))


def _train(make_optimizer, steps: int, compiled: bool, schedule: bool = False):  # type: ignore[no-untyped-def]
    """A small MLP trained by an optimizer; returns its parameters and the losses."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = make_optimizer(model.parameters())
    x, y = _data()

    def step(xb: tl.Tensor, yb: tl.Tensor) -> tl.Tensor:
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    run = tl.compile(step) if compiled else step
    losses = []
    for k in range(steps):
        if schedule and k % 7 == 0:
            opt.param_groups[0]["lr"] *= 0.97
        i = (k % 4) * 10
        losses.append(run(x[i : i + 10], y[i : i + 10]).detach().numpy().copy())
    if compiled:
        assert run.code is not None
    return [p.detach().numpy().copy() for p in model.parameters()], losses, opt


OPTIMIZERS = {
    "sgd_momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "sgd_nesterov_decay": lambda p: optim.SGD(
        p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01
    ),
    "sgd_dampening": lambda p: optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.2),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adam_decay": lambda p: optim.Adam(p, lr=0.01, betas=(0.4, 0.99), weight_decay=0.01),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_1000_optimizer_steps_agree_bit_for_bit(name: str) -> None:
    eager, eager_losses, eager_opt = _train(OPTIMIZERS[name], 1000, compiled=False)
    compiled, losses, opt = _train(OPTIMIZERS[name], 1000, compiled=True)
    for a, b in zip(compiled, eager):
        np.testing.assert_array_equal(a, b, strict=True)
    np.testing.assert_array_equal(losses, eager_losses, strict=True)
    for state, eager_state in zip(opt.state.values(), eager_opt.state.values()):
        for key in state:
            np.testing.assert_array_equal(np.asarray(state[key]), np.asarray(eager_state[key]))


@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_a_learning_rate_changed_between_calls_is_read_live(name: str) -> None:
    eager, _, _ = _train(OPTIMIZERS[name], 60, compiled=False, schedule=True)
    compiled, _, _ = _train(OPTIMIZERS[name], 60, compiled=True, schedule=True)
    for a, b in zip(compiled, eager):
        np.testing.assert_array_equal(a, b, strict=True)


def test_a_changed_optimizer_branch_retraces() -> None:
    def make(p):  # type: ignore[no-untyped-def]
        return optim.SGD(p, lr=0.05)

    results = []
    for compiled in (False, True):
        tl.manual_seed(0)
        w = tl.randn(3, 1, requires_grad=True)
        opt = make([w])
        x, y = _data()

        def step(xb: tl.Tensor, yb: tl.Tensor, w: tl.Tensor = w, opt: optim.SGD = opt) -> None:
            opt.zero_grad()
            ((xb @ w - yb) ** 2).mean().backward()
            opt.step()

        run = tl.compile(step) if compiled else step
        for k in range(12):
            if k == 6:  # weight decay switched on: another branch of SGD.step
                opt.param_groups[0]["weight_decay"] = 0.1
            run(x, y)
        results.append(w.detach().numpy().copy())
        assert not compiled or "weight_decay" in run.code
    np.testing.assert_array_equal(results[0], results[1], strict=True)


def _d2l_step(w: tl.Tensor, b: tl.Tensor, lr: float):  # type: ignore[no-untyped-def]
    def step(x: tl.Tensor, y: tl.Tensor, lr: float = lr) -> tl.Tensor:
        loss = ((x @ w + b - y) ** 2 / 2).sum()
        loss.backward()
        with tl.no_grad():
            for p in (w, b):
                p -= lr * p.grad / len(x)
                p.grad.zero_()
        return loss

    return step


def test_a_new_shape_traces_again_and_both_programs_stay() -> None:
    x, y = _data(50)
    w, b = tl.zeros(3, 1, requires_grad=True), tl.zeros(1, requires_grad=True)
    we, be = tl.zeros(3, 1, requires_grad=True), tl.zeros(1, requires_grad=True)
    step, eager = tl.compile(_d2l_step(w, b, 0.1)), _d2l_step(we, be, 0.1)
    for k in range(30):
        size = 10 if k % 3 else 7  # two signatures, interleaved
        loss, eager_loss = step(x[:size], y[:size]), eager(x[:size], y[:size])
        np.testing.assert_array_equal(loss.detach().numpy(), eager_loss.detach().numpy())
    assert isinstance(step, CompiledFunction) and len(step._entries) == 2
    assert all(entry.programs for entry in step._entries.values())
    np.testing.assert_array_equal(w.detach().numpy(), we.detach().numpy(), strict=True)


def test_non_tensor_arguments_are_guarded() -> None:
    x, y = _data()
    w, b = tl.zeros(3, 1, requires_grad=True), tl.zeros(1, requires_grad=True)
    we, be = tl.zeros(3, 1, requires_grad=True), tl.zeros(1, requires_grad=True)
    step, eager = tl.compile(_d2l_step(w, b, 0.1)), _d2l_step(we, be, 0.1)
    for k in range(20):
        lr = 0.1 if k < 10 else 0.02
        step(x, y, lr)
        eager(x, y, lr)
    np.testing.assert_array_equal(w.detach().numpy(), we.detach().numpy(), strict=True)
    assert "0.02" in str(step.code)
    with pytest.warns(CompileWarning, match="argument 2 is a list, which cannot be part of a"):
        loss = step(x, y, [0.1])  # runs eagerly: an unhashable argument is no signature
    assert loss.item() == eager(x, y, [0.1]).item()
    np.testing.assert_array_equal(w.detach().numpy(), we.detach().numpy(), strict=True)


def test_grads_set_to_none_outside_the_step_are_seen() -> None:
    x, y = _data()
    w, b = tl.zeros(3, 1, requires_grad=True), tl.zeros(1, requires_grad=True)

    def step(x: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        return loss

    compiled = tl.compile(step)
    for _ in range(4):
        compiled(x, y)
    replayed = w.grad.numpy().copy()  # type: ignore[union-attr]
    w.grad = None
    compiled(x, y)  # eager would make a new .grad: the replay must not add to a stale one
    np.testing.assert_array_equal(w.grad.numpy() * 4, replayed)  # type: ignore[union-attr]


def test_random_draws_are_fresh_and_follow_the_seed() -> None:
    x = tl.ones(5, requires_grad=True)

    def step() -> tl.Tensor:
        noisy = x * tl.randn(5) + tl.rand(5, dtype=tl.float32).double()
        noisy.sum().backward()
        return noisy

    results = []
    for run in (step, tl.compile(step)):
        tl.manual_seed(3)
        results.append([run().detach().numpy().copy() for _ in range(6)])
    np.testing.assert_array_equal(np.array(results[0]), np.array(results[1]), strict=True)
    assert not np.array_equal(results[1][4], results[1][5])


def test_a_custom_function_is_replayed_through_its_ops() -> None:
    class Cube(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):  # type: ignore[no-untyped-def]
            (x,) = ctx.saved_tensors
            return g * 3.0 * x * x

    def step(x: tl.Tensor) -> tl.Tensor:
        y = Cube.apply(x).sum()
        y.backward()
        return y

    compiled = tl.compile(step)
    for k in range(4):
        x = tl.tensor([1.0, 2.0 + k], requires_grad=True)
        xe = tl.tensor([1.0, 2.0 + k], requires_grad=True)
        np.testing.assert_array_equal(compiled(x).detach().numpy(), step(xe).detach().numpy())
        np.testing.assert_array_equal(x.grad.numpy(), xe.grad.numpy())  # type: ignore[union-attr]
    assert compiled.code is not None


def _reads(kind: str):  # type: ignore[no-untyped-def]
    w = tl.ones(2, requires_grad=True)

    def step(x: tl.Tensor) -> tl.Tensor:
        y = (x * w).sum()
        if kind == "float":
            float(y)
        elif kind == "item":
            y.item()
        elif kind == "bool":
            bool(y > 0)
        elif kind == "tolist":
            y.detach().tolist()
        elif kind == "numpy":
            y.detach().numpy()
        elif kind == "asarray":
            np.asarray(y.detach())
        elif kind == "print":
            f"{y:.3f}"
        elif kind == "hook":
            if not w._hooks:  # once
                w.register_hook(lambda g: g * 2)
        elif kind == "hook_in_graph":
            y.register_hook(lambda g: g * 2)
        elif kind == "node_hook":
            y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: None)  # type: ignore[union-attr]
        elif kind == "retain_grad":
            y.retain_grad()
        elif kind == "in_place_in_graph":
            z = x * w
            z.mul_(2.0)
            y = z.sum()
        y.backward()
        return y

    return step


UNSUPPORTED = {"float": r"float\(\)", "item": r"item\(\)", "bool": "bool()", "tolist": "tolist()",
               "numpy": "numpy()", "asarray": "np.asarray()", "print": "format()", "hook": "hook",
               "hook_in_graph": "hook", "node_hook": "hook",
               "retain_grad": "retain_grad", "in_place_in_graph": "in place"}  # fmt: skip


@pytest.mark.parametrize("kind", UNSUPPORTED)
def test_what_cannot_be_replayed_runs_eagerly_with_one_warning_naming_the_line(kind: str) -> None:
    step = tl.compile(_reads(kind))
    x = tl.tensor([1.0, 2.0])
    with pytest.warns(CompileWarning, match=UNSUPPORTED[kind]) as caught:
        first = step(x).detach().numpy()
    assert "test_compile.py:" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = step(x).detach().numpy()
    np.testing.assert_array_equal(first, again)
    assert step.code is None


@pytest.mark.parametrize("kind", ["item", "hook"])
def test_fullgraph_raises_instead(kind: str) -> None:
    step = tl.compile(_reads(kind), fullgraph=True)
    with pytest.raises(Unsupported, match=UNSUPPORTED[kind]):
        step(tl.tensor([1.0, 2.0]))


def test_anomaly_mode_runs_eagerly_with_a_warning() -> None:
    x, y = _data()
    w, b = tl.zeros(3, 1, requires_grad=True), tl.zeros(1, requires_grad=True)
    step = tl.compile(_d2l_step(w, b, 0.1))
    with tl.autograd.detect_anomaly(), pytest.warns(CompileWarning, match="anomaly"):
        step(x, y)
    assert step.code is None


def test_a_value_computed_with_numpy_outside_the_ops_is_refused() -> None:
    w = tl.ones(3, requires_grad=True)

    def step(x: tl.Tensor) -> tl.Tensor:
        hidden = tl.tensor(np.sin(x.detach()._data))  # changes with x, recorded as a constant
        loss = (hidden * w).sum()
        loss.backward()
        return loss

    compiled = tl.compile(step)
    with pytest.warns(CompileWarning, match="changes between calls"):
        for k in range(6):
            compiled(tl.tensor([1.0, 2.0, 3.0 + k]))
    assert compiled.code is None


def test_compiled_module_behaves_as_the_model() -> None:
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    compiled = tl.compile(model)
    x, _ = _data()
    assert len(list(compiled.parameters())) == 4
    eager = model(x)
    np.testing.assert_array_equal(compiled(x).detach().numpy(), eager.detach().numpy())
    with tl.no_grad():
        for _ in range(3):
            out = compiled(x)
    np.testing.assert_array_equal(out.numpy(), eager.detach().numpy())
    assert compiled.code is not None and "@" in compiled.code
    compiled(x).sum().backward()  # grad mode on: eager, with a graph
    assert model[0].weight.grad is not None


def test_a_constant_changed_in_place_inside_the_step_starts_afresh_at_every_call() -> None:
    def step(x: tl.Tensor) -> tl.Tensor:
        total = tl.zeros(3)
        before = total * 2.0  # read before the change: recorded as a constant
        with tl.no_grad():
            total.add_(x)
            total.add_(x)
        return total + before

    compiled = tl.compile(step)
    for k in range(5):
        x = tl.tensor([1.0, 2.0, 3.0 + k])
        np.testing.assert_array_equal(compiled(x).numpy(), step(x).numpy())
    assert compiled.code is not None and ".copy()" in compiled.code


def test_a_constant_first_seen_when_changed_in_place_runs_eagerly() -> None:
    def step(x: tl.Tensor) -> tl.Tensor:
        total = tl.zeros(3)
        with tl.no_grad():
            total.add_(x)  # its values before are not known to the record
        return total

    compiled = tl.compile(step)
    with pytest.warns(CompileWarning, match="changes between calls"):
        for k in range(5):
            x = tl.tensor([1.0, 2.0, 3.0 + k])
            np.testing.assert_array_equal(compiled(x).numpy(), step(x).numpy())


def test_the_code_is_python_that_compile_accepts() -> None:
    x, y = _data(600)  # big enough that arrays are deleted after their last use
    w, b = tl.zeros(3, 1, requires_grad=True), tl.zeros(1, requires_grad=True)
    step = tl.compile(_d2l_step(w, b, 0.1))
    for _ in range(3):
        step(x, y)
    code = step.code
    assert code is not None and code.startswith("def step(x, y):")
    compile(code, "<step>", "exec")
    assert "x_data @ w" in code and "del " in code


def test_big_steps_replay_again_and_again() -> None:
    x, y = _data(1000)  # arrays above the size whose buffers are deleted after last use
    results = []
    for compiled in (False, True):
        w = tl.zeros(3, 1, requires_grad=True)

        def step(x: tl.Tensor, y: tl.Tensor, w: tl.Tensor = w) -> tl.Tensor:
            loss = ((x @ w - y) ** 2).mean()
            loss.backward()
            with tl.no_grad():
                w.sub_(0.1 * w.grad)
                w.grad.zero_()
            return loss

        run = tl.compile(step) if compiled else step
        results.append([run(x, y).detach().numpy().copy() for _ in range(6)])
    np.testing.assert_array_equal(np.array(results[0]), np.array(results[1]), strict=True)


def test_item_assignment_on_an_outside_tensor_of_the_graph_runs_eagerly() -> None:
    buffer, w = tl.zeros(2, 3), tl.ones(3, requires_grad=True)

    def step(x: tl.Tensor) -> tl.Tensor:
        buffer[1] = x * w  # its old values were never seen by the record: not replayed
        return buffer.sum()

    compiled = tl.compile(step)
    with pytest.warns(CompileWarning, match="setitem changes a tensor of the graph"):
        for k in range(3):
            compiled(tl.tensor([1.0, 2.0, 3.0 + k]))
    assert compiled.code is None


@pytest.mark.parametrize("calls", [1, 3])  # the first record's warning, and a later record's
def test_the_warning_names_the_users_line_that_called_the_step(calls: int) -> None:
    w = tl.ones(2, requires_grad=True)
    data = np.ones(2)

    @tl.compile
    def step() -> tl.Tensor:
        made = tl.tensor(data * 2.0) if calls > 1 else (w * 2.0).sum().item()
        return (made * w).sum()

    with pytest.warns(CompileWarning) as caught:
        for _ in range(calls):
            step()
    assert caught[0].filename == __file__
