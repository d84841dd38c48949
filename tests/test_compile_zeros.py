"""The fast path of compile/plan.py: in a program that zeroes a `.grad` and then adds into it
(a compiled epoch of SGD steps), the add and the fill after it are left out and the reads of
the `.grad` read the value added. Every test compares the fast path with the plain path
(`SKIP_ADDS_TO_ZEROS` off) and with eager: the values must be equal (`==`: the fast path may
give +0.0 where eager gives -0.0)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lr as tl
from tinygrad_lr.compile import CompileWarning, plan

Make = Callable[[], tuple[Callable[..., Any], list[tl.Tensor]]]


def _model(seed: int = 0) -> tuple[list[tl.Tensor], tl.Tensor, tl.Tensor]:
    rng = np.random.default_rng(seed)
    params = [tl.tensor(rng.standard_normal((3, 1)), requires_grad=True),
              tl.tensor(rng.standard_normal(1), requires_grad=True)]  # fmt: skip
    return params, tl.tensor(rng.standard_normal((40, 3))), tl.tensor(rng.standard_normal((40, 1)))


def _loss(params: list[tl.Tensor], x: tl.Tensor, y: tl.Tensor, batch: tl.Tensor) -> tl.Tensor:
    w, b = params
    return ((x[batch] @ w + b - y[batch]) ** 2).mean()


def _sgd_epoch(params: list[tl.Tensor], x: tl.Tensor, y: tl.Tensor) -> Callable[..., Any]:
    def epoch(order: tl.Tensor) -> None:
        for k in range(order.shape[0]):
            _loss(params, x, y, order[k]).backward()
            with tl.no_grad():
                for p in params:
                    p -= 0.1 * p.grad
                    p.grad.zero_()

    return epoch


ORDER = tl.tensor(np.arange(40).reshape(8, 5))


def _runs(make: Make, calls: list[tuple[Any, ...]],
          between: Callable[[list[tl.Tensor], int], None] | None = None,
          ) -> list[tuple[list[np.ndarray], list[Any], Any]]:  # fmt: skip
    """Eager, compiled with the fast path and compiled without it: for each, the parameters
    and their .grads after the calls, what the calls returned, and the compiled function."""
    runs = []
    for compiled, fast in ((False, True), (True, True), (True, False)):
        plan_was = plan.SKIP_ADDS_TO_ZEROS
        plan.SKIP_ADDS_TO_ZEROS = fast
        try:
            fn, params = make()
            run = tl.compile(fn) if compiled else fn
            returned = []
            for k, args in enumerate(calls):
                if between is not None:
                    between(params, k)
                out = run(*args)
                returned.append(None if out is None else out.detach().numpy().copy())
        finally:
            plan.SKIP_ADDS_TO_ZEROS = plan_was
        state = [a for p in params for a in (p.detach().numpy().copy(),
                 None if p.grad is None else p.grad.numpy().copy())]  # fmt: skip
        runs.append((state, returned, run))
    return runs


def _agree(runs: list[tuple[list[Any], list[Any], Any]]) -> Any:
    """The three runs agree; the compiled function with the fast path is returned."""
    (eager, eager_out, _), (fast, fast_out, compiled), (plain, plain_out, _) = runs
    for ours in (fast, plain):
        for a, b in zip(eager, ours):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(b, a, strict=True)
    for ours_out in (fast_out, plain_out):
        for a, b in zip(eager_out, ours_out):
            np.testing.assert_array_equal(b, a, strict=True)
    return compiled


def _statements(code: str | None) -> list[str]:
    """The code's statements, without its comments (the notes quote the adds left out)."""
    assert code is not None, "not compiled"
    return [line.split("#")[0].strip() for line in code.splitlines()]


def _program(compiled: Any) -> Any:
    assert compiled.code is not None, "not compiled"
    return compiled._latest


def test_an_epoch_adds_into_the_grads_only_in_its_first_batch() -> None:
    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        return _sgd_epoch(params, x, y), params

    compiled = _agree(_runs(make, [(ORDER,)] * 4))
    adds = [s for s in _statements(compiled.code) if "_grad += " in s]
    fills = [s for s in _statements(compiled.code) if "_grad.fill(0)" in s]
    assert len(adds) == 2 and len(fills) == 2  # the first batch's, for each parameter
    assert compiled.code.count("holds zeros") == 2 * 7  # one note for each add left out
    assert _program(compiled).separate is not None  # checked before each call


def test_a_step_alone_is_left_as_recorded() -> None:
    """A single step cannot know what its .grads hold when it starts: nothing is left out,
    and nothing more is checked before a call."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        return _sgd_epoch(params, x, y), params

    compiled = _agree(_runs(make, [(ORDER[:1],)] * 4))
    assert "holds zeros" not in compiled.code and _program(compiled).separate is None


def test_grads_with_values_when_a_call_starts_are_added_to_as_in_eager() -> None:
    """Values put into .grad between calls, through the tensor or through .numpy()."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        return _sgd_epoch(params, x, y), params

    def between(params: list[tl.Tensor], k: int) -> None:
        if k >= 2:
            with tl.no_grad():
                params[0].grad += 0.5 * k
            params[1].grad.numpy()[...] = -1.5 * k  # unseen by any version counter

    _agree(_runs(make, [(ORDER,)] * 5, between))


def test_a_grad_that_shares_memory_with_another_tensor_keeps_its_adds() -> None:
    """`z` is a view of w.grad's memory when the epoch is recorded: the adds into w.grad
    stay (the update reads z, which must see them)."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        w = params[0]
        w.grad = tl.zeros(3, 1)
        z = tl.from_numpy(w.grad.numpy().view())  # another array, the same memory

        def epoch(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                _loss(params, x, y, order[k]).backward()
                with tl.no_grad():
                    w.sub_(0.1 * z)
                    for p in params:
                        p.grad.zero_()

        return epoch, params

    compiled = _agree(_runs(make, [(ORDER,)] * 4))
    assert sum("params_0_grad += " in s for s in _statements(compiled.code)) == 8


def test_a_grad_made_to_share_memory_after_recording_is_recorded_again() -> None:
    """`z.data = ...` gives z w.grad's array between calls: the check before the call sees
    that z now shares memory with w.grad, and the epoch is recorded again, keeping the adds."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        w = params[0]
        z = tl.zeros(3, 1)
        made[:] = [z]

        def epoch(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                _loss(params, x, y, order[k]).backward()
                with tl.no_grad():
                    w.sub_(0.1 * (w.grad + z))
                    for p in params:
                        p.grad.zero_()

        return epoch, params

    made: list[tl.Tensor] = []

    def between(params: list[tl.Tensor], k: int) -> None:
        if k == 4:  # recorded three times, replayed once: now z shares w.grad's array
            made[0].data = params[0].grad.numpy().view()

    compiled = _agree(_runs(make, [(ORDER,)] * 7, between))
    # the program made again: the adds into w.grad are in its code
    assert sum("params_0_grad += " in s for s in _statements(compiled.code)) == 8


@pytest.mark.parametrize("between_add_and_fill",
                         ["view", "write", "clip", "shared", "set_to_none"])  # fmt: skip
def test_a_step_that_would_see_the_zeros_keeps_the_add(between_add_and_fill: str) -> None:
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
                    for p in params:
                        p -= 0.1 * p.grad
                        p.grad.zero_()
                    if between_add_and_fill == "set_to_none":
                        w.grad = None

        return epoch, [*params, other]

    compiled = _agree(_runs(make, [(ORDER,)] * 4))
    if between_add_and_fill == "set_to_none":  # after the fill: backward makes a new .grad
        assert "_params_0._grad = _tensor(" in compiled.code
    else:
        assert "params_0_grad holds zeros" not in compiled.code


def test_a_view_of_a_grad_made_before_the_add_keeps_it() -> None:
    """`seen` views w.grad before backward adds into it, and is read after: it must see the
    sum."""

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

    _agree(_runs(make, [(ORDER,)] * 4))


def test_a_view_of_a_grad_made_after_the_add_and_read_after_the_fill_sees_zeros() -> None:
    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()
        w = params[0]

        def epoch(order: tl.Tensor) -> tl.Tensor:
            total = tl.zeros(())
            for k in range(order.shape[0]):
                _loss(params, x, y, order[k]).backward()
                with tl.no_grad():
                    seen = w.grad.T
                    for p in params:
                        p -= 0.1 * p.grad
                        p.grad.zero_()
                    total = total + (seen * seen).sum()
            return total

        return epoch, params

    _agree(_runs(make, [(ORDER,)] * 4))


def test_an_error_between_the_add_and_the_fill_leaves_the_grad_as_eager_does() -> None:
    """The update indexes with the batch's own numbers; an index out of range stops the
    epoch after backward added into the .grads and before they are zeroed."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, x, y = _model()

        def epoch(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                _loss(params, x, y, order[k]).backward()
                with tl.no_grad():
                    for p in params:
                        p -= 0.1 * p.grad * x[order[k][0] * 10].sum()
                        p.grad.zero_()

        return epoch, params

    good = ORDER.detach().numpy() // 10
    bad = good.copy()
    bad[2, 0] = 9  # row 90 of 40
    states, runs = [], []
    for compiled, fast in ((False, True), (True, True), (True, False)):
        plan.SKIP_ADDS_TO_ZEROS, was = fast, plan.SKIP_ADDS_TO_ZEROS
        try:
            fn, params = make()
            run = tl.compile(fn) if compiled else fn
            for _ in range(3):
                run(tl.tensor(good))
            with pytest.raises(IndexError):
                run(tl.tensor(bad))
            runs.append(run)
        finally:
            plan.SKIP_ADDS_TO_ZEROS = was
        states.append([a.numpy().copy() for p in params for a in (p.detach(), p.grad)])
    for ours in states[1:]:
        for a, b in zip(states[0], ours):
            np.testing.assert_array_equal(b, a, strict=True)
    assert np.any(states[0][1] != 0)  # the first .grad holds the sum when the error comes
    fast_code = runs[1].code  # replayed, and the index between the add and the fill keeps it
    assert fast_code is not None and "holds zeros" not in fast_code


def test_an_add_whose_value_changes_before_the_fill_is_made() -> None:
    """`w.backward(g0)` adds g0 itself into w.grad; g0 then changes in place: w.grad must
    keep the value added."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, _, _ = _model()
        w, g0 = params[0], tl.ones(3, 1)
        w.grad = tl.zeros(3, 1)

        def epoch(order: tl.Tensor) -> None:
            for _ in range(order.shape[0]):
                w.backward(g0)
                with tl.no_grad():
                    g0.mul_(2.0)
                    w.sub_(0.1 * w.grad)
                    w.grad.zero_()

        return epoch, params[:1]

    compiled = _agree(_runs(make, [(ORDER,)] * 4))
    assert "holds zeros" not in compiled.code


@pytest.mark.parametrize("offset", [np.ones(1), np.full((3, 1), 0.1, dtype=np.float32)],
                         ids=["broadcast", "float32"])  # fmt: skip
def test_an_add_that_is_not_a_copy_is_made(offset: np.ndarray) -> None:
    """Added into zeros, an offset of another shape (broadcast) or dtype (cast) is not what
    the .grad then holds."""

    def make() -> tuple[Callable[..., Any], list[tl.Tensor]]:
        params, _, _ = _model()
        w, added = params[0], tl.tensor(offset)
        w.grad = tl.zeros(3, 1)

        def epoch(order: tl.Tensor) -> tl.Tensor:
            total = tl.zeros(())
            for _ in range(order.shape[0]):
                with tl.no_grad():
                    w.grad.zero_()
                    w.grad.add_(added)
                    total = total + (w.grad * w.grad).sum()
                    w.grad.zero_()
            return total

        return epoch, params[:1]

    compiled = _agree(_runs(make, [(ORDER,)] * 4))
    assert "holds zeros" not in compiled.code


# --- any mix of steps, compared with the plain path and with eager -----------------------------

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
                        if action == "zero" and grad is not None:
                            grad.zero_()
                        elif action == "sgd" and grad is not None:
                            w.sub_(0.1 * grad)
                        elif action == "momentum" and grad is not None:
                            buffer.mul_(0.9).add_(grad)
                            w.sub_(0.1 * buffer)
                        elif action == "view" and grad is not None:
                            seen = seen + grad.T.sum()
                        elif action == "scale" and grad is not None:
                            grad.mul_(0.5)
                        elif action == "none":
                            w.grad = None
                        elif action == "read" and grad is not None:
                            seen = seen + (grad * 2.0).sum()
                        elif action == "keep" and grad is not None:
                            kept = grad.T
                        elif action == "use_kept" and kept is not None:
                            seen = seen + (kept * kept).sum()
                        elif action == "share":
                            other.grad = grad
            return seen

        return epoch, [*params, other]

    return make


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["", "keep", "zero", "none", "share", "sgd"]),
       st.lists(st.sampled_from(_ACTIONS), max_size=4), st.booleans())  # fmt: skip
def test_any_mix_of_adds_fills_and_reads_replays_as_eager(
    before: str, after: list[str], zero_last: bool
) -> None:
    """Each batch: a step, backward, some more, and perhaps `w.grad.zero_()`."""
    actions = [*([before] if before else []), "backward", *after, *(["zero"] * zero_last)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)  # a mix that runs eagerly
        _agree(_runs(_mixed(actions), [(ORDER[:4],)] * 4))
