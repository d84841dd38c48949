"""What a step's bytecode reads and does, and which Python functions run when it is called.

python_values.py follows these to the values a replay must check. The bytecode gives, for
each function, the chains of names and attributes it loads (`self.model.fc`: a local, then
two attributes) and the stores that would be Python side effects (a global, an attribute,
an item of a container). Also here: which callables give something new at every call
(`gives_anew`: random draws, the clock, logging, reading a file), which a replay would freeze.
"""

from __future__ import annotations

import dis
import functools
import inspect
import logging
import os
import random
import sys
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

# the methods that change a list, dict, set or file
MUTATORS = {"append", "extend", "insert", "pop", "popitem", "remove", "clear", "update",
            "setdefault", "add", "discard", "appendleft", "popleft", "extendleft", "write",
            "writelines"}  # fmt: skip
_LIBRARIES = tuple(
    p for p in {sys.prefix, sys.base_prefix, np.__file__.rsplit("/", 2)[0]} if p
)  # functions from files here are the library's or the standard library's
PACKAGE = __name__.rsplit(".", 2)[0]  # "tinygrad_lr": its functions and frames are not the user's
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # its files


# objects whose every method call draws anew or changes state (a replay calls none of them)
NEW_EACH_CALL = (random.Random, np.random.Generator, np.random.RandomState, logging.Logger,
                  logging.LoggerAdapter)  # fmt: skip
NEW_EACH_CALL_MODULES = ("time", "logging", "random", "numpy.random")  # their functions
_READS_FILES = {np.load, np.loadtxt, np.genfromtxt, np.fromfile}  # and tl.load


Chain = tuple[str, ...]  # (kind, name, then attributes and items: "fc", "['lr']", "[0]")


@dataclass(frozen=True)
class Reads:
    chains: frozenset[Chain]  # (kind, name, attribute, ...); kind global/cell/local
    # (what, name, line, operator): STORE_GLOBAL or STORE_DEREF, after `-=` ("-=") or not ("")
    stores: tuple[tuple[str, str, int, str], ...]
    attribute_stores: tuple[tuple[Chain, str, int], ...]  # (chain, attribute, line)
    lines: tuple[tuple[Chain, int], ...]  # the lines where each chain is loaded
    item_stores: tuple[tuple[Chain, int], ...]  # chains of a line storing an item
    # every name and string constant of the code and the code nested in it: an attribute it
    # can read (`cfg.lr`, `c.__dict__["lr"]`, `attrgetter("lr")`, of a value it cannot name)
    names: frozenset[str] = frozenset()


@functools.lru_cache(maxsize=256)  # reading bytecode costs more than a small step's replay
def reads(code: types.CodeType, top: bool = True) -> Reads:
    """The name-and-attribute chains `code` loads, and the stores it makes (nested code: only
    chains from globals and closure variables, whose values are known)."""
    chains: set[tuple[str, ...]] = set()
    stores: list[tuple[str, str, int, str]] = []
    attribute_stores: list[tuple[tuple[str, ...], str, int]] = []
    lines: list[tuple[tuple[str, ...], int]] = []
    item_stores: list[tuple[tuple[str, ...], int]] = []
    in_line: list[tuple[str, ...]] = []  # the chains of the current line, one of them the
    current: list[str] | None = None  # container of an item assignment (x[k] = v) in it
    line = code.co_firstlineno
    kinds = {"LOAD_GLOBAL": "global", "LOAD_NAME": "global", "LOAD_DEREF": "cell"}
    if top:
        kinds["LOAD_FAST"] = "local"
    previous: dis.Instruction | None = None
    key: list[Any] = []  # a constant loaded after a chain: an item's key, if a subscript follows
    aliases: dict[str, set[Chain]] = {}  # `cfg = self.cfg`, `for g in groups` (each item)
    iterated: Chain | None = None  # the chain a `for` loop takes its items from
    for instruction in dis.get_instructions(code):
        if instruction.starts_line:
            line, in_line = instruction.starts_line, []
        name = instruction.argval
        if instruction.opname in ("STORE_SUBSCR", "DELETE_SUBSCR"):
            item_stores += [(c, line) for c in in_line + ([tuple(current)] if current else [])]
        if key and current is not None and instruction.opname == "BINARY_SUBSCR":
            current.append(f"[{key.pop()!r}]")  # config["lr"], models[0]: an item, followed
            continue
        if key and current is not None:  # the constant was not a key: the chain ended there
            key.clear()
            _close(tuple(current), line, chains, in_line, lines)
            current = None
        if instruction.opname in ("LOAD_ATTR", "LOAD_METHOD") and current is not None:
            current.append(name)
            continue
        if instruction.opname == "LOAD_CONST" and current is not None and _is_key(name):
            key.append(name)
            continue
        if instruction.opname == "STORE_ATTR" and current is not None:
            attribute_stores.append((tuple(current), name, line))
        if top and (
            instruction.opname == "STORE_FAST"
            or (  # (a local a closure uses)
                instruction.opname == "STORE_DEREF" and name not in code.co_freevars
            )
        ):
            if current is not None:
                aliases.setdefault(name, set()).add(tuple(current))
            elif iterated is not None and previous is not None and previous.opname == "FOR_ITER":
                aliases.setdefault(name, set()).add((*iterated, "[*]"))
        if instruction.opname == "GET_ITER":
            iterated = tuple(current) if current is not None else None
        if current is not None:
            _close(tuple(current), line, chains, in_line, lines)
        current = [kinds[instruction.opname], name] if instruction.opname in kinds else None
        if instruction.opname == "STORE_GLOBAL" or (
            instruction.opname == "STORE_DEREF" and name in code.co_freevars
        ):
            operator = previous.argrepr if previous is not None and previous.opname == (
                "BINARY_OP") and previous.argrepr.endswith("=") else ""  # fmt: skip
            stores.append((instruction.opname, name, line, operator))
        previous = instruction
    if current is not None:
        chains.add(tuple(current))
    names = {*code.co_names, *(c for c in code.co_consts if isinstance(c, str))}
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            inner = reads(constant, top=False)
            chains |= inner.chains
            stores += [s for s in inner.stores if s[0] == "STORE_GLOBAL"]
            names |= inner.names
    chains |= _through(aliases, chains)
    attribute_stores += [(c, a, n) for chain, a, n in attribute_stores
                         for c in _through(aliases, {chain})]  # fmt: skip
    item_stores += [(c, n) for chain, n in item_stores for c in _through(aliases, {chain})]
    return Reads(frozenset(chains), tuple(stores), tuple(attribute_stores), tuple(lines),
                  tuple(item_stores), frozenset(names))  # fmt: skip


Bound = tuple[tuple[Any, ...], dict[str, Any]]  # what a functools.partial adds to a call


def _close(chain: Chain, line: int, chains: set[Chain], in_line: list[Chain],
           lines: list[tuple[Chain, int]]) -> None:  # fmt: skip
    """Note a chain that ends here, loaded at `line`."""
    chains.add(chain)
    in_line.append(chain)
    lines.append((chain, line))


def _through(aliases: dict[str, set[Chain]], chains: set[Chain]) -> set[Chain]:
    """The chains read through local aliases: `cfg.lr` after `cfg = self.cfg` is `self.cfg.lr`,
    `g.lr` in `for g in groups` is `groups[*].lr` (four aliases deep at most)."""
    found: set[Chain] = set()
    for _ in range(4):
        chains = {(*alias, *chain[2:]) for chain in chains if chain[0] in ("local", "cell")
                  for alias in aliases.get(chain[1], ())} - found  # fmt: skip
        found |= chains
    return found


def _is_key(constant: Any) -> bool:
    """A constant that may be a container's key: `config["lr"]`, `models[0]`, `d[None]`."""
    return constant is None or (isinstance(constant, (str, int)) and not isinstance(constant, bool))


def parameters(
    function: types.FunctionType, owner: Any, args: tuple[Any, ...], bound: Bound = ((), {})
) -> dict[str, Any]:
    """The step's parameter names with the values of this call (self first for a method, then
    what partials bound: `partial(step, model)(x)` is `step(model, x)`); not `*args` and
    `**kwargs` (a decorator's wrapper), which hold them only packed."""
    values = ((owner,) if owner is not None else ()) + bound[0] + args
    try:
        signature = inspect.signature(function, follow_wrapped=False)
        call = signature.bind_partial(*values, **bound[1])
    except (TypeError, ValueError):  # no signature to read, or another call: locals unknown
        return dict(bound[1])
    call.apply_defaults()  # `def step(x, model=net)`: model is net
    arguments = call.arguments
    packed = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return {name: value for name, value in arguments.items()
            if signature.parameters[name].kind not in packed}  # fmt: skip


def functions_called(fn: Any) -> list[tuple[types.FunctionType, Any, Bound]]:
    """The Python functions whose code runs first when `fn` is called: through bound and
    static methods, functools.partial (its bound arguments), decorators' __wrapped__, and
    objects' __call__; each with its bound object and the arguments partials bound."""
    found: list[tuple[types.FunctionType, Any, Bound]] = []
    todo: list[tuple[Any, Any, Bound]] = [(fn, None, ((), {}))]
    while todo and len(found) < 8:
        item, owner, (prefix, keywords) = todo.pop()
        if isinstance(item, functools.partial):  # its arguments come before the call's
            todo.append((item.func, owner, (item.args + prefix, {**item.keywords, **keywords})))
        elif isinstance(item, (types.MethodType, staticmethod, classmethod)):
            todo.append((item.__func__, getattr(item, "__self__", owner), (prefix, keywords)))
        elif isinstance(item, types.FunctionType):
            found.append((item, owner, (prefix, keywords)))
            if hasattr(item, "__wrapped__"):
                todo.append((item.__wrapped__, owner, (prefix, keywords)))
        else:  # an object with a __call__ method written in Python
            call = next((c.__dict__["__call__"] for c in type(item).__mro__
                         if "__call__" in c.__dict__), None)  # fmt: skip
            if isinstance(call, (types.FunctionType, staticmethod)):
                todo.append((call, item, (prefix, keywords)))
    return found


def users_function(function: Any) -> bool:
    """A Python function of the user's, not of this library, NumPy or the standard library."""
    if not isinstance(function, types.FunctionType):
        return False
    module = getattr(function, "__module__", "") or ""
    filename = function.__code__.co_filename
    return not module.startswith(PACKAGE) and not filename.startswith(
        (*_LIBRARIES, _PACKAGE_DIR)
    )  # (a wrapper made by the library's decorators has the user's __module__)


def gives_anew(function: Any) -> bool:
    """A function whose result or effect is new at every call: a method of a random number
    generator (`np.random.randint`, `random.random`), the clock, logging, reading a file."""
    if not inspect.isroutine(function):  # an object (a Random, a Logger): see NEW_EACH_CALL
        return False
    loads = (getattr(function, "__module__", ""), getattr(function, "__qualname__", ""))
    if function in _READS_FILES or loads == (f"{PACKAGE}.serialization", "load"):  # tl.load
        return True
    owner = getattr(function, "__self__", None)
    if isinstance(owner, NEW_EACH_CALL):
        return True
    module = owner.__name__ if isinstance(owner, types.ModuleType) else None
    module = module or getattr(function, "__module__", None)
    return isinstance(module, str) and (
        module in NEW_EACH_CALL_MODULES or module.startswith("numpy.random.")
    )


def is_iterator(value: Any) -> bool:
    """An iterator or generator: each `next()` takes a new item from it."""
    try:
        return hasattr(type(value), "__next__")
    except Exception:
        return False
