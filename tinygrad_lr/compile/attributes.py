"""Where an attribute of an object lives, found without running the object's code (no
property's getter, no `__getattr__`): the step's Python values are read from there before each
replay (python_values.py). Also what a chain of attributes leads to now (`resolve`), and which
code of the owner's would give an attribute that has no such place (`computed_by_its_owner`)."""

from __future__ import annotations

import ast
import types
from typing import Any

import numpy as np

from .same import CELL, UNSET, PythonValue

Guard = tuple[str, Any, Any, Any]  # a Python value's name, holder, key and value


def locate(owner: Any, attribute: str) -> tuple[Any, Any, Any, list[Guard]] | None:
    """Where `owner.attribute` lives: (holder, key, value, further guards), or None where it
    cannot be read without running code (a property, a method, __getattr__). An attribute
    `[k]` is the item `owner[k]` of a dict or a list."""
    if attribute.startswith("["):  # (dict's, list's and tuple's own methods: a subclass's
        key = ast.literal_eval(attribute[1:-1])  # may run code)
        if isinstance(owner, dict) and dict.__contains__(owner, key):
            return owner, key, dict.__getitem__(owner, key), []
        if isinstance(owner, types.MappingProxyType) and key in owner:  # a class's __dict__
            return owner, key, owner[key], []
        sequence = list if isinstance(owner, list) else tuple if isinstance(owner, tuple) else None
        if sequence is not None and isinstance(key, int) and -len(owner) <= key < len(owner):
            return owner, key, sequence.__getitem__(owner, key), []
        return None
    try:
        own = object.__getattribute__(owner, "__dict__")
    except Exception:
        own = None
    if not isinstance(own, (dict, types.MappingProxyType)):
        own = None
    try:
        if own is not None and attribute in own:
            return own, attribute, own[attribute], []
        if own is not None:  # a model's parameters and submodules
            for container in ("_parameters", "_modules"):
                entries = own.get(container)
                if isinstance(entries, dict) and attribute in entries:
                    return entries, attribute, entries[attribute], []
        classes = owner.__mro__ if isinstance(owner, type) else type(owner).__mro__
        for cls in classes:
            if attribute not in cls.__dict__:
                continue
            found = cls.__dict__[attribute]
            if isinstance(found, types.MemberDescriptorType):  # a slot
                return owner, attribute, getattr(owner, attribute, UNSET), []
            methods = (types.FunctionType, staticmethod, classmethod)
            if hasattr(type(found), "__get__") and not isinstance(found, methods):
                return None  # a property or another descriptor: code, whose result is not known
            unshadowed = [] if own is None or isinstance(owner, type) else [
                (f"{attribute} (own)", own, attribute, UNSET)]  # fmt: skip
            unshadowed += [(f"{attribute} ({c.__name__})", c.__dict__, attribute, UNSET)
                           for c in classes[: classes.index(cls)]]  # fmt: skip
            return cls.__dict__, attribute, found, unshadowed
    except Exception:  # an object that refuses to be looked at: its attribute is not followed
        return None
    return None


def property_getter(owner: Any, attribute: str) -> tuple[list[Guard], Any] | None:
    """The getter of `owner.attribute` when that is a property, with the guards that it still
    is: the class's entry, and no class before it in the MRO defining the name."""
    if isinstance(owner, type):
        return None  # (on a class, a property is the property object itself)
    classes = type(owner).__mro__
    for position, cls in enumerate(classes):
        if attribute not in cls.__dict__:
            continue
        found = cls.__dict__[attribute]
        if not isinstance(found, property) or found.fget is None:
            return None
        guards: list[Guard] = [(f"{attribute} ({c.__name__})", c.__dict__, attribute, UNSET)
                               for c in classes[:position]]  # fmt: skip
        guards.append((f"{cls.__name__}.{attribute}", cls.__dict__, attribute, found))
        return guards, found.fget
    return None


def computed_by_its_owner(owner: Any, attribute: str) -> str | None:
    """The code that would give `owner.attribute` when `locate` finds no place for it, if the
    owner's class has such code ("ChainMap.__getitem__"): an item of an object other than a
    dict, list, tuple, array or model, or an attribute a `__getattr__` of the user's class gives.
    A check before each replay cannot run it; the value would be frozen into the replay."""
    from ..nn.modules import Module
    from .bytecode import PACKAGE

    kind = type(owner)
    if attribute.startswith("["):
        if isinstance(owner, dict) and hasattr(kind, "__missing__"):  # a Counter's absent key
            return f"{kind.__name__}.__missing__"
        followed = (dict, list, tuple, types.MappingProxyType, np.ndarray, str, bytes, range)
        getitem = next((c for c in kind.__mro__ if "__getitem__" in c.__dict__), object)
        library = getitem.__module__.startswith(PACKAGE)  # (a dataset's item: tensor ops)
        if isinstance(owner, (*followed, Module)) or getitem is object or library:
            return None  # (a model's entries and a small array's values are followed whole)
        return f"{getitem.__name__}.__getitem__"
    if any(attribute in c.__dict__ for c in kind.__mro__):
        return None  # (a descriptor of the library's or NumPy's: `.shape`)
    defines = next((c for c in kind.__mro__ if "__getattr__" in c.__dict__), object)
    if defines is not object and not defines.__module__.startswith(PACKAGE):
        return f"{defines.__name__}.__getattr__"  # (also `__getattr__ = dict.__getitem__`)
    return None


def resolve(chain: tuple[str, ...], function: types.FunctionType, cells: dict[str, Any],
            locals_: dict[str, Any]) -> Any:  # fmt: skip
    """The object a chain leads to now (UNSET when unknown: a local made by the step)."""
    kind, name = chain[0], chain[1]
    if kind == "global":
        value = function.__globals__.get(name, UNSET)
    elif kind == "cell" and name in cells:
        value = PythonValue(name, cells[name], CELL, None).read()
    else:
        value = locals_.get(name, UNSET)
    for attribute in chain[2:]:
        if attribute == "[*]":  # an item of a loop: the first stands for all
            value = value[0] if isinstance(value, (list, tuple)) and value else UNSET
            continue
        located = locate(value, attribute) if value is not UNSET else None
        value = UNSET if located is None else located[2]
    return value


def label_of(name: str, attribute: str) -> str:
    return f"{name}{attribute}" if attribute.startswith("[") else f"{name}.{attribute}"


def instance_dict(value: Any) -> dict[str, Any] | None:
    """`vars(value)`, read without running its code (None for an object without one)."""
    try:
        own = object.__getattribute__(value, "__dict__")
    except Exception:  # no instance dict
        return None
    return own if type(own) is dict else None


def users_method(owner: Any, attribute: str) -> bool:
    """Is `owner.attribute` a method or property of the user's, or a slot, of its class?"""
    found = next((c.__dict__[attribute] for c in type(owner).__mro__ if attribute in c.__dict__),
                 None)  # fmt: skip
    if isinstance(found, types.MemberDescriptorType):
        return True
    code = found.fget if isinstance(found, property) else getattr(found, "__func__", found)
    from .bytecode import users_function

    return users_function(code)
