"""Reading tables for `tinygrad-lr`: CSV files as people have them, and the synthetic data.

A file has a header row; its delimiter (comma, semicolon or tab) is detected unless given. Only
the target and the feature columns must be numeric, so an ID or text column can stay in the
file. Cells that are empty or NA are missing values: an error naming the line, or (with
`--missing drop`) a reason to leave the row out. Every problem is one line with its line number.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from dataclasses import dataclass, field

import numpy as np

from ..data import synthetic_data
from .options import D2L_W, UsageError

CANDIDATE_DELIMITERS = ",;\t"
MISSING_MARKERS = {"", "na", "n/a", "nan", "null"}
DELIMITER_WORDS = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass
class Table:
    """A CSV file's header and rows, each row with the line it starts on."""

    path: str
    delimiter: str
    names: list[str]
    header_line: int
    rows: list[tuple[int, list[str]]]


@dataclass
class Dataset:
    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str]
    true_w: np.ndarray | None = None
    true_b: float | None = None
    source: str = "synthetic"
    target: str = "y"
    delimiter: str | None = None
    dropped_lines: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return int(self.features.shape[0])

    def subset(self, index: np.ndarray) -> Dataset:
        return Dataset(
            self.features[index],
            self.labels[index],
            self.feature_names,
            self.true_w,
            self.true_b,
            self.source,
            self.target,
            self.delimiter,
        )


def detect_delimiter(text: str) -> str:
    """The delimiter of a CSV text: csv.Sniffer's guess among comma, semicolon and tab; when it
    cannot tell, the candidate that occurs most in the first line (a comma if none does)."""
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        first_line = text.lstrip("\r\n").split("\n", 1)[0]
        counts = {d: first_line.count(d) for d in CANDIDATE_DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > 0 else ","


def read_table(path: str, delimiter: str | None) -> Table:
    """Read a CSV file with a header row; raise UsageError naming the line of any problem."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a CSV file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read it as a text CSV file ({error})") from None
    chosen = delimiter if delimiter is not None else detect_delimiter(text)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=chosen)
        # the reader's own line count: a quoted field may span several lines
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        raise UsageError(f"{path}:{reader.line_num}: cannot read it as CSV ({error})") from None

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
    if len(numbered) < 2:
        raise UsageError(f"{path}: the file has a header but no data rows")
    for line, row in numbered[1:]:
        if len(row) != len(names):
            raise UsageError(
                f"{path}:{line}: expected {len(names)} values (one per header column), "
                f"found {len(row)}{_delimiter_hint(chosen, delimiter is None)}"
            )
    return Table(path, chosen, names, header_line, numbered[1:])


def _delimiter_hint(chosen: str, detected: bool) -> str:
    word = DELIMITER_WORDS.get(chosen, repr(chosen))
    return f" with the {'detected ' if detected else ''}delimiter {word}"


def _missing_column(table: Table, name: str, role: str) -> UsageError:
    hint = ""
    if len(table.names) == 1 and table.delimiter not in table.names[0]:
        hint = "; is the delimiter right? (see --delimiter)"
    return UsageError(
        f"{table.path}: no column named {name!r}{role}; the columns are "
        f"{', '.join(table.names)}{hint}"
    )


def numeric_columns(
    table: Table, names: list[str], missing: str
) -> tuple[np.ndarray, list[int], list[int]]:
    """The named columns as floats, one row per kept data row. Returns the values, the indexes of
    the kept rows in `table.rows`, and the lines of the rows dropped for a missing value."""
    positions = [table.names.index(name) for name in names]
    values: list[list[float]] = []
    kept: list[int] = []
    dropped: list[int] = []
    for index, (line, row) in enumerate(table.rows):
        parsed: list[float] = []
        for name, position in zip(names, positions):
            cell = row[position].strip()
            if cell.lower() in MISSING_MARKERS:
                if missing == "drop":
                    break
                what = "is empty" if not cell else f"has {cell!r}, a missing value"
                raise UsageError(
                    f"{table.path}:{line}: column {name!r} {what} "
                    "(use --missing drop to leave such rows out)"
                )
            try:
                value = float(cell)
            except ValueError:
                raise UsageError(
                    f"{table.path}:{line}: column {name!r} has {cell!r}, which is not a number"
                    + (
                        ""
                        if len(positions) < len(table.names)
                        else " (choose columns with --columns)"
                    )
                ) from None
            if not math.isfinite(value):
                raise UsageError(
                    f"{table.path}:{line}: column {name!r} has {cell!r}, "
                    "which is not a finite number"
                )
            parsed.append(value)
        else:
            values.append(parsed)
            kept.append(index)
            continue
        dropped.append(line)
    if not values:
        raise UsageError(f"{table.path}: every data row has a missing value in a used column")
    return np.array(values, dtype=np.float64).reshape(len(values), len(names)), kept, dropped


def load_dataset(
    path: str,
    target: str,
    columns: list[str] | None,
    delimiter: str | None = None,
    missing: str = "error",
) -> Dataset:
    """The target and feature columns of a CSV file, as a Dataset in the file's units."""
    table = read_table(path, delimiter)
    if target not in table.names:
        raise _missing_column(table, target, "")
    if columns is None:
        features = [name for name in table.names if name != target]
    else:
        duplicates = sorted({name for name in columns if columns.count(name) > 1})
        if duplicates:
            raise UsageError(f"--columns names {', '.join(duplicates)} more than once")
        if target in columns:
            raise UsageError(f"--columns includes the target {target!r}; it cannot be a feature")
        for name in columns:
            if name not in table.names:
                raise _missing_column(table, name, " (from --columns)")
        features = columns
    if not features:
        raise UsageError(f"{path}: needs at least one feature column besides the target {target!r}")
    values, _, dropped = numeric_columns(table, [*features, target], missing)
    if values.shape[0] < 2:
        raise UsageError(f"{path}: needs at least 2 usable data rows, found {values.shape[0]}")
    return Dataset(
        features=values[:, :-1],
        labels=values[:, -1],
        feature_names=features,
        source=path,
        target=target,
        delimiter=table.delimiter,
        dropped_lines=dropped,
    )


def streams(seed: int) -> list[np.random.Generator]:
    """Independent generators for data, initialisation, shuffling, the true weights and the
    hold-out rows, all determined by one --seed."""
    return [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(5)]


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
        true_w = np.round(streams(args.seed)[3].uniform(-5, 5, args.features), 1)
    features, labels = synthetic_data(
        true_w, args.true_b, args.num_examples, noise=args.noise, seed=streams(args.seed)[0]
    )
    names = [f"x{i + 1}" for i in range(true_w.size)]
    return Dataset(features.numpy(), labels.numpy().reshape(-1), names, true_w, float(args.true_b))


def split(dataset: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """Training and held-out rows: round(fraction * rows) random rows are held out."""
    held = round(fraction * dataset.rows)
    if held < 1 or dataset.rows - held < 2:
        raise UsageError(
            f"--test-fraction {fraction:g} of {dataset.rows} rows leaves {held} held out and "
            f"{dataset.rows - held} for training; it needs at least 1 and 2"
        )
    order = streams(seed)[4].permutation(dataset.rows)
    return dataset.subset(np.sort(order[held:])), dataset.subset(np.sort(order[:held]))


def write_predictions(
    table: Table, kept: list[int], predictions: np.ndarray, out: io.TextIOBase | object
) -> None:
    """The kept rows as they were, with a 'prediction' column, in the input's delimiter."""
    writer = csv.writer(out, delimiter=table.delimiter, lineterminator="\n")  # type: ignore[arg-type]
    writer.writerow([*table.names, "prediction"])
    for index, value in zip(kept, predictions):
        writer.writerow([*table.rows[index][1], repr(float(value))])
