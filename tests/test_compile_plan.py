"""tl.compile's plan of the replay: the check before each call (guards.py), the ops left out
because nothing reads them, and a sum fused with the reshape after it. Each changes how the
replay runs, never what it computes: every test compares with the same steps run eagerly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr.compile import CompileWarning
from tinygrad_lr.compile.guards import MISS, always_miss


def _params(seed: int = 0) -> list[tl.Tensor]:
    rng = np.random.default_rng(seed)
    return [
        tl.tensor(rng.standard_normal((3, 1)), requires_grad=True),
        tl.zeros(1, requires_grad=True),
    ]


def _batches(n: int, rows: int = 6, seed: int = 1) -> list[tuple[tl.Tensor, tl.Tensor]]:
    rng = np.random.default_rng(seed)
    return [(tl.tensor(rng.standard_normal((rows, 3))), tl.tensor(rng.standard_normal((rows, 1))))
            for _ in range(n)]  # fmt: skip


def _sgd_step(params: list[tl.Tensor], returns_loss: bool = True):  # type: ignore[no-untyped-def]
    w, b = params

    def step(x: tl.Tensor, y: tl.Tensor, lr: float = 0.1):  # type: ignore[no-untyped-def]
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with tl.no_grad():
            for p in (w, b):
                p -= lr * p.grad
                p.grad.zero_()
        return loss if returns_loss else None

    return step


def _same_as_eager(calls, returns_loss: bool = True):  # type: ignore[no-untyped-def]
    """Run `calls` (lists of arguments) through an eager and a compiled step on equal
    parameters; the parameters and results must agree bit for bit."""
    eager_params, compiled_params = _params(), _params()
    eager = _sgd_step(eager_params, returns_loss)
    compiled = tl.compile(_sgd_step(compiled_params, returns_loss))
    for args in calls:
        a, b = eager(*args), compiled(*args)
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy(), strict=True)
        for p, q in zip(compiled_params, eager_params):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), strict=True)
    return compiled, compiled_params


def _statements(code: str | None) -> str:
    """The generated code without its comments (which quote the step's own lines)."""
    assert code is not None, "the step was not compiled"
    return "\n".join(line.split("#")[0] for line in code.splitlines())


# --- the check before each call -------------------------------------------------------------


def test_after_compiling_a_call_takes_the_fast_road_and_agrees_with_eager() -> None:
    compiled, params = _same_as_eager([b for b in _batches(8)])
    assert compiled._check_and_run is not always_miss
    x, y = _batches(1, seed=5)[0]
    eager_loss = ((x @ params[0] + params[1] - y) ** 2).mean().item()  # before the update
    assert compiled._check_and_run(x, y).item() == eager_loss  # the replay ran
    assert compiled._check_and_run(x) is MISS  # another number of arguments
    assert compiled._check_and_run(x, y, 0.2) is MISS  # another argument's value


def test_each_part_of_the_signature_sends_a_call_down_the_slow_road() -> None:
    """Shape, dtype, requires_grad, another argument's value or type: each is a new signature,
    recorded on its own; going back to the first signature replays it again."""
    x, y = _batches(1)[0]
    calls = [(x, y)] * 3
    calls += [(tl.tensor(np.ones((4, 3))), tl.tensor(np.ones((4, 1))))] * 3  # shape
    calls += [(x, y, 0.05)] * 3 + [(x, y, 1)] * 3  # value, and type of a number
    calls += [(x.requires_grad_(False).clone().requires_grad_(True), y)] * 3  # requires_grad
    calls += [(x, y)] * 2
    compiled, _ = _same_as_eager(calls)
    assert len(compiled._entries) == 5


def test_a_dtype_change_is_a_new_signature() -> None:
    x, y = _batches(1)[0]
    compiled, _ = _same_as_eager([(x, y)] * 3 + [(x.float(), y.float())] * 3 + [(x, y)] * 2)
    assert len(compiled._entries) == 2


def test_a_grad_set_to_none_between_calls_is_seen() -> None:
    """The check reads whether each parameter has a .grad: with .grad = None, eager makes a
    new one, and so must the call."""
    eager_params, compiled_params = _params(), _params()
    eager, compiled = _sgd_step(eager_params), tl.compile(_sgd_step(compiled_params))
    for k, (x, y) in enumerate(_batches(10)):
        if k in (4, 7):
            for p in eager_params + compiled_params:
                p.grad = None
        eager(x, y), compiled(x, y)
        for p, q in zip(compiled_params, eager_params):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), strict=True)


def test_grad_mode_and_anomaly_mode_are_checked_at_every_call() -> None:
    x = _batches(1)[0][0]
    w = tl.tensor(np.ones((3, 1)), requires_grad=True)

    @tl.compile
    def predict(x: tl.Tensor) -> tl.Tensor:
        return x @ w

    results = [predict(x) for _ in range(3)]  # two records (eager), then a replay
    assert [r.requires_grad for r in results] == [True, True, True]
    with pytest.raises(RuntimeError, match="compiled step's replay, which keeps no graph"):
        (results[-1].sum() + (w**2).sum()).backward()  # not only the part outside the step
    assert tl.viz.format_graph(results[-1]).startswith("graphnotkept")  # it ends the graph
    with tl.no_grad():
        assert not any(predict(x).requires_grad for _ in range(3))
    assert len(predict._entries) == 2
    with tl.autograd.detect_anomaly(), pytest.warns(CompileWarning, match="anomaly"):
        eager_result = predict(x)  # runs eagerly: it has a graph
    eager_result.sum().backward()
    assert w.grad is not None


def _counting_records(compiled):  # type: ignore[no-untyped-def]
    """`compiled`, and a list that grows by one at each recorded call."""
    records: list[None] = []
    record = compiled._record

    def counted(*arguments):  # type: ignore[no-untyped-def]
        records.append(None)
        return record(*arguments)

    compiled._record = counted
    return compiled, records


def test_arguments_of_every_simple_type_are_checked_by_type_and_value() -> None:
    def step(x: tl.Tensor, value: object) -> tl.Tensor:
        return x + (1.0 if value is None else 2.0)

    shift, seen = _counting_records(tl.compile(step))

    x = tl.ones(2)
    for value in (None, "a", True, 1, b"x", 1.5):
        for _ in range(3):
            result = shift(x, value)
        assert result.tolist() == ([2.0, 2.0] if value is None else [3.0, 3.0])
        assert shift._check_and_run(x, value) is not MISS  # the fast road, for each type
    assert len(seen) == 12  # two records per signature: True and 1 are told apart by type


def test_a_nan_argument_replays_on_the_fast_road() -> None:
    """Other arguments are compared to the bit, so NaN is NaN (though NaN != NaN)."""

    def step(x: tl.Tensor, value: float) -> tl.Tensor:
        return x + 1.0

    shift, seen = _counting_records(tl.compile(step))

    x = tl.ones(2)
    nan = float("nan")
    for _ in range(4):
        np.testing.assert_array_equal(shift(x, nan).numpy(), [2.0, 2.0])
    assert len(seen) == 2  # two records, then replays
    assert shift._check_and_run(x, float("nan")).tolist() == [2.0, 2.0]


# --- ops nothing reads ----------------------------------------------------------------------


def test_a_loss_nobody_reads_is_not_computed_and_the_step_still_agrees() -> None:
    compiled, _ = _same_as_eager(_batches(6), returns_loss=False)
    assert "** 2" not in _statements(compiled.code) and ".mean()" not in _statements(compiled.code)
    returned, _ = _same_as_eager(_batches(6), returns_loss=True)
    assert "** 2" in _statements(returned.code)


def test_unread_ops_that_check_values_stay_and_raise_as_in_eager() -> None:
    def step(x: tl.Tensor, labels: tl.Tensor, index: tl.Tensor) -> tl.Tensor:
        tl.nn.functional.cross_entropy(x, labels)  # read by nothing, but it checks the labels
        x[index]  # read by nothing, but the index may be out of range
        return x * 2.0

    compiled = tl.compile(step)
    x, good, index = tl.randn(2, 3), tl.tensor([0, 2]), tl.tensor([1, 0])
    for _ in range(3):
        compiled(x, good, index)
    assert compiled.code is not None
    with pytest.raises(ValueError, match=r"cross_entropy: target values must lie in \[0, 3\)"):
        compiled(x, tl.tensor([0, 7]), index)
    with pytest.raises(IndexError, match=r"getitem: index 5 is out of bounds.*replaying"):
        compiled(x, good, tl.tensor([5, 0]))


def test_unread_ops_go_but_random_draws_and_in_place_changes_stay() -> None:
    """An unread random draw still advances the generator; an in-place change of an unread
    value still happens (its op stays, for the change to have something to change)."""
    state = tl.zeros(3)

    def step(x: tl.Tensor) -> tl.Tensor:
        unused = x.exp() * 3.0  # noqa: F841  (read by nothing)
        tl.randn(2)  # a draw nobody reads
        with tl.no_grad():
            scratch = x * 2.0
            scratch.add_(1.0)
            state.add_(scratch)
        return x + 1.0

    x = tl.tensor([0.5, -1.0, 2.0])
    tl.manual_seed(3)
    for _ in range(5):
        expected = step(x)
    eager_state, eager_next = state.numpy().copy(), tl.randn(4).numpy()
    state.zero_()
    compiled = tl.compile(step)
    tl.manual_seed(3)
    for _ in range(5):
        result = compiled(x)
    assert "np.exp" not in _statements(compiled.code)
    np.testing.assert_array_equal(result.numpy(), expected.numpy(), strict=True)
    np.testing.assert_array_equal(state.numpy(), eager_state, strict=True)
    np.testing.assert_array_equal(tl.randn(4).numpy(), eager_next, strict=True)


# --- a sum and the reshape after it ---------------------------------------------------------


def test_the_gradient_of_a_broadcast_bias_is_one_sum() -> None:
    compiled, _ = _same_as_eager(_batches(6))
    assert compiled.code is not None
    assert ".sum(axis=(0,))" in compiled.code and "reshape" not in _statements(compiled.code)


def test_a_sum_read_twice_or_returned_is_not_fused_with_its_reshape() -> None:
    def read_twice(x: tl.Tensor) -> tl.Tensor:
        kept = x.sum(0, keepdim=True)
        return kept.reshape(3) * 2.0 + (kept * 0.5).reshape(3)

    def returned(x: tl.Tensor) -> tuple[tl.Tensor, tl.Tensor]:
        kept = x.sum(-2, keepdim=True)
        return kept, kept.reshape(3) * 2.0

    x = tl.tensor(np.arange(6.0).reshape(2, 3))
    for step in (read_twice, returned):
        compiled = tl.compile(step)
        for _ in range(3):
            result = compiled(x)
        assert "keepdims=True" in _statements(compiled.code)
        results = result if isinstance(result, tuple) else (result,)
        expected = step(x)
        for a, b in zip(results, expected if isinstance(expected, tuple) else (expected,)):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), strict=True)


def test_a_sum_over_negative_axes_is_fused_with_its_reshape() -> None:
    b = tl.zeros(1, 3, requires_grad=True)

    def step(x: tl.Tensor) -> tl.Tensor:
        (x + b).sum().backward()  # b's gradient: summed over axes (-3, -2) back to (1, 3)
        return b.grad

    x = tl.tensor(np.arange(12.0).reshape(2, 2, 3))
    compiled = tl.compile(step)
    for _ in range(3):
        b.grad = None
        result = compiled(x)
    assert "reshape" not in _statements(compiled.code)
    np.testing.assert_array_equal(result.numpy(), np.full((1, 3), 4.0), strict=True)


def test_compiled_code_has_no_warnings_for_a_plain_step() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        compiled, _ = _same_as_eager(_batches(4))
    assert compiled.code is not None


# --- the Python values the step names ---------------------------------------------------------

learning_rate = 0.1
use_square = True


class _Settings:
    scale = 1.0  # a class attribute: instances read it until they set their own


def test_a_global_number_and_a_global_flag_are_checked_before_every_call() -> None:
    global learning_rate, use_square

    def make_step(w: tl.Tensor):  # type: ignore[no-untyped-def]
        def step(x: tl.Tensor) -> tl.Tensor:
            loss = ((x * w) ** 2).sum() if use_square else (x * w).abs().sum()
            loss.backward()
            with tl.no_grad():
                w.sub_(learning_rate * w.grad)
                w.grad.zero_()
            return loss

        return step

    w_eager = tl.tensor([1.0, -2.0, 0.5], requires_grad=True)
    w_compiled = tl.tensor([1.0, -2.0, 0.5], requires_grad=True)
    eager, compiled = make_step(w_eager), tl.compile(make_step(w_compiled))
    x = tl.tensor([0.5, 1.0, -1.5])
    try:
        for k in range(12):
            if k == 4:
                learning_rate = 0.02  # a new float object, as `lr *= 0.2` makes
            if k == 8:
                use_square = False
            loss, expected = compiled(x), eager(x)
            np.testing.assert_array_equal(loss.detach().numpy(), expected.detach().numpy())
            np.testing.assert_array_equal(w_compiled.detach().numpy(), w_eager.detach().numpy())
        assert "np.abs" in _statements(compiled.code)  # the last program took the new branch
    finally:
        learning_rate, use_square = 0.1, True


def test_attributes_of_named_objects_and_closure_variables_are_checked() -> None:
    settings = _Settings()
    offset = 1.0

    def step(x: tl.Tensor) -> tl.Tensor:
        return x * settings.scale + offset

    compiled = tl.compile(step)
    x = tl.tensor([1.0, 2.0])
    seen = []
    for k in range(9):
        if k == 3:
            settings.scale = 5.0  # an instance attribute now, in settings.__dict__
        if k == 6:
            offset = -1.0
        seen.append(compiled(x).tolist())
    assert seen == [[2.0, 3.0]] * 3 + [[6.0, 11.0]] * 3 + [[4.0, 9.0]] * 3


def test_a_method_step_checks_its_own_attributes() -> None:
    class Trainer:
        def __init__(self) -> None:
            self.factor = 2.0
            self.step = tl.compile(self._step)

        def _step(self, x: tl.Tensor) -> tl.Tensor:
            return x * self.factor

    trainer = Trainer()
    x = tl.tensor([1.0, 3.0])
    results = [trainer.step(x).tolist() for _ in range(3)]
    trainer.factor = 10.0
    results += [trainer.step(x).tolist() for _ in range(3)]
    assert results == [[2.0, 6.0]] * 3 + [[10.0, 30.0]] * 3


def test_a_value_that_changes_at_every_call_runs_the_step_eagerly_with_a_warning() -> None:
    counter = 0

    def step(x: tl.Tensor) -> tl.Tensor:
        return x * counter

    compiled = tl.compile(step)
    x = tl.tensor([1.0])
    results = []
    with pytest.warns(CompileWarning, match="the Python value counter changes from call to call"):
        for k in range(8):
            counter = k
            results.append(compiled(x).item())
    assert results == [float(k) for k in range(8)]


def test_a_global_deleted_after_compiling_fails_as_in_eager() -> None:
    namespace: dict[str, object] = {"tl": tl, "gone": 2.0}
    exec("def step(x):\n    return x * gone\n", namespace)
    compiled = tl.compile(namespace["step"])
    x = tl.tensor([1.0])
    for _ in range(3):
        assert compiled(x).tolist() == [2.0]
    del namespace["gone"]
    with pytest.raises(NameError, match="gone"):
        compiled(x)


# --- dropout and the modules' settings ---------------------------------------------------------


def _dropout_run(compiled: bool, steps: int = 12) -> list[np.ndarray]:
    """An MLP with dropout trained from seed 0; half way, dropout's p changes; then the model
    is switched to eval. Returns the outputs and the final parameters."""
    tl.manual_seed(0)
    model = tl.nn.Sequential(tl.nn.Linear(4, 8), tl.nn.ReLU(), tl.nn.Dropout(0.5),
                             tl.nn.Linear(8, 1))  # fmt: skip
    optimizer = tl.optim.SGD(model.parameters(), lr=0.05)
    x, y = tl.randn(16, 4), tl.randn(16, 1)

    def step(x: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
        optimizer.zero_grad()
        out = model(x)
        loss = ((out - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        return out

    run = tl.compile(step) if compiled else step
    outputs, codes = [], []
    for k in range(steps):
        if k == steps // 3:
            model[2].p = 0.2
        if k == 2 * steps // 3:
            model.eval()
        outputs.append(run(x, y).detach().numpy().copy())
        codes.append(getattr(run, "code", None))
    if compiled:  # replayed in each of the three parts; in training with its random draws
        assert all(codes[k] is not None for k in (2, steps // 3 + 2, 2 * steps // 3 + 2))
        assert "_generator().random(" in codes[2] and "random" not in codes[-1]
    return outputs + [p.detach().numpy().copy() for p in model.parameters()]


def test_dropout_draws_a_fresh_mask_each_replayed_call_and_follows_p_and_eval() -> None:
    """The seeded compiled run is the seeded eager run, bit for bit, through a change of
    dropout's p (a setting of a module inside the model the step names) and a switch to
    eval mode."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        compiled = _dropout_run(compiled=True)
    eager = _dropout_run(compiled=False)
    assert not np.array_equal(compiled[0], compiled[1])  # a new mask at every call
    for a, b in zip(compiled, eager):
        np.testing.assert_array_equal(a, b, strict=True)


def test_a_long_program_deletes_its_small_arrays_after_their_last_use() -> None:
    """An unrolled loop makes thousands of small arrays: a long program deletes them as it
    goes, where a short one leaves them to its return (see plan.LONG)."""
    from tinygrad_lr.compile.plan import LONG

    w = tl.tensor([0.5, -0.25], requires_grad=True)

    def chain(x: tl.Tensor, steps: int) -> tl.Tensor:
        for _ in range(steps):
            x = x * w + 0.125
        x.sum().backward()
        return x

    for steps, deletes in ((10, False), (LONG, True)):
        compiled = tl.compile(chain)
        results = [compiled(tl.ones(2), steps).tolist() for _ in range(3)]
        assert compiled.code is not None and ("del " in compiled.code) == deletes
        assert results[-1] == chain(tl.ones(2), steps).tolist()


def test_a_second_name_for_an_array_is_not_deleted_while_the_first_is_needed() -> None:
    """`w * ones` is w itself in the replay (one name): when the product is last used, w
    is still needed, so neither is deleted (each is 4,800 bytes, above SMALL)."""
    w = tl.ones(600, requires_grad=True)

    def step(x: tl.Tensor) -> tl.Tensor:
        first = (w * tl.ones(600)).sum()
        loss = first + (w * x).sum()
        loss.backward()
        return loss

    compiled = tl.compile(step)
    for _ in range(4):
        assert compiled(tl.full((600,), 2.0)).item() == 1800.0
    assert compiled.code is not None


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_the_generated_check_holds_for_a_step_that_calls_its_optimizer(name: str) -> None:
    """The check guards that no instance or subclass shadows `opt.step` with a test that a
    key is absent, not with a read that raises (which sent every call the slow way)."""
    tl.manual_seed(0)
    model = tl.nn.Sequential(tl.nn.Linear(3, 4), tl.nn.ReLU(), tl.nn.Linear(4, 1))
    opt = getattr(tl.optim, name)(model.parameters(), lr=0.01)
    x, y = tl.randn(8, 3), tl.randn(8, 1)

    @tl.compile
    def step(inputs: tl.Tensor, targets: tl.Tensor) -> None:
        opt.zero_grad()
        tl.nn.functional.mse_loss(model(inputs), targets).backward()
        opt.step()

    for _ in range(4):
        step(x, y)
    ((_, check),) = next(iter(step._entries.values())).programs
    assert check(x, y) is not MISS
    opt.step = lambda: None  # type: ignore[method-assign]  # shadowed by the instance now
    assert check(x, y) is MISS
