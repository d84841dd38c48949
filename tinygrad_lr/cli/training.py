"""Training for `tinygrad-lr` and its verdict: converged, not converged (and what to try), or
diverged (and the likely cause).

The fit is judged against the exact least-squares solution on the same rows: it has converged
when its mean squared error is within 1% of the closed form's, or when both explain the same
share of the variance to four decimals (R^2 within 1e-4, for near-noiseless data where the
residual itself is tiny and 1% of it is out of reach)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..creation import manual_seed
from ..linear_regression import (
    DivergedError,
    History,
    LinearRegression,
    fit,
    least_squares,
    mean_squared_error,
    r2_score,
)
from .tables import Dataset, streams

MSE_TOLERANCE = 0.01  # converged: the fit's MSE is at most 1% above the closed form's...
R2_TOLERANCE = 1e-4  # ...or its R^2 is this close to the closed form's
RAW_SCALE = 3.0  # a feature whose root mean square exceeds this is far from standardised
TOLERANCE = 1e-4  # an epoch improves when it lowers the best loss by more than 0.01%


@dataclass
class Metrics:
    """Mean squared error and R^2 of predictions on some rows."""

    mse: float
    r2: float

    @classmethod
    def of(cls, labels: np.ndarray, predictions: np.ndarray) -> Metrics:
        with np.errstate(over="ignore", invalid="ignore"):
            return cls(mean_squared_error(labels, predictions), r2_score(labels, predictions))


@dataclass
class Fit:
    """A finished (or diverged) run: parameters in the file's units and how good they are."""

    train: Dataset
    test: Dataset | None
    history: History
    w: np.ndarray
    b: float
    exact_w: np.ndarray
    exact_b: float
    standardized: bool
    mean: np.ndarray
    std: np.ndarray
    diverged: DivergedError | None = None

    def predict(self, features: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return features @ self.w + self.b

    def metrics(self, data: Dataset) -> Metrics:
        return Metrics.of(data.labels, self.predict(data.features))

    def closed_form_metrics(self, data: Dataset) -> Metrics:
        return Metrics.of(data.labels, data.features @ self.exact_w + self.exact_b)

    @property
    def status(self) -> str:
        """'diverged', 'converged' or 'not_converged' (see the module's docstring)."""
        if self.diverged is not None:
            return "diverged"
        return "converged" if self.is_close() else "not_converged"

    def is_close(self) -> bool:
        fit, exact = self.metrics(self.train), self.closed_form_metrics(self.train)
        if not math.isfinite(fit.mse):
            return False
        within_mse = fit.mse <= exact.mse * (1 + MSE_TOLERANCE)
        within_r2 = math.isfinite(fit.r2) and exact.r2 - fit.r2 <= R2_TOLERANCE
        return within_mse or within_r2


def _standardize(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X - mean) / std per column; a constant column keeps std 1 (it only shifts the bias)."""
    mean = features.mean(axis=0)
    std = features.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (features - mean) / std, mean, std


def train(
    args: argparse.Namespace,
    dataset: Dataset,
    test: Dataset | None,
    on_epoch: Callable[[int, float], None] | None = None,
    on_batch: Callable[[int, int, int], None] | None = None,
) -> Fit:
    """Fit by minibatch training; a divergence is kept in the result rather than raised."""
    manual_seed(args.seed)
    standardized = dataset.source != "synthetic" and not args.no_standardize
    inputs = dataset.features
    mean = np.zeros(inputs.shape[1])
    std = np.ones(inputs.shape[1])
    if standardized:
        inputs, mean, std = _standardize(inputs)
    _, init_rng, shuffle_rng, _, _ = streams(args.seed)
    model = LinearRegression(inputs.shape[1], seed=init_rng)
    diverged = None
    try:
        history = fit(
            model,
            inputs,
            dataset.labels,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            optimizer=args.optimizer,
            seed=shuffle_rng,
            patience=args.patience,
            tolerance=TOLERANCE,
            on_epoch=on_epoch,
            on_batch=on_batch,
        )
    except DivergedError as error:
        diverged, history = error, error.history
    # Back to the file's units: w.(x - mean)/std + b = (w/std).x + (b - w.mean/std).
    with np.errstate(over="ignore", invalid="ignore"):
        w = model.w / std
        b = model.b - float(np.dot(model.w, mean / std))
    exact_w, exact_b = least_squares(dataset.features, dataset.labels)
    return Fit(dataset, test, history, w, b, exact_w, exact_b, standardized, mean, std, diverged)


def divergence_advice(result: Fit, args: argparse.Namespace) -> str:
    """The likely cause of a divergence and what to do: raw feature scales under
    --no-standardize, otherwise the learning rate."""
    error = result.diverged
    assert error is not None
    what = str(error).split(";")[0]
    mean_squares = np.mean(result.train.features**2, axis=0)
    widest = int(np.argmax(mean_squares))
    scale = float(np.sqrt(mean_squares[widest]))
    if args.no_standardize and scale > RAW_SCALE:
        # Steps are stable for lr below about 2 / (largest eigenvalue of E[x x^T]); the trace
        # (plus 1 for the bias) bounds that eigenvalue, so half its inverse is a safe start.
        safe_lr = 1 / (1 + float(np.sum(mean_squares)))
        return (
            f"{what}. Likely cause: --no-standardize trains on the raw features, and "
            f"{result.train.feature_names[widest]!r} has values of size {scale:.3g}, which makes "
            f"steps of --lr {args.lr:g} overshoot. Drop --no-standardize (w and b are still "
            f"reported in the file's units), or use --lr below {safe_lr:.1g} (slow to converge)"
        )
    return (
        f"{what}. Likely cause: the learning rate {args.lr:g} is too large for these data "
        f"({args.optimizer}, batch size {args.batch_size}); try --lr {args.lr / 10:g}"
    )


def convergence_advice(result: Fit, args: argparse.Namespace) -> str | None:
    """None for a converged run; otherwise how far it ended from the closed form and what to try."""
    if result.status != "not_converged":
        return None
    fit_mse = result.metrics(result.train).mse
    exact_mse = result.closed_form_metrics(result.train).mse
    above = (
        f"{100 * (fit_mse / exact_mse - 1):.3g}% above" if exact_mse > 0 else f"{fit_mse:.3g} above"
    )
    gap = f"the fit's MSE {fit_mse:.6g} is {above} the closed form's {exact_mse:.6g}"
    tries = []
    if result.history.stopped == "epochs":
        tries.append(f"more --epochs than {result.history.epochs}")
        if args.optimizer == "adam":
            tries.append("a larger --lr (Adam moves each weight by about --lr per step)")
    else:
        tries.append("a smaller --lr or a larger --batch-size (less noise in each step)")
        tries.append(f"a larger --patience than {args.patience}")
    if args.no_standardize:
        tries.append("dropping --no-standardize")
    return f"{gap}; try {', or '.join(tries)}"
