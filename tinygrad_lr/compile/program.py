"""The generated function: a prologue that reads the outside arrays, one line per recorded
step (ops on constants only are computed once, at generation; the steps as plan.py plans them),
`del` after the last use of each array bigger than SMALL (of every array in a LONG program),
and the return value wrapped back into tensors; lines recorded many times over (the steps of
an epoch) are then written as loops (loops.py)."""

from __future__ import annotations

import dataclasses
import keyword
from typing import Any

import numpy as np

from .. import ops
from .codegen import (
    NAMESPACE,
    Mismatch,
    Unfaithful,
    compare,
    constant_name,
    decode,
    explain,
    in_place_line,
    op_lines,
    outside_kinds,
    random_line,
    read_name,
    run_forward,
)
from .guards import Expected, aliasing, grads_apart, separate_grads
from .loops import roll
from .plan import LONG, SMALL, memory, planned
from .trace import Ref, Step, Trace, all_refs


def _identifier(name: str) -> str:
    lead = "_" if name.startswith("_") else ""
    name = "".join(c if c.isalnum() else "_" for c in name).strip("_") or "t"
    return lead + (name + "_" if keyword.iskeyword(name) or name[0].isdigit() else name)


class Program:
    """Source and namespace of the replay of `new` (checked against `old`, the call before)."""

    def __init__(self, old: Trace, new: Trace, fn_name: str, arg_names: list[str],
                 outside_names: dict[int, str]) -> None:  # fmt: skip
        compare(old, new)
        self.trace = new
        self.kinds = outside_kinds(old, new)
        self.namespace: dict[str, Any] = dict(NAMESPACE)
        self.taken = set(self.namespace) | set(arg_names)
        self.names: dict[int, str] = {}
        self.same_name: dict[str, list[int]] = {}  # a name -> the values it holds (`x * 1` is x)
        self.counts: dict[str, int] = {}  # the last number given to each name
        self.floats: dict[int, str] = {}  # float64 constants as Python literals
        self.tensor_names: dict[int, str] = {}  # outside tensors, globals of the code
        self.arg_names = arg_names
        self.outside_names = outside_names
        self.guards = [(owner, was_none) for owner, was_none in new.grad_was_none.items()
                       if self.kinds[owner][0] == "arg" or self.kinds[owner][1] is
                       new.wrappers.get(owner)]  # fmt: skip
        # the outside tensors as the code expects them: hooks, requires_grad, shape, dtype
        self.outside = [
            Expected(tensor, new.arrays[vid].shape, new.arrays[vid].dtype)
            for vid, (kind, tensor, *_) in sorted(self.kinds.items())
            if kind == "ref" and vid in new.wrappers and tensor is new.wrappers[vid]
        ]
        flagged = {v: self.kinds[v] for v in new.flag_changed if v in self.kinds}  # from outside
        if any(kind[0] == "arg" or (kind[0] == "ref" and kind[1] is new.wrappers.get(v))
               for v, kind in flagged.items()):  # fmt: skip
            # recorded again: a change made once (freezing a layer) is not made by the next call
            raise Mismatch("the step changes requires_grad of a tensor from outside it")
        self.aliases, self.pinned, self.grads_shared = aliasing(new)
        self.python_guards = new.guards
        live = [new.arrays[v] if kind[0] == "ref" else kind[1] for v, kind in self.kinds.items()
                if kind[0] in ("ref", "copy")]  # fmt: skip
        # a small NumPy array the code reads at every call needs no check of its values
        self.python_values = [dataclasses.replace(v, content=None) if any(v.value is a for a in
                              live) else v for v in new.python_values]  # fmt: skip
        self.lines: list[str] = []
        self.constants: dict[int, np.ndarray] = {}  # values known when the code is generated
        self.roots, self.counted_with, self.mutable = memory(new)
        made_leaves = [v for v, was_none in new.grad_was_none.items()
                       if self.kinds[v][0] in ("const", "copy")]  # fmt: skip
        if set(made_leaves) & {r.vid for r in all_refs(new.output)}:
            raise Unfaithful("the step returns a leaf it made: a replay would not give it a .grad")
        self._prologue()
        start = len(self.lines)
        self._body()
        self._epilogue()  # then a step recorded n times over (an epoch) becomes a loop:
        constants = {self.names[vid] for vid in self.constants}
        self.lines[start:] = roll(self.lines[start:], self.namespace, constants, self._fresh)
        header = f"def {_identifier(fn_name)}({', '.join(arg_names)}):"
        self.source = "\n".join([header, *("    " + line for line in self.lines)]) + "\n"
        code = compile(self.source, f"<tl.compile {fn_name}>", "exec")
        exec(code, self.namespace)
        self.function = self.namespace[_identifier(fn_name)]
        del self.trace  # its arrays: the program keeps only what the code reads

    # --- names -----------------------------------------------------------------------------

    def _fresh(self, wanted: str) -> str:
        base = _identifier(wanted)
        name, k = base, self.counts.get(base, 0)
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.counts[base] = k
        self.taken.add(name)
        return name

    def _global(self, wanted: str, value: Any) -> str:
        name = self._fresh(wanted)
        self.namespace[name] = value
        return name

    def _tensor_name(self, vid: int) -> str:
        """The name of the Tensor holding outside value `vid` (an argument, or a global)."""
        kind = self.kinds[vid]
        if kind[0] == "arg":
            return self.arg_names[kind[1]]
        if vid not in self.tensor_names:
            self.tensor_names[vid] = self._global("_" + self.names[vid], kind[1])
        return self.tensor_names[vid]

    def src(self, arg: Any, number: bool = False) -> str:
        """Python source for a step's argument: a name, or a literal (`number`: a float64
        constant may be written as a Python float, as an operand of arithmetic)."""
        if isinstance(arg, Ref):
            if number and arg.vid in self.floats:
                return self.floats[arg.vid]
            return self.names[arg.vid]
        if isinstance(arg, tuple):
            return "(" + "".join(self.src(a) + ", " for a in arg).rstrip(" ") + ")"
        if isinstance(arg, list):
            return "[" + ", ".join(self.src(a) for a in arg) + "]"
        if isinstance(arg, (np.ndarray, np.dtype)) or callable(arg):
            return self._global("_constant", arg)
        return repr(arg)

    # --- the three parts ---------------------------------------------------------------------

    def _prologue(self) -> None:
        reads = []
        # a .grad is named after its tensor: after it, though it may have been met first
        for vid, kind in sorted(
            self.kinds.items(), key=lambda item: (item[1][0] == "grad", item[0])
        ):
            if kind[0] == "arg":
                wanted = self.arg_names[kind[1]] + "_data"
            elif kind[0] == "grad":
                wanted = self.names[kind[1]] + "_grad"
            else:
                wanted = self.outside_names.get(vid, constant_name(kind))
            self.names[vid] = self._fresh(wanted)
            if kind[0] == "const" and vid in self.mutable:  # written: a fresh copy each call
                reads.append(
                    f"{self.names[vid]} = {self._global('_' + self.names[vid], kind[1])}.copy()"
                )
            elif kind[0] == "const":
                value = self.constants[vid] = kind[1]
                if value.ndim == 0 and value.dtype == np.float64 and np.isfinite(value):
                    self.floats[vid] = repr(float(value))
                self.namespace[self.names[vid]] = value
            elif kind[0] == "grad":
                reads.append(f"{self.names[vid]} = {self._tensor_name(kind[1])}._grad._data")
            elif kind[0] == "copy":  # tl.tensor(array) in the step: converted at every call
                array = self._global("_" + self.names[vid], kind[1])
                where = kind[2].keywords.get("where", "tensor")  # tensor, as_tensor, operand
                convert = self._global(f"_{where}_of", kind[2])
                reads.append(f"{self.names[vid]} = {convert}({array})  # as the call converted it")
            else:
                reads.append(f"{self.names[vid]} = {self._tensor_name(vid)}._data")
        if reads:
            self.lines.append("# the arrays inside the tensors, read at every call")
            self.lines += reads
        counted = self._version_counts()
        if counted:
            self.lines.append("# versions: each in-place change below counts one, as in eager")
            self.lines += [f"{tensor}._version_counter[0] += {n}" for tensor, n in counted]

    def _version_counts(self) -> list[tuple[str, int]]:
        """The outside tensors the step changes in place, with how many changes each: eager
        raises a tensor's version at every change (a value saved for backward is checked
        against it), and so does the replay, before the changes, so that a replay stopped by
        an error leaves no change uncounted. A view counts with the tensor it views."""
        counts: dict[int, int] = {}
        for step in self.trace.steps:
            if step.kind == "inplace":
                root = self.counted_with.get(step.args[0].vid, step.args[0].vid)
                if self.kinds.get(root, ("",))[0] in ("arg", "ref", "grad"):
                    counts[root] = counts.get(root, 0) + 1
        return [(self._tensor_expression(vid), n) for vid, n in sorted(counts.items())]

    def _changes_after(self, step: Step, vid: int) -> int:
        """How many in-place changes the steps after `step` make to value `vid` (a new `.grad`
        that `clip_grad_norm_` scales): eager counts them in the version of its tensor."""
        position = next(k for k, s in enumerate(self.trace.steps) if s is step)
        root = self.counted_with.get(vid, vid)
        later = [s.args[0].vid for s in self.trace.steps[position + 1 :] if s.kind == "inplace"]
        return sum(self.counted_with.get(target, target) == root for target in later)

    def _tensor_expression(self, vid: int) -> str:
        """Python source for the Tensor that holds outside value `vid` at every call."""
        kind = self.kinds[vid]
        if kind[0] == "grad":
            return f"{self._tensor_name(kind[1])}._grad"
        return self._tensor_name(vid)

    def _body(self) -> None:
        steps, left_out = planned(self.trace, separate_grads(self.kinds, self.trace))
        self.grads_apart = grads_apart(self, left_out.grads, self.trace.arrays)
        self.read_instead = left_out.read_instead  # of a .grad: an array of its own
        dying: dict[int, list[int]] = {}  # position -> the big values last used there
        last_use = {ref.vid: k for k, step in enumerate(steps) for ref in all_refs(step.args)}
        keep = {r.vid for r in all_refs(self.trace.output)} | set(self.kinds)
        small = SMALL if len(steps) <= LONG else 0
        for vid, position in last_use.items():
            if vid not in keep and self.trace.arrays[vid].nbytes >= small:
                dying.setdefault(position, []).append(vid)
        previous_line = None
        for position, step in enumerate(steps):
            if step.kind == "op" and (self._fold(step) or self._identity(step)):
                continue
            if step.line and step.line != previous_line:
                self.lines.append(f"# {step.line}")
                previous_line = step.line
            out = []
            for vid in step.outputs:
                if vid not in self.names:
                    self.names[vid] = self._fresh(f"t{vid}")
                out.append(self.names[vid])
            self.lines += self._lines(step, out)
            dead = self._dead_after(position, step, dying.get(position, []), last_use, keep, small)
            if dead:
                self.lines.append(f"del {', '.join(dead)}")

    def _dead_after(self, position: int, step: Step, last_used: list[int],
                    last_use: dict[int, int], keep: set[int], small: int) -> list[str]:  # fmt: skip
        """The names to delete after the step at `position`: of the values last used there
        and of its outputs that nothing uses. Not deleted: values kept (the outside ones, the
        result), arrays under `small` bytes, constants, and a name another value shares (`x * 1`
        is x) while that value is still needed."""
        values = [v for v in sorted(last_used) if v not in self.constants]
        values += [v for v in step.outputs if v not in last_use and v not in keep
                   and self.trace.arrays[v].nbytes >= small]  # fmt: skip
        names = []
        for vid in values:
            name = self.names[vid]
            shared = self.same_name.get(name, ())
            if not any(v in keep or last_use.get(v, -1) > position for v in shared):
                names.append(name)
        return list(dict.fromkeys(names))

    def _fold(self, step: Any) -> bool:
        """An op on constants only is computed once, here, by its own forward: the same
        NumPy operations, so the same values (the root gradient's reshape and expand...)."""
        refs = all_refs(step.args)
        if not all(r.vid in self.constants for r in refs) or any(
            self.roots.get(v, v) in self.mutable for v in step.outputs
        ):
            return False
        arrays = run_forward(step.what, *decode(step.args, self.constants))
        for vid, array in zip(step.outputs, arrays):
            self.constants[vid] = array
            self.names[vid] = self._global(constant_name(("const", array)), array)
            if array.ndim == 0 and array.dtype == np.float64 and np.isfinite(array):
                self.floats[vid] = repr(float(array))
        return True

    def _identity(self, step: Any) -> bool:
        """`x ** 1` and `x * ones` are x, bit for bit: the output is a second name for x
        (when neither is written in place, which would tell the two apart, and the output is
        not read in place of a .grad, whose value must not change with x's)."""
        op, args, out = step.what, step.args, step.outputs[0]
        if op is ops.PowScalar and args[1] == 1 and not isinstance(args[1], bool):
            source = args[0].vid
        elif op is ops.Mul and any(
            isinstance(a, Ref) and a.vid in self.constants and np.all(self.constants[a.vid] == 1)
            for a in args
        ):
            source = next(a.vid for a in args if a.vid not in self.constants or a is args[1])
        else:
            return False
        result, before = self.trace.arrays[out], self.trace.arrays[source]
        if (
            (result.shape, result.dtype) != (before.shape, before.dtype)
            or {self.roots.get(out, out), self.roots.get(source, source)} & self.mutable
            or source in self.constants
            or out in self.read_instead
        ):
            return False
        self.names[out] = self.names[source]
        self.same_name.setdefault(self.names[source], [source]).append(out)
        return True

    def _lines(self, step: Any, out: list[str]) -> list[str]:
        if step.kind == "op":
            first = step.args[0] if step.args else None
            ndim = self.trace.arrays[first.vid].ndim if isinstance(first, Ref) else 0
            lines = op_lines(step, self.src, out, ndim, self._fresh)
            if len(lines) == 1 and len(out) == 1 and self.trace.arrays[step.outputs[0]].ndim == 0:
                target, expression = lines[0].split(" = ", 1)  # NumPy gives scalars: keep arrays
                lines = [f"{target} = np.asarray({expression})"]
            named = max(k for k, line in enumerate(lines) if not line.startswith("del "))
            lines[named] += f"  # {step.what.__name__}"
            return lines
        if step.kind == "inplace":
            float64 = self.trace.arrays[step.args[0].vid].dtype == np.float64
            return [in_place_line(step, self.src, float64) + f"  # {step.what}"]
        if step.kind == "grad":
            owner, value = step.args
            if step.what == "made" or self.kinds.get(owner.vid, ("",))[0] in ("const", "copy"):
                return ["# (the .grad of a leaf made in the step, which nobody sees after it)"]
            target = self._tensor_name(owner.vid)
            grad = "None" if value is None else f"_tensor({self.src(value)})"
            changes = 0 if value is None else self._changes_after(step, value.vid)
            counted = f"{target}._grad._version_counter[0] += {changes}  # the changes below"
            return [f"{target}._grad = {grad}  # .grad =", *[counted] * bool(changes)]
        if step.kind == "zeros":  # an add left out (plan.py)
            note = "its += and next fill(0) are left out, the value added is read instead"
            return [f"# {self.src(step.args[0])} holds zeros: {note}"]
        if step.kind == "call":  # Python state, set as eager sets it
            call = self._global(f"_{step.what.__name__}", step.what)
            return [f"{call}({', '.join(map(repr, step.args))})  # {step.what.__qualname__}"]
        if step.kind == "random":
            return [random_line(step, out[0], self.trace.arrays[step.outputs[0]].dtype)]
        # a live Python value, computed again at this point of every call
        read = self._global("_" + read_name(step.what), step.what)
        return [f"{out[0]} = np.array({read}(), dtype=np.{np.dtype(step.args[0]).name})"]

    def _epilogue(self) -> None:
        self.wrapped = self._grads_set()  # and a tensor returned twice is one, as in eager
        refs = all_refs(self.trace.output)  # (`return l, l`; `d = w.detach(); return d, d`)
        users = {r for r in refs if type(r) is Ref and self._users_tensor(r.vid)}  # `return w`
        twice = {r for r in refs if refs.count(r) > 1} - users - set(self.wrapped)
        for ref in sorted(twice, key=str):
            self.wrapped[ref] = self._fresh(f"{self.names[ref.vid]}_tensor")
            self.lines.append(f"{self.wrapped[ref]} = {self._new_tensor(ref)}")
        self.lines.append(f"return {self._output(self.trace.output)}")

    def _grads_set(self) -> dict[Ref, str]:
        """The values the step leaves as the `.grad` of an outside tensor (`w.grad = None`,
        then backward), each named as that `.grad`: returned, it is the `.grad` itself."""
        final: dict[int, int | None] = {}  # owner -> the value of its .grad at the end
        for step in self.trace.steps:
            owner, value = step.args[:2] if step.kind == "grad" else (None, None)
            if owner is not None and self.kinds.get(owner.vid, ("",))[0] in ("arg", "ref"):
                final[owner.vid] = None if value is None or step.what == "made" else value.vid
        grads = [(owner, v) for owner, v in final.items() if v is not None]
        return {Ref(v): f"{self._tensor_name(owner)}._grad" for owner, v in grads}

    def _output(self, value: Any) -> str:
        if isinstance(value, Ref):
            if type(value) is Ref and self._users_tensor(value.vid):  # `return w`: w itself
                return self._tensor_expression(value.vid)
            if value in self.wrapped:
                return self.wrapped[value]
            return self._new_tensor(value)
        if isinstance(value, (tuple, list)):
            items = ", ".join(self._output(v) for v in value)
            if hasattr(value, "_fields"):  # a namedtuple
                return f"{self._global(f'_{type(value).__name__}', type(value))}({items})"
            one = "," if len(value) == 1 else ""  # (`(t3,)`)
            return f"[{items}]" if isinstance(value, list) else f"({items}{one})"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k!r}: {self._output(v)}" for k, v in value.items()) + "}"
        return repr(value)

    def _new_tensor(self, ref: Ref) -> str:
        """A new tensor around value `vid`; one around an outside tensor's array counts
        versions with it, as eager's `w.detach()` does, and a view of it (`w.T`, `w[0]`) is
        its view, as eager's is."""
        vid = ref.vid
        root = self.counted_with.get(vid, vid)
        if self.kinds.get(root, ("",))[0] not in ("arg", "ref", "grad"):
            made = f"_tensor({self.src(Ref(vid))})"
        elif root != vid:
            made = f"{self._tensor_expression(root)}._view({self.src(Ref(vid))})"
        else:
            made = f"_counting_with({self.src(Ref(vid))}, {self._tensor_expression(root)})"
        return f"_graph_not_kept({made})" if ref in self.trace.graphed else made

    def _users_tensor(self, vid: int) -> bool:
        """Is outside value `vid` read from a tensor of the user's (an argument, a parameter,
        a `.grad` the step does not replace) rather than from one the recording made?"""
        kind = self.kinds.get(vid, ("",))
        if kind[0] == "grad":
            owner = Ref(kind[1])
            return not any(s.kind == "grad" and s.args[0] == owner for s in self.trace.steps)
        expected = kind[0] == "ref" and any(e.tensor is kind[1] for e in self.outside)
        return kind[0] == "arg" or expected

    # --- errors of a replay ------------------------------------------------------------------

    def explain(self, error: Exception) -> Exception:
        """An error a replayed line raised, named as eager names it (see codegen.explain)."""
        return explain(error, self.function, self.source)
