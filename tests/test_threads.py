"""Grad mode is per thread, as in PyTorch: `no_grad` in one thread leaves the others recording."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

import tinygrad_lr as tl

STEPS = 30
LR = 0.1


def _run_together(*workers: Callable[[threading.Barrier], None]) -> None:
    """Run the workers in threads that wait for each other at every barrier, so each step of
    one runs while the other is inside its own grad mode; re-raise the first failure."""
    barrier = threading.Barrier(len(workers), timeout=60)
    errors: list[BaseException] = []

    def guarded(worker: Callable[[threading.Barrier], None]) -> None:
        try:
            worker(barrier)
        except BaseException as error:  # reported in the main thread below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=guarded, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))
    y = x @ np.array([[1.5], [-2.0], [0.5]]) + 0.3
    return x, y, rng.normal(size=(3, 1))


def test_two_threads_train_at_once_one_under_no_grad() -> None:
    """Thread A fits w by autograd; thread B, entirely under no_grad, fits the same w with the
    hand-derived gradient 2 X^T (X w - y) / n. Both must record exactly what they should, and
    end at the same w."""
    x_array, y_array, start = _data()
    results: dict[str, np.ndarray] = {}

    def autograd_worker(barrier: threading.Barrier) -> None:
        x, y = tl.tensor(x_array), tl.tensor(y_array)
        w = tl.tensor(start, requires_grad=True)
        for _ in range(STEPS):
            barrier.wait()  # B is inside its no_grad block now
            assert tl.is_grad_enabled()
            loss = ((x @ w - y) ** 2).mean()
            assert loss.grad_fn is not None, "no_grad in the other thread stopped recording here"
            loss.backward()
            with tl.no_grad():
                assert w.grad is not None
                w -= LR * w.grad
            w.grad = None
            barrier.wait()
        results["autograd"] = w.detach().numpy().copy()

    def no_grad_worker(barrier: threading.Barrier) -> None:
        x, y = tl.tensor(x_array), tl.tensor(y_array)
        w = tl.tensor(start, requires_grad=True)
        with tl.no_grad():
            for _ in range(STEPS):
                barrier.wait()  # A is recording now
                assert not tl.is_grad_enabled()
                residual = x @ w - y
                grad = 2.0 * (x.T @ residual) / len(x)
                assert residual.grad_fn is None and not grad.requires_grad
                w -= LR * grad
                barrier.wait()
        assert tl.is_grad_enabled()
        results["no_grad"] = w.detach().numpy().copy()

    _run_together(autograd_worker, no_grad_worker)
    np.testing.assert_allclose(results["autograd"], results["no_grad"], rtol=1e-12)
    # and both actually trained: the loss went down from the start
    for w in results.values():
        assert np.mean((x_array @ w - y_array) ** 2) < np.mean((x_array @ start - y_array) ** 2)


def test_a_new_thread_records_even_while_the_main_thread_is_in_no_grad() -> None:
    seen: list[bool] = []

    def worker() -> None:
        seen.append(tl.is_grad_enabled())
        seen.append((tl.ones(2, requires_grad=True) * 2).requires_grad)

    with tl.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=60)
        assert not tl.is_grad_enabled()
    assert seen == [True, True]
    assert tl.is_grad_enabled()


def test_a_no_grad_decorated_function_in_two_threads() -> None:
    """Each call of a decorated function sets and restores the mode of its own thread only."""

    @tl.no_grad()
    def evaluate(w: tl.Tensor, barrier: threading.Barrier) -> tl.Tensor:
        barrier.wait()  # both threads are inside the decorated function
        out = w * 3.0
        barrier.wait()
        return out

    outputs: dict[str, tl.Tensor] = {}

    def make_worker(name: str) -> Callable[[threading.Barrier], None]:
        def worker(barrier: threading.Barrier) -> None:
            w = tl.ones(2, requires_grad=True)
            outputs[name] = evaluate(w, barrier)
            assert tl.is_grad_enabled()
            outputs[name + " after"] = w * 3.0

        return worker

    _run_together(make_worker("a"), make_worker("b"))
    for name in ("a", "b"):
        assert not outputs[name].requires_grad
        assert outputs[name + " after"].grad_fn is not None
