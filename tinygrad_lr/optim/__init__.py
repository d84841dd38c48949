"""Optimizers with PyTorch's names, defaults and update formulas, and learning-rate schedules.

An optimizer holds references to parameters; `step()` reads each parameter's `.grad` and
changes the parameter's values in place, and `zero_grad()` clears the gradients. Parameters can
come in groups with their own settings: `SGD([{"params": a}, {"params": b, "lr": 0.1}], lr=1)`.
"""

from typing import Any

from .._missing import OPTIM_HINTS, missing
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import Adagrad, RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]


def __getattr__(name: str) -> Any:
    raise missing("tinygrad_lr.optim", name, OPTIM_HINTS)
