"""`torch.backends` for CPU-only code: `backends.mps.is_available()` and
`backends.cudnn.is_available()` are False; setting `backends.cudnn.deterministic` or
`.benchmark` is accepted and has no effect (NumPy's CPU results are already repeatable)."""

from . import cudnn, mps

__all__ = ["cudnn", "mps"]
