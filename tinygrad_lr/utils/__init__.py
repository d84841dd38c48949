"""`torch.utils` names: the `data` package (datasets, samplers, DataLoader)."""

from . import data

__all__ = ["data"]
