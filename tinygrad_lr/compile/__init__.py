"""`tl.compile(step)`: a training step recorded while it runs, replayed as straight-line NumPy.

    @tl.compile
    def step(X, y):
        loss = ((X @ w + b - y) ** 2).mean()
        loss.backward()
        with tl.no_grad():
            for p in (w, b):
                p -= lr * p.grad
                p.grad.zero_()
        return loss

    step(X, y); print(step.code)     # the step as NumPy lines

How it works. A call records every op the step runs (`observe_ops`): forward, the whole
backward pass, optimiser updates and other in-place changes, `.grad` assignments, random draws.
The second call with the same signature (shapes, dtypes and requires_grad of the tensor
arguments, the other arguments' values, grad mode) records again; when both records agree, the
NumPy source is generated and every later call runs it: no Tensor, no graph, no dispatch.
Records that differ (an optimiser's first step makes its state) are recorded again, up to
`MAX_RECORDS` times; a record is compared with each of those before it, so Python values that
flip between calls (`model.train()` inside the step, `model.eval()` outside) get a program for
each state, up to `MAX_PROGRAMS`. Before each later call, a generated check (guards.py) tells
whether the call is the one the last program run was made for; if not, the signature is
looked up, its programs' guards are tried, or the call is recorded.

What is live: tensors the step reads from outside (parameters, data, optimiser state, `.grad`)
are read and written at every call (their versions count the in-place changes, as eager counts
them; and they must have the shape, dtype and requires_grad they had, or the step is recorded
again, and no hook, or it runs eagerly); an optimiser's hyper-parameters (a scheduler's `lr`)
and Adam's bias corrections are computed again at their place in every call, and its branches
(weight decay on? which parameters have a `.grad`? its groups and state tensors) are checked
before every call; random draws come from the library's generator at every call. The Python
values the step reads are checked before every call, and a change records the step again
(python_values.py): the globals, closure variables and arguments its code loads and the
attribute chains it loads from them (`lr`, `config.lr`, `self.model`), the methods of the
user's it calls on them, every entry of the models met on the way (`model.eval()`, dropout's
`p`, a layer or a parameter assigned anew) and what their forwards written by the user read.
Numbers, strings, flags, enums and tuples of them are compared by value, other objects by
identity; a value that changes at every call makes the step run eagerly, with a warning naming
it. Lists, tuples and dicts are followed by the items the step takes (`config["lr"]`), or, used
as a whole, by their length and every item (`for m in models`, `lr, wd = hp`); sets by their
members, small NumPy arrays by their values, and what your own properties, helpers and objects
passed on read, also through local aliases and loop variables (python_values.py has the
details). A value only its owner's code can give (`__getattr__`, a ChainMap's item) runs the
step eagerly. Not followed: the library's own functions. A step with a Python side effect
(it assigns a global, sets an attribute of an object, appends to a list it did not make,
prints, logs) or a Python call whose result is new at every call (a draw from `random` or
`np.random`, the clock, an iterator it names, `tl.manual_seed`, setting an optimiser's
`group["lr"]`) runs eagerly with a warning: a replay would not repeat it. `model.train()` and
`model.eval()` inside the step are replayed (they set the `training` flags again). A leaf the
step makes (`x.detach().requires_grad_()`, for the gradient of the input) has its `.grad`
inside the step only; a step that returns one runs eagerly. A tensor made in the step from a
NumPy array (`tl.tensor(X)`, `tl.from_numpy(X)`) reads that array again at every call; made
from a new view at every call (`tl.tensor(X[0:4])`), the step runs eagerly. NumPy code is not
recorded, so a tensor made from an array the step computes (`tl.tensor(X * 2)`) is a constant
of the code (`np.eye(3)`) only in a step that reads no NumPy array as a Python value: one that
does (X) runs eagerly, as X may change in place between calls. An argument that was also a
tensor the step names, or the same tensor as another argument, when recorded, must be so again.

What falls back to eager, with one warning naming the line (or, with `fullgraph=True`, raises
`Unsupported`): reading values into Python (`float(t)`, `.item()`, `bool(t)`, `.tolist()`,
`.numpy()`, `np.asarray(t)`, printing), boolean-mask indexing, hooks and retain_grad, in-place
changes of tensors in the graph other than `y[i] = v` on a tensor computed in the step,
assigning `.data` a new array, changing `requires_grad` of an outside tensor at every call (a
change made once is recorded again), a scheduler's `step()` inside the step, a user's Function
computing outside Tensor operations, anomaly mode and saved-tensor hooks, an argument that is a
list, tuple or dict of tensors (pass them as arguments of their own) or another unhashable
value. A replay keeps no graph: a result that had one when recorded requires grad, but its
`grad_fn` ends there, and a backward that reaches it raises (call backward inside the step,
before the result is returned, as a training step does). An error that a replayed NumPy line
raises (an index out of range) names the op and the step's line, as the eager error names the
op. A user's own `Function` is replayed through the built-in ops its
forward and backward ran. Item assignment outside the graph is replayed too (`w[0] = 0.0` under
`no_grad`, `grad_input[x < 0] = 0` in a Function's backward). `cross_entropy` and `nll_loss`
with class-index targets are replayed (the label check is an op), and so is
`binary_cross_entropy` (its check of the probabilities is an op too). A compiled step called
while another step is recorded runs eagerly, so the other's record holds its ops (an epoch
compiled around a compiled step). Python loops are recorded as the copies of their lines they
ran; in a long program, copies that differ only in the names of their arrays and in numbers
that count (`order_data[0]`, `order_data[1]`...) are written as one loop again (loops.py).
In such a program, a `.grad` that the program zeroed (`p.grad.zero_()` after an update) holds
zeros when the next backward adds into it: that add and the next fill are left out and the
update reads the gradient itself (plan.py; the check before each call makes sure that no other
tensor the step reads shares the `.grad`'s memory, that the tensors have the layouts they had,
and that NumPy is not set to raise on floating-point errors). The values are eager's, but for
the sign of a zero: where a gradient is -0.0, eager's `.grad` holds 0.0 + -0.0, which is +0.0
(and 1 / the gradient, as the step reads it, is -inf where eager's is +inf). `from
tinygrad_lr.compile import plan; plan.SKIP_ADDS_TO_ZEROS = False`, before the step's first
call, keeps every add, to agree with eager to the bit.

`tl.compile(model)` for an `nn.Module` returns a wrapper that behaves as the model (attributes
and methods are the model's): with grad mode on it runs eagerly, as the caller needs a graph
for backward; under `no_grad` it replays the forward (the modules' `training` flags are part
of the signature).
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from collections.abc import Callable
from typing import Any

from ..autograd import graph
from ..autograd.grad_mode import _state
from ..tensor import Tensor
from .bytecode import PACKAGE
from .codegen import Mismatch, Unfaithful
from .guards import MISS, always_miss, holds, write_check
from .names import outside_names
from .program import Program
from .python_values import python_values
from .same import signature_key
from .trace import Recorder, Trace, Unsupported

MAX_RECORDS = 4  # records of one signature that make no program before giving up on it
MAX_PROGRAMS = 4  # programs kept per signature (states of the Python values it reads)
MAX_SIGNATURES = 8  # signatures kept per function

__all__ = ["CompileWarning", "CompiledFunction", "Unsupported", "compile"]


class CompileWarning(UserWarning):
    """A step runs eagerly because it cannot be replayed faithfully."""


class _Entry:
    """What is known about one signature: its programs (one per state of the Python values
    it reads: `model.training` before the call...), the records not yet made into one, or
    that it runs eagerly."""

    def __init__(self) -> None:
        self.recent: list[Trace] = []  # the records since the last program, latest last
        self.programs: list[tuple[Program, Callable[..., Any]]] = []  # with its check
        self.eager = False


class CompiledFunction:
    """The callable `tl.compile(fn)` returns; `code` is the source of the latest program."""

    def __init__(self, fn: Callable[..., Any], fullgraph: bool = False) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.fullgraph = fullgraph
        self._entries: dict[Any, _Entry] = {}
        self._latest: Program | None = None
        self._check_and_run: Callable[..., Any] = always_miss  # the last replayed signature's
        self._warned = False
        try:
            self._arg_names = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            self._arg_names = []

    @property
    def code(self) -> str | None:
        """The generated source of the latest signature (None before the first replay, and
        once that signature runs eagerly)."""
        latest = self._latest
        if latest is None or not any(
            program is latest for e in self._entries.values() for program, _ in e.programs
        ):
            return None
        return latest.source

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if graph._observers:  # inside a recording (another step's, gradcheck's): it needs
            return self.fn(*args, **kwargs)  # the ops, so this step runs eagerly
        if not kwargs:  # the fast road: the call is the one the last replayed program is for
            result = self._check_and_run(*args)
            if result is not MISS:
                return result
        call = functools.partial(self.fn, *args, **kwargs)  # the call as made, for eager runs
        if _state.detect_anomaly or _state.saved_tensors_hooks:
            self._give_up("anomaly mode or saved-tensor hooks are on")
            return call()
        names = None
        if kwargs:  # recorded and replayed by position; the names are part of the signature
            arguments = inspect.signature(self.fn).bind(*args, **kwargs).arguments
            names, args = tuple(arguments), tuple(arguments.values())
        try:
            key = (names, _signature(args))
        except _SignatureError as why:
            self._give_up(str(why))
            return call()
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
            while len(self._entries) > MAX_SIGNATURES:
                self._entries.pop(next(iter(self._entries)))
                self._warn(
                    f"tl.compile: {getattr(self.fn, '__name__', 'the step')} has been called "
                    f"with more than {MAX_SIGNATURES} signatures, each recorded anew (a number "
                    "argument that changes from call to call? pass it as a tensor)"
                )
        if entry.eager:
            return call()
        for program, check_and_run in entry.programs:
            if holds(program, args):
                if names is None:  # the fast road takes positional calls only
                    self._check_and_run = check_and_run
                try:
                    return program.function(*[a for a in args if isinstance(a, Tensor)])
                except (IndexError, ValueError, TypeError) as error:
                    raise program.explain(error) from None
        return self._record(entry, args, names, call)

    def _record(
        self, entry: _Entry, args: tuple[Any, ...], names: Any, call: Callable[[], Any]
    ) -> Any:
        recorder = Recorder(args)
        try:
            values, effect = python_values(self.fn, args, names)  # as the call finds them
        except Exception as error:  # code that cannot be read: run it as it is
            values, effect = [], f"cannot be read ({type(error).__name__}: {error})"
        if effect is not None:  # a replay would not do it
            self._run_eagerly(entry)
            if not effect.startswith("cannot"):
                effect += ", a Python side effect which a replay would not repeat"
            self._give_up(f"the step {effect}")
            return call()
        with graph.observe_ops(recorder):
            result = call()
        trace = recorder.finish(result)
        trace.python_values = values
        if trace.problem is not None:
            self._run_eagerly(entry)
            self._give_up(trace.problem)
            return result
        mismatch: Mismatch | None = None
        name, arg_names = getattr(self.fn, "__name__", "step"), self._tensor_names(args)
        for previous in reversed(entry.recent):  # the latest first; an earlier one may be of
            try:  # the same Python values (`model.training` flips between calls)
                program = Program(previous, trace, name, arg_names, outside_names(self.fn, trace))
            except Unfaithful as unfaithful:
                self._run_eagerly(entry)
                self._give_up(str(unfaithful))
                return result
            except Mismatch as why:
                mismatch = mismatch or why  # the latest record's reason, for the warning
                continue
            entry.programs = [
                *entry.programs[1 - MAX_PROGRAMS :],
                (program, write_check(program, args)[1]),
            ]
            entry.recent, self._latest = [], program  # the program holds what it needs
            return result
        entry.recent.append(trace)
        if len(entry.recent) >= MAX_RECORDS:
            self._run_eagerly(entry)
            self._give_up(f"{mismatch} after {MAX_RECORDS} calls")
        return result

    def _run_eagerly(self, entry: _Entry) -> None:
        if any(check is self._check_and_run for _, check in entry.programs):
            self._check_and_run = always_miss
        entry.eager, entry.recent, entry.programs = True, [], []

    def _tensor_names(self, args: tuple[Any, ...]) -> list[str]:
        names = [n for n, a in zip(self._arg_names, args) if isinstance(a, Tensor)]
        count = sum(isinstance(a, Tensor) for a in args)
        return names if len(names) == count else [f"arg{k}" for k in range(count)]

    def _give_up(self, why: str) -> None:
        message = f"tl.compile: {why}; {getattr(self.fn, '__name__', 'the step')} runs eagerly"
        if self.fullgraph:
            raise Unsupported(message)
        self._warn(message)

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(message, CompileWarning, stacklevel=_callers_level())


def _callers_level() -> int:
    """The `stacklevel` of a warning given by `_warn` (this function's caller) that names the
    user's line: the first frame outside the library."""
    frame, level = sys._getframe(2), 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


class _SignatureError(Exception):
    """An argument that cannot be part of a signature: the call runs eagerly."""


def _signature(args: tuple[Any, ...]) -> Any:
    """What a program is specific to: tensor metadata, other arguments' values, grad mode."""
    parts: list[Any] = [_state.grad_enabled]
    for position, arg in enumerate(args):
        if isinstance(arg, Tensor):
            parts.append(("tensor", arg.shape, arg.dtype.str, arg.requires_grad))
            continue
        kind = type(arg).__name__
        if isinstance(arg, (tuple, list, dict)) and any(
            isinstance(item, Tensor) for item in (arg.values() if isinstance(arg, dict) else arg)
        ):
            raise _SignatureError(
                f"argument {position} is a {kind} of tensors (pass the tensors as arguments of "
                "their own: step(*batch))"
            )
        try:
            hash(arg)
        except TypeError:
            raise _SignatureError(
                f"argument {position} is a {kind}, which cannot be part of a signature (pass "
                "hashable values: numbers, strings, tuples)"
            ) from None
        parts.append(signature_key(arg))
    return tuple(parts)


def compile(model: Any = None, *, fullgraph: bool = False, **options: Any) -> Any:
    """`tl.compile(fn)` or `@tl.compile`: fn recorded once per signature and replayed as NumPy.
    `tl.compile(module)` wraps an nn.Module (see the module docstring). Other options of
    `torch.compile` (mode, backend, dynamic...) are accepted and ignored."""
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, **options)
    from ..nn.modules import Module

    if isinstance(model, Module):
        from .module import CompiledModule

        return CompiledModule(model, fullgraph)
    if not callable(model):
        raise TypeError(
            f"tl.compile: expected a function or an nn.Module, got {type(model).__name__}"
        )
    return CompiledFunction(model, fullgraph)
