"""Anomaly detection: inside `detect_anomaly()` each op remembers where it was created, and the
first backward that makes a NaN or an infinity stops the pass with an error naming the op and
that line of user code. Outside it nothing is checked, as in PyTorch."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import nn

THIS_FILE = Path(__file__).resolve()


def line_of(marker: str) -> int:
    """The line number of the one line of this file that ends with `# <marker>`."""
    lines = THIS_FILE.read_text().splitlines()
    found = [n for n, line in enumerate(lines, start=1) if line.rstrip().endswith(f"# {marker}")]
    assert len(found) == 1, marker
    return found[0]


def names_origin(message: str, marker: str) -> bool:
    return f"{THIS_FILE}:{line_of(marker)}" in message


@pytest.fixture(autouse=True)
def quiet_numpy():
    # The point of these tests is to produce NaN and inf; NumPy's warnings would only add noise.
    with np.errstate(all="ignore"):
        yield


def test_nan_in_backward_names_the_op_and_the_line_that_made_it():
    x = tl.tensor([0.0, 1.0], requires_grad=True)
    with tl.detect_anomaly():
        root = x.sqrt()  # origin: sqrt
        loss = (root * 0.0).sum()  # d sqrt(x)/dx at 0 is inf, and inf * 0 is NaN
        with pytest.raises(RuntimeError) as caught:
            loss.backward()
    message = str(caught.value)
    assert "SqrtBackward" in message and "sqrt" in message
    assert "input 0 of shape (2,)" in message
    assert names_origin(message, "origin: sqrt")
    assert "root = x.sqrt()" in message


def test_inf_in_backward_is_caught_too():
    x = tl.tensor([0.0, 2.0], requires_grad=True)
    with tl.detect_anomaly():
        y = tl.log(x)  # origin: log through tl.log
        with pytest.raises(RuntimeError, match="LogBackward") as caught:
            y.sum().backward()
    # tl.log is in the library; the line named is the caller's
    assert names_origin(str(caught.value), "origin: log through tl.log")


def test_ops_made_inside_a_layer_point_at_the_users_line():
    layer = nn.Linear(2, 1)
    x = tl.tensor([[1e200, 1e200]])
    with tl.detect_anomaly():
        loss = nn.functional.mse_loss(layer(x), tl.tensor([[0.0]]))  # origin: in a layer
        with pytest.raises(RuntimeError) as caught:
            loss.backward()
    assert names_origin(str(caught.value), "origin: in a layer")
    assert "tinygrad_lr" + "/nn" not in str(caught.value).split("created at")[-1]


def test_the_first_bad_op_is_named_not_a_later_one():
    x = tl.tensor([0.0, 4.0], requires_grad=True)
    with tl.detect_anomaly():
        y = x.sqrt()  # origin: first bad
        z = (y * 3).exp()
        with pytest.raises(RuntimeError) as caught:
            z.sum().backward()
    message = str(caught.value)
    # the backward pass meets exp and mul first, which stay finite; sqrt is the culprit
    assert message.startswith("SqrtBackward") and names_origin(message, "origin: first bad")


def test_nan_and_inf_are_counted():
    x = tl.tensor([0.0, 0.0, 1.0, -1.0], requires_grad=True)
    with tl.detect_anomaly(), pytest.raises(RuntimeError) as caught:
        # d sqrt(x)/dx is inf at 0 (times 1 here); x = -1 makes sqrt NaN already
        x.sqrt().sum().backward()
    assert "(2 inf and 1 NaN of 4 values)" in str(caught.value) or (
        "(1 NaN and 2 inf of 4 values)" in str(caught.value)
    )


def test_any_error_in_backward_says_where_the_op_was_made():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with tl.detect_anomaly():
        w = x * 1.0
        loss = (w.sin() * w).sum()  # origin: the mul that saved w
        with tl.no_grad():
            w.add_(1.0)  # changes a value saved for backward
        warns = pytest.warns(UserWarning, match="Error detected in MulBackward")
        with warns as warned, pytest.raises(RuntimeError, match="modified by an in-place"):
            loss.backward()
    assert names_origin(str(warned[0].message), "origin: the mul that saved w")
    assert Path(warned[0].filename) == THIS_FILE  # the warning points at the backward() call


def test_without_anomaly_mode_nothing_is_checked_and_the_gradient_is_nan():
    x = tl.tensor([0.0, 1.0], requires_grad=True)
    (x.sqrt() * 0.0).sum().backward()
    assert np.isnan(x.grad.numpy()[0]) and x.grad.numpy()[1] == 0.0
    assert "traceback_" not in x.sqrt().grad_fn.metadata


def test_check_nan_false_records_but_does_not_stop():
    x = tl.tensor([0.0, 1.0], requires_grad=True)
    with tl.detect_anomaly(check_nan=False):
        assert tl.autograd.is_anomaly_enabled()
        assert not tl.autograd.is_anomaly_check_nan_enabled()
        y = x.sqrt()
        assert "traceback_" in y.grad_fn.metadata
        (y * 0.0).sum().backward()
    assert np.isnan(x.grad.numpy()[0])


def test_creation_stacks_are_recorded_only_inside_the_block():
    x = tl.tensor([1.0], requires_grad=True)
    with tl.detect_anomaly():
        inside = x * 2  # origin: recorded
        assert tl.autograd.is_anomaly_enabled()
    outside = x * 2
    assert not tl.autograd.is_anomaly_enabled()
    stack = inside.grad_fn.metadata["traceback_"]  # where PyTorch keeps it too
    assert any(f.lineno == line_of("origin: recorded") for f in stack)
    assert "traceback_" not in outside.grad_fn.metadata


def test_the_mode_is_restored_after_an_error_and_when_nested():
    with pytest.raises(ValueError), tl.detect_anomaly():
        raise ValueError("boom")
    assert not tl.autograd.is_anomaly_enabled()
    with tl.detect_anomaly():
        with tl.detect_anomaly(check_nan=False):
            assert not tl.autograd.is_anomaly_check_nan_enabled()
        assert tl.autograd.is_anomaly_check_nan_enabled()
    tl.set_detect_anomaly(True)
    try:
        assert tl.autograd.is_anomaly_check_nan_enabled()
    finally:
        tl.set_detect_anomaly(False)
    assert not tl.autograd.is_anomaly_enabled()


def test_the_mode_belongs_to_one_thread():
    seen: list[bool] = []
    with tl.detect_anomaly():
        worker = threading.Thread(target=lambda: seen.append(tl.autograd.is_anomaly_enabled()))
        worker.start()
        worker.join()
    assert seen == [False]


def test_nan_from_grad_is_caught_too():
    x = tl.tensor([0.0], requires_grad=True)
    with tl.detect_anomaly():
        y = x.sqrt() * 0.0  # origin: through grad
        with pytest.raises(RuntimeError, match="SqrtBackward") as caught:
            tl.grad(y.sum(), x)
    assert names_origin(str(caught.value), "origin: through grad")


finite = hnp.arrays(
    np.float64, hnp.array_shapes(max_dims=2, max_side=4), elements=st.floats(0.5, 3.0)
)


@given(x=finite)
def test_anomaly_mode_changes_no_finite_result(x):
    def gradient(anomaly: bool) -> np.ndarray:
        t = tl.tensor(x, requires_grad=True)
        with tl.detect_anomaly() if anomaly else tl.enable_grad():
            ((t.sqrt() * t.log()).exp() / t).sum().backward()
        assert t.grad is not None
        return t.grad.numpy()

    np.testing.assert_array_equal(gradient(True), gradient(False))


def test_pytorch_agrees_on_modes_and_on_stopping_at_nan():
    torch = pytest.importorskip("torch")

    def run(lib: Any, check_nan: bool) -> tuple[bool, bool, str]:
        x = lib.tensor([0.0, 1.0], requires_grad=True)
        modes = lib.autograd if lib is tl else lib
        # PyTorch warns that the mode is slow when it is switched on.
        warns = pytest.warns(UserWarning) if lib is torch else tl.enable_grad()
        with warns, lib.autograd.detect_anomaly(check_nan=check_nan):
            enabled = (modes.is_anomaly_enabled(), modes.is_anomaly_check_nan_enabled())
            try:
                (x.sqrt() * 0.0).sum().backward()
            except RuntimeError as error:
                return (*enabled, str(error))
        return (*enabled, "")

    for check_nan in (True, False):
        ours, theirs = run(tl, check_nan), run(torch, check_nan)
        assert ours[:2] == theirs[:2]
        assert ("Sqrt" in ours[2]) == ("Sqrt" in theirs[2]) == check_nan
