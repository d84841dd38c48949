"""The fitted model as a JSON file: written atomically by --save-model, read by --predict.

The file keeps w and b in the training file's units, so a prediction is x . w + b on the raw
columns; the standardisation used in training (each column's mean and std) is recorded too."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import __version__
from .._atomic import atomic_write
from .options import UsageError
from .training import Fit

FORMAT = "tinygrad-lr linear regression"


@dataclass
class SavedModel:
    features: list[str]
    target: str
    w: np.ndarray
    b: float

    def predict(self, features: np.ndarray) -> np.ndarray:
        return features @ self.w + self.b


def check_output_path(option: str, path: str) -> None:
    """Refuse, before any work, an output path that cannot be written."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"{option} {path}: the directory {directory} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a directory")
    if not os.access(directory, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path}: not writable")


def save_model(result: Fit, path: str) -> None:
    data = result.train
    payload: dict[str, Any] = {
        "format": FORMAT,
        "format_version": 1,
        "written_by": f"tinygrad_lr {__version__}",
        "target": data.target,
        "features": data.feature_names,
        "w": result.w.tolist(),
        "b": result.b,
        "standardization": {
            "applied": result.standardized,
            "mean": result.mean.tolist(),
            "std": result.std.tolist(),
        },
        "training": {"source": data.source, "rows": data.rows, "status": result.status},
    }
    try:
        with atomic_write(path) as file:
            file.write((json.dumps(payload, indent=2) + "\n").encode())
    except OSError as error:
        raise UsageError(
            f"--save-model {path}: cannot write it ({error.strerror or error})"
        ) from None


def load_model(path: str) -> SavedModel:
    """Read a --save-model file; UsageError says what is wrong with it."""
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
    except FileNotFoundError:
        raise UsageError(f"--predict {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"--predict {path}: is a directory, not a model file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"--predict {path}: not a JSON model file ({error})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UsageError(f"--predict {path}: not a model written by tinygrad-lr --save-model")
    features, w, b = payload.get("features"), payload.get("w"), payload.get("b")
    target = payload.get("target", "target")
    names_ok = isinstance(features, list) and all(isinstance(n, str) for n in features)
    numbers_ok = isinstance(w, list) and all(_is_finite_number(v) for v in [*w, b])
    if not (names_ok and numbers_ok and isinstance(features, list) and isinstance(w, list)) or (
        len(w) != len(features) or not features or not isinstance(b, int | float)
    ):
        raise UsageError(
            f"--predict {path}: the model file is damaged (it needs 'features', as many "
            "finite numbers in 'w', and a finite 'b')"
        )
    return SavedModel(list(features), str(target), np.array(w, dtype=np.float64), float(b))


def _is_finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
