"""Exception types.

Each one also derives from the built-in exception PyTorch raises in the same situation, so code
written for PyTorch that catches `RuntimeError` keeps working, while learners can catch the more
descriptive Python type (`ValueError` for bad shapes, `TypeError` for bad dtypes).
"""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit an operation (broadcast, matmul, reshape, gradient shape)."""


class DTypeError(TypeError, RuntimeError):
    """A dtype an operation cannot take (e.g. `requires_grad=True` on an integer tensor)."""


class DeviceError(ValueError, RuntimeError):
    """A device other than the CPU (tinygrad_lr computes with NumPy, on the CPU only)."""
