"""Every built-in differentiable op, one `Function` subclass each, backward right under forward.

`forward` computes with NumPy on the inputs' arrays; `backward(ctx, g)` receives g = dL/dz and
returns dL/d(input) for each input, written in Tensor operations: the same contract as a user's
own `tl.autograd.Function`. Gradients of broadcast inputs are summed back by the engine.
"""

from .._args import _as_arrays as as_arrays
from ._builtin import Broadcasting, BuiltinOp
from .elementwise import (
    Abs,
    Add,
    Cast,
    Clamp,
    Clone,
    Cos,
    Div,
    Exp,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    NonDifferentiable,
    Pow,
    PowScalar,
    Relu,
    Sigmoid,
    Sin,
    Sqrt,
    Sub,
    Tanh,
    Where,
)
from .matmul import MatMul
from .reductions import (
    LogSoftmax,
    LogSumExp,
    Max,
    MaxWithIndices,
    Mean,
    Min,
    MinMax,
    MinWithIndices,
    NonDifferentiableArg,
    Softmax,
    Sum,
    arg_extremum,
    count,
    extremum,
)
from .shape import Cat, Expand, GetItem, IndexAdd, IndexPut, Permute, Reshape

__all__ = [
    "Abs", "Add", "Broadcasting", "BuiltinOp", "Cast", "Cat", "Clamp", "Clone", "Cos", "Div",
    "Exp", "Expand", "GetItem", "IndexAdd", "IndexPut", "Log", "LogSoftmax", "LogSumExp",
    "MatMul", "Max", "MaxWithIndices", "Maximum", "Mean", "Min", "MinMax", "MinWithIndices",
    "Minimum", "Mul", "Neg", "NonDifferentiable", "NonDifferentiableArg", "Permute", "Pow",
    "PowScalar", "Relu", "Reshape", "Sigmoid", "Sin", "Softmax", "Sqrt", "Sub", "Sum", "Tanh",
    "Where", "arg_extremum", "as_arrays", "count", "extremum",
]
