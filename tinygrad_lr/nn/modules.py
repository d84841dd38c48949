"""`Parameter` and `Module`, the base of every layer and model (`torch.nn` names and behaviour).

A Module finds its parameters by watching attribute assignment: `self.weight = Parameter(...)`
registers a parameter and `self.layer = Linear(...)` a sub-module, so `parameters()` can walk
the tree. A plain `Tensor` attribute, even one with `requires_grad=True`, is *not* registered
(as in PyTorch): wrap it in `Parameter` if an optimizer should update it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..autograd import graph, no_grad
from ..device import check_device
from ..dtypes import resolve_dtype
from ..errors import DTypeError
from ..tensor import Tensor


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

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` under `name` (names that are not identifiers, e.g. "0", too)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} is a {type(module).__name__}, not a Module")
        if module is None:
            self._modules.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    register_module = add_module

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
        graph.note_call(self.train, bool(mode))  # a compiled step calling it does so again
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradient recording on or off for every parameter (e.g. to freeze layers)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every sub-module (children first) and then on this module, e.g. to
        initialise weights: `model.apply(init_weights)`. Returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --- devices and dtypes --------------------------------------------------------------------

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """`to(device)`, `to(dtype)`, `to(device, dtype)`, `to(tensor)` (its dtype) or the
        keywords `device=`, `dtype=`. The device must be the CPU; a dtype, which must be a
        floating one, converts every floating parameter (and its gradient) in place, so an
        optimizer made before keeps working on the same parameters. Returns self."""
        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"Module.to: unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str):
                device = arg
            else:
                dtype = arg
        check_device(device, "Module.to")
        if dtype is None:
            return self
        resolved = resolve_dtype(dtype, "Module.to")
        if resolved.kind != "f":
            raise DTypeError(f"Module.to: only floating dtypes can hold parameters, got {resolved}")
        with no_grad():
            for param in self.parameters():
                if param.dtype.kind == "f" and param.dtype != resolved:
                    grad = param.grad
                    param.grad = None
                    param.data = param.detach().numpy().astype(resolved)
                    if grad is not None:
                        param.grad = grad.to(resolved)
        return self

    def cpu(self) -> Module:
        return self

    def cuda(self, device: Any = None) -> Module:
        check_device("cuda", "Module.cuda")
        return self

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

    # Last in the class: these names would shadow the built-in types in annotations below them.
    def float(self) -> Module:
        """Every floating parameter to float32."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Every floating parameter to float64."""
        return self.to(np.float64)

    def half(self) -> Module:
        """Every floating parameter to float16."""
        return self.to(np.float16)


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
