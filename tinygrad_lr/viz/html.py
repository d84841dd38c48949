"""One self-contained HTML page that steps through a trace: first the forward pass, op by op,
then the backward pass, node by node. Each step highlights its node and edges and shows the
values and the gradients that arrived and left. Two inline SVG pictures (forward: values;
backward: values and gradients) and a small inline script; nothing is fetched.

    trace = tl.viz.trace_backward(loss)
    tl.viz.to_html(trace, "backprop.html")   # open it in a browser; Next/Previous or arrow keys

`#step=5` at the end of the page's address opens it at step 5. Rendering the pictures needs
Graphviz (`pip install graphviz`, from a checkout `pip install ".[viz]"`, and the `dot`
program).
"""

from __future__ import annotations

import html
import itertools
import json
from pathlib import Path
from typing import Any

from ._format import format_array
from .dot import edges_of, svg_text, to_dot
from .trace import Trace

_pages = itertools.count(1)  # each page shown in one notebook gets its own element ids

_STYLE = """
.tl-viz { font-family: Helvetica, Arial, sans-serif; font-size: 14px; color: #222; }
.tl-viz .bar { display: flex; gap: 12px; align-items: center; margin: 6px 0; }
.tl-viz button { font-size: 14px; padding: 4px 12px; }
.tl-viz .panel { border: 1px solid #ccc; border-radius: 6px; padding: 8px 12px;
  background: #fafafa; min-height: 7em; }
.tl-viz .panel div, .tl-viz .panel pre { margin: 3px 0; }
.tl-viz .equation { font-family: monospace; font-size: 16px; font-weight: bold; }
.tl-viz .rule, .tl-viz .hint { color: #555; }
.tl-viz .arrived { color: #b22222; font-family: monospace; }
.tl-viz pre { font-family: monospace; white-space: pre-wrap; }
.tl-viz svg { max-width: 100%; height: auto; }
.tl-viz .current polygon, .tl-viz .current ellipse, .tl-viz .current path {
  stroke: #d62728; stroke-width: 4px; }
.tl-viz .lit polygon, .tl-viz .lit path { stroke: #ff7f0e; stroke-width: 3px; }
.tl-viz .flow path { stroke: #d62728; stroke-width: 3px; }
.tl-viz .flow polygon { stroke: #d62728; fill: #d62728; }
"""

_SCRIPT = """
(function () {
  var root = document.getElementById(%(uid)s);
  var steps = JSON.parse(root.querySelector("script.steps").textContent);
  var at = 0;
  function find(id) { return root.querySelector('[id="' + id + '"]'); }
  function text(name, value) { root.querySelector("." + name).textContent = value; }
  function show(k) {
    at = Math.max(0, Math.min(steps.length - 1, k));
    var step = steps[at], prefix = root.id + (step.phase === "forward" ? "-f-" : "-b-");
    root.querySelectorAll(".current, .lit, .flow").forEach(function (e) {
      e.classList.remove("current", "lit", "flow");
    });
    root.querySelector(".forward").style.display = step.phase === "forward" ? "" : "none";
    root.querySelector(".backward").style.display = step.phase === "forward" ? "none" : "";
    var node = find(prefix + step.node);
    if (node) { node.classList.add("current"); }
    function mark(ids, name) {
      ids.forEach(function (id) { var e = find(prefix + id); if (e) { e.classList.add(name); } });
    }
    mark(step.edges, "flow"); mark(step.lit, "lit");
    text("heading", step.heading); text("equation", step.equation); text("rule", step.rule);
    text("values", step.values.join("\\n")); text("arrived", step.arrived);
    text("sent", step.sent.join("\\n"));
    text("counter", "step " + (at + 1) + " of " + steps.length);
    root.dataset.step = String(at + 1); root.dataset.node = step.node;
    root.dataset.phase = step.phase;
    root.querySelector(".previous").disabled = at === 0;
    root.querySelector(".next").disabled = at === steps.length - 1;
  }
  root.querySelector(".previous").onclick = function () { show(at - 1); };
  root.querySelector(".next").onclick = function () { show(at + 1); };
  (%(inline)s ? root : document).addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight") { show(at + 1); event.preventDefault(); }
    if (event.key === "ArrowLeft") { show(at - 1); event.preventDefault(); }
  });
  var wanted = /step=(\\d+)/.exec(%(inline)s ? "" : window.location.hash);
  show(wanted ? parseInt(wanted[1], 10) - 1 : 0);
})();
"""


def steps_data(trace: Trace, max_values: int = 6) -> list[dict[str, Any]]:
    """What the page shows at each step, forward ops first, then the backward steps."""
    graph, loss = trace.graph, trace.loss_symbol
    edges = edges_of(graph)
    into = {op.key: [k for a, b, k in edges if b == op.key] for op in graph.ops}
    out_of = {op.key: [k for a, b, k in edges if a == op.key] for op in graph.ops}

    def value_line(box: Any) -> str:
        shown = "not kept (run the forward inside viz.watch())"
        return f"{box.symbol} = " + (
            shown if box.value is None else format_array(box.value, max_values)
        )

    data: list[dict[str, Any]] = []
    for number, op in enumerate(trace.forward, start=1):
        symbols = [box.symbol for box in op.outputs] or ["?"]
        inputs = [box for box in op.inputs if box is not None]
        data.append({
            "phase": "forward", "node": op.key, "edges": into[op.key] + out_of[op.key],
            "lit": [box.key for box in op.outputs],
            "heading": f"Forward pass, op {number} of {len(trace.forward)}: {op.node.name()}",
            "equation": trace._equation(op, symbols), "rule": op.math,
            "values": [value_line(box) for box in inputs + op.outputs], "arrived": "", "sent": [],
        })  # fmt: skip
    for step in trace.steps:
        arrived = "; ".join(
            f"d{loss}/d{symbol} = " + ("none" if grad is None else format_array(grad, max_values))
            for symbol, grad in zip(step.outputs, step.arrived)
        )
        sent = []
        for item in step.sent:
            if item.grad is None:
                sent.append(f"nothing to {item.target} (it needs no gradient)")
            else:
                where = f"  -> step {item.to_step}" if item.to_step else ""
                sent.append(
                    f"d{loss}/d{item.target} = {format_array(item.grad, max_values)}{where}"
                )
        is_op = step.key in into
        data.append({
            "phase": "backward", "node": step.key,
            "edges": (into[step.key] + out_of[step.key]) if is_op else [],
            "lit": [], "heading": f"Backward pass, step {step.index} of {len(trace.steps)}: "
            f"{step.name}", "equation": step.equation,
            "rule": step.math if is_op else "the gradient is added into the leaf's .grad",
            "values": [f"{s} = {format_array(v, max_values)}" for s, v in
                       zip(step.outputs, step.values) if v is not None],
            "arrived": "arrived: " + arrived, "sent": ["sent:"] + sent if sent else [],
        })  # fmt: skip
    return data


def page(trace: Trace, *, inline: bool = False, max_values: int = 6, rankdir: str = "LR") -> str:
    """The page as HTML text; `inline=True` gives a fragment for a notebook cell."""
    if not isinstance(trace, Trace):
        raise TypeError(
            f"to_html: expected a Trace from viz.trace_backward, got {type(trace).__name__}"
        )
    uid = f"tl-viz-{next(_pages)}"
    options: dict[str, Any] = {"max_values": max_values, "rankdir": rankdir}
    forward = svg_text(to_dot(trace, show_grads=False, id_prefix=f"{uid}-f-", **options))
    backward = svg_text(to_dot(trace, id_prefix=f"{uid}-b-", **options))
    data = json.dumps(steps_data(trace, max_values)).replace("</", "<\\/")
    script = _SCRIPT % {"uid": json.dumps(uid), "inline": "true" if inline else "false"}
    body = f"""<div class="tl-viz" id="{uid}" tabindex="0">
<div class="bar"><button class="previous" type="button">&#9664; Previous</button>
<button class="next" type="button">Next &#9654;</button><span class="counter"></span>
<span class="hint">(arrow keys work too)</span></div>
<div class="panel"><div class="heading"></div><div class="equation"></div>
<div class="rule"></div><pre class="values"></pre><div class="arrived"></div>
<pre class="sent"></pre></div>
<div class="forward">{forward}</div><div class="backward">{backward}</div>
<script type="application/json" class="steps">{data}</script>
<script>{script}</script></div>"""
    if inline:
        return f"<style>{_STYLE}</style>\n{body}"
    title = html.escape(f"Backpropagation from {trace.loss_symbol}, step by step")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>{title}</title>'
        f"\n<style>{_STYLE}</style></head>\n<body><h1>{title}</h1>\n{body}\n</body></html>\n"
    )


def to_html(trace: Trace, path: str | Path, **options: Any) -> Path:
    """Write the step-by-step page of `trace` to `path` (one file, nothing to fetch);
    returns the path. Options: max_values, rankdir (as for `to_dot`)."""
    path = Path(path)
    path.write_text(page(trace, **options), encoding="utf-8")
    return path
