"""The backward pass: the chain rule applied node by node, from the output back to the leaves.

Each node receives dL/d(its outputs), hands them to its rule, and gets dL/d(its inputs), which
it adds into the gradients pending for the nodes that made those inputs. Nodes are visited in
reverse topological order, so a node runs only once every gradient for it has arrived. At a
leaf, the AccumulateGrad node adds the gradient into `.grad`.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ShapeError
from .grad_mode import _state
from .graph import AccumulateGrad, Node, accumulate_grad, edge_to

if TYPE_CHECKING:
    from ..tensor import Tensor

Pending = dict[Node, list["Tensor | None"]]


def backward_pass(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    captures: dict[tuple[Node, int], Tensor | None] | None = None,
) -> None:
    """Propagate `root_grads` from `roots` to every leaf that requires grad.

    With `captures` (this is `grad()`), the gradient arriving at each (node, output) key is
    stored there, and no `.grad` is touched."""
    pending: Pending = {}
    for root, root_grad in zip(roots, root_grads):
        _add_pending(pending, edge_to(root), root_grad)
    order = _topological_order(pending)
    if captures is not None:
        order = _leading_to(order, {node for node, _ in captures})
    for node in order:
        grads = pending.pop(node, None)
        if grads is None:
            continue  # no gradient reached this node
        grads = _run_pre_hooks(node, grads, storing=captures is None)
        if captures is not None:
            _capture(captures, node, grads)
            if isinstance(node, AccumulateGrad):
                continue  # grad() returns gradients instead of accumulating them
        input_grads = node._apply_backward(grads)
        input_grads = _run_post_hooks(node, input_grads, grads)
        for edge, input_grad in zip(node.next_functions, input_grads):
            if edge[0] is not None and input_grad is not None:
                _add_pending(pending, edge, input_grad)
        if not retain_graph:
            node._release()


def _add_pending(pending: Pending, edge: tuple[Node | None, int], grad: Tensor) -> None:
    """Add `grad` to what has arrived for output `k` of `node`: a tensor used twice gets both."""
    node, k = edge
    assert node is not None
    slots = pending.setdefault(node, [None] * node._output_count())
    previous = slots[k]
    slots[k] = grad if previous is None else previous + grad


def _topological_order(roots: Iterable[Node]) -> list[Node]:
    """Every node reachable from `roots`, each before the nodes that made its inputs.

    A node is always made after the nodes of its inputs, so sorting by creation, newest first,
    is such an order. A leaf's AccumulateGrad node may be older than the graph (an earlier
    graph made it, and one still alive keeps it): it is placed right after the last node that
    feeds it, where its gradient is complete, as PyTorch runs it as soon as it is ready; so
    the order does not depend on which other graphs are alive. The walk uses an explicit
    stack: a 100,000-op chain needs no recursion."""
    found = set(roots)
    stack = list(found)
    fed_last: dict[Node, tuple[int, int]] = {}  # AccumulateGrad -> (its last feeder, the edge)
    while stack:
        node = stack.pop()
        for child, _ in node.next_functions:
            if type(child) is AccumulateGrad:  # the last feeder to run is the oldest
                fed = (node._sequence_nr, node.next_functions.index((child, 0)))
                fed_last[child] = max(fed_last.get(child, fed), fed)
            if child is not None and child not in found:
                found.add(child)
                stack.append(child)
    order = sorted(found.difference(fed_last), key=operator.attrgetter("_sequence_nr"))
    numbers = [node._sequence_nr for node in order]
    for accumulator, (feeder, _) in sorted(fed_last.items(), key=operator.itemgetter(1)):
        at = bisect.bisect_right(numbers, feeder)  # right after its feeder's number
        order.insert(at, accumulator)
        numbers.insert(at, feeder)
    return order


def _leading_to(order: list[Node], targets: set[Node]) -> list[Node]:
    """grad(): only the nodes of `order` from which a target can be reached need to run."""
    needed = set(targets)
    for node in reversed(order):  # the nodes that made a node's inputs come before it here
        if any(child in needed for child, _ in node.next_functions):
            needed.add(node)
    return [node for node in order if node in needed]


# --- the named helpers around the loop --------------------------------------------------------


def _run_pre_hooks(node: Node, grads: list[Tensor | None], storing: bool) -> list[Tensor | None]:
    """Tensor hooks (`register_hook`) and `retain_grad` of the node's outputs, then the node's
    own pre-hooks; a hook may replace the gradient, not change its shape."""
    hooks = node._tensor_pre_hooks
    if isinstance(node, AccumulateGrad):
        hooks += tuple((0, h) for h in node.variable._hooks)
    for k, hook in hooks:
        grad = grads[k]
        if grad is not None:
            grads[k] = _checked_replacement(hook, hook(grad), grad)
    if storing:
        for k, ref in node._retained.items():
            tensor, grad = ref(), grads[k]
            if tensor is not None and grad is not None:
                accumulate_grad(tensor, grad)
    for hook in node._pre_hooks:
        replaced = hook(tuple(grads))
        if replaced is not None:
            grads = list(replaced)
    return grads


def _checked_replacement(hook: Any, replaced: Any, grad: Tensor) -> Tensor:
    if replaced is None:
        return grad
    name = getattr(hook, "__name__", repr(hook))
    if not isinstance(replaced, _tensor.Tensor):
        raise TypeError(
            f"hook {name!r} must return a Tensor or None, got {type(replaced).__name__}"
        )
    if replaced.shape != grad.shape:
        raise ShapeError(
            f"hook {name!r} changed the shape of the gradient from {grad.shape} to {replaced.shape}"
        )
    return replaced


def _run_post_hooks(
    node: Node, input_grads: Sequence[Tensor | None], grads: list[Tensor | None]
) -> Sequence[Tensor | None]:
    for hook in node._post_hooks:
        replaced = hook(tuple(input_grads), tuple(grads))
        if replaced is not None:
            input_grads = list(replaced)
    return input_grads


def _capture(
    captures: dict[tuple[Node, int], Tensor | None], node: Node, grads: list[Tensor | None]
) -> None:
    for k, grad in enumerate(grads):
        if (node, k) in captures:
            captures[node, k] = grad


# --- the entry points: Tensor.backward and grad -----------------------------------------------


def run_backward(
    roots: Sequence[Tensor],
    gradients: Sequence[Any],
    retain_graph: bool | None,
    create_graph: bool,
    where: str,
    captures: dict[tuple[Node, int], Tensor | None] | None = None,
) -> None:
    """Check the roots and their gradients, then run the pass in grad mode `create_graph`:
    an ordinary pass records nothing, `create_graph=True` records the rules too."""
    root_grads = [
        _root_grad(r, g, f"{where}" + (f": output {k}" if len(roots) > 1 else ""))
        for k, (r, g) in enumerate(zip(roots, gradients))
    ]
    keep = create_graph if retain_graph is None else retain_graph
    previous, _state.grad_enabled = _state.grad_enabled, create_graph
    try:
        backward_pass(roots, root_grads, keep, captures)
    finally:
        _state.grad_enabled = previous


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs), returned instead of stored in `.grad` (`torch.autograd.grad`).

    Computes sum_k <grad_outputs[k], d outputs[k] / d inputs[i]> for each input i. With
    `create_graph=True` the result is differentiable, which gives second derivatives."""
    outputs = [outputs] if isinstance(outputs, _tensor.Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, _tensor.Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, _tensor.Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for position, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad: input {position} does not require grad")
    keys = [edge_to(t) for t in inputs]
    captures: dict[tuple[Node, int], Tensor | None] = {key: None for key in keys}  # type: ignore[misc]
    run_backward(outputs, grad_outputs, retain_graph, create_graph, "grad", captures)
    results = tuple(captures[key] for key in keys)  # type: ignore[index]
    for position, result in enumerate(results):
        if result is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {position} (shape {inputs[position].shape}) was not used to "
                "compute the outputs; pass allow_unused=True to get None for it"
            )
    return results


def _root_grad(output: Tensor, gradient: Any, where: str) -> Tensor:
    """The gradient that starts the pass: 1 for a one-element output, else the one given."""
    from ..creation import as_tensor, ones_like

    if not output.requires_grad:
        raise RuntimeError(
            f"{where}: the tensor does not require grad and has no grad_fn: nothing recorded "
            "leads to it (was it computed under no_grad(), or from tensors without "
            "requires_grad=True?)"
        )
    if gradient is None:
        if output.numel() != 1:
            raise RuntimeError(
                f"{where}: gradient can be implied only for a one-element output, but the "
                f"output has shape {output.shape}; pass gradient= (a tensor of that shape), "
                "or reduce the output first, e.g. loss.sum() or loss.mean()"
            )
        return ones_like(output.detach())
    gradient = as_tensor(gradient, dtype=output.dtype)  # a tensor of another dtype is cast
    if gradient.shape != output.shape:
        raise ShapeError(
            f"{where}: gradient has shape {gradient.shape} but the output has shape {output.shape}"
        )
    return gradient


import tinygrad_lr.tensor as _tensor  # noqa: E402  (tensor.py builds on the engine)
