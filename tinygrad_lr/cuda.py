"""`torch.cuda` for CPU-only code: no GPU is ever available here.

Seeding calls succeed and do nothing, as PyTorch's do on a machine without a GPU, so a
script's `torch.cuda.manual_seed_all(0)` line runs unchanged.
"""

from __future__ import annotations

from ._missing import missing
from .generator import _checked_seed

__all__ = ["device_count", "is_available", "manual_seed", "manual_seed_all"]


def is_available() -> bool:
    """False: tinygrad_lr computes with NumPy, on the CPU."""
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    """Checks the seed and does nothing (there is no GPU generator to seed)."""
    _checked_seed(seed, "cuda.manual_seed")


def manual_seed_all(seed: int) -> None:
    """Checks the seed and does nothing (there is no GPU generator to seed)."""
    _checked_seed(seed, "cuda.manual_seed_all")


def __getattr__(name: str) -> object:
    hint = "tinygrad_lr runs on the CPU only; guard GPU code with `if torch.cuda.is_available():`"
    raise missing("tinygrad_lr.cuda", name, {name: hint})
