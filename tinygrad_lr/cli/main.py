"""The `tinygrad-lr` entry point: parse the options, read the table, train, report; or apply a
saved model (--predict). Exit status 0 ok, 1 diverged, 2 bad arguments or input."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from typing import TextIO

from .._atomic import atomic_write
from .model_file import check_output_path, load_model, save_model
from .options import (
    D2L_EPOCHS,
    MAX_EPOCHS,
    PATIENCE,
    PROG,
    UsageError,
    build_parser,
    check_combinations,
)
from .report import (
    Progress,
    check_plotting,
    epoch_line,
    print_header,
    print_summary,
    result_json,
    save_plot,
    shows_epoch,
)
from .tables import (
    load_dataset,
    numeric_columns,
    read_table,
    split,
    synthetic_dataset,
    write_predictions,
)
from .training import convergence_advice, divergence_advice, train


def run(argv: list[str] | None, out: TextIO, err: TextIO) -> int:
    args = build_parser().parse_args(argv)
    check_combinations(args)
    if args.predict is not None:
        return predict(args, out)
    return fit_command(args, out, err)


def fit_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    started = time.perf_counter()
    for option, path in (("--plot", args.plot), ("--save-model", args.save_model)):
        if path is not None:
            check_output_path(option, path)
    if args.csv is not None:
        dataset = load_dataset(args.csv, args.target, args.columns, args.delimiter, args.missing)
    else:
        dataset = synthetic_dataset(args)
    # Synthetic data keep the chapter's fixed epochs; a table trains until it stops improving.
    if args.epochs is None:
        args.epochs = MAX_EPOCHS if args.csv is not None else D2L_EPOCHS
    if args.patience is None and args.csv is not None:
        args.patience = PATIENCE
    test = None
    if args.test_fraction is not None:
        dataset, test = split(dataset, args.test_fraction, args.seed)
    if args.plot is not None:
        check_plotting(args.plot)

    progress = Progress(args.epochs, args.patience is not None, err, always=args.progress)

    def show_epoch(epoch: int, loss: float) -> None:
        if shows_epoch(epoch):
            progress.finish()
            print(epoch_line(epoch, loss), file=out, flush=True)

    # Text results come as they are computed, as in the chapter's loop; JSON comes whole.
    if not args.json:
        print_header(dataset, test, args, out)
    try:
        result = train(args, dataset, test, None if args.json else show_epoch, progress)
    finally:
        progress.finish()
    history = result.history
    if not args.json and history.epochs and not shows_epoch(history.epochs):
        print(epoch_line(history.epochs, history.losses[-1]), file=out)

    if result.diverged is not None:
        if args.json:
            _print_json(result_json(result, args, time.perf_counter() - started), out)
        print(f"{PROG}: {divergence_advice(result, args)}", file=err)
        return 1
    if args.plot is not None:
        try:
            save_plot(result, args.plot)
        except OSError as error:
            raise UsageError(
                f"--plot {args.plot}: cannot write it ({error.strerror or error})"
            ) from None
    if args.save_model is not None:
        save_model(result, args.save_model)
    if args.json:
        payload = result_json(result, args, time.perf_counter() - started)
        for key in ("plot", "save_model"):
            if getattr(args, key) is not None:
                payload[key] = getattr(args, key)
        _print_json(payload, out)
    else:
        print_summary(result, args, out)
        if args.plot is not None:
            print(f"figure saved to {args.plot}", file=out)
        if args.save_model is not None:
            print(f"model saved to {args.save_model}", file=out)
    advice = convergence_advice(result, args)
    if advice is not None:
        print(f"{PROG}: warning: not converged: {advice}", file=err)
    return 0


def predict(args: argparse.Namespace, out: TextIO) -> int:
    """Apply a saved model to the rows of --csv; write them with a 'prediction' column."""
    if args.output is not None:
        check_output_path("--output", args.output)
    model = load_model(args.predict)
    table = read_table(args.csv, args.delimiter)
    absent = [name for name in model.features if name not in table.names]
    if absent:
        raise UsageError(
            f"{args.csv}: the model {args.predict} needs the column(s) {', '.join(absent)}, "
            f"which the file lacks; its columns are {', '.join(table.names)}"
        )
    if "prediction" in table.names:
        raise UsageError(f"{args.csv}: already has a column named 'prediction'")
    values, kept, _ = numeric_columns(table, model.features, args.missing)
    predictions = model.predict(values)
    if args.output is None:
        write_predictions(table, kept, predictions, out)
        return 0
    text = io.StringIO()
    write_predictions(table, kept, predictions, text)
    try:
        with atomic_write(args.output) as file:
            file.write(text.getvalue().encode())
    except OSError as error:
        raise UsageError(
            f"--output {args.output}: cannot write it ({error.strerror or error})"
        ) from None
    print(f"wrote {len(kept)} rows with predictions of {model.target} to {args.output}", file=out)
    return 0


def _print_json(payload: dict[str, object], out: TextIO) -> None:
    json.dump(payload, out, indent=2)
    out.write("\n")


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status instead of raising (for `python -m` and tests)."""
    try:
        return run(argv, sys.stdout, sys.stderr)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except SystemExit as exit:  # --help and --version print and exit through argparse
        return exit.code if isinstance(exit.code, int) else 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader stopped early (`tinygrad-lr | head`): stop quietly, and point stdout at
        # /dev/null so that the final flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
