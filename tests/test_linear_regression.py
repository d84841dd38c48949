"""Linear regression: parameter recovery, the closed form, fit's history and failures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr.data import synthetic_data
from tinygrad_lr.linear_regression import (
    DivergedError,
    LinearRegression,
    fit,
    full_loss,
    least_squares,
    mean_squared_error,
    parameter_errors,
    r2_score,
)

TRUE_W, TRUE_B = np.array([2.0, -3.4]), 4.2


@pytest.mark.parametrize("seed", range(5))
def test_d2l_setup_recovers_w_and_b_within_5e_3_after_3_epochs(seed: int) -> None:
    x, y = synthetic_data(TRUE_W, TRUE_B, 1000, noise=0.01, seed=seed)
    model = LinearRegression(2, seed=seed)
    history = fit(model, x, y, epochs=3, batch_size=10, lr=0.03, seed=seed)
    report = parameter_errors(TRUE_W, TRUE_B, model.w, model.b)
    assert np.all(np.abs(report.error_w) < 5e-3) and abs(report.error_b) < 5e-3
    assert history.epochs == 3
    assert history.losses[0] < 0.1 and history.losses[-1] < 2e-4  # the chapter's range
    assert history.losses[-1] < history.losses[0]


def test_zero_initialisation_works_too() -> None:
    # The chapter's first exercise: the loss is convex, so w = 0 is a fine start.
    x, y = synthetic_data(TRUE_W, TRUE_B, 1000, seed=0)
    model = LinearRegression(2, init="zeros")
    fit(model, x, y, epochs=3, seed=0)
    assert parameter_errors(TRUE_W, TRUE_B, model.w, model.b).max_abs_error < 5e-3


def test_adam_also_recovers_the_parameters() -> None:
    x, y = synthetic_data(TRUE_W, TRUE_B, 1000, seed=0)
    model = LinearRegression(2, seed=0)
    fit(model, x, y, epochs=10, lr=0.1, optimizer="adam", seed=0)
    assert parameter_errors(TRUE_W, TRUE_B, model.w, model.b).max_abs_error < 2e-2


@given(
    hnp.arrays(np.float64, st.integers(1, 4), elements=st.floats(-10, 10)),
    st.floats(-10, 10),
    st.integers(8, 50),
    st.integers(0, 1000),
)
def test_least_squares_is_exact_on_noiseless_data(
    w: np.ndarray, b: float, n: int, seed: int
) -> None:
    x, y = synthetic_data(w, b, n, noise=0.0, seed=seed)
    exact_w, exact_b = least_squares(x, y)
    np.testing.assert_allclose(exact_w, w, atol=1e-9)
    assert exact_b == pytest.approx(b, abs=1e-9)


def test_full_batch_gradient_descent_converges_to_the_closed_form_solution() -> None:
    # One batch of all the data: no sampling noise, so the iterates contract onto w*, b*.
    x, y = synthetic_data(TRUE_W, TRUE_B, 500, noise=0.5, seed=2)
    model = LinearRegression(2, seed=2)
    fit(model, x, y, epochs=200, batch_size=500, lr=0.5, seed=2)
    exact_w, exact_b = least_squares(x, y)
    np.testing.assert_allclose(model.w, exact_w, atol=1e-9)
    assert model.b == pytest.approx(exact_b, abs=1e-9)
    assert parameter_errors(TRUE_W, TRUE_B, exact_w, exact_b).max_abs_error > 1e-3  # noise is real


def test_fit_reports_each_epoch_and_each_batch() -> None:
    x, y = synthetic_data(TRUE_W, TRUE_B, 95, seed=0)
    epochs, batches = [], []
    model = LinearRegression(2, seed=0)
    history = fit(
        model, x, y, epochs=2, batch_size=10, seed=0,
        on_epoch=lambda e, loss: epochs.append((e, loss)),
        on_batch=lambda e, b, n: batches.append((e, b, n)),
    )  # fmt: skip
    assert [e for e, _ in epochs] == [1, 2] and [loss for _, loss in epochs] == history.losses
    assert len(batches) == 20 and batches[-1] == (2, 10, 10)  # 9 full batches and one of 5
    assert history.losses[-1] == pytest.approx(full_loss(model, x, y))


def test_fit_accepts_numpy_arrays_and_flat_labels() -> None:
    x, y = synthetic_data(TRUE_W, TRUE_B, 200, seed=0)
    model = LinearRegression(2, seed=0)
    fit(model, x.numpy(), y.numpy().ravel(), epochs=15, seed=0)
    assert parameter_errors(TRUE_W, TRUE_B, model.w, model.b).max_abs_error < 5e-3


def test_a_too_large_learning_rate_is_reported_as_divergence() -> None:
    x, y = synthetic_data(TRUE_W, TRUE_B, 100, seed=0)
    with (
        np.errstate(all="ignore"),
        pytest.raises(DivergedError, match="smaller learning rate than 50"),
    ):
        fit(LinearRegression(2, seed=0), x * 1000, y, epochs=5, lr=50.0, seed=0)


def test_parameter_errors_use_the_chapters_sign() -> None:
    report = parameter_errors([2.0, -3.4], 4.2, [1.9, -3.0], 4.0)
    np.testing.assert_allclose(report.error_w, [0.1, -0.4])
    assert report.error_b == pytest.approx(0.2) and report.max_abs_error == pytest.approx(0.4)
    with pytest.raises(ValueError, match="true w has 2 values, learned w has 3"):
        parameter_errors([1, 2], 0, [1, 2, 3], 0)


def test_model_shapes_and_init_modes() -> None:
    model = LinearRegression(3, seed=0)
    assert model.weight.shape == (1, 3) and model.bias.shape == (1,) and model.b == 0.0
    assert np.all(np.abs(model.w) < 0.06)  # N(0, 0.01^2)
    assert model(tl.zeros(4, 3)).shape == (4, 1)
    assert [n for n, _ in model.named_parameters()] == ["linear.weight", "linear.bias"]
    with pytest.raises(ValueError, match="init must be"):
        LinearRegression(2, init="ones")


def test_a_loss_that_grows_by_orders_of_magnitude_is_divergence_even_while_finite() -> None:
    x, y = synthetic_data(TRUE_W, TRUE_B, 200, seed=0)
    with pytest.raises(DivergedError, match="times the starting loss") as caught:
        fit(LinearRegression(2, seed=0), x * 30, y, epochs=3, lr=0.05, seed=0)
    history = caught.value.history
    assert np.isfinite(caught.value.loss) and caught.value.loss > 1e3 * history.initial_loss
    assert history.epochs == 0 and caught.value.where == "the end of epoch 1"


def test_patience_stops_at_a_plateau_and_keeps_the_best_epoch() -> None:
    x, y = synthetic_data(TRUE_W, TRUE_B, 300, noise=0.5, seed=3)
    model = LinearRegression(2, seed=3)
    history = fit(model, x, y, epochs=500, lr=0.05, patience=4, tolerance=1e-3, seed=3)
    assert history.stopped == "plateau" and history.epochs < 500
    best = min(history.losses)
    assert history.losses[history.best_epoch - 1] == best
    assert full_loss(model, x, y) == pytest.approx(best, rel=1e-12)  # the best epoch's w, b
    # no epoch after the best one beat it by the tolerance, and there were `patience` of them
    assert history.epochs - history.best_epoch == 4
    assert all(loss >= best * (1 - 1e-3) for loss in history.losses[history.best_epoch :])
    without = fit(LinearRegression(2, seed=3), x, y, epochs=5, lr=0.05, seed=3)
    assert without.stopped == "epochs" and without.epochs == 5 and without.best_epoch == 5


@given(
    hnp.arrays(np.float64, st.integers(2, 30), elements=st.floats(-100, 100)),
    st.floats(-5, 5),
)
def test_mse_and_r2_follow_their_definitions(y: np.ndarray, shift: float) -> None:
    predictions = y + shift
    assert mean_squared_error(y, predictions) == pytest.approx(shift**2, abs=1e-9)
    spread = np.sum((y - y.mean()) ** 2)
    if spread > 1e-6:
        assert r2_score(y, y) == 1.0
        assert r2_score(y, np.full_like(y, y.mean())) == pytest.approx(0.0, abs=1e-12)
        expected = 1 - y.size * shift**2 / spread
        assert r2_score(y, predictions) == pytest.approx(expected, rel=1e-9, abs=1e-9)
