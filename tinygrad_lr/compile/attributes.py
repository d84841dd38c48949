"""Where an attribute of an object lives, found without running the object's code (no
property's getter, no `__getattr__`): the step's Python values are read from there before each
replay (python_values.py)."""

from __future__ import annotations

import ast
import types
from typing import Any

from .same import UNSET

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
