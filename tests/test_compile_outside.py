"""What a replay owes the tensors outside the step: it counts its in-place changes in their
versions, as eager does, and it runs only while they are as the code was made for them (no
hook, the same requires_grad, shape and dtype). Each test does the same thing to an eager
and to a compiled step, and compares."""

from __future__ import annotations

import collections
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr.compile import CompileWarning

Step = Callable[[tl.Tensor], Any]


def _model(compiled: bool) -> tuple[tl.Tensor, tl.Tensor, Step]:
    """A linear model, its SGD step (eager or compiled), and the step already replaying."""
    w = tl.tensor([[0.5], [-1.0]], requires_grad=True)
    b = tl.zeros(1, requires_grad=True)

    def step(x: tl.Tensor) -> tl.Tensor:
        loss = ((x @ w + b) ** 2).mean()
        loss.backward()
        with tl.no_grad():
            for p in (w, b):
                p -= 0.1 * p.grad
                p.grad.zero_()
        return loss

    run = tl.compile(step) if compiled else step
    for _ in range(3):
        run(_x())
    assert not compiled or run.code is not None  # type: ignore[attr-defined]
    return w, b, run


def _x() -> tl.Tensor:
    return tl.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]])


def _outcome(compiled: bool, between: Callable[[tl.Tensor, tl.Tensor], Any]) -> Any:
    """`between(w, b)` done after three steps, then one more step: what it gives (the
    parameters, or the error's type and words)."""
    w, b, step = _model(compiled)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        between(w, b)
        try:
            step(_x())
        except Exception as error:
            return type(error), str(error)
    return [p.detach().numpy().tolist() for p in (w, b)]


def test_a_replay_counts_its_in_place_changes_in_the_versions_as_eager_does() -> None:
    (we, be, eager), (wc, bc, compiled) = _model(False), _model(True)
    for _ in range(4):
        eager(_x())
        compiled(_x())
        for e, c in ((we, wc), (be, bc)):
            assert c._version == e._version
            assert c.grad is not None and e.grad is not None
            assert c.grad._version == e.grad._version


def test_a_value_saved_before_a_replay_changed_it_is_refused_by_backward() -> None:
    for compiled in (False, True):
        w, _, step = _model(compiled)
        saved = (w * w).sum()  # saves w for its backward
        step(_x())  # changes w in place
        with pytest.raises(RuntimeError, match="modified by an in-place operation"):
            saved.backward()


def test_a_view_changed_in_place_counts_in_the_version_of_the_tensor_it_views() -> None:
    def run(compiled: bool) -> tuple[int, list[float]]:
        w = tl.zeros(3)

        def bump(x: tl.Tensor) -> None:
            w[1:].add_(x)  # a view of w: changing it changes w

        step = tl.compile(bump) if compiled else bump
        for _ in range(4):
            step(tl.ones(2))
        return w._version, w.tolist()

    assert run(True) == run(False)


@pytest.mark.parametrize(
    "between",
    [
        pytest.param(lambda w, b: w.register_hook(lambda g: g * 100), id="hook"),
        pytest.param(lambda w, b: b.requires_grad_(False), id="requires_grad_False"),
        pytest.param(lambda w, b: setattr(w, "data", tl.ones(2, 3)), id="data_of_a_new_shape"),
        pytest.param(
            lambda w, b: setattr(b, "data", tl.zeros(1, dtype=tl.float32)), id="data_of_a_new_dtype"
        ),
        pytest.param(lambda w, b: setattr(w, "data", tl.ones(2, 1)), id="data_of_the_same_kind"),
    ],
)
def test_a_change_to_an_outside_tensor_between_calls_gives_what_eager_gives(
    between: Callable[[tl.Tensor, tl.Tensor], Any],
) -> None:
    assert _outcome(True, between) == _outcome(False, between)


def test_a_hook_registered_after_compiling_makes_the_step_run_eagerly_with_a_warning() -> None:
    w, _, step = _model(True)
    w.register_hook(lambda g: g * 0)
    before = w.detach().numpy().copy()
    with pytest.warns(CompileWarning, match="hook"):
        step(_x())
    np.testing.assert_array_equal(w.detach().numpy(), before)  # the hook zeroed the gradient


def test_assigning_data_inside_the_step_makes_it_run_eagerly_with_a_warning_naming_it() -> None:
    def run(compiled: bool) -> tuple[list[float], list[str]]:
        w = tl.tensor([1.0, 2.0], requires_grad=True)

        def step(x: tl.Tensor) -> None:
            (x * w).sum().backward()
            w.data = w.data - 0.1 * w.grad
            w.grad = None

        fn = tl.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(4):
                fn(tl.tensor([1.0, -1.0]))
        return w.tolist(), [str(c.message) for c in caught]

    (compiled, messages), (eager, _) = run(True), run(False)
    assert compiled == eager
    assert any("`.data`" in message for message in messages), messages


def _eager_and_compiled(
    make: Callable[[], tuple[Callable[[], Any], Any]],
    between: Callable[[Any], Any] = lambda state: None,
) -> list[tuple[Any, Any]]:
    """`make()` gives a step without arguments and the state it changes: for the eager and
    the compiled step, three calls, `between(state)`, three calls; then (state, last
    result). The compiled step must have been replaying, without a warning."""
    outcomes = []
    for compiled in (False, True):
        step, state = make()
        run = tl.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            for _ in range(3):
                run()
            assert not compiled or run.code is not None  # type: ignore[attr-defined]
            between(state)
            for _ in range(2):
                run()
            outcomes.append((state, run()))
    return outcomes


def _values(tensor: tl.Tensor | None) -> Any:
    return None if tensor is None else tensor.detach().numpy().tolist()


def test_an_element_of_an_outside_tensor_changed_in_place_changes_the_tensor() -> None:
    def make() -> tuple[Callable[[], Any], Any]:
        w = tl.tensor([[1.0, 2.0], [3.0, 4.0]])

        def step() -> Any:
            with tl.no_grad():
                element = w[1, 0]  # a 0-d view of w, as in PyTorch
                element.add_(w.sum())
            return element * 1.0

        return step, w

    (eager, eager_element), (compiled, compiled_element) = _eager_and_compiled(make)
    assert _values(compiled) == _values(eager) and eager[1, 0].item() > 600
    assert compiled_element.item() == eager_element.item() == eager[1, 0].item()
    assert compiled._version == eager._version == 6


def test_a_returned_view_of_a_parameter_is_its_view() -> None:
    def make() -> tuple[Callable[[], Any], Any]:
        w = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)

        def step() -> Any:
            with tl.no_grad():
                w.mul_(0.5)
                return w[1], w.T

        return step, w

    for w, views in _eager_and_compiled(make):
        assert all(view._base is w and view._version == w._version == 6 for view in views)
        with pytest.raises(RuntimeError, match="a view of another"):
            views[0].mul_(tl.tensor(2.0, requires_grad=True))  # as eager refuses it


def test_a_returned_grad_that_backward_made_in_the_step_is_the_grad_itself() -> None:
    def make() -> tuple[Callable[[], Any], Any]:
        w, x = tl.ones(3, requires_grad=True), tl.tensor([1.0, 2.0, 3.0])

        def step() -> Any:
            w.grad = None
            (x * w * w).sum().backward()  # a new .grad
            return w.grad

        return step, w

    for w, grad in _eager_and_compiled(make):
        assert grad is w.grad
        grad.zero_()
        assert w.grad._version == 1


def test_a_returned_detach_of_a_parameter_is_a_new_tensor_as_in_eager() -> None:
    def make() -> tuple[Callable[[], Any], Any]:
        w, x = tl.ones(3, requires_grad=True), tl.tensor([1.0, 2.0, 3.0])

        def step() -> Any:
            (x * w * w).sum().backward()
            with tl.no_grad():
                w.sub_(0.1 * w.grad)
                w.grad = None
            return w.detach(), w.data, w

        return step, w

    for w, (detached, data, itself) in _eager_and_compiled(make):
        assert detached is not w and data is not w and itself is w and detached._base is None
        assert not detached.requires_grad and _values(detached) == _values(w)
        assert np.shares_memory(detached.numpy(), w.detach().numpy())


@pytest.mark.parametrize("reinitialise", [False, True])
def test_a_parameter_first_met_through_its_data_is_read_and_given_its_grad(
    reinitialise: bool,
) -> None:
    def make() -> tuple[Callable[[], Any], Any]:
        w, x = tl.ones(3, requires_grad=True), tl.tensor([1.0, 2.0, 3.0])
        optimizer = tl.optim.SGD([w], lr=0.1)

        def step() -> Any:
            w.data.mul_(0.99)  # a decay by hand, before the forward
            optimizer.zero_grad()
            loss = (x * w * w).sum()
            loss.backward()
            optimizer.step()
            return loss

        return step, w

    def between(w: tl.Tensor) -> None:
        if reinitialise:
            w.data = tl.full((3,), 0.5)

    (eager, _), (compiled, _) = _eager_and_compiled(make, between)
    assert _values(compiled) == _values(eager)
    assert _values(compiled.grad) == _values(eager.grad)


def test_a_grad_zeroed_before_its_parameter_is_met_is_read_from_the_parameter() -> None:
    def make() -> tuple[Callable[[], Any], Any]:
        tl.manual_seed(0)
        model = tl.nn.Linear(3, 1)
        optimizer = tl.optim.SGD(model.parameters(), lr=0.1)
        x, y = tl.randn(4, 3), tl.randn(4, 1)

        def step() -> Any:
            optimizer.zero_grad(set_to_none=False)  # p.grad.zero_(): the grad comes first
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            optimizer.step()
            return loss

        return step, model

    def new_grads(model: Any) -> None:
        for p in model.parameters():
            p.grad = tl.zeros(*p.shape)

    (eager, _), (compiled, _) = _eager_and_compiled(make, new_grads)
    for p, q in zip(compiled.parameters(), eager.parameters()):
        assert _values(p) == _values(q) and _values(p.grad) == _values(q.grad)


def test_a_tensor_made_in_the_step_from_an_outside_array_reads_its_values_at_every_call() -> None:
    rng = np.random.default_rng(0)
    arrays = {"x": rng.standard_normal((8, 3)), "y": rng.standard_normal((8, 1))}

    def make() -> tuple[Callable[[], Any], Any]:
        x, y = arrays["x"].copy(), arrays["y"].copy()
        w = tl.zeros(3, 1, requires_grad=True)

        def step() -> Any:
            # copied, shared, and a constant the step makes
            inputs, targets, weights = tl.tensor(x), tl.from_numpy(y), tl.tensor([[2.0]])
            loss = ((inputs @ w - targets) ** 2 * weights).mean()
            loss.backward()
            with tl.no_grad():
                w.sub_(0.1 * w.grad)
                w.grad = None
            return loss

        return step, (w, x, y)

    def new_epoch(state: Any) -> None:
        _, x, y = state
        np.random.default_rng(1).shuffle(x)  # in place: the same arrays, new rows
        y *= -1.0

    (eager, eager_loss), (compiled, compiled_loss) = _eager_and_compiled(make, new_epoch)
    assert _values(compiled[0]) == _values(eager[0])
    assert compiled_loss.item() == eager_loss.item()


@pytest.mark.parametrize(
    "compute",
    [lambda x: x * 2.0, lambda x: x.astype(np.float32), lambda x: x[np.array([2, 0])]],
    ids=["x * 2", "x.astype", "x[rows]"],
)
def test_a_tensor_made_from_an_array_computed_with_numpy_from_one_it_reads_runs_eagerly(
    compute: Callable[[np.ndarray], np.ndarray],
) -> None:
    x = np.arange(6.0).reshape(3, 2)
    w = tl.ones(2, 1)

    def step() -> tl.Tensor:
        return (tl.tensor(compute(x)) @ w.to(tl.float32)).sum()  # NumPy code: not recorded

    compiled = tl.compile(step)
    with pytest.warns(CompileWarning, match=r"computes with NumPy .* reads the NumPy array x:"):
        for _ in range(3):  # the same values twice: a constant, were x never changed
            compiled()
    x[...] = -x  # in place, between calls
    assert compiled().item() == step().item() < 0
    assert compiled.code is None


def test_a_tensor_made_from_an_array_computed_with_numpy_from_constants_replays() -> None:
    w = tl.ones(3, requires_grad=True)

    def step() -> tl.Tensor:
        loss = (tl.tensor(np.linspace(0.0, 1.0, 3)) * w).sum()  # the step names no array
        loss.backward()
        return loss

    compiled = tl.compile(step)
    for _ in range(3):
        compiled()
    assert compiled.code is not None and compiled().item() == step().item() == 1.5


@pytest.mark.parametrize("make", [tl.tensor, tl.from_numpy, tl.as_tensor])
def test_a_tensor_made_from_a_new_view_of_an_array_at_every_call_runs_eagerly(
    make: Callable[[np.ndarray], tl.Tensor],
) -> None:
    x = np.arange(12.0).reshape(4, 3)
    w = tl.ones(3)

    def step() -> tl.Tensor:
        return (make(x[0:2]) @ w).sum()  # x[0:2] is a new view at every call

    compiled = tl.compile(step)
    with pytest.warns(CompileWarning, match=r"a view of a NumPy array .*pass it in"):
        for _ in range(3):
            compiled()
    x[0] = 100.0
    assert compiled().item() == step().item() == 312.0


def test_arguments_that_were_one_tensor_or_a_global_when_recorded_are_checked() -> None:
    def run(compiled: bool, two: bool) -> list[Any]:
        tl.manual_seed(0)
        a, b, w = tl.randn(3), tl.randn(3), tl.randn(3)

        def pair(x: tl.Tensor, target: tl.Tensor) -> tl.Tensor:
            return ((x * w - target) ** 2).sum()

        def one(x: tl.Tensor) -> tl.Tensor:
            return ((x * w - b) ** 2).sum()  # b: a tensor also read by name

        step: Any = tl.compile(pair if two else one) if compiled else pair if two else one
        for _ in range(3):  # recorded with one tensor in two places
            step(a, a) if two else step(b)
        assert not compiled or step.code is not None
        last = step(a, b) if two else step(a)
        again = step(b, b) if two else step(b)  # and back
        return [last.item(), again.item(), *w.tolist()]

    for two in (True, False):
        assert run(True, two) == run(False, two)


def test_keyword_only_arguments_and_tensors_inside_a_list_run_as_in_eager() -> None:
    w = tl.tensor([1.0, 2.0, 3.0])

    def by_keyword(x: tl.Tensor, *, scale: float = 1.0) -> tl.Tensor:
        return (x * w * scale).sum()

    def by_list(batch: list[tl.Tensor]) -> tl.Tensor:
        x, y = batch
        return ((x * w - y) ** 2).sum()

    x, y = tl.ones(3), tl.zeros(3)
    keyword = tl.compile(by_keyword)
    for _ in range(3):
        assert keyword(x, scale=2.0).item() == by_keyword(x, scale=2.0).item() == 12.0
    assert keyword.code is not None
    listed = tl.compile(by_list)
    with pytest.warns(CompileWarning, match=r"argument 0 is a list of tensors .*step\(\*batch\)"):
        for _ in range(3):
            assert listed([x, y]).item() == by_list([x, y]).item() == 14.0


def test_a_float64_number_changing_a_float32_tensor_in_place_rounds_as_in_eager() -> None:
    def run(compiled: bool) -> list[float]:
        w = tl.tensor([0.1, 0.7, 1.3], dtype=tl.float32)

        def decay() -> None:
            w.mul_(tl.tensor(0.9))  # a 0-d float64 tensor: NumPy computes in float64

        step = tl.compile(decay) if compiled else decay
        for _ in range(5):
            step()
        return w.tolist()

    assert run(True) == run(False)


def test_an_array_converted_as_an_operand_is_converted_again_at_every_call() -> None:
    def run(compiled: bool) -> tuple[float, Any]:
        targets = np.zeros((3, 1), dtype=np.float32)  # float32: converted for the op
        w = tl.ones(2, 1, requires_grad=True)
        x = tl.tensor([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]])

        def step() -> tl.Tensor:
            loss = ((x @ w - targets) ** 2).mean()  # the array itself, as an operand
            loss.backward()
            with tl.no_grad():
                w.sub_(0.1 * w.grad)
                w.grad = None
            return loss

        fn = tl.compile(step) if compiled else step
        for _ in range(3):
            fn()
        assert not compiled or fn.code is not None  # type: ignore[attr-defined]
        targets[...] = [[1.5], [-2.0], [0.25]]  # refilled in place
        return fn().item(), _values(w)

    assert run(True) == run(False)


def test_a_returned_grad_is_the_parameters_grad_itself_as_in_eager() -> None:
    def make() -> tuple[Callable[[], Any], Any]:
        w, x = tl.ones(3, requires_grad=True), tl.tensor([1.0, 2.0, 3.0])
        w.grad = tl.zeros(3)

        def step() -> Any:
            w.grad.zero_()
            (x * w * w).sum().backward()
            with tl.no_grad():
                w.sub_(0.1 * w.grad)
            return w.grad

        return step, w

    for w, grad in _eager_and_compiled(make):
        assert grad is w.grad and grad._version == 6 * 2


def test_a_compiled_step_called_by_a_compiled_step_is_recorded_by_it() -> None:
    """While the outer step records, the inner one runs eagerly, so the outer program has
    its ops; the Python values the inner one reads are checked by the outer one too."""
    settings = {"lr": 0.1}

    def run(compiled: bool) -> list[float]:
        w = tl.ones(2, requires_grad=True)
        lr = settings["lr"]

        def inner(x: tl.Tensor) -> None:
            (x * w).sum().backward()
            with tl.no_grad():
                w.sub_(lr * w.grad)
                w.grad.zero_()

        step = tl.compile(inner) if compiled else inner

        def outer(x: tl.Tensor) -> None:
            for _ in range(3):
                step(x)

        epoch = tl.compile(outer) if compiled else outer
        for _ in range(4):
            epoch(tl.tensor([1.0, -2.0]))
        assert not compiled or epoch.code is not None  # type: ignore[attr-defined]
        return w.tolist()

    assert run(True) == run(False)


def test_keyword_arguments_are_told_apart_by_name_and_a_wrong_call_raises_as_in_eager() -> None:
    w = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)

    def step(x: tl.Tensor, bias: float = 0.0, *, scale: float = 1.0) -> tl.Tensor:
        return (x * w * scale + bias).sum()

    def only_by_name(x: tl.Tensor, *, scale: float) -> tl.Tensor:
        return (x * w * scale).sum()

    compiled, x = tl.compile(step), tl.ones(3)
    for call in ({"scale": 5.0}, {"bias": 5.0}, {}) * 3:
        assert compiled(x, **call).item() == step(x, **call).item()
    for _ in range(3):
        assert compiled(x, 5.0).item() == step(x, 5.0).item() == 21.0
    by_name = tl.compile(only_by_name)
    for _ in range(3):
        by_name(x, scale=2.0)
    with pytest.raises(TypeError, match="positional argument"):
        by_name(x, 2.0)


@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("make", ["tensor", "Tensor", "as_tensor"])
def test_a_tensor_made_from_a_global_array_is_made_as_eager_makes_it(
    make: str, layout: str
) -> None:
    """The array is converted again at every call by the same function: the same values
    after an in-place change, and the same memory layout (a matmul's last bit)."""

    def run(compiled: bool) -> list[Any]:
        data = np.asarray(np.random.default_rng(0).standard_normal((257, 129)), order=layout)
        w = tl.ones(129, 1, requires_grad=True)
        convert = {"tensor": tl.tensor, "Tensor": tl.Tensor, "as_tensor": tl.as_tensor}[make]

        def step() -> tl.Tensor:
            x = convert(data)  # a sum over rows adds in another order in another layout
            loss = (x.sum(0) ** 2).sum() + (x @ w).pow(2).mean()
            loss.backward()
            with tl.no_grad():
                w.sub_(0.01 * w.grad)
                w.grad = None
            return loss

        fn = tl.compile(step) if compiled else step
        losses = [fn().item() for _ in range(3)]
        data *= 2.0  # in place
        losses += [fn().item() for _ in range(2)]
        return [losses, _values(w)]

    assert run(True) == run(False)


def test_classic_updates_through_data_and_next_of_parameters_replay() -> None:
    model = tl.nn.Linear(3, 1)

    def step(x: tl.Tensor) -> tl.Tensor:
        x = x.to(next(model.parameters()).dtype)  # a fresh iterator: no Python state
        loss = model(x).pow(2).mean()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad.data  # in place, then stored back: not a new array
            p.grad.data.zero_()
        return loss

    compiled = tl.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for _ in range(4):
            compiled(tl.ones(2, 3))
    assert compiled.code is not None


def test_a_grad_zeroed_through_its_data_before_the_forward_is_read_from_the_parameter() -> None:
    def make() -> tuple[Callable[[], Any], Any]:
        w, x = tl.ones(3, requires_grad=True), tl.tensor([1.0, 2.0, 3.0])
        w.grad = tl.zeros(3)

        def step() -> Any:
            w.grad.data.zero_()  # old-style zeroing, before the forward meets w
            loss = (x * w * w).sum()
            loss.backward()
            with tl.no_grad():
                w.sub_(0.1 * w.grad)
            return loss

        return step, w

    def new_grad(w: tl.Tensor) -> None:
        w.grad = tl.full((3,), 7.0)

    (eager, _), (compiled, _) = _eager_and_compiled(make, new_grad)
    assert _values(compiled) == _values(eager) and _values(compiled.grad) == _values(eager.grad)


def test_a_leaf_made_in_the_step_replays_unless_it_is_returned() -> None:
    point = np.array([1.0, 2.0, 3.0])

    def gradient() -> tl.Tensor:
        p = tl.tensor(point, requires_grad=True)
        (p**3).sum().backward()
        assert p.grad is not None
        return p.grad

    def leaf() -> tl.Tensor:
        p = tl.tensor(point, requires_grad=True)
        (p**3).sum().backward()
        return p

    compiled = tl.compile(gradient)
    for _ in range(3):
        assert compiled().tolist() == gradient().tolist() == [3.0, 12.0, 27.0]
    assert compiled.code is not None
    returns_leaf = tl.compile(leaf)
    with pytest.warns(CompileWarning, match="returns a leaf it made"):
        for _ in range(3):
            got = returns_leaf()
    assert got.grad is not None and got.grad.tolist() == [3.0, 12.0, 27.0]


def test_changing_requires_grad_of_an_argument_at_every_call_runs_the_step_eagerly() -> None:
    w = tl.tensor([1.0, -2.0, 3.0])

    def input_gradient(x: tl.Tensor) -> tl.Tensor:
        x.requires_grad = True  # the gradient with respect to the input (adversarial examples)
        ((x * w) ** 2).sum().backward()
        assert x.grad is not None
        return x.grad

    compiled = tl.compile(input_gradient)
    with pytest.warns(CompileWarning, match="changes requires_grad of a tensor from outside"):
        for _ in range(6):
            x = tl.ones(3)
            assert compiled(x).tolist() == [2.0, 8.0, 18.0]
            assert x.requires_grad
    assert compiled.code is None


def test_a_layer_frozen_once_by_the_step_is_recorded_again_and_replays() -> None:
    def run(compiled: bool) -> list[float]:
        tl.manual_seed(0)
        first, second = tl.nn.Linear(3, 3), tl.nn.Linear(3, 1)
        optimizer = tl.optim.SGD([*first.parameters(), *second.parameters()], lr=0.1)
        x = tl.randn(4, 3)

        def step() -> tl.Tensor:
            optimizer.zero_grad()
            loss = second(first(x)).pow(2).mean()
            loss.backward()
            first.weight.requires_grad_(False)  # a change at the first call only
            optimizer.step()
            return loss

        fn = tl.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            losses = [fn().item() for _ in range(6)]
        assert not compiled or fn.code is not None  # type: ignore[attr-defined]
        return losses

    assert run(True) == run(False)


def test_requires_grad_on_a_tensor_the_step_makes_replays() -> None:
    tl.manual_seed(0)
    net, x = tl.nn.Linear(3, 1), tl.randn(4, 3)

    def input_gradient() -> tl.Tensor:
        leaf = x.detach().requires_grad_(True)  # the gradient with respect to the input
        (grad,) = tl.autograd.grad(net(leaf).sum(), leaf)
        return grad

    def fresh_leaf() -> tl.Tensor:
        z = tl.zeros(3).requires_grad_()
        (z * 2.0).sum().backward()
        assert z.grad is not None
        return z.grad

    for step in (input_gradient, fresh_leaf):
        compiled = tl.compile(step)
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            for _ in range(3):
                assert compiled().tolist() == step().tolist()
        assert compiled.code is not None


def test_a_value_returned_twice_is_one_tensor_and_its_detach_another() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)

    def step(x: tl.Tensor) -> tuple[tl.Tensor, ...]:
        loss = (x * w).sum()
        loss.backward()
        weights = w.detach()
        return loss, loss, loss.detach(), weights, weights, w.detach()

    compiled = tl.compile(step)
    for _ in range(4):  # two records, then replays
        first, again, detached, weights, same, other = compiled(tl.ones(2))
    assert compiled.code is not None
    assert first is again and detached is not first and detached.item() == first.item() == 3.0
    assert first.requires_grad and not detached.requires_grad
    assert weights is same and other is not weights and other.tolist() == w.tolist()


def _two_heads() -> tuple[tl.nn.Module, tl.Tensor, tl.Tensor]:
    tl.manual_seed(3)
    model = tl.nn.ModuleDict({"body": tl.nn.Linear(3, 2), "head": tl.nn.Linear(2, 1)})
    return model, tl.randn(4, 3), tl.randn(4, 1)


def _grads(model: tl.nn.Module) -> list[Any]:
    return [(_values(p), _values(p.grad)) for p in model.parameters()]


@pytest.mark.parametrize("read", ["grad_norm", "if_grad_is_none", "zero_grad", "clip"])
def test_a_grad_the_step_reads_without_using_its_parameter_is_read_anew_at_every_call(
    read: str,
) -> None:
    """The step reads the .grad of parameters it does not compute with (here the head's: a
    norm, a hand-written update that skips a missing .grad, zero_grad, clipping); between
    calls a backward outside the step gives the head a new .grad, or none. Eager reads the
    .grad there is; so must the replay, and check whether there is one."""

    def make() -> tuple[Callable[[], Any], Any]:
        model, x, y = _two_heads()

        def step() -> Any:
            if read == "grad_norm":
                return tl.stack([p.grad.norm() for p in model["head"].parameters()]).detach()
            with tl.no_grad():
                if read == "if_grad_is_none":
                    for p in model.parameters():
                        if p.grad is None:
                            continue
                        p -= 0.1 * p.grad
                elif read == "zero_grad":
                    model.zero_grad(set_to_none=False)
                else:
                    return tl.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            return None

        if read == "grad_norm":  # the head has a .grad from the start
            ((model["head"](model["body"](x)) - y) ** 2).mean().backward()
        model["body"](x).sum().backward()
        return step, (model, x, y)

    def between(state: Any) -> None:
        model, x, y = state
        for p in model["head"].parameters():
            p.grad = None  # a new .grad below, or none
        (3.0 * ((model["head"](model["body"](x)) - y) ** 2).mean()).backward()

    (eager, eager_result), (compiled, compiled_result) = _eager_and_compiled(make, between)
    assert _grads(eager[0]) == _grads(compiled[0])
    assert _values(eager_result) == _values(compiled_result)


def test_a_grad_with_a_graph_made_outside_the_step_runs_it_eagerly_as_backward_replaces_it() -> (
    None
):
    """backward replaces a .grad that has a graph (create_graph=True) instead of adding to it:
    a replay would add to it in place."""

    def outcome(compiled: bool) -> Any:
        w = tl.tensor([1.0, -2.0], requires_grad=True)

        def step(x: tl.Tensor) -> None:
            (w * w * x).sum().backward()

        run = tl.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CompileWarning)
            for _ in range(3):
                run(tl.ones(2))
            old = w.grad
            w.grad = None
            (w**3).sum().backward(create_graph=True)
            graph_grad = w.grad
            run(tl.ones(2))
        assert w.grad is not graph_grad and not w.grad.requires_grad
        assert not compiled or "has a graph" in str(caught[-1].message)
        return _values(w.grad), _values(graph_grad), graph_grad._version, old._version

    assert outcome(False) == outcome(True)


def test_an_array_scaled_by_alpha_in_an_update_is_read_at_every_call() -> None:
    def outcome(compiled: bool) -> list[float]:
        w, update = tl.zeros(3), np.ones(3)

        def step() -> None:
            w.add_(update, alpha=0.5)

        run = tl.compile(step) if compiled else step
        for call in range(6):
            update[...] = call  # in place, between calls
            run()
        assert not compiled or run.code is not None  # type: ignore[attr-defined]
        return w.tolist()

    assert outcome(False) == outcome(True) == [7.5] * 3


def test_a_returned_namedtuple_is_one_in_the_replay_too() -> None:
    Result = collections.namedtuple("Result", ["loss", "scale"])
    w = tl.tensor([1.0, 2.0], requires_grad=True)

    def step(x: tl.Tensor) -> Any:
        loss = (x * w).sum()
        loss.backward()
        return Result(loss, 2.0)

    compiled = tl.compile(step)
    for _ in range(4):
        result = compiled(tl.ones(2))
    assert compiled.code is not None
    assert type(result) is Result and result.loss.item() == 3.0 and result.scale == 2.0


@pytest.mark.parametrize("share", ["tensor", "array"])
def test_tensors_that_shared_a_grad_when_recorded_and_no_longer_do_are_recorded_again(
    share: str,
) -> None:
    """`w2.grad = w.grad` (or `w.grad.detach()`, another tensor on the same array) before the
    step is recorded: the code adds both gradients into the one array. Given its own .grad
    later, w2 must get its gradient there."""

    def make() -> tuple[tl.Tensor, tl.Tensor, Step]:
        x = tl.tensor(np.random.default_rng(0).standard_normal((8, 3)))
        w = tl.ones(3, 1, requires_grad=True)
        w2 = tl.full((3, 1), 2.0, requires_grad=True)

        def step(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                xb = x[order[k]]
                ((xb @ w) * (xb @ w2)).mean().backward()
                with tl.no_grad():
                    w.sub_(0.05 * w.grad)
                    w2.sub_(0.05 * w2.grad)
                w.grad.zero_()
                w2.grad.zero_()

        return w, w2, step

    results = []
    for compiled in (False, True):
        w, w2, step = make()
        run = tl.compile(step) if compiled else step
        for k in range(7):
            if k == 1:
                w2.grad = w.grad if share == "tensor" else w.grad.detach()
            if k == 5:  # replayed twice since
                w2.grad = tl.zeros(3, 1)
            run(tl.tensor(np.arange(8).reshape(4, 2)))
        results.append([t.detach().numpy() for t in (w, w2, w.grad, w2.grad)])
    for a, b in zip(*results):
        np.testing.assert_array_equal(b, a, strict=True)


def test_a_parameter_passed_after_a_number_is_checked_on_the_slow_road() -> None:
    """Two signatures called in turn: each call misses the quick check (made for the other)
    and tries the programs' guards in Python, where the parameter argument's .grad is looked
    up among the tensor arguments."""
    results = []
    for compiled in (False, True):
        w = tl.ones(2, 1, requires_grad=True)

        def step(lr: float, p: tl.Tensor, x: tl.Tensor) -> None:
            (x @ p).sum().backward()
            with tl.no_grad():
                p.sub_(lr * p.grad)
                p.grad.zero_()

        run = tl.compile(step) if compiled else step
        for k in range(8):
            run(0.1, w, tl.ones(1 + k % 2, 2))
        results.append(w.detach().numpy())
        assert not compiled or len(run._entries) == 2  # type: ignore[attr-defined]
    np.testing.assert_array_equal(results[1], results[0], strict=True)


def test_a_grad_shared_when_the_call_starts_is_credited_to_both_owners() -> None:
    """w.grad is w2.grad when a call starts; the step sets w.grad to None before it meets w2.
    The code must read w2's .grad as it was at the start (w's), and see when it is not."""

    def make() -> tuple[tl.Tensor, tl.Tensor, Step]:
        w, w2 = tl.ones(2, requires_grad=True), tl.ones(2, requires_grad=True)

        def step(x: tl.Tensor) -> tl.Tensor:
            with tl.no_grad():
                a = (w * x).sum() + (w.grad * 3.0).sum()
                w.grad = None
                return a + (w2 * x).sum() + (w2.grad * 5.0).sum()

        return w, w2, step

    results = []
    for compiled in (False, True):
        w, w2, step = make()
        run = tl.compile(step) if compiled else step
        outs = []
        for k in range(5):
            w.grad = tl.ones(2)
            w2.grad = w.grad if k < 3 else tl.full((2,), 100.0)
            outs.append(run(tl.tensor([1.0, 2.0])).item())
        results.append(outs)
    assert results[1] == results[0]
