"""The `tinygrad-lr` command: fit a linear regression by minibatch SGD and check it.

With no arguments it reproduces the d2l chapter (1000 synthetic examples, w = [2, -3.4],
b = 4.2, noise 0.01, batch 10, lr 0.03, 3 epochs). `--csv FILE --target COLUMN` fits a table
until the loss stops improving and judges the result against the exact least-squares solution;
`--save-model` keeps the fit and `--predict` applies it to new rows.

The parts: `options` (the command line), `tables` (reading CSV files), `training` (the fit and
its verdict), `report` (text, JSON, figure), `model_file` (saved models), `main` (the flow).
"""

from .main import main, run

__all__ = ["main", "run"]
