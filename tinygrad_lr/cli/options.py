"""The command line of `tinygrad-lr`: its options, their checks, and the one-line usage error."""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from .. import __version__

PROG = "tinygrad-lr"
D2L_W = (2.0, -3.4)
D2L_B = 4.2
D2L_EPOCHS = 3  # the chapter's fixed number of epochs, for the synthetic run
MAX_EPOCHS = 1000  # with --csv: the most epochs a run may take before it stops improving
PATIENCE = 20  # with --csv: epochs without improvement before training stops
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t"}


class UsageError(Exception):
    """A problem with the arguments or input files, reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block; --help has the details.
        raise UsageError(f"{message} (see {PROG} --help)")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _positive_int(text: str) -> int:
    value = _int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
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


def _fraction(text: str) -> float:
    value = _finite(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text!r}")
    return value


def _float_list(text: str) -> list[float]:
    try:
        return [_finite(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers like 2,-3.4, got {text!r}"
        ) from None


def _name_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if any(not name for name in names):
        raise argparse.ArgumentTypeError(f"expected column names like age,bmi, got {text!r}")
    return names


def _delimiter(text: str) -> str:
    delimiter = DELIMITER_NAMES.get(text.lower(), text)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"expected one character or comma, semicolon, tab; got {text!r}"
        )
    return delimiter


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=(
            "Fit y = X w + b by minibatch stochastic gradient descent with tinygrad_lr's\n"
            "autograd, then compare with the exact least-squares solution (numpy.linalg.lstsq).\n"
            "Without --csv the data are synthetic, as in the d2l chapter 'Linear Regression\n"
            "Implementation from Scratch'. The loss printed per epoch is the chapter's squared\n"
            "loss (y_hat - y)^2 / 2 averaged over the rows, which is half the mean squared error."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG}                                       the d2l chapter: 3 epochs\n"
            f"  {PROG} --csv diabetes.csv --target target    fit a table until the loss "
            "stops improving\n"
            f"  {PROG} --csv data.csv --target price --columns size,rooms --test-fraction 0.2\n"
            f"  {PROG} --csv data.csv --target price --save-model model.json\n"
            f"  {PROG} --predict model.json --csv new.csv --output predicted.csv\n"
            "\nA run that ends more than 1% above the closed form's mean squared error prints a\n"
            "warning on stderr with what to try.\n"
            "\nexit status: 0 ok, 1 training diverged (the message names the likely cause),\n"
            "2 bad arguments or input"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
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
        help="table with a header row; the delimiter (comma, semicolon or tab) is detected",
    )
    own.add_argument(
        "--target", metavar="COLUMN", help="name of the column to predict (required with --csv)"
    )
    own.add_argument(
        "--columns",
        type=_name_list,
        metavar="A,B,...",
        help="the feature columns (default: every column except the target); others are ignored",
    )
    own.add_argument(
        "--delimiter",
        type=_delimiter,
        metavar="CHAR",
        help="the CSV delimiter instead of detecting it: a character, or comma, semicolon, tab",
    )
    own.add_argument(
        "--missing",
        choices=("error", "drop"),
        default="error",
        help="what to do with rows that have an empty or NA cell in a used column: "
        "error (default) names the line, drop leaves the row out",
    )
    own.add_argument(
        "--no-standardize",
        action="store_true",
        help="train on the raw features instead of standardised ones "
        "(the reported w and b are always in the file's units)",
    )
    own.add_argument(
        "--test-fraction",
        type=_fraction,
        metavar="F",
        help="hold out this fraction of the rows (chosen by --seed) and report their MSE and R^2",
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
        type=_positive_int,
        default=None,
        help=f"passes over the data: exactly {D2L_EPOCHS} for synthetic data; with --csv at most "
        f"this many (default: {MAX_EPOCHS}), stopping earlier when the loss stops improving",
    )
    training.add_argument(
        "--patience",
        type=_positive_int,
        default=None,
        metavar="P",
        help="stop once P epochs in a row have not lowered the loss by 0.01%% and keep the best "
        f"epoch's parameters (default: {PATIENCE} with --csv, off for synthetic data)",
    )
    training.add_argument(
        "--optimizer", choices=("sgd", "adam"), default="sgd", help="optimizer (default: sgd)"
    )
    training.add_argument(
        "--seed",
        type=_int,
        default=0,
        help="seed for data, initialisation, shuffling and the hold-out rows (default: 0)",
    )

    model = parser.add_argument_group("the fitted model")
    model.add_argument(
        "--save-model",
        metavar="FILE.json",
        help="write the feature names, the standardisation, w and b to a JSON file",
    )
    model.add_argument(
        "--predict",
        metavar="MODEL.json",
        help="instead of training, apply a saved model to the rows of --csv FILE and write them "
        "with an added 'prediction' column",
    )
    model.add_argument(
        "--output",
        metavar="FILE",
        help="with --predict, write the table to FILE instead of standard output",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--plot",
        metavar="FILE.png",
        help="save a figure: the data with the fitted line (one feature) or the predictions "
        "against the targets (several features), beside the loss per epoch (needs matplotlib)",
    )
    output.add_argument(
        "--json", action="store_true", help="print the result as JSON instead of text"
    )
    output.add_argument(
        "--progress",
        action="store_true",
        help="always show progress (epoch, steps per second, time left) on stderr; by default "
        "it shows only on a terminal, for runs longer than a few seconds",
    )
    return parser


def check_combinations(args: argparse.Namespace) -> None:
    """Refuse options that do not go together, before any file is read."""
    if args.predict is not None:
        if args.csv is None:
            raise UsageError("--predict needs --csv FILE (the rows to predict)")
        for option, value in (
            ("--target", args.target),
            ("--columns", args.columns),
            ("--save-model", args.save_model),
            ("--plot", args.plot),
            ("--test-fraction", args.test_fraction),
        ):
            if value is not None:
                raise UsageError(
                    f"{option} does not apply to --predict (the model names its columns)"
                )
        return
    if args.output is not None:
        raise UsageError("--output goes with --predict MODEL.json")
    if args.csv is None and args.target is not None:
        raise UsageError("--target needs --csv FILE")
    if args.csv is not None and args.target is None:
        raise UsageError("--csv needs --target COLUMN (the column to predict)")
    if args.csv is None:
        for option, value in (("--columns", args.columns), ("--delimiter", args.delimiter)):
            if value is not None:
                raise UsageError(f"{option} needs --csv FILE")
