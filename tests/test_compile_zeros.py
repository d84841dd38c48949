"""The fast path of compile/plan.py: in a program that zeroes a `.grad` and then adds into it
(a compiled epoch of SGD steps), the add and the fill after it are left out and the reads of
the `.grad` read the value added. Every test compares the fast path with eager and with the
plain path (`SKIP_ADDS_TO_ZEROS` off): the plain path must agree with eager bit for bit, the
fast path to `==` (where a gradient is -0.0, eager's `.grad` holds +0.0), and most tests
also check which adds the fast path left out."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import tinygrad_lr as tl
from tinygrad_lr.compile import CompileWarning, plan

Make = Callable[[], tuple[Callable[..., Any], list[tl.Tensor]]]
Run = tuple[list[Any], list[Any], Any]  # the tensors' state, what the calls returned, the fn


def _model(seed: int = 0) -> tuple[list[tl.Tensor], tl.Tensor, tl.Tensor]:
    rng = np.random.default_rng(seed)
    params = [tl.tensor(rng.standard_normal((3, 1)), requires_grad=True),
              tl.tensor(rng.standard_normal(1), requires_grad=True)]  # fmt: skip
    return params, tl.tensor(rng.standard_normal((40, 3))), tl.tensor(rng.standard_normal((40, 1)))


def _loss(params: list[tl.Tensor], x: tl.Tensor, y: tl.Tensor, batch: tl.Tensor) -> tl.Tensor:
    w, b = params
    return ((x[batch] @ w + b - y[batch]) ** 2).mean()


def _sgd(params: list[tl.Tensor]) -> None:
    with tl.no_grad():
        for p in params:
            p -= 0.1 * p.grad
            p.grad.zero_()


def _sgd_epoch() -> tuple[Callable[..., Any], list[tl.Tensor]]:
    params, x, y = _model()

    def epoch(order: tl.Tensor) -> None:
        for k in range(order.shape[0]):
            _loss(params, x, y, order[k]).backward()
            _sgd(params)

    return epoch, params


ORDER = tl.tensor(np.arange(40).reshape(8, 5))
MODES = ((False, True), (True, True), (True, False))  # (compiled, fast): eager, fast, plain


def _state(tensors: list[tl.Tensor]) -> list[Any]:
    return [a for t in tensors for a in (t.detach().numpy().copy(),
            None if t.grad is None else t.grad.numpy().copy())]  # fmt: skip


def _runs(make: Make, calls: list[tuple[Any, ...]] | Callable[[], list[tuple[Any, ...]]],
          monkeypatch: pytest.MonkeyPatch,
          between: Callable[[list[tl.Tensor], int], None] | None = None) -> list[Run]:  # fmt: skip
    """Eager, compiled with the fast path and compiled without it: the tensors' values and
    .grads after the calls (their arguments, or a function making them afresh for each run),
    what the calls returned, and the function called."""
    runs = []
    for compiled, fast in MODES:
        monkeypatch.setattr(plan, "SKIP_ADDS_TO_ZEROS", fast)
        fn, tensors = make()
        run = tl.compile(fn) if compiled else fn
        returned = []
        for k, args in enumerate(calls() if callable(calls) else calls):
            if between is not None:
                between(tensors, k)
            out = run(*args)
            returned.append(None if out is None else out.detach().numpy().copy())
        runs.append((_state(tensors), returned, run))
    return runs


def _agree(runs: list[Run], compiled_only: bool = True) -> Any:
    """The three runs agree (the plain path with eager to the bit); returns the compiled
    function with the fast path (which must have been compiled, if `compiled_only`)."""
    (eager, eager_out, _), (fast, fast_out, compiled), (plain, plain_out, _) = runs
    for a, b, c in zip(eager + eager_out, fast + fast_out, plain + plain_out):
        assert (a is None) == (b is None) == (c is None)
        if a is not None:
            np.testing.assert_array_equal(b, a, strict=True)
            assert c.tobytes() == a.tobytes() and c.dtype == a.dtype
    assert compiled.code is not None or not compiled_only, "not compiled"
    return compiled


def _same_states(states: list[list[Any]]) -> None:
    """The compiled runs' tensors (after an error) are eager's, the first of `states`."""
    for ours in states[1:]:
        for a, b in zip(states[0], ours):
            np.testing.assert_array_equal(b, a, strict=True)


def _statements(code: str) -> list[str]:
    """The code's statements, without its comments (the notes quote the adds left out)."""
    return [line.split("#")[0].strip() for line in code.splitlines()]


def _left_out(compiled: Any) -> set[str]:
    """The .grads some add into was left out of."""
    return {line.split("# ")[1].split()[0] for line in compiled.code.splitlines()
            if "holds zeros" in line}  # fmt: skip


def test_an_epoch_adds_into_the_grads_only_in_its_first_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled = _agree(_runs(_sgd_epoch, [(ORDER,)] * 5, monkeypatch))
    statements = _statements(compiled.code)
    assert sum("_grad += " in s for s in statements) == 2  # the first batch's, for each .grad
    assert sum("_grad.fill(0)" in s for s in statements) == 2
    assert compiled.code.count("holds zeros") == 2 * 7  # a note for each add left out
    assert compiled._latest.grads_apart is not None  # a test of the check before each call


def test_a_step_alone_is_left_as_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A single step cannot know what its .grads hold when it starts: nothing is left out,
    and nothing more is checked before a call."""
    compiled = _agree(_runs(_sgd_epoch, [(ORDER[:1],)] * 4, monkeypatch))
    assert not _left_out(compiled) and compiled._latest.grads_apart is None


def test_grads_with_values_when_a_call_starts_are_added_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Values put into .grad between calls, through the tensor or through .numpy()."""

    def between(params: list[tl.Tensor], k: int) -> None:
        if k >= 2:
            with tl.no_grad():
                params[0].grad += 0.5 * k
            params[1].grad.numpy()[...] = -1.5 * k  # seen by no version counter

    compiled = _agree(_runs(_sgd_epoch, [(ORDER,)] * 5, monkeypatch, between))
    assert _left_out(compiled) == {"params_0_grad", "params_1_grad"}


def test_a_second_fill_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        epoch, params = _sgd_epoch()

        def twice(order: tl.Tensor) -> None:
            epoch(order)
            params[0].grad.zero_()  # zeros already

        return twice, params

    compiled = _agree(_runs(make, [(ORDER,)] * 4, monkeypatch))
    assert sum("params_0_grad.fill(0)" in s for s in _statements(compiled.code)) == 1


def test_a_write_through_a_view_between_the_fill_and_the_add(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        w = params[0]
        w.grad = tl.zeros(3, 1)

        def epoch(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                with tl.no_grad():
                    w.grad.T.add_(0.25)  # no longer zeros
                _loss(params, x, y, order[k]).backward()
                _sgd(params)

        return epoch, params

    compiled = _agree(_runs(make, [(ORDER,)] * 4, monkeypatch))
    assert _left_out(compiled) == {"params_1_grad"}


# --- memory the .grad or the value added shares ------------------------------------------------


def test_a_grad_that_shares_memory_with_another_tensor_keeps_its_adds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`z` is another array on w.grad's memory: the update reads z, which sees the adds."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        w = params[0]
        w.grad = tl.zeros(3, 1)
        z = tl.from_numpy(w.grad.numpy().view())

        def epoch(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                _loss(params, x, y, order[k]).backward()
                with tl.no_grad():
                    w.sub_(0.1 * z)
                    for p in params:
                        p.grad.zero_()

        return epoch, params

    compiled = _agree(_runs(make, [(ORDER,)] * 4, monkeypatch))
    assert sum("params_0_grad += " in s for s in _statements(compiled.code)) == 8
    assert _left_out(compiled) == {"params_1_grad"}


def test_a_grad_made_to_share_memory_after_recording_is_recorded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`z.data = ...` puts z on w.grad's memory between calls: the check before the call sees
    it, and the epoch is recorded again, keeping the adds into w.grad."""
    made: list[tl.Tensor] = []

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        w, z = params[0], tl.zeros(3, 1)
        made[:] = [z]

        def epoch(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                _loss(params, x, y, order[k]).backward()
                with tl.no_grad():
                    w.sub_(0.1 * (w.grad + z))
                    for p in params:
                        p.grad.zero_()

        return epoch, params

    def between(params: list[tl.Tensor], k: int) -> None:
        if k == 4:  # recorded three times, replayed once: now z is on w.grad's memory
            made[0].data = params[0].grad.numpy().view()

    compiled = _agree(_runs(make, [(ORDER,)] * 7, monkeypatch, between))
    assert _left_out(compiled) == {"params_1_grad"}  # the program made again


def test_a_value_added_that_is_an_outside_array_is_not_read_in_the_grads_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`(w * xs).sum()` adds `ones * xs` into w.grad, which the code would write as xs itself;
    xv, another tensor on xs's memory, then changes it: the update must read the xs added. The
    add is left out, and the code computes `ones * xs` into an array of its own."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        w, xs = tl.ones(3, 2, requires_grad=True), tl.tensor(np.arange(6.0).reshape(3, 2))
        xv = xs[0]

        def epoch(order: tl.Tensor) -> None:
            for _ in range(order.shape[0]):
                (w * xs).sum().backward()
                with tl.no_grad():
                    xv.add_(1.0)
                    w.sub_(0.1 * w.grad)
                    w.grad.zero_()

        return epoch, [w, xs]

    compiled = _agree(_runs(make, [(ORDER,)] * 4, monkeypatch))
    assert _left_out(compiled) == {"w_grad"}


def test_a_gradient_argument_written_through_another_argument(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`w.backward(g0)` adds the argument g0; gv, a view of it passed too, changes it."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        w = tl.tensor(np.arange(3.0), requires_grad=True)

        def epoch(order: tl.Tensor, g0: tl.Tensor, gv: tl.Tensor) -> None:
            for _ in range(order.shape[0]):
                w.backward(g0)
                with tl.no_grad():
                    gv.add_(1.0)
                    w.sub_(0.1 * w.grad)
                    w.grad.zero_()

        return epoch, [w]

    def calls() -> list[tuple[Any, ...]]:
        g0s = [tl.ones(3) for _ in range(4)]
        return [(ORDER, g0, g0[1:]) for g0 in g0s]

    compiled = _agree(_runs(make, calls, monkeypatch))
    assert not _left_out(compiled)


def test_an_argument_on_a_grads_memory_is_recorded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recorded with an argument of its own, then called with w.grad's array as the argument:
    the update reads the argument, which must see the adds."""
    grads: list[tl.Tensor] = []

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        w = params[0]
        w.grad = tl.zeros(3, 1)
        grads[:] = [w.grad]

        def epoch(order: tl.Tensor, z: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                _loss(params, x, y, order[k]).backward()
                with tl.no_grad():
                    w.sub_(0.1 * z)
                _sgd(params)

        return epoch, params

    def calls() -> list[tuple[Any, ...]]:
        own = [(ORDER, tl.zeros(3, 1)) for _ in range(4)]
        return own + [(ORDER, tl.from_numpy(grads[0].numpy().view())) for _ in range(3)]

    compiled = _agree(_runs(make, calls, monkeypatch))
    assert _left_out(compiled) == {"params_1_grad"}  # the program made again


def test_an_argument_in_another_layout_is_recorded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The value added is `ones * x`, in x's layout; called with x in Fortran order, the
    program made for C order would read it in place of the C-ordered .grad, and sums over it
    would add in another order: the check before the call sends the call to be recorded."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        w = tl.ones(600, 70, requires_grad=True)
        w.grad = tl.zeros(600, 70)

        def epoch(order: tl.Tensor, x: tl.Tensor) -> tl.Tensor:
            norms = tl.zeros(70)
            for _ in range(order.shape[0]):
                (w * x).sum().backward()
                with tl.no_grad():
                    norms = norms + (w.grad * w.grad).sum(0)
                    w.sub_(0.01 * w.grad)
                    w.grad.zero_()
            return norms

        return epoch, [w]

    x = np.random.default_rng(1).standard_normal((600, 70))  # big enough to sum in blocks

    def calls() -> list[tuple[Any, ...]]:
        return [(ORDER, tl.from_numpy(np.ascontiguousarray(x)))] * 4 + [
            (ORDER, tl.from_numpy(np.asfortranarray(x)))] * 3  # fmt: skip

    eager, fast, plain = _runs(make, calls, monkeypatch)
    _agree([eager, fast, plain])
    assert [a.tobytes() for a in fast[1]] == [a.tobytes() for a in eager[1]]


def test_tied_grads_summed_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """b.grad is given a.grad's value while a.grad's add is left out: b must get a's
    gradient, not the zeros a.grad holds."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        rng = np.random.default_rng(0)
        a, b = (tl.tensor(rng.standard_normal(3), requires_grad=True) for _ in range(2))
        x = tl.tensor(rng.standard_normal((40, 3)))
        a.grad, b.grad = tl.zeros(3), tl.zeros(3)

        def epoch(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                (x[order[k]] @ a).sum().backward()
                with tl.no_grad():
                    b.grad.add_(a.grad)
                    b.sub_(0.1 * b.grad)
                    b.grad.zero_()
                    a.sub_(0.1 * a.grad)
                    a.grad.zero_()

        return epoch, [a, b]

    compiled = _agree(_runs(make, [(ORDER,)] * 5, monkeypatch))
    assert _left_out(compiled) == {"a_grad"}  # b.grad's add is of an outside array: kept


@pytest.mark.parametrize("grad_order", ["C", "F", "F then C"])
def test_a_value_added_in_another_layout_is_not_read_in_the_grads_place(
    grad_order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Linear weight's gradient is a transposed view (Fortran order). Read in place of a
    C-ordered .grad, a sum over it would add in another order: the logged norm must be
    eager's to the bit. In Fortran order too, the .grad's add is left out; a .grad put back
    in C order between calls is checked before the next call, which is recorded again."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        rng = np.random.default_rng(0)
        layer = tl.nn.Linear(30, 50)
        layer.weight.data = tl.tensor(rng.standard_normal((50, 30)))
        layer.bias.data = tl.tensor(rng.standard_normal(50))
        x, y = tl.tensor(rng.standard_normal((40, 30))), tl.tensor(rng.standard_normal((40, 50)))
        params = [layer.weight, layer.bias]
        zeros = np.zeros((50, 30), order="C" if grad_order == "C" else "F")
        layer.weight.grad, layer.bias.grad = tl.from_numpy(zeros), tl.zeros(50)

        def epoch(order: tl.Tensor) -> tl.Tensor:
            norms = tl.zeros(())
            for k in range(order.shape[0]):
                ((layer(x[order[k]]) - y[order[k]]) ** 2).mean().backward()
                with tl.no_grad():
                    for p in params:
                        norms = norms + (p.grad * p.grad).sum()
                _sgd(params)
            return norms

        return epoch, params

    def between(params: list[tl.Tensor], k: int) -> None:
        if grad_order == "F then C" and k == 4:
            params[0].grad = tl.zeros(50, 30)

    eager, fast, plain = _runs(make, [(ORDER,)] * 7, monkeypatch, between)
    compiled = _agree([eager, fast, plain])
    assert [a.tobytes() for a in fast[1]] == [a.tobytes() for a in eager[1]]
    weight_left_out = "layer_weight_grad" in _left_out(compiled)
    assert weight_left_out == (grad_order == "F") and "layer_bias_grad" in _left_out(compiled)


# --- a step between the add and the fill that would see the zeros ------------------------------


@pytest.mark.parametrize("between_add_and_fill",
                         ["view", "write", "clip", "shared", "set_to_none"])  # fmt: skip
def test_a_step_that_would_see_the_zeros_keeps_the_add(
    between_add_and_fill: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the add and the fill, a step reads a view of the .grad, writes it, scales it
    (clip_grad_norm_) or gives it to another tensor: the add is made where it was. (Set to
    None after the fill, the .grad is made anew by the next backward.)"""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        w, other = params[0], tl.zeros(3, 1, requires_grad=True)

        def epoch(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                _loss(params, x, y, order[k]).backward()
                with tl.no_grad():
                    if between_add_and_fill == "view":
                        w.sub_(0.1 * w.grad.T.T)
                    elif between_add_and_fill == "write":
                        w.grad.mul_(0.5)
                    elif between_add_and_fill == "clip":
                        tl.nn.utils.clip_grad_norm_(params, 0.1)
                    elif between_add_and_fill == "shared":
                        other.grad = w.grad  # the same tensor: zeroed with it below
                _sgd(params)
                if between_add_and_fill == "set_to_none":
                    w.grad = None

        return epoch, [*params, other]

    compiled = _agree(_runs(make, [(ORDER,)] * 4, monkeypatch))
    if between_add_and_fill == "set_to_none":  # after the fill: backward makes a new .grad
        assert "_params_0._grad = _tensor(" in compiled.code
    assert "params_0_grad" not in _left_out(compiled)


def test_a_view_of_a_grad_made_before_the_add_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`seen` views w.grad before backward adds into it, and is read after: it sees the sum."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        w = params[0]
        w.grad, params[1].grad = tl.zeros(3, 1), tl.zeros(1)

        def epoch(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                seen = w.grad.T
                _loss(params, x, y, order[k]).backward()
                with tl.no_grad():
                    w.sub_(0.1 * seen.T)
                    for p in params:
                        p.grad.zero_()

        return epoch, params

    compiled = _agree(_runs(make, [(ORDER,)] * 4, monkeypatch))
    assert _left_out(compiled) == {"params_1_grad"}


def test_a_view_of_a_grad_made_after_the_add_and_read_after_the_fill_sees_zeros(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        w = params[0]

        def epoch(order: tl.Tensor) -> tl.Tensor:
            total = tl.zeros(())
            for k in range(order.shape[0]):
                _loss(params, x, y, order[k]).backward()
                seen = w.grad.T
                _sgd(params)
                total = total + (seen * seen).sum()
            return total

        return epoch, params

    compiled = _agree(_runs(make, [(ORDER,)] * 4, monkeypatch))
    assert _left_out(compiled) == {"params_1_grad"}


# --- an error between the add and the fill -------------------------------------------------


def _error_epoch(raising: str) -> tuple[Callable[..., Any], list[tl.Tensor]]:
    """An epoch whose update computes a value that may raise, between the add and the fill:
    from the batch's first row number, a row of x (an index out of range), an item of `marks`
    (the same) or a power of an integer (negative); or from `scales`, an exp (overflowing)."""
    params, x, y = _model()
    marks, base = tl.zeros(40), tl.tensor(np.array([2, 3]))

    def epoch(order: tl.Tensor, scales: tl.Tensor) -> None:
        for k in range(order.shape[0]):
            _loss(params, x, y, order[k]).backward()
            with tl.no_grad():
                first = order[k][0]
                if raising == "index":
                    factor = x[first * 10].sum()
                elif raising == "item assignment":
                    marks[first * 10] = 1.0
                    factor = marks.sum()
                elif raising == "integer power":
                    factor = (base**first).sum() * 0.0 + 1.0
                else:
                    factor = (scales[k] * 100.0).exp() * 0.0 + 1.0
                for p in params:
                    p -= 0.1 * factor * p.grad
                    p.grad.zero_()

    return epoch, params


def _calls(raising: str) -> tuple[tuple[tl.Tensor, tl.Tensor], tuple[tl.Tensor, tl.Tensor]]:
    """A call that raises nothing, and one that raises in its third batch."""
    order, scales = ORDER.detach().numpy() // 10, np.ones(8)  # rows 0 to 3 (0 to 30)
    bad_order, bad_scales = order.copy(), scales.copy()
    if raising == "overflow":
        bad_scales[2] = 8.0
    else:  # row 90 of 40, or 2 ** -1
        bad_order[2, 0] = -1 if raising == "integer power" else 9
    return (tl.tensor(order), tl.tensor(scales)), (tl.tensor(bad_order), tl.tensor(bad_scales))


@pytest.mark.parametrize("raising", ["index", "item assignment", "integer power", "overflow"])
def test_an_error_between_the_add_and_the_fill_leaves_the_grad_as_eager_does(
    raising: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The add is made: with np.errstate(over="raise") on when recorded, any op may raise."""
    good, bad = _calls(raising)
    states, runs = [], []
    for compiled, fast in MODES:
        monkeypatch.setattr(plan, "SKIP_ADDS_TO_ZEROS", fast)
        fn, params = _error_epoch(raising)
        run = tl.compile(fn) if compiled else fn
        with np.errstate(over="raise" if raising == "overflow" else "warn"):
            for _ in range(3):
                run(*good)
            with pytest.raises((IndexError, ValueError, FloatingPointError)):
                run(*bad)
        states.append(_state(params))
        runs.append(run)
    _same_states(states)
    assert np.any(states[0][1] != 0)  # w.grad holds the sum when the error comes
    assert runs[1].code is not None and not _left_out(runs[1])


@pytest.mark.parametrize("raising", ["errstate", "warnings as errors"])
def test_numpy_set_to_raise_after_recording_records_again(
    raising: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded while NumPy warns, the program leaves adds out; called while it raises (or
    while its RuntimeWarnings are errors), the check before the call sends it to be recorded
    again, as any op could now raise."""
    good, bad = _calls("overflow")
    states = []
    for compiled, fast in MODES:
        monkeypatch.setattr(plan, "SKIP_ADDS_TO_ZEROS", fast)
        fn, params = _error_epoch("overflow")
        run = tl.compile(fn) if compiled else fn
        for _ in range(3):
            run(*good)
        assert _left_out(run) if compiled and fast else True
        with warnings.catch_warnings(), np.errstate(over="warn"):
            if raising == "errstate":
                np.seterr(over="raise")
            else:
                warnings.simplefilter("error", RuntimeWarning)
            with pytest.raises((FloatingPointError, RuntimeWarning)):
                run(*bad)
        states.append(_state(params))
    _same_states(states)
    assert np.any(states[0][1] != 0)


# --- any mix of steps, compared with the plain path and with eager ----------------------------

_ACTIONS = ["backward", "sgd", "zero", "momentum", "view", "scale", "none", "read", "keep",
            "use_kept", "share"]  # fmt: skip


def _mixed(actions: list[str]) -> Make:
    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model(3)
        w, other = params[0], tl.zeros(3, 1, requires_grad=True)
        buffer = tl.zeros(3, 1)

        def epoch(order: tl.Tensor) -> tl.Tensor:
            seen, kept = tl.zeros(()), None  # kept: a view of w.grad, read later
            for k in range(order.shape[0]):
                for action in actions:
                    if action == "backward":
                        _loss(params, x, y, order[k]).backward()
                        continue
                    with tl.no_grad():
                        grad = w.grad
                        if action == "none":
                            w.grad = None
                        elif action == "share":
                            other.grad = grad
                        elif action == "use_kept" and kept is not None:
                            seen = seen + (kept * kept).sum()
                        elif grad is None:
                            continue
                        elif action == "zero":
                            grad.zero_()
                        elif action == "sgd":
                            w.sub_(0.1 * grad)
                        elif action == "momentum":
                            buffer.mul_(0.9).add_(grad)
                            w.sub_(0.1 * buffer)
                        elif action == "view":
                            seen = seen + grad.T.sum()
                        elif action == "scale":
                            grad.mul_(0.5)
                        elif action == "read":
                            seen = seen + (grad * 2.0).sum()
                        elif action == "keep":
                            kept = grad.T
            return seen

        return epoch, [*params, other, buffer]

    return make


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["", "keep", "zero", "none", "share", "sgd"]),
       st.lists(st.sampled_from(_ACTIONS), max_size=4), st.booleans())  # fmt: skip
def test_any_mix_of_adds_fills_and_reads_replays_as_eager(
    before: str, after: list[str], zero_last: bool
) -> None:
    """Each batch: a step, backward, some more, and perhaps `w.grad.zero_()`; six calls,
    three of them replays."""
    actions = [*([before] if before else []), "backward", *after, *(["zero"] * zero_last)]
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as monkeypatch:
        warnings.simplefilter("ignore", CompileWarning)  # a mix that runs eagerly
        compiled = _agree(_runs(_mixed(actions), [(ORDER[:4],)] * 6, monkeypatch), False)
    if compiled.code is None:
        event("runs eagerly")
    else:
        event("adds left out" if _left_out(compiled) else "nothing left out")
