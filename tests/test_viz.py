"""Graph pictures: the DOT text is parsed back and compared with the graph the engine
recorded (walked independently here); images are rendered where Graphviz is installed."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import viz

HAS_DOT = shutil.which("dot") is not None and importlib.util.find_spec("graphviz") is not None
needs_graphviz = pytest.mark.skipif(not HAS_DOT, reason="Graphviz (dot + graphviz) not installed")


# --- a small DOT reader -----------------------------------------------------------------------


@dataclass
class Dot:
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def label(self, key: str) -> str:
        return self.nodes[key]["label"]

    def ops(self) -> list[str]:
        return [k for k, a in self.nodes.items() if a.get("shape") == "ellipse"]

    def tensors(self) -> list[str]:
        return [k for k in self.nodes if k not in self.ops()]

    def with_label(self, text: str) -> list[str]:
        return [k for k in self.nodes if text in self.label(k).split("\n")]


ATTRIBUTE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\]\s]+)')


def parse_dot(source: str) -> Dot:
    """Nodes with their attributes and edges, from the one-statement-per-line DOT that
    to_dot writes; labels are unescaped (\\n -> newline)."""
    lines = source.strip().splitlines()
    assert lines[0].startswith("digraph") and lines[0].endswith("{") and lines[-1] == "}"
    dot = Dot()
    for line in lines[1:-1]:
        line = line.strip()
        edge = re.fullmatch(r"(\w+) -> (\w+);", line)
        if edge:
            dot.edges.append((edge.group(1), edge.group(2)))
            continue
        if re.fullmatch(r"(\w+=(\w+|\"[^\"]*\");\s*)+", line):
            continue  # graph attributes: rankdir=LR; label="..."; labelloc=t;
        node = re.fullmatch(r"(\w+) \[(.*)\];", line)
        assert node, f"unexpected DOT line: {line}"
        if node.group(1) in ("graph", "node", "edge"):
            continue
        attributes = {}
        for key, value in ATTRIBUTE.findall(node.group(2)):
            if value.startswith('"'):
                value = re.sub(
                    r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value[1:-1]
                )
            attributes[key] = value
        dot.nodes[node.group(1)] = attributes
    for a, b in dot.edges:
        assert a in dot.nodes and b in dot.nodes, f"edge {a} -> {b} names an undeclared node"
    return dot


def recorded_graph(root: tl.Tensor) -> tuple[set[int], set[int], int, int]:
    """Ops, tensors and edges of the recorded graph, walked here without viz: the expected
    answer. Unnamed one-value constants are counted once per use, as viz draws them."""
    ops: set[int] = set()
    tensors: set[int] = {id(root.grad_fn) if root.grad_fn else id(root)}
    numbers = 0
    edges = 0
    stack = [root.grad_fn] if root.grad_fn else []
    while stack:
        fn = stack.pop()
        if id(fn) in ops:
            continue
        ops.add(id(fn))
        edges += len(fn.inputs) + 1
        for t in fn.inputs:
            if t.grad_fn is not None:
                tensors.add(id(t.grad_fn))
                stack.append(t.grad_fn)
            elif t.ndim == 0 and not t.requires_grad and not t.name:
                numbers += 1
            else:
                tensors.add(id(t))
    return ops, tensors, edges, numbers


def check_against_recorded(dot: Dot, root: tl.Tensor) -> None:
    ops, tensors, edges, numbers = recorded_graph(root)
    assert len(dot.ops()) == len(ops)
    assert len(dot.tensors()) == len(tensors) + numbers
    assert len(dot.edges) == edges
    check_well_formed(dot)


def check_well_formed(dot: Dot) -> None:
    """Data flows tensor -> op -> tensor; each op has one output; leaves have no producer;
    the output has no consumer; there is no cycle."""
    op_keys = set(dot.ops())
    produced: dict[str, str] = {}
    for a, b in dot.edges:
        assert (a in op_keys) != (b in op_keys), f"edge {a} -> {b} does not alternate"
        if a in op_keys:
            assert b not in produced, f"tensor {b} made by two ops"
            produced[b] = a
    for op in op_keys:
        assert sum(a == op for a, _ in dot.edges) == 1, f"{op} has not exactly one output"
        assert any(b == op for _, b in dot.edges), f"{op} has no input"
    # Kahn's algorithm: every node gets removed only if the graph has no cycle.
    indegree = {k: 0 for k in dot.nodes}
    for _, b in dot.edges:
        indegree[b] += 1
    ready = [k for k, n in indegree.items() if n == 0]
    removed = 0
    while ready:
        key = ready.pop()
        removed += 1
        for a, b in dot.edges:
            if a == key:
                indegree[b] -= 1
                if indegree[b] == 0:
                    ready.append(b)
    assert removed == len(dot.nodes), "the drawn graph has a cycle"


# --- graphs to draw ---------------------------------------------------------------------------


def linear_regression(n: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = tl.tensor(rng.normal(size=(n, 2)), name="X")
    y = tl.tensor(rng.normal(size=(n, 1)), name="y")
    w = tl.nn.Parameter(tl.tensor(rng.normal(size=(2, 1))))
    b = tl.nn.Parameter(tl.zeros(1))
    y_hat = x @ w + b
    loss = ((y_hat - y) ** 2).mean()
    return loss, {"w": w, "b": b}


def mlp_loss(seed: int = 0):
    tl.manual_seed(seed)
    model = tl.nn.Sequential(tl.nn.Linear(2, 4), tl.nn.ReLU(), tl.nn.Linear(4, 1))
    x = tl.randn(6, 2)
    y = tl.randn(6, 1)
    loss = tl.nn.functional.mse_loss(model(x), y)
    return loss, model


def test_linear_regression_graph_has_the_ops_tensors_and_edges_of_its_formula():
    loss, names = linear_regression()
    dot = parse_dot(viz.to_dot(loss, names=names))
    # matmul, add, sub, pow, mean; X, w, b, y and the five results; each op has its inputs
    # and its output as edges: 3 + 3 + 3 + 2 + 2.
    assert sorted(dot.label(k) for k in dot.ops()) == sorted(
        ["matmul", "add", "sub", "pow exponent=2", "mean"]
    )
    assert len(dot.tensors()) == 9
    assert len(dot.edges) == 13
    check_against_recorded(dot, loss)
    for name in ("X", "y", "w", "b"):
        assert len(dot.with_label(name)) == 1, name


def test_mlp_loss_graph_matches_the_recorded_graph_and_marks_every_parameter():
    loss, model = mlp_loss()
    names = dict(model.named_parameters())
    dot = parse_dot(viz.to_dot(loss, names=names))
    check_against_recorded(dot, loss)
    parameters = [k for k, a in dot.nodes.items() if a.get("fillcolor") == "#c7ebd0"]
    assert len(parameters) == len(names)
    assert {dot.label(k).split("\n")[0] for k in parameters} == set(names)


def test_edges_follow_the_data_from_leaves_to_the_output():
    loss, names = linear_regression()
    dot = parse_dot(viz.to_dot(loss, names=names))
    root = [k for k, a in dot.nodes.items() if a.get("fillcolor") == "#fff1a8"]
    assert len(root) == 1
    assert not any(a == root[0] for a, _ in dot.edges)  # nothing consumes the loss
    for leaf in ("X", "w", "b", "y"):
        (key,) = dot.with_label(leaf)
        assert not any(b == key for _, b in dot.edges)  # nothing produces a leaf
        assert any(a == key for a, _ in dot.edges)


def test_leaves_parameters_and_constants_are_styled_apart():
    w = tl.nn.Parameter(tl.ones(2))
    x = tl.tensor([1.0, 2.0], requires_grad=True, name="x")
    c = tl.tensor([3.0, 4.0], name="c")
    dot = parse_dot(viz.to_dot((w * x * c).sum(), names={"w": w}))
    styles = {name: dot.nodes[dot.with_label(name)[0]] for name in ("w", "x", "c")}
    assert len({(s.get("style"), s.get("fillcolor")) for s in styles.values()}) == 3


def test_grads_appear_after_backward_and_the_graph_keeps_its_shape():
    loss, names = linear_regression()
    before = parse_dot(viz.to_dot(loss, names=names))
    loss.backward()
    after = parse_dot(viz.to_dot(loss, names=names))
    assert len(after.nodes) == len(before.nodes) and len(after.edges) == len(before.edges)
    check_well_formed(after)
    for name, tensor in names.items():
        (key,) = after.with_label(name)
        assert not any(line.startswith("grad") for line in before.label(key).split("\n"))
        grad_line = [line for line in after.label(key).split("\n") if line.startswith("grad")]
        expected = tensor.grad.numpy().ravel()
        shown = [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", grad_line[0])]
        np.testing.assert_allclose(shown, expected, rtol=1e-3)


def test_retained_intermediate_grad_is_shown_and_freed_values_are_said_to_be():
    x = tl.tensor([1.0, 2.0], requires_grad=True, name="x")
    h = x * x
    h.name = "h"
    h.retain_grad()
    loss = (h.exp() * x).sum()
    loss.backward()
    dot = parse_dot(viz.to_dot(loss))
    assert any(line.startswith("grad") for line in dot.label(dot.with_label("h")[0]).split("\n"))
    # the results of exp and of * x are held by nobody: after backward only shapes are known
    assert sum("(freed after backward)" in dot.label(k) for k in dot.tensors()) == 2


def test_small_values_are_shown_and_large_tensors_summarised():
    small = tl.tensor([1.5, -2.25], requires_grad=True, name="small")
    large = tl.tensor(np.arange(100.0), name="large")
    dot = parse_dot(viz.to_dot((small.sum() * large).sum(), max_values=6))
    assert "data [1.5, -2.25]" in dot.label(dot.with_label("small")[0])
    assert "data mean 49.5, range [0., 99.]" in dot.label(dot.with_label("large")[0])
    quiet = parse_dot(viz.to_dot((small.sum() * large).sum(), max_values=0))
    assert not any("data" in quiet.label(k) for k in quiet.nodes)


def test_non_finite_values_are_counted_in_the_summary():
    t = tl.tensor([1.0, np.nan, np.inf, 2.0, 3.0, 4.0, 5.0], requires_grad=True, name="t")
    label = parse_dot(viz.to_dot(t * 1.0, max_values=3)).with_label("t")
    assert "2 nan/inf" in parse_dot(viz.to_dot(t * 1.0, max_values=3)).label(label[0])


def test_names_with_quotes_and_backslashes_survive_escaping():
    x = tl.tensor([1.0], requires_grad=True, name='say "hi" \\ bye')
    dot = parse_dot(viz.to_dot(x * 2))
    assert dot.with_label('say "hi" \\ bye')


def test_numbers_are_drawn_once_per_use():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2.0 + 2.0) * 2.0  # the same number three times, possibly one cached tensor
    dot = parse_dot(viz.to_dot(y))
    assert len(dot.with_label("2.")) == 3
    check_well_formed(dot)


def test_several_outputs_share_one_drawing():
    x = tl.tensor([1.0, 2.0], requires_grad=True, name="x")
    a, b = x.exp(), x.sin()
    dot = parse_dot(viz.to_dot([a, b]))
    assert len(dot.with_label("x")) == 1
    assert len(dot.ops()) == 2
    check_well_formed(dot)


def test_a_leaf_alone_is_one_node():
    dot = parse_dot(viz.to_dot(tl.tensor([1.0], name="lonely")))
    assert list(dot.nodes) == dot.with_label("lonely") and not dot.edges


def test_non_tensors_are_refused_with_a_clear_error():
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.to_dot(np.ones(3))  # type: ignore[arg-type]


@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
    exponent=st.sampled_from([2, 3]),
)
def test_every_tensor_is_drawn_with_its_shape(shapes, exponent):
    rng = np.random.default_rng(0)
    a, b, c = (tl.tensor(rng.normal(size=s), requires_grad=True) for s in shapes.input_shapes)
    for tensor, name in zip((a, b, c), "abc"):
        tensor.name = name
    out = ((a * b + c) ** exponent).sum()
    dot = parse_dot(viz.to_dot(out))
    for tensor, name in zip((a, b, c), "abc"):
        (key,) = dot.with_label(name)
        assert f"shape {tensor.shape}" in dot.label(key).split("\n")
    results = [k for k in dot.tensors() if dot.label(k).split("\n")[0] not in "abc"]
    assert f"shape {shapes.result_shape}" in "".join(dot.label(k) for k in results)
    check_against_recorded(dot, out)


def test_walking_is_iterative():
    x = tl.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y.exp().log()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # a recursive walk of 6000 ops could not run under this
    try:
        dot = viz.to_dot(y)
        text = viz.format_graph(y, max_values=0)
    finally:
        sys.setrecursionlimit(limit)
    assert dot.count("->") == 2 * 6000
    assert len(text.splitlines()) == 6001


@pytest.mark.slow
def test_a_100000_op_chain_is_drawn():
    x = tl.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    assert viz.to_dot(y, max_values=0).count("->") == 3 * 100_000


# --- text tree --------------------------------------------------------------------------------


def test_print_graph_shows_ops_shapes_names_and_grads(capsys):
    loss, names = linear_regression()
    loss.backward()
    viz.print_graph(loss, names=names)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("mean -> shape ()")
    ops_in_order = [line.split(" -> ")[0].lstrip("│├└─ ") for line in lines if " -> " in line]
    assert ops_in_order == ["mean", "pow exponent=2", "sub", "add", "matmul"]
    (w_line,) = [line for line in lines if "w shape (2, 1) [parameter]" in line]
    assert "grad" in w_line
    # each input is indented one level (3 characters) deeper than the op's output
    depth = {
        line.split(" -> ")[0].lstrip("│├└─ "): len(line) - len(line.lstrip("│├└─ "))
        for line in lines
        if " -> " in line
    }
    assert depth["add"] == depth["sub"] + 3 and depth["matmul"] == depth["add"] + 3


def test_shared_tensors_are_expanded_once_and_referred_to_after():
    x = tl.tensor([1.0, 2.0], requires_grad=True, name="x")
    h = x.exp()
    text = viz.format_graph(h * h + h)
    assert text.count("#1 exp ->") == 1
    assert text.count("#1 (see above)") == 2
    assert text.count("x shape (2,)") == 1


def test_max_depth_cuts_the_tree():
    x = tl.tensor([1.0], requires_grad=True)
    y = x.sin().sin().sin().sin()
    lines = viz.format_graph(y, max_depth=2).splitlines()
    assert len(lines) == 4 and "max_depth" in lines[-1]


def test_deep_trees_keep_their_lines_short():
    x = tl.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(200):
        y = y.sin()
    lines = viz.format_graph(y, max_values=0).splitlines()
    assert max(len(line) for line in lines) < 120
    assert lines[-1].startswith("… ")


# --- images -----------------------------------------------------------------------------------


@needs_graphviz
@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".svg", b"<")])
def test_draw_renders_an_image(tmp_path, suffix, magic):
    loss, model = mlp_loss()
    path = viz.draw(loss, tmp_path / f"mlp{suffix}", names=dict(model.named_parameters()))
    data = path.read_bytes()
    assert data.startswith(magic)
    if suffix == ".svg":
        assert b"<svg" in data and b"matmul" in data


@needs_graphviz
def test_graph_displays_itself_as_svg_in_jupyter():
    loss, _ = linear_regression()
    svg = viz.graph(loss)._repr_svg_()
    assert svg is not None and "<svg" in svg


def test_dot_files_need_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # as if it were not installed
    loss, _ = linear_regression()
    path = viz.draw(loss, tmp_path / "g.dot")
    assert parse_dot(path.read_text()).edges


def test_missing_graphviz_says_what_to_install_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    loss, _ = linear_regression()
    with pytest.raises(viz.GraphvizNotInstalledError) as caught:
        viz.draw(loss, tmp_path / "g.png")
    message = str(caught.value)
    assert (
        'pip install ".[viz]"' in message
        and "pip install graphviz" in message
        and "apt-get install graphviz" in message
    )
    assert "\n" not in message
    assert viz.graph(loss)._repr_svg_() is None  # Jupyter then shows the text form


def test_missing_dot_program_says_what_to_install(tmp_path, monkeypatch):
    graphviz = pytest.importorskip("graphviz")

    def no_dot(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Source, "pipe", no_dot)
    loss, _ = linear_regression()
    with pytest.raises(viz.GraphvizNotInstalledError, match="apt-get install graphviz"):
        viz.draw(loss, tmp_path / "g.svg")


def test_unknown_image_suffix_is_refused(tmp_path):
    loss, _ = linear_regression()
    with pytest.raises(ValueError, match=r"g\.bmpx"):
        viz.draw(loss, tmp_path / "g.bmpx")


def test_graph_object_holds_the_source_and_counts():
    loss, _ = linear_regression()
    picture = viz.graph(loss)
    assert picture.source == viz.to_dot(loss) == str(picture)
    assert "9 tensors, 5 ops" in repr(picture)
