"""Neural-network building blocks: `Parameter`, `Module`, layers, activations and losses."""

from . import functional
from .modules import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    IncompatibleKeys,
    L1Loss,
    Linear,
    Module,
    MSELoss,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    StateDictError,
    Tanh,
)

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "IncompatibleKeys",
    "L1Loss",
    "Linear",
    "MSELoss",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "StateDictError",
    "Tanh",
    "functional",
]
