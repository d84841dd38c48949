"""A run of the same lines in a generated program, written once as a `for` loop.

A step that loops (a compiled epoch: `for k in range(n): step(x[order[k]], ...)`) is recorded
as n copies of the same lines, each copy naming its values anew and indexing with its own
number. Written out, the program is n copies long: too long to read, and slower than a loop,
since Python runs a long function's code cold. `roll` looks for a long run of copies that
are the same lines but for the names of the values each copy makes and numbers that count
up (or down) by the same amount from copy to copy, and writes it as a loop over the first
copy: the same NumPy calls on the same arrays in the same order, so the same values to the
bit.

    t1 = order_data[0]             for k in range(300):
    t3 = x[t1]                         t1 = order_data[k]
    ...                  becomes       t3 = x[t1]
    t31 = order_data[1]                ...
    t32 = x[t31]
    ...

Lines are compared as text, token by token. A copy may not read what another copy made (a
sum over the steps carried from one to the next), and the lines after the loop may read only
what its last copy made: such copies are left written out.
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
_PROBES = 16  # periods tried at each probe line...
_NEARBY = 64  # ...chosen among this many lines
_ATTEMPTS = 3  # periods tried in turn, when the copies of one make no loop
MAX_DEPTH = 5  # levels (the whole program is 0) of lines before and after loops looked through
_TOKEN = re.compile(
    r"""(?P<string>[bBrRuUfF]{0,2}(?:'{3}(?:[^\\]|\\.)*?'{3}|"{3}(?:[^\\]|\\.)*?"{3}
                                  |'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"))
      | (?P<comment>\#.*)
      | (?P<float>(?:\d[\d_]*\.[\d_]*|\.\d[\d_]*|\d[\d_]*(?=[eEjJ]))(?:[eE][+-]?\d+)?[jJ]?)
      | (?P<int>\d[\d_]*)
      | (?P<name>[^\W\d]\w*)
      | (?P<text>\s+|.)""",
    re.VERBOSE,
)
_ASSIGNED = re.compile(r"([^\W\d]\w*(?:\s*,\s*[^\W\d]\w*)*)\s*,?\s*=(?!=)")
_KEYWORD = re.compile(r"\s*=(?!=)")  # after a name in parentheses: a keyword argument

Token = tuple[str, str]  # (kind, text): "int", "name" (not after a dot), or "text"


def _tokens(line: str) -> list[Token]:
    tokens: list[Token] = []
    depth = 0  # of brackets
    for match in _TOKEN.finditer(line):
        kind, text = match.lastgroup or "text", match.group()
        if kind == "name" and tokens and tokens[-1][1].endswith("."):
            kind = "text"  # an attribute: `t3.T`, `x._data`
        elif kind == "name" and depth and _KEYWORD.match(line, match.end()):
            kind = "text"  # a keyword: `dict(t3=t3)`
        elif kind not in ("int", "name"):
            if kind == "text":
                depth += text.count("(") + text.count("[") + text.count("{")
                depth -= text.count(")") + text.count("]") + text.count("}")
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
         fresh: Callable[[str], str], read_later: frozenset[str] = frozenset(),
         depth: int = 0) -> list[str]:  # fmt: skip
    """`lines` (the body of a generated function, unindented) with a long run of like copies
    written as a loop, and so on in the lines before and after it (`depth` levels so far).
    `namespace` holds the code's globals, `constants` names those made when the code was
    generated (arrays equal to the bit may stand for each other), `fresh(name)` gives a free
    name, and `read_later` holds the names that lines after these read."""
    if depth > MAX_DEPTH or len(lines) < MIN_LINES or any(line[:1].isspace() for line in lines):
        return lines  # (an indented line: part of a compound statement, not to be cut)
    tokens = [_tokens(line) for line in lines]
    made: dict[str, list[int]] = {}  # name -> the lines that bind it
    for position, line in enumerate(lines):
        for name in _assigned(line):
            made.setdefault(name, []).append(position)
    keys = {text: _key(namespace, constants, text) for line in tokens for kind, text in line
            if kind == "name" and text not in made}  # fmt: skip

    def pattern(kind: str, text: str) -> str:  # a name bound in the lines: $; an integer: #
        if kind == "name":
            return "$" if text in made else keys[text]
        return "#" if kind == "int" else text

    patterns = ["".join(pattern(kind, text) for kind, text in line) for line in tokens]
    alike = functools.partial(_interchangeable, namespace, constants)
    tried: set[Run] = set()
    fewest, found = MIN_COPIES, None
    # When a run's copies make no loop (each keeps a value that is read later), a run of more,
    # shorter copies is tried: one found from a line seen more often than the first one's was.
    for _ in range(_ATTEMPTS):
        run = _longest_run(patterns, tried, fewest)
        if run is None:
            break
        (first, end, period), count = run
        found = _loop_of(lines, tokens, made, (first, end, period), alike, read_later)
        if found is not None:
            break
        tried.add((first, end, period))
        fewest = count + 1
    if found is None:
        return lines
    start, copies, blocks, last = found
    counter = fresh("k")
    header, body = _loop(blocks, counter, _range_name(namespace, fresh))
    end = start + copies * period
    rest = ["".join(last.get(text, text) if kind == "name" else text for kind, text in line)
            for line in tokens[end:]]  # fmt: skip
    before = read_later | _names(tokens[start:])  # what the lines after those before read
    return [
        *roll(lines[:start], namespace, constants, fresh, before, depth + 1),
        f"for {counter} in {header}:  # these lines were recorded {copies} times over",
        *("    " + line for line in body),
        *roll(rest, namespace, constants, fresh, read_later, depth + 1),
    ]


Run = tuple[int, int, int]  # (first, end, period): lines [first, end) repeat with the period


Found = tuple[int, int, list[list[list[Token]]], dict[str, str]]


def _loop_of(lines: list[str], tokens: list[list[Token]], made: dict[str, list[int]], run: Run,
             alike: Callable[[str, str], bool], read_later: frozenset[str],
             ) -> Found | None:  # fmt: skip
    """The loop that the stretch of like lines `run` makes: its first line, its number of
    copies, the copies' tokens and the names that the loop gives the last copy's values (for
    the lines after it); None when it makes none."""
    first, end, period = run
    start = _copies_start(tokens, made, first, end, period)
    copies = (end - start) // period
    blocks = [tokens[start + c * period : start + (c + 1) * period] for c in range(copies)]
    own = [{name for line in lines[start + c * period : start + (c + 1) * period]
            for name in _assigned(line)} for c in range(copies)]  # fmt: skip
    renames = [{name: name for name in own[0]}] if copies else []  # the first copy's names ->
    for copy in range(1, copies):  # those of each copy
        matched = _match(blocks[0], blocks[copy], own[0], own[copy], alike)
        if matched is None:
            break
        renames.append(matched)
    copies = _counting(blocks[: len(renames)])
    # A copy whose values are read after the run can be the loop's last copy (the lines after
    # it read them under the loop's names), but not one read after these lines, which are not
    # renamed: the loop is the longest stretch of copies that allows.
    later = read_later | _names(tokens[start + copies * period :])
    first_copy, end_copy, since = 0, 0, 0
    for copy in range(copies + 1):
        if copy == copies or own[copy] & later:
            until = copy if copy == copies or own[copy] & read_later else copy + 1
            if until - since > end_copy - first_copy:
                first_copy, end_copy = since, until
            since = copy + 1
    if end_copy - first_copy < MIN_COPIES:
        return None
    start, copies = start + first_copy * period, end_copy - first_copy
    if _reads_before_binding(lines[start : start + period]):
        return None
    looped = range(start, start + copies * period)
    if any(len({(p - start) // period if p in looped else -1 for p in bound}) > 1
           for bound in made.values()):  # fmt: skip
        return None  # (a name bound in two copies, or in one and outside the run)
    last = {renames[end_copy - 1][name]: renames[first_copy][name] for name in renames[0]}
    return start, copies, blocks[first_copy:end_copy], last


def _reads_before_binding(copy: list[str]) -> bool:
    """Does a line of the copy read a name that the copy binds only later (`x = x * 2`: the
    value of the copy before, carried under one name)?"""
    bound: set[str] = set()
    later = {name for line in copy for name in _assigned(line)}
    for line in copy:
        match = _ASSIGNED.match(line)
        read = _names([_tokens(line[match.end() :] if match else line)])
        if read & (later - bound):
            return True
        bound.update(_assigned(line))
    return False


def _names(tokens: list[list[Token]]) -> frozenset[str]:
    return frozenset(text for line in tokens for kind, text in line if kind == "name")


def _range_name(namespace: dict[str, Any], fresh: Callable[[str], str]) -> str:
    """A global name for Python's `range` (an argument may be called range)."""
    name = next((n for n, value in namespace.items() if value is range), None)
    if name is None:
        name = fresh("range")
        namespace[name] = range
    return name


def _longest_run(patterns: list[str], tried: set[Run], fewest: int) -> tuple[Run, int] | None:
    """A long stretch of lines that repeats with a period, in line patterns (names bound in the
    lines as $, integers as #), and how often the pattern it was found from occurs; not one
    `tried`. A run long enough to matter covers one of a few probe lines, each the line nearby
    whose pattern is the rarest seen at least `fewest` times; the periods tried are the
    distances from a probe line to the next lines of its pattern."""
    n = len(patterns)
    where: dict[str, list[int]] = {}
    for position, pattern in enumerate(patterns):
        where.setdefault(pattern, []).append(position)
    best: tuple[Run, int] | None = None
    for around in sorted({0, n // 4, n // 2, 3 * n // 4}):
        counted = [(len(where[patterns[j]]), j) for j in range(around, min(n, around + _NEARBY))
                   if len(where[patterns[j]]) >= max(fewest, MIN_COPIES)]  # fmt: skip
        if not counted:
            continue
        count, probe = min(counted)
        same = where[patterns[probe]]
        for period in [j - probe for j in same[bisect.bisect_right(same, probe) :][:_PROBES]]:
            if best and best[0][0] <= probe < best[0][1] and period % best[0][2] == 0:
                continue  # the run found already, or copies of it two or more at a time
            first = probe
            while first > 0 and patterns[first - 1] == patterns[first - 1 + period]:
                first -= 1
            end = probe + period
            while end < n and patterns[end] == patterns[end - period]:
                end += 1
            copies = (end - first) // period
            covered = (best[0][1] - best[0][0]) // best[0][2] * best[0][2] if best else 0
            if copies >= MIN_COPIES and copies * period > covered and (
                    (first, end, period) not in tried):  # fmt: skip
                best = (first, end, period), count
    return best


def _copies_start(tokens: list[list[Token]], made: dict[str, list[int]], first: int, end: int,
                  period: int) -> int:  # fmt: skip
    """Where in the run its first copy starts: at a line that no value made before it in
    the run is read after, since a copy may read only what it makes (and what came before the
    run). The run may have been found from the middle of a step: `first` is then mid-copy."""
    cover = [0] * (period + 1)  # how many values cross a copy starting at each offset
    # (the lines repeat, so the pairs made-then-read of two periods are all there are)
    for i in range(first, min(end, first + 2 * period)):
        for kind, text in tokens[i]:
            bound = made.get(text, ()) if kind == "name" else ()
            j = max((p for p in bound if p < i), default=-1)  # the binding line i reads
            if first <= j:  # made at line j, read at line i: no copy may start in (j, i]
                if i - j >= period:
                    return end  # read a copy or more later: no copies
                a = (j + 1 - first) % period
                b = a + i - j
                cover[a] += 1
                cover[min(b, period)] -= 1
                if b > period:
                    cover[0] += 1
                    cover[b - period] -= 1
    crossing = 0
    for offset in range(period):
        crossing += cover[offset]
        if crossing == 0:
            return first + offset
    return end


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
            elif kind == "name" and text_other in own_other:  # read from outside by the one,
                return None  # made by the other
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


def _loop(blocks: list[list[list[Token]]], counter: str, range_: str) -> tuple[str, list[str]]:
    """The range of the loop over `blocks` and its body: the first copy, with each counting
    integer written in terms of the counter."""
    copies = len(blocks)
    first = [int(t) for line in blocks[0] for k, t in line if k == "int"]
    second = [int(t) for line in blocks[1] for k, t in line if k == "int"]
    moving = {(a, b - a) for a, b in zip(first, second) if b != a}
    single = len(moving) == 1  # one count: the counter takes its values
    header = f"{range_}({copies})"
    if single and moving != {(0, 1)}:
        ((start, step),) = moving
        stop = start + step * copies
        header = f"{range_}({start}, {stop}{'' if step == 1 else f', {step}'})"
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
    """A text that is the same for globals that may stand for each other: lines are grouped
    by these texts first, then compared by `_interchangeable`, as two arrays' hashes may be
    the same."""
    if name not in namespace:
        return name
    value = namespace[name]
    if isinstance(value, np.ndarray) and name in constants:
        return f"{{array {value.dtype} {value.shape} {value.strides} {hash(value.tobytes())}}}"
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
        return a in constants and b in constants and x.dtype == y.dtype and (  # (a sum's
            x.shape == y.shape and x.strides == y.strides  # rounding depends on the layout)
            and x.tobytes() == y.tobytes())  # fmt: skip
    if isinstance(x, functools.partial) and isinstance(y, functools.partial):
        return (x.func is y.func and len(x.args) == len(y.args)
                and all(p is q for p, q in zip(x.args, y.args))
                and x.keywords.keys() == y.keywords.keys()
                and all(x.keywords[k] is y.keywords[k] for k in x.keywords))  # fmt: skip
    return False
