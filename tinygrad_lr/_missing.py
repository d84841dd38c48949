"""The AttributeError for a PyTorch name tinygrad_lr does not have.

Each package's module-level `__getattr__` (called only when normal lookup fails) raises
`missing(...)`: the message says the name is not in tinygrad_lr and, where the library has
something that does the job, what to use instead. The exception carries no `name`, so Python
does not append its own "Did you mean ...?" guess (which could point at an unrelated name).
"""

from __future__ import annotations

# What to use instead, per package, for PyTorch names learners are likely to meet.
TOP_LEVEL_HINTS = {
    "bfloat16": "NumPy has no bfloat16; use tinygrad_lr.float32 (or float16)",
    "complex64": "complex tensors are not supported; use float tensors",
    "complex128": "complex tensors are not supported; use float tensors",
    "cfloat": "complex tensors are not supported; use float tensors",
    "uint16": "use tinygrad_lr.int32 or int64",
    "uint32": "use tinygrad_lr.int64",
    "uint64": "use tinygrad_lr.int64",
    "float8_e4m3fn": "use tinygrad_lr.float16 or float32",
    "compile": "there is no compiler; call the model directly",
    "jit": "there is no compiler; call the model directly",
    "vmap": "write the batch dimension into the computation (or loop in Python)",
    "func": "use tinygrad_lr.autograd.grad",
    "distributed": "tinygrad_lr runs in one process",
    "mps": "tinygrad_lr runs on the CPU only; tinygrad_lr.backends.mps.is_available() is False",
    "sparse": "use dense tensors",
    "fft": "use numpy.fft on tensor.numpy()",
    "linalg": "use tinygrad_lr.matmul, or numpy.linalg on tensor.numpy() (not differentiable)",
    "autocast": "there is no mixed precision; compute in float32 or float64",
    "amp": "there is no mixed precision; compute in float32 or float64",
    "empty_like": "use tinygrad_lr.zeros_like",
    "bmm": "use tinygrad_lr.matmul (it batches over leading dimensions)",
    "einsum": "use matmul, transpose and sum",
    "gather": "index with an integer tensor, x[rows, cols]",
    "scatter": "build the result with where(...) or index assignment under no_grad",
    "chunk": "slice the tensor, x[:, :k]",
    "split": "slice the tensor, x[:, :k]",
    "topk": "use argmax, or numpy.argsort on tensor.numpy()",
    "sort": "use numpy.sort on tensor.numpy() (not differentiable)",
    "cumsum": "use a matmul with a triangular matrix of ones",
}

NN_HINTS = {
    "Conv1d": "convolutions are not implemented; use Linear layers",
    "Conv2d": "convolutions are not implemented; use Linear layers on flattened inputs",
    "MaxPool2d": "pooling is not implemented",
    "AvgPool2d": "pooling is not implemented",
    "BatchNorm1d": "normalisation layers are not implemented",
    "BatchNorm2d": "normalisation layers are not implemented",
    "LayerNorm": "normalisation layers are not implemented; write it with mean and var",
    "Embedding": "index a Parameter, weight[indices]",
    "RNN": "recurrent layers are not implemented; loop over time steps with Linear layers",
    "LSTM": "recurrent layers are not implemented",
    "GRU": "recurrent layers are not implemented",
    "Transformer": "attention layers are not implemented",
    "MultiheadAttention": "attention layers are not implemented",
    "ParameterList": "use ModuleList of modules holding the parameters",
    "Softplus": "use tinygrad_lr.nn.functional.softplus",
    "KLDivLoss": "write it with log and sum",
    "DataParallel": "tinygrad_lr runs in one process",
}

OPTIM_HINTS = {
    "Adadelta": "use optim.Adagrad, optim.RMSprop or optim.Adam",
    "Adamax": "use optim.Adam",
    "NAdam": "use optim.Adam",
    "RAdam": "use optim.Adam",
    "LBFGS": "use optim.SGD or optim.Adam",
    "SparseAdam": "use optim.Adam",
}

FUNCTIONAL_HINTS = {
    "conv2d": "convolutions are not implemented",
    "max_pool2d": "pooling is not implemented",
    "one_hot": "index an identity matrix, tinygrad_lr.eye(num_classes)[labels]",
    "normalize": "divide by the norm: x / (x * x).sum(dim, keepdim=True).sqrt()",
    "elu": "use where(x > 0, x, x.exp() - 1)",
    "silu": "use x * x.sigmoid()",
    "kl_div": "write it with log and sum",
}


TENSOR_HINTS = {
    "bfloat16": "NumPy has no bfloat16; use .float() (float32) or .half() (float16)",
    "cfloat": "complex tensors are not supported",
    "mps": "tinygrad_lr runs on the CPU only",
    "pin_memory": "there is no GPU to copy to; leave it out",
    "share_memory_": "tinygrad_lr runs in one process",
    "bmm": "use matmul (it batches over leading dimensions)",
    "gather": "index with an integer tensor, x[rows, cols]",
    "scatter_": "write into a clone with index assignment, y[rows, cols] = values",
    "index_select": "index with an integer tensor, x[:, indices]",
    "chunk": "slice the tensor, x[:, :k]",
    "split": "slice the tensor, x[:, :k]",
    "topk": "use argmax, or numpy.argsort on tensor.numpy()",
    "sort": "use numpy.sort on tensor.numpy() (not differentiable)",
    "cumsum": "use a matmul with a triangular matrix of ones",
    "repeat": "use expand (with reshape), or cat",
    "new_zeros": "use tinygrad_lr.zeros(shape, dtype=x.dtype)",
    "new_ones": "use tinygrad_lr.ones(shape, dtype=x.dtype)",
    "new_tensor": "use tinygrad_lr.tensor(data, dtype=x.dtype)",
    "log1p": "use (1 + x).log()",
    "expm1": "use x.exp() - 1",
    "rsqrt": "use 1 / x.sqrt()",
    "reciprocal": "use 1 / x",
}


def missing_tensor_attribute(name: str) -> AttributeError:
    """The error for `x.name` that Tensor lacks; a private name gets Python's usual message."""
    if name.startswith("_"):
        return AttributeError(f"'Tensor' object has no attribute {name!r}")
    return missing("tinygrad_lr.Tensor", name, TENSOR_HINTS)


def missing(package: str, name: str, hints: dict[str, str]) -> AttributeError:
    """The error for `package.name`, e.g. missing("tinygrad_lr.nn", "Conv2d", NN_HINTS)."""
    torch_name = "torch" + package.removeprefix("tinygrad_lr")
    message = f"{package}.{name}: {torch_name}.{name} is not in tinygrad_lr"
    hint = hints.get(name)
    return AttributeError(message + (f"; {hint}" if hint else ""))
