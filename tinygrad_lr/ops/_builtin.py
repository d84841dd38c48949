"""What the built-in ops share: their errors name the op and the shapes, not NumPy's words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..autograd.function import Function
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor


class BuiltinOp(Function):
    """A built-in op: `forward` computes with NumPy on the inputs' arrays (`x._data`) and
    `backward` with Tensor operations, as any user's op does."""

    _returns_new_tensors = True  # see Function._apply_unrecorded

    @classmethod
    def op_name(cls) -> str:
        """The op as users call it, e.g. `mul`, used in error messages."""
        return cls.__name__.lower()

    def _explains(self, error: Exception) -> bool:
        return isinstance(error, (ValueError, TypeError, IndexError)) and not isinstance(
            error, (ShapeError, DTypeError)
        )

    def _explain(self, error: Exception, args: Sequence[Any]) -> Exception:
        name = self._error_name()
        if isinstance(error, IndexError):
            return IndexError(f"{name}: {error}")
        if isinstance(error, TypeError):
            return DTypeError(f"{name}: {error}")
        if not any(word in str(error) for word in ("shape", "broadcast", "size", "dimension")):
            return ValueError(f"{name}: {error}")  # e.g. integers to negative powers
        return ShapeError(self._shape_message(error, args))

    def _error_name(self) -> str:
        return self.op_name()

    def _shape_message(self, error: Exception, args: Sequence[Any]) -> str:
        shapes = ", ".join(str(t.shape) for t in args if isinstance(t, Tensor))
        return f"{self._error_name()}: {error} (input shapes {shapes})"


class Broadcasting(BuiltinOp):
    """An elementwise op of several inputs, broadcast against each other as NumPy does."""

    def _shape_message(self, error: Exception, args: Sequence[Any]) -> str:
        shapes = " with ".join(str(t.shape) for t in args if isinstance(t, Tensor))
        return f"{self.op_name()}: cannot broadcast {shapes}"
