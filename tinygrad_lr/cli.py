"""The `tinygrad-lr` command: fit a linear regression by minibatch SGD and check it.

With no arguments it reproduces the d2l chapter (1000 synthetic examples, w = [2, -3.4],
b = 4.2, noise 0.01, batch 10, lr 0.03, 3 epochs). `--csv FILE --target COLUMN` fits your
own data instead. Every run ends with the gap to the exact least-squares solution, so you can
see how far minibatch SGD got.

Exit status: 0 on success, 1 if training diverged, 2 for bad arguments or input files.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TextIO

import numpy as np

from ._atomic import atomic_write
from .creation import manual_seed
from .data import synthetic_data
from .linear_regression import (
    DivergedError,
    History,
    LinearRegression,
    fit,
    least_squares,
    parameter_errors,
)

PROG = "tinygrad-lr"
D2L_W = (2.0, -3.4)
D2L_B = 4.2
PROGRESS_AFTER_SECONDS = 2.0


class UsageError(Exception):
    """A problem with the arguments or input files, reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block; --help has the details.
        raise UsageError(f"{message} (see {PROG} --help)")


def _positive_int(text: str) -> int:
    value = _int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _float_list(text: str) -> list[float]:
    try:
        return [_finite(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers like 2,-3.4, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=(
            "Fit y = X w + b by minibatch stochastic gradient descent with tinygrad_lr's\n"
            "autograd, then compare with the exact least-squares solution. Without --csv the\n"
            "data are synthetic, as in the d2l chapter 'Linear Regression Implementation\n"
            "from Scratch'."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG}                                  the d2l chapter: 3 epochs, errors ~1e-3\n"
            f"  {PROG} --epochs 10 --lr 0.01 --json     more epochs, machine-readable result\n"
            f"  {PROG} --csv data.csv --target price --plot fit.png\n"
            "\nexit status: 0 ok, 1 training diverged (try a smaller --lr), "
            "2 bad arguments or input"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("synthetic data (ignored with --csv)")
    data.add_argument(
        "-n",
        "--num-examples",
        type=_positive_int,
        default=1000,
        metavar="N",
        help="number of examples (default: 1000)",
    )
    data.add_argument(
        "--features",
        type=_positive_int,
        default=None,
        metavar="D",
        help="number of features (default: 2, or the length of --true-w)",
    )
    data.add_argument(
        "--true-w",
        type=_float_list,
        default=None,
        metavar="W1,W2,...",
        help="true weights (default: 2,-3.4 for 2 features, else drawn from the seed)",
    )
    data.add_argument(
        "--true-b", type=_finite, default=D2L_B, metavar="B", help="true bias (default: 4.2)"
    )
    data.add_argument(
        "--noise",
        type=_non_negative_float,
        default=0.01,
        metavar="SIGMA",
        help="standard deviation of the label noise (default: 0.01)",
    )

    own = parser.add_argument_group("your own data")
    own.add_argument(
        "--csv",
        metavar="FILE",
        help="CSV file with a header row and numeric columns; "
        "every column except the target is a feature",
    )
    own.add_argument(
        "--target", metavar="COLUMN", help="name of the column to predict (required with --csv)"
    )
    own.add_argument(
        "--no-standardize",
        action="store_true",
        help="with --csv, train on the raw features instead of standardised ones "
        "(the reported w and b are always in the file's units)",
    )

    training = parser.add_argument_group("training")
    training.add_argument(
        "-b",
        "--batch-size",
        type=_positive_int,
        default=10,
        metavar="B",
        help="minibatch size (default: 10)",
    )
    training.add_argument(
        "--lr", type=_positive_float, default=0.03, help="learning rate (default: 0.03)"
    )
    training.add_argument(
        "-e",
        "--epochs",
        type=_non_negative_int,
        default=3,
        help="passes over the data (default: 3)",
    )
    training.add_argument(
        "--optimizer", choices=("sgd", "adam"), default="sgd", help="optimizer (default: sgd)"
    )
    training.add_argument(
        "--seed",
        type=_int,
        default=0,
        help="seed for data, initialisation and shuffling (default: 0)",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--plot",
        metavar="FILE.png",
        help="save a figure of the data with the fitted line and the loss curve (needs matplotlib)",
    )
    output.add_argument(
        "--json", action="store_true", help="print the result as JSON instead of text"
    )
    return parser


# --- input ------------------------------------------------------------------------------------


@dataclass
class Dataset:
    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str]
    true_w: np.ndarray | None = None
    true_b: float | None = None
    source: str = "synthetic"


def load_csv(path: str, target: str) -> Dataset:
    """Read a numeric CSV with a header row; raise UsageError naming the line of any problem."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            # the reader's own line count: a quoted field may span several lines
            rows = [(reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a CSV file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UsageError(f"{path}: cannot read it as a text CSV file ({error})") from None

    numbered = [(line, row) for line, row in rows if any(cell.strip() for cell in row)]
    if not numbered:
        raise UsageError(f"{path}: the file is empty (expected a header row and data rows)")
    header_line, header = numbered[0]
    names = [cell.strip() for cell in header]
    if any(not name for name in names):
        raise UsageError(f"{path}:{header_line}: the header has an empty column name")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UsageError(f"{path}:{header_line}: duplicate column name(s) {', '.join(duplicates)}")
    if target not in names:
        raise UsageError(f"{path}: no column named {target!r}; the columns are {', '.join(names)}")
    if len(names) < 2:
        raise UsageError(f"{path}: needs at least one feature column besides the target {target!r}")
    if len(numbered) < 2:
        raise UsageError(f"{path}: the file has a header but no data rows")

    values = np.empty((len(numbered) - 1, len(names)))
    for row_index, (line, row) in enumerate(numbered[1:]):
        if len(row) != len(names):
            raise UsageError(
                f"{path}:{line}: expected {len(names)} values (one per header column), "
                f"found {len(row)}"
            )
        for column, cell in enumerate(row):
            try:
                value = float(cell)
            except ValueError:
                problem = (
                    f"has {cell.strip()!r}, which is not a number" if cell.strip() else "is empty"
                )
                raise UsageError(f"{path}:{line}: column {names[column]!r} {problem}") from None
            if not math.isfinite(value):
                raise UsageError(
                    f"{path}:{line}: column {names[column]!r} has {cell.strip()!r}, "
                    "which is not a finite number"
                )
            values[row_index, column] = value

    target_index = names.index(target)
    feature_columns = [i for i in range(len(names)) if i != target_index]
    return Dataset(
        features=values[:, feature_columns],
        labels=values[:, target_index],
        feature_names=[names[i] for i in feature_columns],
        source=path,
    )


def synthetic_dataset(args: argparse.Namespace) -> Dataset:
    if args.true_w is not None:
        if args.features is not None and args.features != len(args.true_w):
            raise UsageError(
                f"--features {args.features} but --true-w has {len(args.true_w)} values"
            )
        true_w = np.array(args.true_w)
    elif args.features is None or args.features == len(D2L_W):
        true_w = np.array(D2L_W)
    else:
        true_w = np.round(_streams(args.seed)[3].uniform(-5, 5, args.features), 1)
    features, labels = synthetic_data(
        true_w, args.true_b, args.num_examples, noise=args.noise, seed=_streams(args.seed)[0]
    )
    names = [f"x{i + 1}" for i in range(true_w.size)]
    return Dataset(features.numpy(), labels.numpy().reshape(-1), names, true_w, float(args.true_b))


def _check_plot_target(path: str) -> None:
    """Fail before training, not after, when the figure cannot be written."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install tinygrad_lr[plot]") from None
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    supported = FigureCanvasBase.get_supported_filetypes()
    if extension not in supported:
        raise UsageError(
            f"--plot {path}: unsupported file type {extension or '(none)'!r}; "
            "use e.g. .png, .svg or .pdf"
        )
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"--plot {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"--plot {path}: not writable")
    if os.path.isdir(path):
        raise UsageError(f"--plot {path}: is a directory")


# --- training ---------------------------------------------------------------------------------


class Progress:
    """Shows epoch/batch progress on stderr, but only once a run has taken a couple of seconds,
    so the quick default run prints nothing extra."""

    def __init__(self, epochs: int, stream: TextIO) -> None:
        self.epochs = epochs
        self.stream = stream
        self.start = time.perf_counter()
        self.last_shown = -math.inf
        self.shown = False
        self.live = stream.isatty()

    def __call__(self, epoch: int, batch: int, num_batches: int) -> None:
        now = time.perf_counter() - self.start
        if now < PROGRESS_AFTER_SECONDS or now - self.last_shown < (0.2 if self.live else 2.0):
            return
        self.last_shown = now
        self.shown = True
        text = f"epoch {epoch}/{self.epochs}, batch {batch}/{num_batches} ({now:.0f} s)"
        self.stream.write(f"\r{text}\033[K" if self.live else text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """Clear a progress line from the terminal, before other output or at the end."""
        if self.shown and self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _streams(seed: int) -> list[np.random.Generator]:
    """Independent generators for data, initialisation, shuffling and the true weights, all
    determined by one --seed."""
    return [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(4)]


def _standardize(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X - mean) / std per column; a constant column keeps std 1 (it only shifts the bias)."""
    mean = features.mean(axis=0)
    std = features.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (features - mean) / std, mean, std


@dataclass
class Result:
    dataset: Dataset
    history: History
    w: np.ndarray
    b: float
    exact_w: np.ndarray
    exact_b: float
    predictions: np.ndarray


def train(
    args: argparse.Namespace,
    dataset: Dataset,
    progress: Progress,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Result:
    manual_seed(args.seed)
    inputs = dataset.features
    standardize = dataset.source != "synthetic" and not args.no_standardize
    mean = np.zeros(inputs.shape[1])
    std = np.ones(inputs.shape[1])
    if standardize:
        inputs, mean, std = _standardize(inputs)
    _, init_rng, shuffle_rng, _ = _streams(args.seed)
    model = LinearRegression(inputs.shape[1], seed=init_rng)
    history = fit(
        model,
        inputs,
        dataset.labels,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        seed=shuffle_rng,
        on_epoch=on_epoch,
        on_batch=progress,
    )
    # Back to the file's units: w.(x - mean)/std + b = (w/std).x + (b - w.mean/std).
    w = model.w / std
    b = model.b - float(np.dot(model.w, mean / std))
    exact_w, exact_b = least_squares(dataset.features, dataset.labels)
    predictions = dataset.features @ w + b
    return Result(dataset, history, w, b, exact_w, exact_b, predictions)


# --- output -----------------------------------------------------------------------------------


def _format_vector(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"


def print_header(data: Dataset, args: argparse.Namespace, out: TextIO) -> None:
    if data.true_w is not None:
        print(
            f"data: {data.features.shape[0]} synthetic examples, y = X w + b + noise with "
            f"w = {_format_vector(data.true_w)}, b = {data.true_b:g}, noise {args.noise:g}",
            file=out,
        )
    else:
        print(
            f"data: {data.features.shape[0]} rows of {data.source}, "
            f"features {', '.join(data.feature_names)}",
            file=out,
        )


def print_summary(result: Result, out: TextIO) -> None:
    data = result.dataset
    if data.true_w is not None and data.true_b is not None:
        report = parameter_errors(data.true_w, data.true_b, result.w, result.b)
        print(f"error in estimating w: {_format_vector(report.error_w)}", file=out)
        print(f"error in estimating b: {report.error_b:.6g}", file=out)
    else:
        for name, value in zip(data.feature_names, result.w):
            print(f"w[{name}] = {value:.6g}", file=out)
        print(f"b = {result.b:.6g}", file=out)
    gap = max(np.max(np.abs(result.w - result.exact_w)), abs(result.b - result.exact_b))
    print(
        f"closed-form least squares: w = {_format_vector(result.exact_w)}, "
        f"b = {result.exact_b:.6g}; "
        f"largest gap to SGD {gap:.3g}",
        file=out,
    )


def result_json(result: Result, args: argparse.Namespace) -> dict[str, Any]:
    data = result.dataset
    payload: dict[str, Any] = {
        "data": {
            "source": data.source,
            "examples": int(data.features.shape[0]),
            "features": data.feature_names,
        },
        "training": {
            "optimizer": args.optimizer,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "epochs": args.epochs,
            "seed": args.seed,
        },
        "losses": result.history.losses,
        "w": result.w.tolist(),
        "b": result.b,
        "closed_form": {"w": result.exact_w.tolist(), "b": result.exact_b},
        "gap_to_closed_form": {
            "w": (result.w - result.exact_w).tolist(),
            "b": result.b - result.exact_b,
        },
    }
    if data.true_w is not None and data.true_b is not None:
        report = parameter_errors(data.true_w, data.true_b, result.w, result.b)
        payload["data"].update(true_w=data.true_w.tolist(), true_b=data.true_b, noise=args.noise)
        payload["errors"] = {"w": report.error_w.tolist(), "b": report.error_b}
    return payload


def save_plot(result: Result, path: str) -> None:
    """Data with the fitted line (or, for several features, predictions against targets) and the
    loss per epoch; written to a temporary file first so a failure leaves no partial figure."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    data = result.dataset
    figure = Figure(figsize=(9, 3.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    if data.features.shape[1] == 1:
        x = data.features[:, 0]
        left.scatter(x, data.labels, s=8, alpha=0.6, label="data")
        line_x = np.array([x.min(), x.max()])
        left.plot(line_x, result.w[0] * line_x + result.b, "r", label="fitted line")
        left.set_xlabel(data.feature_names[0])
        left.set_ylabel("target")
    else:
        left.scatter(data.labels, result.predictions, s=8, alpha=0.6, label="examples")
        limits = np.array([data.labels.min(), data.labels.max()])
        left.plot(limits, limits, "r", label="prediction = target")
        left.set_xlabel("target")
        left.set_ylabel("prediction")
    left.legend()
    left.set_title("fit")
    epochs = np.arange(1, len(result.history.losses) + 1)
    right.plot(epochs, result.history.losses, "o-")
    if result.history.losses and min(result.history.losses) > 0:
        right.set_yscale("log")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_xlabel("epoch")
    right.set_ylabel("loss (y_hat - y)^2 / 2")
    right.set_title("training loss")
    file_format = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    with atomic_write(path) as file:
        figure.savefig(file, format=file_format)


# --- entry point ------------------------------------------------------------------------------


def run(argv: list[str] | None, out: TextIO, err: TextIO) -> int:
    args = build_parser().parse_args(argv)
    if args.csv is None and args.target is not None:
        raise UsageError("--target needs --csv FILE")
    if args.csv is not None and args.target is None:
        raise UsageError("--csv needs --target COLUMN (the column to predict)")
    if args.plot is not None:
        _check_plot_target(args.plot)
    dataset = load_csv(args.csv, args.target) if args.csv is not None else synthetic_dataset(args)

    progress = Progress(args.epochs, err)

    def show_epoch(epoch: int, loss: float) -> None:
        progress.finish()
        print(f"epoch {epoch}, loss {loss:f}", file=out, flush=True)

    # Text results come as they are computed, as in the chapter's loop; JSON comes whole.
    if not args.json:
        print_header(dataset, args, out)
    try:
        result = train(args, dataset, progress, on_epoch=None if args.json else show_epoch)
    finally:
        progress.finish()

    if args.plot is not None:
        try:
            save_plot(result, args.plot)
        except OSError as error:
            raise UsageError(
                f"--plot {args.plot}: cannot write it ({error.strerror or error})"
            ) from None
    if args.json:
        payload = result_json(result, args)
        if args.plot is not None:
            payload["plot"] = args.plot
        json.dump(payload, out, indent=2)
        out.write("\n")
    else:
        print_summary(result, out)
        if args.plot is not None:
            print(f"figure saved to {args.plot}", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status instead of raising (for `python -m` and tests)."""
    try:
        return run(argv, sys.stdout, sys.stderr)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except DivergedError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    except SystemExit as exit:  # --help prints and exits through argparse
        return exit.code if isinstance(exit.code, int) else 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader stopped early (`tinygrad-lr | head`): stop quietly, and point stdout at
        # /dev/null so that the final flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
