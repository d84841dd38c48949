"""What `tinygrad-lr` prints: progress, epoch lines, the summary, the JSON result, the figure.

Every figure says what it is: the epoch loss is the chapter's squared loss (y_hat - y)^2 / 2,
half the mean squared error; the summary gives MSE and R^2 for the fit and for the closed form.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from typing import Any, TextIO

import numpy as np

from .._atomic import atomic_write
from ..linear_regression import parameter_errors
from .options import UsageError
from .tables import DELIMITER_WORDS, Dataset
from .training import MSE_TOLERANCE, R2_TOLERANCE, Fit

PROGRESS_AFTER_SECONDS = 2.0
LOSS_NAME = "squared loss (y_hat - y)^2/2, half the MSE"


class Progress:
    """Epoch, steps per second and the time left, on stderr. By default only on a terminal and
    only once a run has taken a couple of seconds, so quick runs, pipes and tests stay clean;
    `always` (--progress) shows it from the start, one line every half second."""

    def __init__(self, max_epochs: int, stopping_early: bool, stream: TextIO, always: bool) -> None:
        self.max_epochs = max_epochs
        self.stopping_early = stopping_early
        self.stream = stream
        self.live = stream.isatty()
        self.enabled = always or self.live
        self.delay = 0.0 if always else PROGRESS_AFTER_SECONDS
        self.start = time.perf_counter()
        self.last_shown = -math.inf
        self.shown = False

    def __call__(self, epoch: int, batch: int, num_batches: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter() - self.start
        if now < self.delay or now - self.last_shown < (0.2 if self.live else 0.5):
            return
        self.last_shown = now
        self.shown = True
        done = (epoch - 1) * num_batches + batch
        rate = done / now if now > 0 else math.inf
        left = (self.max_epochs * num_batches - done) / rate if rate > 0 else math.inf
        text = (
            f"epoch {epoch}/{self.max_epochs}{' (at most)' if self.stopping_early else ''}, "
            f"batch {batch}/{num_batches}, {rate:.0f} steps/s, "
            f"{'at most ' if self.stopping_early else ''}{_duration(left)} left"
        )
        self.stream.write(f"\r{text}\033[K" if self.live else text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """Clear a progress line from the terminal, before other output or at the end."""
        if self.shown and self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "? s"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def shows_epoch(epoch: int) -> bool:
    """Epochs 1-10, then 20, 30, ... 100, then 200, 300, ...: a long run stays readable."""
    step = 10 ** max(0, len(str(epoch)) - 1)
    return epoch <= 10 or epoch % step == 0


def epoch_line(epoch: int, loss: float) -> str:
    return f"epoch {epoch}, loss {loss:f}"


def _vector(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"


def print_header(
    data: Dataset, test: Dataset | None, args: argparse.Namespace, out: TextIO
) -> None:
    if data.true_w is not None:
        print(
            f"data: {data.rows} synthetic examples, y = X w + b + noise with "
            f"w = {_vector(data.true_w)}, b = {data.true_b:g}, noise {args.noise:g}",
            file=out,
        )
    else:
        delimiter = DELIMITER_WORDS.get(data.delimiter or ",", repr(data.delimiter))
        dropped = (
            f", {len(data.dropped_lines)} with missing values dropped" if data.dropped_lines else ""
        )
        print(
            f"data: {data.rows + (test.rows if test else 0)} rows of {data.source} "
            f"({delimiter}-separated{dropped}), target {data.target}, "
            f"features {', '.join(data.feature_names)}",
            file=out,
        )
        scaling = "standardised features" if not args.no_standardize else "raw features"
        held = f"; {test.rows} rows held out for testing" if test else ""
        print(f"training on {data.rows} rows, {scaling}{held}", file=out)
    print(f"loss per epoch: {LOSS_NAME}, over all training rows", file=out)


def print_summary(result: Fit, args: argparse.Namespace, out: TextIO) -> None:
    data, history = result.train, result.history
    if history.stopped == "plateau":
        print(
            f"stopped after {history.epochs} epochs: the loss has not improved by 0.01% in "
            f"{args.patience} epochs; keeping epoch {history.best_epoch} "
            f"(loss {min(history.losses):f})",
            file=out,
        )
    elif args.patience is not None:
        print(
            f"stopped at the limit of {history.epochs} epochs, the loss still improving", file=out
        )
    if data.true_w is not None and data.true_b is not None:
        report = parameter_errors(data.true_w, data.true_b, result.w, result.b)
        print(f"error in estimating w: {_vector(report.error_w)}", file=out)
        print(f"error in estimating b: {report.error_b:.6g}", file=out)
        gap = max(np.max(np.abs(result.w - result.exact_w)), abs(result.b - result.exact_b))
        print(
            f"closed-form least squares: w = {_vector(result.exact_w)}, b = {result.exact_b:.6g}; "
            f"largest |SGD - closed form| over w and b: {gap:.3g}",
            file=out,
        )
    else:
        width = max(len(name) for name in data.feature_names)
        print(f"{'':{width + 3}}  {'SGD':>12}  {'closed form':>12}", file=out)
        for name, value, exact in zip(data.feature_names, result.w, result.exact_w):
            print(f"w[{name}]{'':{width - len(name)}}  {value:12.6g}  {exact:12.6g}", file=out)
        print(f"b{'':{width + 2}}  {result.b:12.6g}  {result.exact_b:12.6g}", file=out)
    fit, exact = result.metrics(data), result.closed_form_metrics(data)
    print(f"fit, training rows:     MSE {fit.mse:.6g}, R^2 {fit.r2:.6f}", file=out)
    print(f"closed form (lstsq):    MSE {exact.mse:.6g}, R^2 {exact.r2:.6f}", file=out)
    if result.test is not None:
        held, held_exact = result.metrics(result.test), result.closed_form_metrics(result.test)
        print(
            f"fit, {result.test.rows} held-out rows: MSE {held.mse:.6g}, R^2 {held.r2:.6f} "
            f"(closed form: MSE {held_exact.mse:.6g}, R^2 {held_exact.r2:.6f})",
            file=out,
        )
    if result.status == "converged":
        above = 100 * (fit.mse / exact.mse - 1) if exact.mse > 0 else 0.0
        why = (
            f"within {100 * MSE_TOLERANCE:g}%"
            if above <= 100 * MSE_TOLERANCE
            else f"and R^2 within {R2_TOLERANCE:g}"
        )
        print(
            f"converged: the fit's MSE is {above:.2g}% above the closed form's ({why}); "
            f"training took {history.seconds:.2f} s",
            file=out,
        )


def _number(value: float) -> float | None:
    """JSON has no NaN or infinity: a diverged value becomes null."""
    return float(value) if math.isfinite(value) else None


def _metrics_json(result: Fit, data: Dataset) -> dict[str, Any]:
    fit, exact = result.metrics(data), result.closed_form_metrics(data)
    return {
        "rows": data.rows,
        "mse": _number(fit.mse),
        "r2": _number(fit.r2),
        "closed_form": {"mse": _number(exact.mse), "r2": _number(exact.r2)},
    }


def result_json(result: Fit, args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    data, history = result.train, result.history
    train = _metrics_json(result, data)
    payload: dict[str, Any] = {
        "status": result.status,
        "converged": result.status == "converged",
        "mse": train["mse"],
        "r2": train["r2"],
        "closed_form": {
            **train["closed_form"],
            "coefficients": dict(zip(data.feature_names, result.exact_w.tolist())),
            "bias": result.exact_b,
        },
        "coefficients": {name: _number(value) for name, value in zip(data.feature_names, result.w)},
        "bias": _number(result.b),
        "loss": LOSS_NAME,
        "losses": [_number(loss) for loss in history.losses],
        "epochs_run": history.epochs,
        "best_epoch": history.best_epoch,
        "stopped": "diverged" if result.diverged else history.stopped,
        "seconds": seconds,
        "data": {
            "source": data.source,
            "rows": data.rows + (result.test.rows if result.test else 0),
            "training_rows": data.rows,
            "target": data.target,
            "features": data.feature_names,
            "dropped_lines": data.dropped_lines,
        },
        "options": {
            "standardize": result.standardized,
            "optimizer": args.optimizer,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "epochs": args.epochs,
            "patience": args.patience,
            "seed": args.seed,
            "test_fraction": args.test_fraction,
            "delimiter": data.delimiter,
            "missing": args.missing,
        },
    }
    if result.standardized:
        payload["options"]["standardization"] = {
            "mean": result.mean.tolist(),
            "std": result.std.tolist(),
        }
    if result.test is not None:
        payload["test"] = _metrics_json(result, result.test)
    if data.true_w is not None and data.true_b is not None:
        report = parameter_errors(data.true_w, data.true_b, result.w, result.b)
        payload["data"].update(true_w=data.true_w.tolist(), true_b=data.true_b, noise=args.noise)
        payload["errors"] = {
            "w": [_number(v) for v in report.error_w],
            "b": _number(report.error_b),
        }
    return payload


def check_plotting(path: str) -> None:
    """Fail before training, not after, when the figure cannot be drawn in that format."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise UsageError(
            "--plot needs matplotlib: pip install matplotlib "
            '(from a checkout: pip install ".[plot]")'
        ) from None
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    if extension not in FigureCanvasBase.get_supported_filetypes():
        raise UsageError(
            f"--plot {path}: unsupported file type {extension or '(none)'!r}; "
            "use e.g. .png, .svg or .pdf"
        )


def save_plot(result: Fit, path: str) -> None:
    """Data with the fitted line (or, for several features, predictions against targets) and the
    loss per epoch; written to a temporary file first so a failure leaves no partial figure."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    data = result.train
    figure = Figure(figsize=(9, 3.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    if data.features.shape[1] == 1:
        x = data.features[:, 0]
        left.scatter(x, data.labels, s=8, alpha=0.6, label="data")
        line_x = np.array([x.min(), x.max()])
        left.plot(line_x, result.w[0] * line_x + result.b, "r", label="fitted line")
        left.set_xlabel(data.feature_names[0])
        left.set_ylabel(data.target)
    else:
        left.scatter(data.labels, result.predict(data.features), s=8, alpha=0.6, label="rows")
        limits = np.array([data.labels.min(), data.labels.max()])
        left.plot(limits, limits, "r", label="prediction = target")
        left.set_xlabel(f"target ({data.target})")
        left.set_ylabel("prediction")
    left.legend()
    left.set_title("fit")
    epochs = np.arange(1, len(result.history.losses) + 1)
    right.plot(epochs, result.history.losses, "o-" if len(epochs) <= 50 else "-")
    if result.history.losses and min(result.history.losses) > 0:
        right.set_yscale("log")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_xlabel("epoch")
    right.set_ylabel("loss (y_hat - y)^2 / 2")
    right.set_title("training loss (half the MSE)")
    file_format = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    with atomic_write(path) as file:
        figure.savefig(file, format=file_format)
