"""The Python values a step reads, checked before every replay, and the Python side effects
that a replay would not repeat.

A recorded step has its Python values built in: `p -= lr * p.grad` with a global `lr` replays
with the `lr` of the recording, `if use_bias:` with the branch it took, `self.model(x)` with
the model it had. So before each recorded call the values the step's code reads are noted (from
its bytecode: each name it loads and the attributes it loads from it, `self.model.fc`, also
through a local alias, `cfg = self.cfg; cfg.lr`, and a loop variable, `for g in groups: g.lr`),
and the check before each replay reads them again; when one has changed, the step is recorded
anew.

Followed from the step's code: globals, closure variables, its arguments that are not tensors,
attribute chains through instance dicts, slots and plain class attributes (no property is run:
what the getter of a property of the user's reads is followed instead), the entries of the
models met on the way and of the modules inside them (`training`, dropout's `p`, a parameter or
a submodule assigned anew; of a module of the user's own class, the names its code mentions),
their forwards written by the user, and the Python functions among them that are not the
library's (helpers, decorated functions), to a depth of 4, for every object each runs on. An
item of a list, tuple or dict taken with a constant key is followed as an attribute is
(`config["lr"]`, `models[0].fc`); a container used as a whole (iterated, passed on, indexed
with a computed key, `.get`) by its length and each item, up to 256 items per step, and a set
by its members; another object used as a whole (`update(params, cfg)`, an item of a list
iterated over) by the entries whose names the code followed mentions (all if it reads
attributes by a computed name: `getattr(cfg, k)`).

Numbers, strings, booleans, None, enums, NumPy scalars and tuples of them are compared by
value, floats to the bit (0.0 is not -0.0); other objects by identity, and NumPy arrays of up
to 64 numbers by their values too (`float(lr)` after `lr[...] = 0.05`), unless the code reads
that array itself. A value only its owner's code can give (an attribute `__getattr__` computes,
an item of a ChainMap or of a class with `__getitem__`) makes the step run eagerly. Not
followed: the library's own properties and functions (those that matter tell the check
themselves: `scheduler.get_last_lr()`), `globals()[name]`, `__defaults__` changed later.

A replay runs NumPy lines only, so a step with a Python side effect (effects.py) runs eagerly:
one that calls what gives a new result at every call is found here (a random number
generator's method, `np.random.randint`, `random.random`, a global `RandomState`; the clock,
an iterator, logging); what the library's functions or other objects' methods do is not
followed (a progress bar's `update`).
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from .attributes import (
    computed_by_its_owner,
    instance_dict,
    label_of,
    locate,
    property_getter,
    users_method,
)
from .bytecode import (
    MUTATORS,
    NEW_EACH_CALL,
    PACKAGE,
    functions_called,
    gives_anew,
    is_iterator,
    parameters,
    reads,
    users_function,
)
from .effects import CONTAINERS, store_effect
from .same import CELL, LENGTH, MAX_ARRAY, MEMBERS, PythonValue, content_of, is_simple

_MAX_DEPTH = 4  # helpers of helpers followed
_MAX_ITEMS = 256  # the items of containers followed per step: the rest is known by identity
# code that reads attributes by a name it computes: every entry of the objects it may get
_BY_NAME = {"getattr", "vars", "hasattr", "__dict__", "attrgetter", "getattr_static",
            "__getattribute__"}  # fmt: skip
_EFFECT_BUILTINS = {"input": "reads input()", "print": "prints", "open": "opens a file"}


# --- from a step to its values ---------------------------------------------------------------


def python_values(
    fn: Any, args: tuple[Any, ...] = (), names: tuple[str, ...] | None = None
) -> tuple[list[PythonValue], str | None]:
    """The values `fn(*args)` reads (`fn(**dict(zip(names, args)))` if the call named them),
    as they are now, and the first Python side effect its code has (None if none): see the
    module docstring."""
    found = _Found()
    named = dict(zip(names, args)) if names is not None else {}
    # each is called with the arguments; the innermost first, with them, before a wrapper's
    # code meets it as a closure variable (without them)
    for function, owner, (prefix, keywords) in reversed(functions_called(fn)):
        if not users_function(function) and hasattr(function, "__wrapped__"):
            continue  # a library decorator (`@tl.no_grad()`): the function it wraps comes next
        bound = (prefix, {**keywords, **named})
        found.function(function, parameters(function, owner, () if named else args, bound))
    for position, arg in enumerate(args):  # the signature knows them by identity only
        found.module_settings(f"argument {position}", arg)
    found.follow_used_whole()
    return found.values, found.effect


class _Found:
    """The values found so far (each holder and key once), and the first side effect."""

    def __init__(self) -> None:
        self.values: list[PythonValue] = []
        self.effect: str | None = None
        self._seen: dict[tuple[int, Any], int] = {}  # (holder, key) -> its place in values
        self._done: set[Any] = set()  # functions (with their locals), models and containers
        self._budget = _MAX_ITEMS  # the items of containers still to be followed
        # objects the step uses as a whole (see note_used_whole), and every name the code
        # followed mentions: the attributes of theirs it can read
        self._whole: list[tuple[str, Any, int]] = []
        self._names: set[str] = set()
        self._methods: set[str] = set()  # called on a helper's parameter: `t.rate()`
        self._quiet = False  # following code that may not run: no side effect counts

    def add(self, name: str, holder: Any, key: Any, value: Any, read: bool = True) -> None:
        """Note `holder[key]`, which the code reads (`read`), or which a model holds: then a
        small NumPy array in it is compared by identity only (`model.seen` kept for logging),
        unless the code reads it too."""
        small = read and isinstance(value, np.ndarray) and value.size <= MAX_ARRAY
        content = content_of(value) if small else None  # (a bigger one is a data array)
        place = self._seen.get((id(holder), key))
        if place is None:
            self._seen[(id(holder), key)] = len(self.values)
            self.values.append(PythonValue(name, holder, key, value, content))
        elif content is not None and self.values[place].content is None:
            self.values[place] = PythonValue(name, holder, key, value, content)

    def contents(self, name: str, container: Any) -> None:
        """The length and items of a list, tuple or dict the step uses as a whole (`for p in
        params`, `lr, wd = hp`, `cfg.get("lr")`), each a value of its own, and the containers,
        models, functions and objects among them; at most `_MAX_ITEMS` items in all (a bigger
        container is known by identity only)."""
        if not isinstance(container, (list, tuple, dict, set)) or is_simple(container):
            return
        if id(container) in self._done or len(container) > self._budget:
            return
        self._done.add(id(container))
        self._budget -= len(container)
        if isinstance(container, set):  # `if name in skip:`; compared by value if simple
            self.add(f"{name} (members)", container, MEMBERS, frozenset(container))
            for member in container:  # (`for g in groups:`; no order to name them by)
                self.note_used_whole(f"a member of {name}", member)
            return
        self.add(f"len({name})", container, LENGTH, len(container))
        if isinstance(container, dict):  # (dict's own methods: a subclass's may run code)
            items = [(key, dict.__getitem__(container, key)) for key in dict.keys(container)]
        else:
            items = list(enumerate(container))
        for position, (key, item) in enumerate(items):
            shown_key = repr(key) if type(key) in (str, int, bool) else f"item {position}"
            self.add(f"{name}[{shown_key}]", container, key, item)
            self.module_settings(f"{name}[{shown_key}]", item)
            self.contents(f"{name}[{shown_key}]", item)
            self.note_used_whole(f"{name}[{shown_key}]", item)  # `for i, g in enumerate(gs): g.lr`
            self._code(item, 0)  # `for f in layers: x = f(x)`

    def note_used_whole(self, name: str, value: Any, depth: int = 0) -> None:
        """An object the step uses as a whole (`update(params, cfg)`, `for k, g in
        enumerate(groups)`), whose attributes code may read: see `follow_used_whole`."""
        from ..nn.modules import Module

        skipped = (type, types.ModuleType, types.FunctionType, Module)  # (models: see below)
        if not (isinstance(value, skipped) or _is_tensor(value) or is_simple(value)):
            self._whole.append((name, value, depth))

    def follow_used_whole(self) -> None:
        """The entries of the objects used as a whole (and of the user's own modules) whose
        names the code followed mentions (`cfg.lr`, `c.__dict__["lr"]`), and their slots and
        methods it names (side effects count for those a helper calls on its parameters);
        all entries, and how many, if the code reads them by a computed name (getattr, vars).
        Following them may mention more names."""
        done: set[tuple[int, Any]] = set()
        while True:
            every = bool(self._names & _BY_NAME)
            left: list[tuple[str, Any, Any, tuple[str, ...], Any, int]] = []
            for name, value, depth in self._whole:
                own = instance_dict(value)
                if every and own is not None:
                    self.add(f"len(vars({name}))", own, LENGTH, len(own))  # one added: hasattr
                left += [(f"{name}.{k}", own, k, (), item, depth) for k, item in
                         (own or {}).items() if every or k in self._names]  # fmt: skip
                named = self._names & set().union(*map(vars, type(value).__mro__[:-1]))
                left += [(name, value, key, (key,), value, depth)
                         for key in named if users_method(value, key)]  # fmt: skip
            left = [e for e in left if (id(e[1]), e[2]) not in done]
            if not left:
                return
            for label, holder, key, attributes, item, depth in left:
                done.add((id(holder), key))
                if not attributes:  # an entry, and then what it holds
                    self.add(label, holder, key, item)
                # a method only named (`metrics.update`, a dict's) counts for its reads only
                self._quiet = bool(attributes) and key not in self._methods
                self.chain(label, item, attributes, depth, "")
                self._quiet = False

    def function(
        self, function: types.FunctionType, locals_: dict[str, Any], depth: int = 0
    ) -> None:
        """What `function`'s code reads, given the values of some of its locals."""
        # (a method, a forward or a getter is followed for each object it is called on)
        done = (id(function), *map(id, locals_.values()))
        if done in self._done or depth > _MAX_DEPTH:
            return
        self._done.add(done)
        code_reads = reads(function.__code__)
        self._names |= code_reads.names
        filename = function.__code__.co_filename.rsplit("/", 1)[-1]
        where = f"{filename}:{function.__code__.co_firstlineno}"
        at = {chain: f"{filename}:{line}" for chain, line in code_reads.lines}
        cells = dict(zip(function.__code__.co_freevars, function.__closure__ or ()))
        for default in (*(function.__defaults__ or ()), *(function.__kwdefaults__ or {}).values()):
            self._code(default, depth)  # `def h(c, read=lambda z: z.lr)`: its code runs
        effect = store_effect(function, code_reads, cells, locals_)
        if effect is not None:
            self._effect(effect)
        for chain in sorted(code_reads.chains):
            try:
                self.follow(chain, function, cells, locals_, depth, at.get(chain, where))
            except Exception:  # an object that refuses to be looked at (a proxy): its name
                continue  # is checked by identity if it was added, its attributes are not

    def follow(self, chain: tuple[str, ...], function: types.FunctionType, cells: dict[str, Any],
               locals_: dict[str, Any], depth: int, where: str) -> None:  # fmt: skip
        """Note the value a chain starts from, then follow its attributes."""
        kind, name, attributes = chain[0], chain[1], chain[2:]
        if kind == "global":
            if name not in function.__globals__:  # a builtin
                if name in _EFFECT_BUILTINS:
                    self._effect(f"{_EFFECT_BUILTINS[name]} ({where})")
                return
            holder: Any = function.__globals__
            value = PythonValue(name, holder, name, None).read()
            if not isinstance(value, types.ModuleType):  # modules are not rebound
                self.add(name, holder, name, value)
        elif kind == "cell" and name in cells:
            value = PythonValue(name, cells[name], CELL, None).read()
            self.add(name, cells[name], CELL, value)
        elif kind in ("local", "cell") and name in locals_:  # (cell: an argument a closure
            value = locals_[name]  # uses) an argument: the signature checks it
        else:  # a local the step makes; a helper's parameter (see note_used_whole)
            code = function.__code__
            if attributes and name in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]:
                self._methods.add(attributes[0])
            return
        if gives_anew(value):  # `from random import random`
            self._effect(f"calls {name}(), which draws or reads anew ({where})")
        elif is_iterator(value):  # `next(batches)`, `for x in batches`
            self._effect(f"takes from the iterator {name} ({where})")
        self.chain(name, value, attributes, depth, where)

    def chain(self, name: str, value: Any, attributes: tuple[str, ...], depth: int,
              where: str) -> None:  # fmt: skip
        """Follow `value.a.b...`, noting each attribute, the models and functions met; `[*]`
        stands for each item of a list or tuple (a loop over it). A tensor's attributes are
        the recording's (`.grad`, `.data`) or fixed by the signature (`.shape`)."""
        for position, attribute in enumerate(attributes):
            if _is_tensor(value):
                return
            if attribute == "[*]":
                self.contents(name, value)
                if isinstance(value, (list, tuple)) and id(value) in self._done:  # followed
                    for k, item in enumerate(value):
                        self.chain(f"{name}[{k}]", item, attributes[position + 1 :], depth, where)
                return
            self.module_settings(name, value, depth)
            self._code(value, depth)
            if not attribute.startswith("["):  # `hp.get("lr")`: used as a whole; `hp["lr"]`:
                self.contents(name, value)  # an item, followed below
            if (
                attribute in MUTATORS
                and isinstance(value, CONTAINERS)
                and (position == len(attributes) - 1)
            ) or isinstance(value, NEW_EACH_CALL):
                self._effect(f"calls {name}.{attribute}() on a {type(value).__name__} ({where})")
            located = locate(value, attribute)
            if located is None:
                self._property(value, attribute, depth)
                how = computed_by_its_owner(value, attribute)
                if how is not None:
                    self._effect(
                        f"cannot follow {label_of(name, attribute)} ({where}), which {how} computes"
                    )
                return
            holder, key, found, extra = located
            if gives_anew(found):
                self._effect(f"calls {name}.{attribute}(), which draws or reads anew ({where})")
            for guard in extra:
                self.add(*guard)
            label = label_of(name, attribute)
            self.add(label, holder, key, found)
            if isinstance(found, (types.FunctionType, staticmethod, classmethod)):
                self.method(found, value, depth)  # its code runs: what it reads counts too
                return
            name, value = label, found
            if is_simple(value):
                return
        self.module_settings(name, value, depth)
        self._code(value, depth)
        self.contents(name, value)
        self.note_used_whole(name, value, depth)

    def _code(self, value: Any, depth: int) -> None:
        """Follow the code of the user's that calling `value` runs: a function (also inside a
        wrapper that keeps it as `__wrapped__`: another compiled step, which runs eagerly
        while this one records), a method, a partial with what it binds, an object's
        `__call__` (a loss object, a layer); a model's is followed by module_settings."""
        from ..nn.modules import Module

        if isinstance(value, (type, Module)) or not callable(value):
            return
        if users_function(value) and not hasattr(value, "__wrapped__"):  # (the usual case)
            self.function(value, {}, depth + 1)
            return
        for function, owner, bound in functions_called(value):
            if users_function(function):
                self.function(function, parameters(function, owner, (), bound), depth + 1)

    def _property(self, owner: Any, attribute: str, depth: int) -> None:
        """A property of the user's (`cfg.lr` computed from `self.base`): its getter's code
        runs at every read, so what it reads counts; what it returns is not followed further."""
        found = property_getter(owner, attribute)
        if found is not None and users_function(found[1]):
            for guard in found[0]:
                self.add(*guard)
            self.method(found[1], owner, depth)

    def method(self, method: Any, owner: Any, depth: int) -> None:
        """The code of a method of the user's, called on `owner` (or on its class)."""
        function = getattr(method, "__func__", method)
        if not users_function(function):
            return
        first = function.__code__.co_varnames[:1]
        if isinstance(method, staticmethod) or not first:
            self.function(function, {}, depth + 1)
        else:
            bound = (
                owner
                if not isinstance(method, classmethod) or isinstance(owner, type)
                else type(owner)
            )
            self.function(function, {first[0]: bound}, depth + 1)

    def module_settings(self, name: str, model: Any, depth: int = 0) -> None:
        """The entries of a model's modules, settings by value, parameters and submodules by
        identity (their forwards read them, out of the step's sight; a module of the user's
        own class: its public ones by name, see follow_used_whole); and what the forwards
        written by the user read (`model(x)` runs them, through the library's __call__)."""
        from ..nn.modules import Module

        if not isinstance(model, Module) or id(model) in self._done:
            return
        self._done.add(id(model))
        try:
            modules = list(model.named_modules(prefix=name))
        except Exception:  # a module that skipped Module.__init__: known by identity only
            return
        for path, module in modules:
            followed = False
            for method in ("forward", "__call__"):
                located = locate(module, method)
                for guard in located[3] if located is not None else ():
                    self.add(*guard)  # not shadowed (`model.forward = f` after recording)
                code: Any = located[2] if located is not None else None
                while not users_function(code) and callable(getattr(code, "__wrapped__", None)):
                    code = code.__wrapped__  # (a forward under `@tl.no_grad()`)
                if located is not None and users_function(code):
                    self.add(f"{path}.{method}", *located[:3])
                    self.method(code, module, depth)
                    followed = followed or method == "forward"
            # a module of the user's own class (on nn.Module only) whose forward is followed:
            # only code reads its public attributes, by name (not `self.steps` counted outside)
            library = [c for c in type(module).__mro__ if c.__module__.startswith(PACKAGE)]
            own = followed and depth < _MAX_DEPTH and library == [Module]
            if own:
                self._whole.append((path, module, depth))
            for key, item in vars(module).items():
                if own and not key.startswith("_") and key != "training":
                    continue
                if key in ("_parameters", "_modules") and isinstance(item, dict):
                    self.add(f"len({path}.{key})", item, LENGTH, len(item))  # one appended
                    for entry, value in item.items():
                        self.add(f"{path}.{entry}", item, entry, value)
                else:
                    self.add(f"{path}.{key}", vars(module), key, item, read=False)

    def _effect(self, what: str) -> None:
        if self.effect is None and not self._quiet:
            self.effect = what


def _is_tensor(value: Any) -> bool:
    from ..tensor import Tensor

    return isinstance(value, Tensor)
