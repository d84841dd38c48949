"""`torch.nn.functional`: activations, dropout and losses as functions of tensors.

The functions live in activation_functions.py, loss_functions.py and multiclass_losses.py;
this module gathers them under PyTorch's one name.
"""

from typing import Any

from .._missing import FUNCTIONAL_HINTS, missing
from .activation_functions import (
    check_dropout_probability,
    check_gelu_approximation,
    dropout,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from .loss_functions import (
    Reduction,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
    squared_loss,
)
from .multiclass_losses import cross_entropy, nll_loss

__all__ = [
    "Reduction",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "check_dropout_probability",
    "check_gelu_approximation",
    "cross_entropy",
    "dropout",
    "gelu",
    "huber_loss",
    "l1_loss",
    "leaky_relu",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "squared_loss",
    "tanh",
]


def __getattr__(name: str) -> Any:
    raise missing("tinygrad_lr.nn.functional", name, FUNCTIONAL_HINTS)
