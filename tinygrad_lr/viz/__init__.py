"""Seeing the graph and backpropagation: pictures, a text tree, a step-by-step trace of the
backward pass, and a page that steps through it in a browser.

    from tinygrad_lr import viz

    with viz.watch():                     # keep every forward value (see below)
        loss = ((x * w - y) ** 2).mean()
    trace = viz.trace_backward(loss)      # runs loss.backward(), recording each step
    print(trace)                          # the chain rule, node by node, with values
    viz.draw(trace, "graph.svg")          # every node with its value and its gradient
    viz.to_html(trace, "backprop.html")   # step through forward then backward, in a browser

The engine frees intermediate values as it goes and keeps only what backward needs, so
intermediates have values only when the forward pass ran inside `viz.watch()`: it records
each op's outputs (and its constant inputs, such as data and targets) in the node's public
`metadata` through `tl.autograd.graph.observe_ops`. Without it, pictures show the ops, the
leaves and the output; gradients of intermediates come from `trace_backward`.

    viz.to_dot(loss)              # DOT text, no dependency
    viz.draw(loss, "loss.svg")    # an image: needs `pip install ".[viz]"` and `dot`
    viz.graph(loss)               # in Jupyter, shows itself as SVG (so does a trace)
    viz.print_graph(loss)         # an indented tree for the terminal

The picture has a legend: green boxes are parameters (`nn.Parameter`), blue boxes other
leaves that require grad, grey dashed boxes constants, yellow the output, grey ellipses the
ops (hover for the rule); a dotted box is an intermediate whose value was not kept.
"""

from ._graph import watch
from .dot import INSTALL_HINT, Graph, GraphvizNotInstalledError, draw, graph, to_dot
from .html import to_html
from .text import format_graph, print_graph
from .trace import Sent, Step, Trace, trace_backward

__all__ = [
    "INSTALL_HINT",
    "Graph",
    "GraphvizNotInstalledError",
    "Sent",
    "Step",
    "Trace",
    "draw",
    "format_graph",
    "graph",
    "print_graph",
    "to_dot",
    "to_html",
    "trace_backward",
    "watch",
]
