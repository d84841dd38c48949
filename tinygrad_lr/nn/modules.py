"""`Parameter`, `Module` and the layers built on them (`torch.nn` names and behaviour).

A Module finds its parameters by watching attribute assignment: `self.weight = Parameter(...)`
registers a parameter and `self.layer = Linear(...)` a sub-module, so `parameters()` can walk
the tree. A plain `Tensor` attribute, even one with `requires_grad=True`, is *not* registered
(as in PyTorch): wrap it in `Parameter` if an optimizer should update it.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..autograd import no_grad
from ..creation import rand
from ..errors import ShapeError
from ..tensor import Tensor
from . import functional


class Parameter(Tensor):
    """A tensor that is a model's learnable state: a leaf with `requires_grad=True` that a
    Module registers when it is assigned as an attribute."""

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        # A copy of `data` (torch.nn.Parameter shares memory with the tensor it wraps).
        super().__init__(np.empty(0) if data is None else data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class StateDictError(KeyError, RuntimeError):
    """A state_dict that does not fit the module: missing, unexpected or mis-shaped entries."""

    def __str__(self) -> str:  # KeyError would print the message inside quotes
        return str(self.args[0])


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers and models: subclasses set attributes in `__init__` (after calling
    `super().__init__()`) and compute the output in `forward`; `module(x)` calls `forward(x)`."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # --- registration --------------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        parameters = self.__dict__.get("_parameters")
        modules = self.__dict__.get("_modules")
        if parameters is None or modules is None:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} {name!r} before Module.__init__() "
                    f"has run; call super().__init__() first in {type(self).__name__}.__init__"
                )
            object.__setattr__(self, name, value)
            return
        # As in PyTorch: `self.weight = self.weight * 2` would silently drop the parameter from
        # parameters() (and so from the optimizer). None empties a slot on purpose.
        kind = "Parameter" if name in parameters else "Module" if name in modules else None
        if kind and not isinstance(value, (Parameter, Module, type(None))):
            raise TypeError(
                f"cannot assign a {type(value).__name__} to {name!r}, a registered {kind} of "
                f"{type(self).__name__} ({kind} or None expected)"
                + ("; wrap the value in Parameter(...)" if kind == "Parameter" else "")
            )
        # Forget what `name` held; an entry replaced by its own kind keeps its place in the order.
        self.__dict__.pop(name, None)
        if not isinstance(value, Parameter):
            parameters.pop(name, None)
        if not isinstance(value, Module):
            modules.pop(name, None)
        if isinstance(value, Parameter):
            parameters[name] = value
        elif isinstance(value, Module):
            modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Called only when normal lookup fails: registered parameters and modules live here.
        for registry in ("_parameters", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` under `name` (None keeps the slot empty, e.g. `bias=False`)."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    # --- traversal -----------------------------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and all below it, depth first, each once even if shared."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [
                (f"{name}.{child}" if name else child, m) for child, m in module._modules.items()
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, e.g. ('0.weight', ...); a shared parameter once."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, param in module._parameters.items():
                if id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    # --- state ---------------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters (they accumulate across backward calls)."""
        clear_grads(self.parameters(), set_to_none)

    def train(self, mode: bool = True) -> Module:
        """Set `training` on this module and all below it; returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    def state_dict(self) -> OrderedDict[str, Tensor]:
        """A copy of every parameter's values, keyed by dotted name.

        Unlike PyTorch, the values are copies rather than views, so a saved state_dict does
        not change when training continues."""
        return OrderedDict(
            (name, Tensor(param.detach())) for name, param in self.named_parameters()
        )

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy values into the parameters in place (optimizers keep working on them).

        Shapes must match. With `strict`, the keys must match exactly; otherwise missing and
        unexpected keys are returned. Nothing is changed unless every entry fits."""
        own = dict(self.named_parameters())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        arrays: dict[str, np.ndarray] = {}
        for key, param in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = np.asarray(value.detach() if isinstance(value, Tensor) else value)
            if array.dtype.kind not in "fiub":
                problems.append(
                    f"{key!r} must hold numbers, got {type(value).__name__} of dtype {array.dtype}"
                )
            elif array.shape != param.shape:
                problems.append(
                    f"size mismatch for {key!r}: the state_dict has shape {tuple(array.shape)}, "
                    f"the model has shape {param.shape}"
                )
            else:
                arrays[key] = array
        if problems:
            raise StateDictError(
                f"Error(s) in loading state_dict for {type(self).__name__}: " + "; ".join(problems)
            )
        with no_grad():
            for key, array in arrays.items():
                own[key].copy_(array)
        return IncompatibleKeys(missing, unexpected)

    # --- repr ----------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr, e.g. `in_features=2`."""
        return ""

    def __repr__(self) -> str:
        # PyTorch's layout: one line when there are no sub-modules, else one indented line each.
        extra = self.extra_repr()
        children = [f"({name}): {module!r}" for name, module in self._modules.items()]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        body = "\n".join(lines).replace("\n", "\n  ")
        return f"{type(self).__name__}(\n  {body}\n)"


def clear_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Forget accumulated gradients: `.grad = None`, or fill the existing `.grad` with zeros."""
    for param in params:
        if param.grad is None:
            continue
        if set_to_none:
            param.grad = None
        elif param.grad.requires_grad:  # made with create_graph: do not touch that graph
            param.grad = Tensor(np.zeros(param.shape, dtype=param.dtype))
        else:
            with no_grad():
                param.grad.zero_()


def _check_positive_int(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


class Linear(Module):
    """y = x @ weight.T + bias, with weight of shape (out_features, in_features) and bias of
    shape (out_features,) as in PyTorch.

    Both start uniform in [-1/sqrt(in_features), 1/sqrt(in_features)] (PyTorch's default,
    Kaiming-uniform with a = sqrt(5)), drawn from the library's generator (`manual_seed`)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = _check_positive_int(in_features, "in_features", "Linear")
        self.out_features = _check_positive_int(out_features, "out_features", "Linear")
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = Parameter(_uniform((self.out_features, self.in_features), bound))
        if bias:
            self.bias = Parameter(_uniform((self.out_features,), bound))
        else:
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            input = Tensor(input, dtype=self.weight.dtype)
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise ShapeError(
                f"{self!r}: input of shape {input.shape} must have last dimension "
                f"{self.in_features} (in_features)"
            )
        output = input @ self.weight.T
        return output if self.bias is None else output + self.bias

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


def _uniform(shape: tuple[int, ...], bound: float) -> Tensor:
    """U(-bound, bound) from the library's global generator."""
    return rand(*shape) * (2 * bound) - bound


class Sequential(Module):
    """Calls its modules in order: Sequential(Linear(2, 8), ReLU(), Linear(8, 1))(x)."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential: argument {index} is a {type(module).__name__}, not a Module"
                )
            setattr(self, str(index), module)

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            input = module(input)
        return input

    def append(self, module: Module) -> Sequential:
        setattr(self, str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        """The module at `index`, or a Sequential of a slice of them (sharing the modules)."""
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        try:
            return modules[index]
        except IndexError:
            raise IndexError(
                f"Sequential: index {index} is out of range for {len(modules)} modules"
            ) from None


class ReLU(Module):
    """max(x, 0) elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return functional.relu(input)


class Tanh(Module):
    """tanh(x) elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return functional.tanh(input)


class Sigmoid(Module):
    """1 / (1 + e^-x) elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return functional.sigmoid(input)


class _Loss(Module):
    def __init__(self, reduction: functional.Reduction = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', "
                f"got {reduction!r}"
            )
        self.reduction: functional.Reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """mean((input - target)^2) (or sum, or per element)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return functional.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """mean(|input - target|) (or sum, or per element)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return functional.l1_loss(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits: softplus(x) - x y, averaged."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return functional.binary_cross_entropy_with_logits(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """-log softmax(logits)[class], averaged; targets are class indices or probabilities."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return functional.cross_entropy(input, target, self.reduction)
