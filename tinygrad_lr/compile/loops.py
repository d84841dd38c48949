"""A run of the same lines in a generated program, written once as a `for` loop.

A step that loops (a compiled epoch: `for k in range(n): step(x[order[k]], ...)`) is recorded
as n copies of the same lines, each copy naming its values anew and indexing with its own
number. Written out, the program is n copies long: too long to read, and slower than a loop,
since Python runs a long function's code cold. `roll` finds the longest run of copies that
are the same lines but for the names of the values each copy makes and numbers that count
up (or down) by the same amount from copy to copy, and writes it as a loop over the first
copy: the same NumPy calls in the same order, so the same values to the bit.

    t1 = order_data[0]             for k in range(300):
    t3 = x[t1]                         t1 = order_data[k]
    ...                  becomes       t3 = x[t1]
    t31 = order_data[1]                ...
    t32 = x[t31]
    ...

Lines are compared as text, token by token. A copy may not read what another copy made (a
sum over the steps carried from one to the next): such lines are left as they are.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable
from typing import Any

import numpy as np

MIN_COPIES = 3  # fewer copies are left written out
MIN_LINES = 300  # a shorter program reads well as it is, and costs no time to look through
_PROBES = 16  # periods tried at each probe line
_TOKEN = re.compile(
    r"""(?P<string>[bBrRuU]?'(?:[^'\\]|\\.)*'|[bBrRuU]?"(?:[^"\\]|\\.)*")
      | (?P<comment>\#.*)
      | (?P<float>(?:\d+\.\d*|\.\d+|\d+(?=[eEjJ]))(?:[eE][+-]?\d+)?[jJ]?)
      | (?P<int>\d+)
      | (?P<name>[A-Za-z_]\w*)
      | (?P<text>\s+|.)""",
    re.VERBOSE,
)
_ASSIGNED = re.compile(r"([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=(?!=)")

Token = tuple[str, str]  # (kind, text): "int", "name" (not after a dot), or "text"


def _tokens(line: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _TOKEN.finditer(line):
        kind, text = match.lastgroup or "text", match.group()
        if kind == "name" and tokens and tokens[-1][1].endswith("."):
            kind = "text"  # an attribute: `t3.T`, `x._data`
        elif kind not in ("int", "name"):
            kind = "text"
        if kind == "text" and tokens and tokens[-1][0] == "text":
            tokens[-1] = ("text", tokens[-1][1] + text)
        else:
            tokens.append((kind, text))
    return tokens


def _assigned(line: str) -> list[str]:
    match = _ASSIGNED.match(line)
    return [] if match is None else [n.strip() for n in match.group(1).split(",")]


def roll(lines: list[str], namespace: dict[str, Any], constants: set[str],
         fresh: Callable[[str], str]) -> list[str]:  # fmt: skip
    """`lines` (the body of a generated function, unindented) with its longest run of like
    copies written as a loop, and so on in the lines before and after it. `namespace` holds
    the code's globals, `constants` names those made when the code was generated (arrays
    equal to the bit may stand for each other), `fresh(name)` gives a free name."""
    if len(lines) < MIN_LINES or any(line[:1].isspace() for line in lines):
        return lines  # (an indented line: part of a compound statement, not to be cut)
    assigned = [name for line in lines for name in _assigned(line)]
    if len(assigned) != len(set(assigned)):  # a name bound twice: copies would not be alike
        return lines
    tokens = [_tokens(line) for line in lines]
    made = set(assigned)
    keys = {t: _key(namespace, constants, t) for line in tokens for k, t in line
            if k == "name" and t not in made}  # fmt: skip
    shapes = ["".join("$" if t in made else keys[t] if k == "name" else "#" if k == "int"
                      else t for k, t in line) for line in tokens]  # fmt: skip
    start, period, copies = _longest_run(shapes)
    if copies < MIN_COPIES:
        return lines
    blocks = [tokens[start + k * period : start + (k + 1) * period] for k in range(copies)]
    own = [{name for line in lines[start + k * period : start + (k + 1) * period]
            for name in _assigned(line)} for k in range(copies)]  # fmt: skip
    alike = functools.partial(_interchangeable, namespace, constants)
    renames: list[dict[str, str]] = [{name: name for name in own[0]}]
    for k in range(1, copies):
        rename = _match(blocks[0], blocks[k], own[0], own[k], alike)
        if rename is None:
            break
        renames.append(rename)
    copies = _counting(blocks[: len(renames)])
    end = start + copies * period
    after = tokens[end:]
    earlier = set().union(*own[: copies - 1])  # read after the loop: only its last copy's
    if copies < MIN_COPIES or any(k == "name" and t in earlier for line in after for k, t in line):
        return lines
    counter = fresh("k")
    header, body = _loop(blocks[:copies], counter)
    last = {new: old for old, new in renames[copies - 1].items()}  # the loop's names for them
    rest = ["".join(last.get(t, t) if k == "name" else t for k, t in line) for line in after]
    return [
        *roll(lines[:start], namespace, constants, fresh),
        f"for {counter} in {header}:  # these lines were recorded {copies} times over",
        *("    " + line for line in body),
        *roll(rest, namespace, constants, fresh),
    ]


def _longest_run(shapes: list[str]) -> tuple[int, int, int]:
    """(start, period, copies) of the longest run of lines that repeats with a period, in
    line shapes (names bound in the lines as $, integers as #). A run long enough to matter
    covers one of a few probe lines; the periods tried are the distances from a probe line
    to the next lines of its shape."""
    n = len(shapes)
    where: dict[str, list[int]] = {}
    for position, shape in enumerate(shapes):
        where.setdefault(shape, []).append(position)
    best = (0, 1, 0)
    for around in sorted({0, n // 4, n // 2, 3 * n // 4}):
        # the line nearby whose shape is the rarest, though seen often enough to make a run
        counted = [(len(where[shapes[j]]), j) for j in range(around, min(n, around + 64))
                   if len(where[shapes[j]]) >= MIN_COPIES]  # fmt: skip
        if not counted:
            continue
        probe = min(counted)[1]
        if best[0] <= probe < best[0] + best[1] * best[2]:
            continue  # in the run found already
        same = where[shapes[probe]]
        later = same[bisect.bisect_right(same, probe) :][:_PROBES]
        for period in (j - probe for j in later):
            if best[2] and period % best[1] == 0 and best[0] <= probe < best[0] + best[1] * best[2]:
                continue  # the run found already, two or more copies at a time
            first = probe
            while first > 0 and shapes[first - 1] == shapes[first - 1 + period]:
                first -= 1
            end = probe + period
            while end < n and shapes[end] == shapes[end - period]:
                end += 1
            copies = (end - first) // period
            if copies * period > best[1] * best[2]:
                best = (first, period, copies)
    return best


def _match(
    first: list[list[Token]],
    other: list[list[Token]],
    own_first: set[str],
    own_other: set[str],
    alike: Callable[[str, str], bool],
) -> dict[str, str] | None:
    """The names `other` gives the values `first` makes, when the two copies are the same
    lines but for those names and their integers; None when they are not."""
    rename: dict[str, str] = {}
    taken: set[str] = set()
    for line, line_other in zip(first, other):
        if len(line) != len(line_other):
            return None
        for (kind, text), (kind_other, text_other) in zip(line, line_other):
            if kind != kind_other:
                return None
            if kind == "int":
                continue
            if kind == "name" and text in own_first:  # a value the copy makes
                if text_other not in own_other or rename.setdefault(text, text_other) != text_other:
                    return None
                taken.add(text_other)
            elif text != text_other and not (kind == "name" and alike(text, text_other)):
                return None
    return rename if len(taken) == len(rename) else None


def _counting(blocks: list[list[list[Token]]]) -> int:
    """How many of the first copies have integers that each count by a fixed step."""
    counts = [[int(t) for line in block for k, t in line if k == "int"] for block in blocks]
    if len(counts) < 2:
        return len(counts)
    steps = [b - a for a, b in zip(counts[0], counts[1])]
    for k, values in enumerate(counts):
        if any(v != a + k * d for v, a, d in zip(values, counts[0], steps)):
            return k
    return len(counts)


def _loop(blocks: list[list[list[Token]]], counter: str) -> tuple[str, list[str]]:
    """The range of the loop over `blocks` and its body: the first copy, with each counting
    integer written in terms of the counter."""
    copies = len(blocks)
    first = [int(t) for line in blocks[0] for k, t in line if k == "int"]
    second = [int(t) for line in blocks[1] for k, t in line if k == "int"]
    moving = {(a, b - a) for a, b in zip(first, second) if b != a}
    single = len(moving) == 1  # one count: the counter takes its values
    header = f"range({copies})"
    if single and moving != {(0, 1)}:
        ((start, step),) = moving
        stop = start + step * copies
        header = f"range({start}, {stop})" if step == 1 else f"range({start}, {stop}, {step})"
    lines, position = [], 0
    for line in blocks[0]:
        parts = []
        for kind, text in line:
            if kind == "int":
                a, d = first[position], second[position] - first[position]
                parts.append(text if d == 0 else counter if single else f"({a} + {d} * {counter})")
                position += 1
            else:
                parts.append(text)
        lines.append("".join(parts))
    return header, lines


def _key(namespace: dict[str, Any], constants: set[str], name: str) -> str:
    """The same text for the names `_interchangeable` lets stand for each other (and for
    some others: the lines are compared to the letter after this)."""
    if name not in namespace:
        return name
    value = namespace[name]
    if isinstance(value, np.ndarray) and name in constants:
        return f"{{array {value.dtype} {value.shape} {hash(value.tobytes())}}}"
    if isinstance(value, functools.partial):
        return f"{{read {id(value.func)} {[id(a) for a in value.args]} {len(value.keywords)}}}"
    return f"{{object {id(value)}}}"


def _interchangeable(namespace: dict[str, Any], constants: set[str], a: str, b: str) -> bool:
    """May global `b` stand for global `a`: the same object, arrays made when the code was
    generated that are equal to the bit, or reads of the same value (`partial(f, group, key)`)."""
    if a not in namespace or b not in namespace:
        return False
    x, y = namespace[a], namespace[b]
    if x is y:
        return True
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        return a in constants and b in constants and x.dtype == y.dtype and (
            x.shape == y.shape and x.tobytes() == y.tobytes())  # fmt: skip
    if isinstance(x, functools.partial) and isinstance(y, functools.partial):
        return (x.func is y.func and len(x.args) == len(y.args)
                and all(p is q for p, q in zip(x.args, y.args))
                and x.keywords.keys() == y.keywords.keys()
                and all(x.keywords[k] is y.keywords[k] for k in x.keywords))  # fmt: skip
    return False
