"""Linear regression end to end: the model, minibatch training, and the exact answer.

The model is y_hat = X w + b. Training minimises the chapter's squared loss
(y_hat - y)^2 / 2 averaged over each minibatch, by SGD (or Adam); because the problem is
convex, the result can be checked against the closed-form least-squares solution
w*, b* = argmin ||X w + b - y||^2, which `numpy.linalg.lstsq` computes directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import optim
from .autograd import no_grad
from .data import data_iter, generator_from
from .nn import functional
from .nn.layers import Linear
from .nn.modules import Module, Parameter
from .tensor import Tensor

ProgressCallback = Callable[[int, int, int], None]


class LinearRegression(Module):
    """y_hat = X @ w + b for X of shape (n, in_features): one Linear layer with one output.

    The d2l chapter starts from w ~ N(0, 0.01^2) and b = 0 (`init="normal"`, the default);
    `init="zeros"` is its first exercise (it works: the loss is convex), and `init="default"`
    keeps Linear's PyTorch initialisation."""

    def __init__(
        self, in_features: int, init: str = "normal", seed: int | np.random.Generator | None = None
    ) -> None:
        super().__init__()
        self.linear = Linear(in_features, 1)
        if init not in ("normal", "zeros", "default"):
            raise ValueError(
                f"LinearRegression: init must be 'normal', 'zeros' or 'default', got {init!r}"
            )
        with no_grad():
            if init == "normal":
                self.linear.weight.copy_(
                    generator_from(seed).normal(0.0, 0.01, self.linear.weight.shape)
                )
            if init in ("normal", "zeros"):
                self.linear.bias.zero_()
            if init == "zeros":
                self.linear.weight.zero_()

    def forward(self, input: Tensor) -> Tensor:
        return self.linear(input)

    @property
    def weight(self) -> Parameter:
        return self.linear.weight

    @property
    def bias(self) -> Parameter:
        return self.linear.bias

    @property
    def w(self) -> np.ndarray:
        """The learned weights as a flat array (a copy)."""
        return np.array(self.linear.weight.detach().numpy().reshape(-1), copy=True)

    @property
    def b(self) -> float:
        return float(self.linear.bias.item())


@dataclass
class History:
    """What `fit` records: the full-data loss after each epoch (the chapter's printed number),
    the loss at the starting point, why training stopped, and the epoch whose parameters the
    model ends with."""

    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    initial_loss: float = math.nan
    stopped: str = "epochs"  # "epochs": all of them ran; "plateau": the loss stopped improving
    best_epoch: int = 0

    @property
    def epochs(self) -> int:
        return len(self.losses)


class DivergedError(ArithmeticError):
    """The loss became NaN or infinite, grew by orders of magnitude, or a parameter stopped being
    finite: the steps are too large for the data's scale. `history` holds the epochs before."""

    def __init__(self, message: str, *, where: str, loss: float, history: History) -> None:
        super().__init__(message)
        self.where = where
        self.loss = loss
        self.history = history


def _as_float_tensor(values: Any) -> Tensor:
    return Tensor(
        np.asarray(values.detach() if isinstance(values, Tensor) else values, dtype=np.float64)
    )


def full_loss(model: Module, features: Tensor, labels: Tensor) -> float:
    """Mean squared loss (y_hat - y)^2 / 2 over the whole data set, without recording a graph."""
    with no_grad():
        return float(functional.squared_loss(model(features), labels).mean().item())


def make_optimizer(name: str, params: Any, lr: float, momentum: float = 0.0) -> optim.Optimizer:
    """'sgd' or 'adam' by name, as the command line chooses them."""
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; choose 'sgd' or 'adam'")


def fit(
    model: Module,
    features: Any,
    labels: Any,
    *,
    epochs: int = 3,
    batch_size: int = 10,
    lr: float = 0.03,
    optimizer: str | optim.Optimizer = "sgd",
    seed: int | np.random.Generator | None = None,
    patience: int | None = None,
    tolerance: float = 1e-4,
    growth_limit: float = 1e3,
    on_epoch: Callable[[int, float], None] | None = None,
    on_batch: ProgressCallback | None = None,
) -> History:
    """Train `model` by minibatch gradient descent on the squared loss; returns the history.

    Each step: loss = mean over the batch of (model(X) - y)^2 / 2, loss.backward(),
    optimizer.step(), optimizer.zero_grad(). After each epoch the loss over all the data is
    recorded and passed to `on_epoch(epoch, loss)`; `on_batch(epoch, batch, num_batches)`
    is called after every step (for progress display).

    With `patience`, `epochs` is a maximum: training stops once `patience` epochs in a row
    failed to lower the best loss by more than `tolerance` (relative), and the model keeps the
    parameters of its best epoch. Without it, all `epochs` run and the last parameters stay.

    Raises DivergedError when a loss or parameter stops being finite, or when the epoch loss
    exceeds `growth_limit` times the loss at the start (a convex loss only grows like that when
    the steps overshoot)."""
    import time

    if epochs < 0:
        raise ValueError(f"fit: epochs must be >= 0, got {epochs}")
    if patience is not None and patience < 1:
        raise ValueError(f"fit: patience must be >= 1, got {patience}")
    x = _as_float_tensor(features)
    y = _as_float_tensor(labels).reshape(-1, 1)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"fit: features must have shape (n, d) and labels n values; got {x.shape} and {y.shape}"
        )
    params = list(model.parameters())
    opt = make_optimizer(optimizer, params, lr) if isinstance(optimizer, str) else optimizer
    rng = generator_from(seed)
    num_batches = math.ceil(x.shape[0] / batch_size)
    history = History(initial_loss=full_loss(model, x, y))
    best_loss, best_params, stale = history.initial_loss, _snapshot(params), 0
    start = time.perf_counter()

    def check(loss: float, where: str) -> None:
        grown = history.initial_loss > 0 and loss > growth_limit * history.initial_loss
        if not math.isfinite(loss) or grown or not _all_finite(params):
            history.seconds = time.perf_counter() - start
            what = f"the loss is {loss:.3g}" + (
                f", {loss / history.initial_loss:.3g} times the starting loss" if grown else ""
            )
            raise DivergedError(
                f"training diverged: {what} at {where}; "
                f"try a smaller learning rate than {opt.param_groups[0]['lr']}",
                where=where,
                loss=loss,
                history=history,
            )

    # Overflow is reported once, as DivergedError, instead of as a stream of NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, epochs + 1):
            batches = data_iter(batch_size, x, y, seed=rng)
            for batch, (x_batch, y_batch) in enumerate(batches, start=1):
                loss = functional.squared_loss(model(x_batch), y_batch).mean()
                if not math.isfinite(loss.item()):
                    check(loss.item(), f"epoch {epoch}, batch {batch}")
                loss.backward()
                opt.step()
                opt.zero_grad()
                if on_batch is not None:
                    on_batch(epoch, batch, num_batches)
            epoch_loss = full_loss(model, x, y)
            check(epoch_loss, f"the end of epoch {epoch}")
            history.losses.append(epoch_loss)
            if on_epoch is not None:
                on_epoch(epoch, epoch_loss)
            if patience is None:
                history.best_epoch = epoch
                continue
            if epoch_loss < best_loss * (1 - tolerance):
                best_loss, best_params, stale = epoch_loss, _snapshot(params), 0
                history.best_epoch = epoch
            else:
                stale += 1
                if stale >= patience:
                    history.stopped = "plateau"
                    break
    if patience is not None:
        with no_grad():
            for param, value in zip(params, best_params):
                param.copy_(value)
    history.seconds = time.perf_counter() - start
    return history


def _snapshot(params: list[Parameter]) -> list[np.ndarray]:
    return [np.array(p.detach().numpy(), copy=True) for p in params]


def _all_finite(params: list[Parameter]) -> bool:
    return all(bool(np.isfinite(p.detach().numpy()).all()) for p in params)


def r2_score(labels: Any, predictions: Any) -> float:
    """Coefficient of determination 1 - sum (y - y_hat)^2 / sum (y - mean y)^2: 1 for a perfect
    fit, 0 for predicting the mean; NaN when the labels are all equal."""
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    residual = float(np.sum((y - np.asarray(predictions, dtype=np.float64).reshape(-1)) ** 2))
    spread = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - residual / spread if spread > 0 else math.nan


def mean_squared_error(labels: Any, predictions: Any) -> float:
    """(1/n) sum (y - y_hat)^2: twice the chapter's squared loss (y_hat - y)^2 / 2."""
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    return float(np.mean((y - np.asarray(predictions, dtype=np.float64).reshape(-1)) ** 2))


def least_squares(features: Any, labels: Any) -> tuple[np.ndarray, float]:
    """The exact minimiser of sum_i (x_i . w + b - y_i)^2, from numpy.linalg.lstsq on [X, 1]."""
    x = np.asarray(
        features.detach() if isinstance(features, Tensor) else features, dtype=np.float64
    )
    y = np.asarray(
        labels.detach() if isinstance(labels, Tensor) else labels, dtype=np.float64
    ).reshape(-1)
    design = np.hstack([x, np.ones((x.shape[0], 1))])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    return solution[:-1], float(solution[-1])


@dataclass
class ParameterReport:
    """Signed errors true - learned, as the chapter prints them, and their largest size."""

    error_w: np.ndarray
    error_b: float

    @property
    def max_abs_error(self) -> float:
        return float(max(np.max(np.abs(self.error_w), initial=0.0), abs(self.error_b)))


def parameter_errors(true_w: Any, true_b: float, w: Any, b: float) -> ParameterReport:
    """Error in estimating w and b: true - learned (the chapter's sign)."""
    true = np.asarray(true_w, dtype=np.float64).reshape(-1)
    learned = np.asarray(w, dtype=np.float64).reshape(-1)
    if true.shape != learned.shape:
        raise ValueError(
            f"parameter_errors: true w has {true.size} values, learned w has {learned.size}"
        )
    return ParameterReport(true - learned, float(true_b) - float(b))
