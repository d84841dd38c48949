"""Random graphs, built step by step by a hypothesis state machine from the ops of the op table.

Each step adds a leaf, applies an op (with or without recording), detaches a tensor, or checks
something. Tensors are picked from everything built so far, so intermediates get reused (fan-out),
an op may take the same tensor twice (fan-in), and inputs of different shapes broadcast. The
checks:

- every leaf's gradient (from `tl.grad` with a random upstream gradient) equals float64 central
  differences of the whole graph, replayed with detached and no_grad tensors held constant;
- backward with `retain_graph=True` run several times adds exactly the same gradient each time;
- after backward without `retain_graph` the graph is released: the intermediate tensors and
  nodes of a temporary graph die as soon as the user drops them (with the cycle collector off,
  so a reference cycle would keep them alive), and a second backward is refused;
- throughout: no op changes its inputs, no backward changes its upstream gradient, and no
  gradient shares memory with the data or with another gradient.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from op_table import OPS, OpSpec

import tinygrad_lr as tl
from tinygrad_lr.errors import ShapeError
from tinygrad_lr.testing import DOMAINS, Domain

MAX_NODES = 24
MAX_MAGNITUDE = 1e3  # larger values make finite differences too coarse to compare
EPS = 1e-6
LEAF_ARRAYS = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), elements=st.floats(-2, 2)
)


# --- which ops, and how their inputs are brought into their domain ---------------------------


def _interval(domain: Domain | str) -> tuple[float, float] | None:
    """None for an op that takes any real input; else an interval its input is squashed into
    (smoothly, by tanh, so the squashing is differentiable too)."""
    resolved = domain if isinstance(domain, Domain) else DOMAINS[domain]
    if not resolved.avoid and resolved.low <= -3.0 and resolved.high >= 3.0:
        return None
    if resolved.avoid in ((), (0.0,)):
        low = max(resolved.low, resolved.margin * 2 if resolved.avoid else resolved.low)
        return (low, resolved.high)
    raise ValueError("kinks inside the interval")


def _fuzzable(spec: OpSpec) -> bool:
    """Ops whose gradient finite differences can check anywhere in their (squashed) domain:
    no ties (max, min), no kinks a value could land on (clamp), float64 results."""
    if spec.valid is not None or spec.unique or spec.name.startswith("to_"):
        return False
    try:
        for domain in spec.domains:
            _interval(domain)
    except ValueError:
        return False
    return True


FUZZ_OPS = {spec.name: spec for spec in OPS if _fuzzable(spec)}


def _domains(spec: OpSpec) -> tuple[Domain | str, ...]:
    return spec.domains * spec.arity if len(spec.domains) == 1 else spec.domains


def _squash(low: float, high: float) -> Callable[[tl.Tensor], tl.Tensor]:
    """x -> a value strictly inside (low, high)."""
    middle, half = (low + high) / 2, (high - low) / 2 * 0.99
    return lambda x: x.tanh() * half + middle


def _fit(index: np.ndarray, shape: tuple[int, ...]) -> Callable[[tl.Tensor], tl.Tensor]:
    """x -> elements of x picked by `index` (repeats allowed), arranged in `shape`."""
    return lambda x: x.reshape(-1)[index].reshape(shape)


# --- the nodes of the random graph -----------------------------------------------------------


@dataclass
class Node:
    """A tensor of the graph and how to recompute it from its inputs for finite differences.

    kind: "param" (a leaf that requires grad), "op" (recorded), or "const" (a leaf without
    grad, a detached tensor, or a result computed under no_grad: constant when perturbing)."""

    tensor: tl.Tensor
    kind: str
    inputs: tuple[int, ...] = ()
    compute: Callable[..., tl.Tensor] | None = None
    value: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.value = self.tensor.detach().numpy().copy()  # it must never change


class RandomGraphs(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[Node] = []
        self.released: set[int] = set()  # op nodes whose graph a backward pass freed

    # --- building --------------------------------------------------------------------------

    @initialize(data=st.data())
    def first_graph(self, data: st.DataObject) -> None:
        """A few leaves and ops, so that every run starts from a graph worth checking."""
        for _ in range(data.draw(st.integers(1, 3), label="leaves")):
            self.add_leaf(data.draw(LEAF_ARRAYS, label="leaf"), requires_grad=True)
        for _ in range(data.draw(st.integers(2, 6), label="ops")):
            self.apply_op(data, record=True)
        self.check(data, "finite differences")

    @rule(array=LEAF_ARRAYS, requires_grad=st.booleans())
    def add_leaf(self, array: np.ndarray, requires_grad: bool) -> None:
        self._make_room()
        leaf = tl.tensor(array, requires_grad=requires_grad)
        self.nodes.append(Node(leaf, "param" if requires_grad else "const"))

    @rule(data=st.data(), record=st.sampled_from([True, True, True, False]))
    def apply_op(self, data: st.DataObject, record: bool) -> None:
        """An op of the table on tensors already built; `record=False` runs it under no_grad."""
        self._make_room()
        spec = FUZZ_OPS[data.draw(st.sampled_from(sorted(FUZZ_OPS)), label="op")]
        shapes = data.draw(spec.input_shapes(), label="shapes")
        inputs = []
        for shape, domain in zip(shapes, _domains(spec)):
            index = self._recent(data, len(self.nodes), "input")
            if self.nodes[index].tensor.shape != shape:
                size = self.nodes[index].tensor.numel()
                picks = data.draw(
                    hnp.arrays(np.int64, (int(np.prod(shape)),), elements=st.integers(0, size - 1))
                )
                index = self._add(_fit(picks, shape), (index,), record)
            interval = _interval(domain)
            if interval is not None:
                index = self._add(_squash(*interval), (index,), record)
            inputs.append(index)
        added = self._add(spec.fn, tuple(inputs), record, keep_large=False)
        event("op applied" if added == len(self.nodes) - 1 else "op skipped")

    @rule(data=st.data())
    def detach(self, data: st.DataObject) -> None:
        self._make_room()
        index = self._recent(data, len(self.nodes), "detach")
        self.nodes.append(Node(self.nodes[index].tensor.detach(), "const"))

    @staticmethod
    def _recent(data: st.DataObject, count: int, label: str) -> int:
        """An index below `count`, counted from the end: hypothesis's simplest choice (0) is
        then the newest tensor, which makes deep graphs, not the first leaf again and again."""
        return count - 1 - data.draw(st.integers(0, count - 1), label=label + " (from the end)")

    def _add(
        self,
        compute: Callable[..., tl.Tensor],
        inputs: tuple[int, ...],
        record: bool,
        keep_large: bool = True,
    ) -> int:
        """Apply `compute` to the tensors at `inputs` and add the result; returns its index
        (or the first input's, when the op does not fit the shapes or its values are huge)."""
        tensors = [self.nodes[i].tensor for i in inputs]
        with tl.set_grad_enabled(record), np.errstate(all="ignore"):  # exp may overflow
            try:
                result = compute(*tensors)
            except (ShapeError, IndexError):
                return inputs[0]  # shapes this op cannot take: no step
        values = result.detach().numpy()
        if not keep_large and not (
            np.all(np.isfinite(values)) and np.all(abs(values) < MAX_MAGNITUDE)
        ):
            return inputs[0]
        kind = "op" if result.requires_grad else "const"
        self.nodes.append(Node(result, kind, inputs, compute if kind == "op" else None))
        return len(self.nodes) - 1

    # --- what a check needs ----------------------------------------------------------------

    def _ancestors(self, index: int) -> set[int]:
        """The node and every node it was computed from by recorded ops."""
        seen, stack = set(), [index]
        while stack:
            i = stack.pop()
            if i not in seen:
                seen.add(i)
                if self.nodes[i].kind == "op":
                    stack.extend(self.nodes[i].inputs)
        return seen

    def _roots(self) -> list[int]:
        """Recorded results whose graph is intact (no part freed by an earlier backward)."""
        return [
            i
            for i, node in enumerate(self.nodes)
            if node.kind == "op" and not (self._ancestors(i) & self.released)
        ]

    def _params(self, root: int) -> list[int]:
        return [i for i in sorted(self._ancestors(root)) if self.nodes[i].kind == "param"]

    def _evaluate(self, root: int, changed: int, array: np.ndarray) -> np.ndarray:
        """Replay the graph up to `root` with node `changed` holding `array`."""
        values: dict[int, np.ndarray] = {}
        with tl.no_grad(), np.errstate(all="ignore"):
            for i in sorted(self._ancestors(root)):
                node = self.nodes[i]
                if i == changed:
                    values[i] = array
                elif node.kind != "op":
                    values[i] = node.value
                else:
                    assert node.compute is not None
                    args = [tl.tensor(values[j]) for j in node.inputs]
                    values[i] = node.compute(*args).numpy()
        return values[root]

    def _upstream(self, data: st.DataObject, shape: tuple[int, ...]) -> np.ndarray:
        return data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-1.0, 1.0)), label="g")

    def _central_differences(self, root: int, param: int, upstream: np.ndarray) -> np.ndarray:
        """d sum(upstream * root) / d param, one element at a time."""
        base = self.nodes[param].value
        grad = np.zeros_like(base)
        for position in np.ndindex(base.shape):
            up, down = base.copy(), base.copy()
            up[position] += EPS
            down[position] -= EPS
            plus = np.sum(upstream * self._evaluate(root, param, up))
            minus = np.sum(upstream * self._evaluate(root, param, down))
            grad[position] = (plus - minus) / (2 * EPS)
        return grad

    # --- checks ----------------------------------------------------------------------------

    @rule(
        data=st.data(),
        check=st.sampled_from(
            ["finite differences", "finite differences", "retain_graph", "release", "temporary"]
        ),
    )
    def check(self, data: st.DataObject, check: str) -> None:
        """One check on a random recorded tensor of the graph."""
        roots = self._roots()
        if not roots:
            event("nothing recorded to check")
            return
        root = roots[self._recent(data, len(roots), "root")]
        checks = {
            "finite differences": self._gradients_match_finite_differences,
            "retain_graph": self._retained_backward_accumulates_exactly,
            "release": self._backward_releases_the_graph,
            "temporary": self._temporary_graph_dies_after_backward,
        }
        checks[check](data, root)

    def _gradients_match_finite_differences(self, data: st.DataObject, root: int) -> None:
        params = self._params(root)
        upstream = self._upstream(data, self.nodes[root].tensor.shape)
        given = upstream.copy()
        grads = tl.grad(
            self.nodes[root].tensor,
            [self.nodes[i].tensor for i in params],
            grad_outputs=tl.tensor(upstream),
            retain_graph=True,
            allow_unused=True,
        )
        np.testing.assert_array_equal(upstream, given)  # the upstream gradient is untouched
        for param, grad in zip(params, grads):
            numeric = self._central_differences(root, param, upstream)
            analytic = np.zeros_like(numeric) if grad is None else grad.numpy()
            assert analytic.shape == self.nodes[param].value.shape
            scale = 1.0 + np.max(np.abs(numeric), initial=0.0)
            np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-5 * scale)
        # Like torch.autograd.grad, tl.grad may return one array for two inputs (x + y gives
        # both the same gradient) or the upstream gradient itself; it never returns data.
        self._assert_no_aliasing([g for g in grads if g is not None], each_other=False)
        size = len(self._ancestors(root))
        event(f"gradient check over {'1' if size == 1 else '2-5' if size < 6 else '6+'} nodes")

    def _retained_backward_accumulates_exactly(self, data: st.DataObject, root: int) -> None:
        params = [self.nodes[i].tensor for i in self._params(root)]
        upstream = tl.tensor(self._upstream(data, self.nodes[root].tensor.shape))
        given = upstream.numpy().copy()
        for param in params:
            param.grad = None
        self.nodes[root].tensor.backward(upstream, retain_graph=True)
        once = [None if p.grad is None else p.grad.numpy().copy() for p in params]
        repeats = data.draw(st.integers(2, 4), label="repeats")
        for count in range(2, repeats + 1):
            self.nodes[root].tensor.backward(upstream, retain_graph=True)
            for param, first in zip(params, once):
                if first is None:
                    assert param.grad is None
                    continue
                assert param.grad is not None
                expected = first.copy()
                for _ in range(count - 1):
                    expected = expected + first  # what adding the same gradient again gives
                np.testing.assert_array_equal(param.grad.numpy(), expected)
        np.testing.assert_array_equal(upstream.numpy(), given)
        self._assert_no_aliasing([p.grad for p in params if p.grad is not None], upstream)
        for param in params:
            param.grad = None

    def _backward_releases_the_graph(self, data: st.DataObject, root: int) -> None:
        tensor = self.nodes[root].tensor
        upstream = tl.tensor(self._upstream(data, tensor.shape))
        params = [self.nodes[i].tensor for i in self._params(root)]
        tensor.backward(upstream)
        self.released |= {i for i in self._ancestors(root) if self.nodes[i].kind == "op"}
        once = [None if p.grad is None else p.grad.numpy().copy() for p in params]
        # As in PyTorch, a second backward is refused when a node on the way needs the values
        # it saved, which the first one freed; a path of ops that saved nothing (add, clone,
        # reshape...) runs again, and adds the same gradients once more.
        try:
            tensor.backward(upstream)
        except RuntimeError as error:
            assert "backward through the graph a second time" in str(error)
        else:
            for param, first in zip(params, once):
                if first is not None:
                    np.testing.assert_allclose(param.grad.numpy(), 2 * first, rtol=1e-12)
        self._assert_no_aliasing([p.grad for p in params if p.grad is not None], upstream)
        for param in params:
            param.grad = None

    def _temporary_graph_dies_after_backward(self, data: st.DataObject, root: int) -> None:
        """Intermediates are freed as soon as nothing needs them: during forward when no rule
        saved them, by backward otherwise; and the nodes with the graph, with no cycles."""
        x = self.nodes[root].tensor
        upstream = tl.tensor(self._upstream(data, x.shape))
        self.released |= {i for i in self._ancestors(root) if self.nodes[i].kind == "op"}
        gc.disable()
        try:
            half = x * 0.5
            squashed = half.tanh()
            product = squashed * half  # half is used twice: fan-out, then fan-in
            out = (product * upstream).sum()
            watched = [weakref.ref(t) for t in (half, squashed, product)]
            watched += [weakref.ref(t.grad_fn) for t in (half, squashed, product)]
            del half, squashed, product
            assert all(ref() is not None for ref in watched[3:])  # the graph holds the nodes
            out.backward()
            assert all(ref() is None for ref in watched[:3]), "backward kept an intermediate"
            assert all(ref() is not None for ref in watched[3:])  # edges stay after backward
            del out
            assert all(ref() is None for ref in watched), "a reference cycle kept a node alive"
        finally:
            gc.enable()
        for i in self._params(root):
            self.nodes[i].tensor.grad = None

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def nothing_was_changed_in_place(self) -> None:
        for node in self.nodes:
            np.testing.assert_array_equal(node.tensor.detach().numpy(), node.value)

    def _assert_no_aliasing(
        self, grads: list[tl.Tensor], *others: tl.Tensor, each_other: bool = True
    ) -> None:
        """No gradient shares memory with any tensor of the graph or with `others`, and (for
        the `.grad` that backward stores) none with another."""
        arrays = [g.detach().numpy() for g in grads]
        data = [node.tensor.detach().numpy() for node in self.nodes]
        data += [t.detach().numpy() for t in others]
        for k, grad in enumerate(arrays):
            assert not any(np.shares_memory(grad, d) for d in data), "a gradient aliases data"
            if each_other:
                assert not any(np.shares_memory(grad, other) for other in arrays[k + 1 :]), (
                    "two gradients share memory"
                )

    def _make_room(self) -> None:
        """A full graph is dropped (checking that this frees it) and a new one begun."""
        if len(self.nodes) >= MAX_NODES:
            keep = self.nodes[0].value
            self._drop_everything()
            self.released.clear()
            self.nodes.append(Node(tl.tensor(keep, requires_grad=True), "param"))

    def teardown(self) -> None:
        self._drop_everything()

    def _drop_everything(self) -> None:
        """Dropping the graph frees every tensor and node without the cycle collector."""
        gc.disable()
        try:
            watched = [weakref.ref(node.tensor) for node in self.nodes]
            watched += [
                weakref.ref(node.tensor.grad_fn)
                for node in self.nodes
                if node.tensor.grad_fn is not None
            ]
            self.nodes.clear()
            alive = [ref() for ref in watched if ref() is not None]
            assert not alive, f"{len(alive)} tensors or nodes kept alive by a reference cycle"
        finally:
            gc.enable()


# Bounded in CI (the `ci` profile runs 20 machines), many steps in the thorough profile.
_THOROUGH = settings.default.max_examples >= 200
RandomGraphs.TestCase.settings = settings(
    settings.default, stateful_step_count=60 if _THOROUGH else 25
)
TestRandomGraphs = RandomGraphs.TestCase
