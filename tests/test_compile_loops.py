"""A step recorded many times over, as a compiled epoch records its batches, is written as one
loop (compile/loops.py). The loop runs the lines the program would have written out, in the
same order: every test compares it with eager and with those lines written out."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr import nn
from tinygrad_lr.compile import loops

Epoch = Callable[[tl.Tensor], Any]


def _regression(seed: int = 0) -> tuple[list[tl.Tensor], tl.Tensor, tl.Tensor]:
    rng = np.random.default_rng(seed)
    params = [tl.tensor(rng.standard_normal((3, 1)), requires_grad=True),
              tl.zeros(1, requires_grad=True)]  # fmt: skip
    return params, tl.tensor(rng.standard_normal((60, 3))), tl.tensor(rng.standard_normal((60, 1)))


def _sgd_epoch(params: list[tl.Tensor], x: tl.Tensor, y: tl.Tensor) -> Epoch:
    w, b = params

    def epoch(order: tl.Tensor) -> tl.Tensor:
        for k in range(order.shape[0]):
            batch = order[k]
            loss = ((x[batch] @ w + b - y[batch]) ** 2).mean()
            loss.backward()
            with tl.no_grad():
                for p in (w, b):
                    p -= 0.05 * p.grad
                    p.grad.zero_()
        return loss

    return epoch


def _orders(epochs: int, batches: int = 8, rows: int = 5) -> list[tl.Tensor]:
    rng = np.random.default_rng(7)
    return [tl.tensor(rng.permutation(batches * rows).reshape(batches, rows))
            for _ in range(epochs)]  # fmt: skip


def _run(make: Callable[[], tuple[Epoch, list[tl.Tensor]]], compiled: bool,
         orders: list[tl.Tensor]) -> tuple[list[np.ndarray], list[Any], Any]:  # fmt: skip
    """Parameters after the epochs, what each epoch returned, and the compiled function."""
    epoch, params = make()
    run = tl.compile(epoch) if compiled else epoch
    results = [run(order) for order in orders]
    returned = [r.detach().numpy() if isinstance(r, tl.Tensor) else r for r in results]
    return [p.detach().numpy() for p in params], returned, run


def _same_three_ways(make: Callable[[], tuple[Epoch, list[tl.Tensor]]], orders: list[tl.Tensor],
                     monkeypatch: pytest.MonkeyPatch, seed: int | None = None) -> str:  # fmt: skip
    """Eager, compiled with the loop, and compiled with the lines written out agree bit for
    bit; the compiled code (with the loop) is returned. (Short programs get loops too.)"""
    monkeypatch.setattr(loops, "MIN_LINES", 0)
    runs = []
    for compiled, copies in ((False, loops.MIN_COPIES), (True, loops.MIN_COPIES), (True, 10**9)):
        monkeypatch.setattr(loops, "MIN_COPIES", copies)
        if seed is not None:
            tl.manual_seed(seed)
        runs.append(_run(make, compiled, orders))
    (eager, eager_out, _), (rolled, rolled_out, step), (written, written_out, unrolled) = runs
    for a, b, c in zip(eager, rolled, written):
        np.testing.assert_array_equal(b, a, strict=True)
        np.testing.assert_array_equal(c, a, strict=True)
    for a, b, c in zip(eager_out, rolled_out, written_out):
        np.testing.assert_array_equal(b, a, strict=True)
        np.testing.assert_array_equal(c, a, strict=True)
    assert step.code is not None and unrolled.code is not None
    assert "for " not in unrolled.code
    return str(step.code)


def test_an_epoch_is_one_loop_that_replays_as_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    def make() -> tuple[Epoch, list[tl.Tensor]]:
        params, x, y = _regression()
        return _sgd_epoch(params, x, y), params

    code = _same_three_ways(make, _orders(5), monkeypatch)
    # the first batch adds into .grads that may hold anything; the last one's loss is returned
    assert "for k in range(1, 7):" in code
    assert code.count("order_data[k]") == 1 and "order_data[0]" in code and "order_data[7]" in code


def test_a_long_program_is_written_with_its_loop_a_short_one_as_recorded() -> None:
    params, x, y = _regression()
    epoch = tl.compile(_sgd_epoch(params, x, y))
    for batches, rolled in ((4, False), (30, True)):
        order = tl.tensor(np.arange(2 * batches).reshape(batches, 2))
        for _ in range(3):
            epoch(order)
        assert epoch.code is not None and ("for k in range(" in epoch.code) == rolled
    assert len(epoch.code.splitlines()) < 130  # the first copy, one in the loop, the last


def test_adam_with_dropout_in_an_epoch_is_one_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each copy reads Adam's numbers live through reads of its own, and draws its dropout
    mask afresh: the loop reads and draws as the copies do."""

    def make() -> tuple[Epoch, list[tl.Tensor]]:
        tl.manual_seed(3)
        model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Dropout(0.25), nn.Linear(6, 1))
        opt = tl.optim.Adam(model.parameters(), lr=0.01)
        _, x, y = _regression()

        def epoch(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                opt.zero_grad()
                nn.functional.mse_loss(model(x[order[k]]), y[order[k]]).backward()
                opt.step()

        return epoch, list(model.parameters())

    code = _same_three_ways(make, _orders(4), monkeypatch, seed=11)
    assert "for k in range(8):" in code and "_generator().random" in code


def test_counts_with_other_steps_and_directions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other batch, and the batches from the end: each index is written in the counter."""

    def make() -> tuple[Epoch, list[tl.Tensor]]:
        (w, b), x, y = _regression()

        def epoch(order: tl.Tensor) -> None:
            n = order.shape[0]
            for k in range(0, n, 2):
                loss = ((x[order[k]] @ w + b - y[order[n - 1 - k]]) ** 2).sum()
                loss.backward()
                with tl.no_grad():
                    w.sub_(0.01 * w.grad)
                    w.grad = None
                    b.grad = None

        return epoch, [w, b]

    code = _same_three_ways(make, _orders(3, batches=12), monkeypatch)
    assert "for k in range(6):" in code
    assert "order_data[(0 + 2 * k)]" in code and "order_data[(11 + -2 * k)]" in code


def test_one_count_is_the_range_of_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    def make() -> tuple[Epoch, list[tl.Tensor]]:
        (w, b), x, y = _regression()

        def epoch(order: tl.Tensor) -> None:
            for k in range(3, order.shape[0], 2):
                ((x[order[k]] @ w - y[order[k]]) ** 2).sum().backward()
                with tl.no_grad():
                    w.sub_(0.01 * w.grad)
                    w.grad = None

        return epoch, [w, b]

    code = _same_three_ways(make, _orders(3, batches=12), monkeypatch)
    assert "for k in range(3, 13, 2):" in code and "order_data[k]" in code


def test_a_value_carried_from_copy_to_copy_keeps_the_lines_written_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sum over the batches reads, in each copy, what the copy before made: no loop."""

    def make() -> tuple[Epoch, list[tl.Tensor]]:
        (w, b), x, y = _regression()

        def epoch(order: tl.Tensor) -> tl.Tensor:
            total = tl.zeros(())
            for k in range(order.shape[0]):
                loss = ((x[order[k]] @ w + b - y[order[k]]) ** 2).mean()
                loss.backward()
                total = total + loss.detach()
                with tl.no_grad():
                    w.sub_(0.05 * w.grad)
                    w.grad.zero_()
            return total

        return epoch, [w, b]

    code = _same_three_ways(make, _orders(3), monkeypatch)
    assert "for " not in code


def test_a_loop_found_from_the_middle_of_a_step_starts_where_its_copies_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first copy differs (it keeps its prediction), so the run of like lines begins
    inside it; the loop starts where no value crosses from one copy to the next."""

    def make() -> tuple[Epoch, list[tl.Tensor]]:
        (w, b), x, y = _regression()

        def epoch(order: tl.Tensor) -> tl.Tensor:
            for k in range(order.shape[0]):
                pred = x[order[k]] @ w + b
                if k == 0:
                    kept = pred.detach()
                ((pred - y[order[k]]) ** 2).mean().backward()
                with tl.no_grad():
                    for p in (w, b):
                        p -= 0.05 * p.grad
                        p.grad = None
            return kept

        return epoch, [w, b]

    code = _same_three_ways(make, _orders(4), monkeypatch)
    assert "for k in range(1, 8):" in code


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy"])
def test_classification_epochs_are_loops(loss: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Their losses' checks of the labels and probabilities are replayed in every copy."""

    def make() -> tuple[Epoch, list[tl.Tensor]]:
        rng = np.random.default_rng(5)
        x = tl.tensor(rng.standard_normal((60, 3)))
        classes = 3 if loss == "cross_entropy" else 1
        labels = rng.integers(0, max(classes, 2), 60)
        y = tl.tensor(labels) if classes > 1 else tl.tensor(labels[:, None].astype(float))
        model = nn.Linear(3, classes)
        opt = tl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def epoch(order: tl.Tensor) -> None:
            for k in range(order.shape[0]):
                out = model(x[order[k]])
                if classes > 1:
                    nn.functional.cross_entropy(out, y[order[k]]).backward()
                else:
                    nn.functional.binary_cross_entropy(out.sigmoid(), y[order[k]]).backward()
                opt.step()
                opt.zero_grad()

        return epoch, list(model.parameters())

    code = _same_three_ways(make, _orders(3), monkeypatch, seed=2)  # (the layer's start)
    assert "for k in range(8):" in code


def test_an_argument_named_range(monkeypatch: pytest.MonkeyPatch) -> None:
    def make() -> tuple[Epoch, list[tl.Tensor]]:
        (w, b), x, y = _regression()

        def epoch(range: tl.Tensor) -> None:
            for k in builtins.range(range.shape[0]):
                ((x[range[k]] @ w - y[range[k]]) ** 2).sum().backward()
                with tl.no_grad():
                    w.sub_(0.01 * w.grad)
                    w.grad = None

        return epoch, [w, b]

    code = _same_three_ways(make, _orders(3), monkeypatch)
    assert "for k in range_1(8):" in code


def _roll(lines: list[str], namespace: dict[str, Any] | None = None,
          constants: frozenset[str] = frozenset(), taken: frozenset[str] = frozenset(),
          ) -> list[str]:  # fmt: skip
    """`loops.roll` on these lines, for programs of any length."""
    used = set(taken)

    def fresh(name: str) -> str:
        free = next(n for n in [name, *(f"{name}_{k}" for k in range(1, 9))] if n not in used)
        used.add(free)
        return free

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loops, "MIN_LINES", 0)
        return loops.roll(lines, dict(namespace or {}), set(constants), fresh)


def _execute(lines: list[str], namespace: dict[str, Any] | None = None) -> Any:
    """What a function of these lines returns, given x = 1.5 * [0, 1, ..., 9] and w = 0."""
    source = "def f():\n    x = np.arange(10.0) * 1.5\n    w = np.zeros(())\n"
    source += "".join(f"    {line}\n" for line in lines)
    scope = {"np": np, **(namespace or {})}
    exec(source, scope)
    return scope["f"]()


def _copies(template: str, numbers: list[int] | range) -> list[str]:
    return [line.format(n=n, k=k) for k, n in enumerate(numbers) for line in template.split("|")]


def _same_when_run(lines: list[str], rolled: list[str], namespace: dict[str, Any] | None = None,
                   ) -> None:  # fmt: skip
    assert rolled != lines  # a loop was written
    _assert_same(_execute(rolled, namespace), _execute(lines, namespace))


def _assert_same(value: Any, expected: Any) -> None:
    if isinstance(expected, (tuple, list)):
        assert type(value) is type(expected) and len(value) == len(expected)
        for item, expected_item in zip(value, expected):
            _assert_same(item, expected_item)
    else:
        np.testing.assert_array_equal(value, expected, strict=True)


def test_numbers_that_do_not_count_by_one_step_end_the_loop() -> None:
    lines = _copies("a{k} = x[{n}] * 2|w -= a{k}", [1, 2, 3, 4, 6, 9]) + ["return w"]
    rolled = _roll(lines)
    assert rolled[:3] == ["for k in range(1, 5):  # these lines were recorded 4 times over",
                          "    a0 = x[k] * 2", "    w -= a0"]  # fmt: skip
    assert rolled[3:] == lines[8:]  # 6 and 9: not one step from 4, nor enough copies
    _same_when_run(lines, rolled)


@pytest.mark.parametrize("template", [
    "a{k} = x[1] * len('{n}')|w -= a{k}",  # a number in a string
    'a{k} = x[1] * len("""{n}""")|w -= a{k}',
    "a{k} = x[1] * {n}.5|w -= a{k}",  # in a float
    "a{k} = x[1] * 2  # {n}|w -= a{k}",  # in a comment
    "a{k} = x[1] * θ{n}|w -= a{k}",  # in a name
])  # fmt: skip
def test_numbers_that_are_not_integers_of_the_code_do_not_count(template: str) -> None:
    lines = _copies(template, range(4)) + ["return w"]
    assert _roll(lines) == lines


def test_after_the_loop_its_last_copy_is_named_as_in_the_loop() -> None:
    lines = _copies("a{k} = x[{n}] * 2|w -= a{k}", range(5)) + ["return dict(a4=a4)"]
    rolled = _roll(lines)
    assert rolled[-1] == "return dict(a4=a0)"  # (a keyword is not a name of the code)
    _same_when_run(lines, rolled)
    lines[-1] = "return a3, w"  # a copy before the last: the loop ends with it
    rolled = _roll(lines)
    assert rolled[0].startswith("for k in range(4):") and rolled[-3:] == [
        "a4 = x[4] * 2", "w -= a4", "return a0, w"]  # fmt: skip
    _same_when_run(lines, rolled)


def test_a_loop_before_another_keeps_the_values_read_after_it() -> None:
    """The lines before a loop are rolled knowing what the loop and the lines after it read."""
    lines = (_copies("a{k} = x[{n}] * 2|w -= a{k}", range(4))
             + _copies("b{k} = x[{n}] + 1|w += b{k}", range(6)) + ["return a0, w"])  # fmt: skip
    rolled = _roll(lines)  # a0 is read after the b loop: the a loop begins after its copy
    assert sum(line.startswith("for ") for line in rolled) == 2 and rolled[0] == "a0 = x[0] * 2"
    _same_when_run(lines, rolled)
    lines[-1] = "return a3, w"  # the first loop's last copy: written out after 3 copies
    rolled = _roll(lines)
    assert sum(line.startswith("for ") for line in rolled) == 2 and "a3 = x[3] * 2" in rolled
    _same_when_run(lines, rolled)


def test_a_name_bound_twice_in_each_copy_and_one_bound_in_a_tuple() -> None:
    lines = _copies("a{k} = x[{n}] * 2|a{k} = a{k} + 1|b{k}, = (a{k},)|w -= b{k}", range(4))
    rolled = _roll([*lines, "return w"])
    assert rolled[0].startswith("for k in range(4):")
    _same_when_run([*lines, "return w"], rolled)


def test_the_counter_and_range_have_names_of_their_own() -> None:
    lines = _copies("a{k} = x[{n}] * 2|w -= a{k}", range(4)) + ["return w"]
    rolled = _roll(lines, taken=frozenset({"k", "range"}))
    assert rolled[0].startswith("for k_1 in range_1(4):")
    _same_when_run(lines, rolled, {"range_1": range})


def test_other_globals_stand_for_each_other_only_when_they_are_alike() -> None:
    same = {f"c{k}": np.array([1.5, 2.0]) for k in range(4)}
    lines = _copies("a{k} = x[:2] * c{k}|w -= a{k}.sum()", range(4)) + ["return w"]
    assert _roll(lines, same, frozenset(same))[0].startswith("for k in range(4):")
    assert _roll(lines, same) == lines  # the user's arrays: each is read as itself
    other = dict(same, c2=np.array([1.5, np.nextafter(2.0, 3.0)]))  # one bit off
    assert _roll(lines, other, frozenset(other)) == lines
    square = {f"c{k}": np.arange(4.0).reshape(2, 2) for k in range(4)}
    square["c1"] = np.asfortranarray(square["c1"])  # the same numbers, laid out otherwise
    assert _roll(lines, square, frozenset(square)) == lines


def test_a_copy_that_binds_what_the_others_read_from_outside_ends_the_loop() -> None:
    """Copy 6 binds w, which every copy reads: the copies after it read the new w."""
    lines = ["r = []"]
    for c in range(10):
        lines += [f"{'w' if c == 6 else f'a{c}'} = x[{c}] + w", "r.append(x[0])"]
    lines.append("return r, w")
    rolled = _roll(lines)
    assert rolled[1].startswith("for k in range(6):")
    _same_when_run(lines, rolled)


def test_when_every_tenth_copy_is_kept_the_copies_between_are_loops() -> None:
    """Ten copies at a time are alike, but each ten keeps one copy's value: the copies
    between the kept ones make the loops."""
    lines = []
    for c in range(40):
        lines += [f"a{c} = x[1] * {c}", f"w += a{c}", *([] if c % 10 == 5 else [f"del a{c}"])]
    lines.append("return w, " + ", ".join(f"a{c}" for c in range(5, 40, 10)))
    rolled = _roll(lines)
    assert sum(line.startswith("for ") for line in rolled) == 5
    _same_when_run(lines, rolled)


def test_the_lines_around_a_loop_are_looked_through_to_a_depth() -> None:
    """A program with a thousand loops' worth of kept values: a few loops, quickly."""
    lines = [line for c in range(3000) for line in (f"a{c} = x[1] * {c}", f"w += a{c}")]
    lines.append(f"return w, [{', '.join(f'a{c}' for c in range(0, 3000, 3))}]")
    rolled = _roll(lines)
    assert 0 < sum(line.startswith("for ") for line in rolled) < 2 ** (loops.MAX_DEPTH + 1)
    _same_when_run(lines, rolled)


def test_a_copy_that_reads_a_name_before_binding_it_makes_no_loop() -> None:
    """`x = x * 2 + 0`, `r = r * 2 + 1`...: each copy reads the value it rebinds, which a
    loop over the first copy would read from the first copy's name at every turn."""
    lines = [f"{name} = {name} * 2 + {c}" for c, name in enumerate(["x", "r", "acc", "w"])]
    assert _roll([*lines, "return w"]) == [*lines, "return w"]


def test_an_epoch_that_keeps_every_tenth_loss_has_a_loop_between_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kept batches' copies are longer, so ten batches at a time repeat, and each ten
    keeps a loss: the nine batches between two kept ones are the loops."""

    def make() -> tuple[Epoch, list[tl.Tensor]]:
        params, x, y = _regression()
        step = _sgd_epoch(params, x, y)

        def epoch(order: tl.Tensor) -> list[tl.Tensor]:
            kept = []
            for k in range(order.shape[0]):
                loss = step(order[k : k + 1])
                if k % 10 == 0:
                    kept.append(loss.detach())
            return kept

        return epoch, params

    code = _same_three_ways(make, _orders(3, batches=30, rows=2), monkeypatch)
    assert code.count("in range(9):  # these lines were recorded 9 times over") == 3
