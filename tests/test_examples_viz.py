"""The two examples of seeing inside the engine: the linear-regression graph drawn before and
after backward, and the NaN loss traced back by anomaly detection."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from example_modules import EXAMPLES, load

from tinygrad_lr import viz

HAS_DOT = shutil.which("dot") is not None and importlib.util.find_spec("graphviz") is not None


def dot_nodes_and_edges(source: str) -> tuple[list[str], list[str]]:
    lines = [line.strip() for line in source.splitlines()]
    edges = [line for line in lines if " -> " in line]
    nodes = [line for line in lines if line[:1] in "to" and " [label=" in line]
    return nodes, edges


# --- the graph of linear regression -----------------------------------------------------------


def test_graph_example_draws_the_chapters_graph_before_and_after_backward(tmp_path, capsys):
    example = load("graph_of_linear_regression")
    written = example.main(tmp_path, "svg", n=20)
    before, after = (tmp_path / f"graph_{stage}.dot" for stage in ("before", "after"))
    assert before in written and after in written
    # inputs x, y; parameters slope, bias; mul, add, sub, pow, mean and their results
    for path in (before, after):
        nodes, edges = dot_nodes_and_edges(path.read_text())
        assert len(nodes) == 4 + 5 + 5
        assert len(edges) == 3 + 3 + 3 + 2 + 2
    assert "\\ngrad " not in before.read_text()  # no gradient line in any box yet
    text = after.read_text()
    for name in ("slope", "bias", "y_hat", "v2", "v3"):  # the intermediates too
        label = next(line for line in text.splitlines() if f'label="{name}\\n' in line)
        assert "\\ngrad " in label, name
    out = capsys.readouterr().out
    assert "the graph before backward" in out and "the graph after backward" in out


def test_graph_example_gradients_are_the_mse_derivatives(tmp_path):
    example = load("graph_of_linear_regression")
    loss, tensors = example.build_graph(n=30, seed=3)
    loss.backward()
    x, y = tensors["x"].numpy(), tensors["y"].numpy()
    residual = 0.0 * x - y  # slope = bias = 0
    np.testing.assert_allclose(tensors["slope"].grad.item(), 2 * np.mean(residual * x))
    np.testing.assert_allclose(tensors["bias"].grad.item(), 2 * np.mean(residual))


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz (dot + graphviz) not installed")
def test_graph_example_renders_pngs(tmp_path):
    written = load("graph_of_linear_regression").main(tmp_path, "png", n=10)
    pngs = [path for path in written if path.suffix == ".png"]
    assert len(pngs) == 2
    for path in pngs:
        assert path.read_bytes().startswith(b"\x89PNG")


def test_graph_example_without_graphviz_still_writes_the_dot_text(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    written = load("graph_of_linear_regression").main(tmp_path, "png", n=10)
    assert sorted(path.name for path in written) == ["graph_after.dot", "graph_before.dot"]
    assert 'pip install ".[viz]"' in capsys.readouterr().out


def test_graph_example_writes_into_a_temporary_folder_unless_told(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = load("graph_of_linear_regression").main(fmt="svg", n=5)
    assert written and all(tmp_path not in path.parents for path in written)
    assert list(tmp_path.iterdir()) == []


# --- the step-by-step page ----------------------------------------------------------------


@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_backprop_page_example_traces_the_models_gradients(tmp_path, model, capsys):
    written = load("backprop_page").main(model, tmp_path)
    text = (tmp_path / f"backprop_{model}.txt").read_text()
    assert text.startswith("backward pass from L:") and "AccumulateGrad" in text
    if HAS_DOT:
        page = tmp_path / f"backprop_{model}.html"
        assert page in written and page.read_text().count("<svg") == 2
    assert "dL/d" in capsys.readouterr().out


def test_backprop_page_linear_gradients_are_the_mse_derivatives():
    loss, names = load("backprop_page").linear_loss(n=6)
    trace = viz.trace_backward(loss, names=names)
    (x_box,) = [box for box in trace.graph.tensors if box.symbol == "x"]
    (y_box,) = [box for box in trace.graph.tensors if box.symbol == "y"]
    residual = y_box.value - 0.0  # slope = bias = 0, so y - y_hat = y
    np.testing.assert_allclose(names["slope"].grad.item(), -2 * np.mean(x_box.value * residual))
    np.testing.assert_allclose(names["bias"].grad.item(), -2 * np.mean(residual))


# --- the NaN loss -----------------------------------------------------------------------------


def test_nan_example_names_the_op_and_the_line_of_the_example(capsys):
    example = load("nan_loss_anomaly")
    message = example.main(lr=3.0, steps=1000)
    assert "returned a non-finite gradient" in message
    created = message.split("created at ")[1]
    filename, line_number = created.split(":")[:2]
    assert Path(filename) == EXAMPLES / "nan_loss_anomaly.py"
    line = (EXAMPLES / "nan_loss_anomaly.py").read_text().splitlines()[int(line_number) - 1]
    assert line.strip() in created  # the message quotes the line it names
    op = message.split("Backward")[0].lower()
    assert op in {"mul", "add", "sub", "powscalar", "mean"}
    out = capsys.readouterr().out
    assert "nan" in out and "detect_anomaly:" in out


def test_nan_example_losses_grow_and_end_in_nan():
    with np.errstate(all="ignore"):  # overflow is the point here
        losses = load("nan_loss_anomaly").train(lr=20.0, steps=500)
    assert np.isnan(losses[-1])
    finite = np.array([loss for loss in losses if np.isfinite(loss)])
    assert len(finite) > 10 and np.all(np.diff(finite) > 0)


def test_nan_example_with_a_small_rate_reports_nothing(capsys):
    assert load("nan_loss_anomaly").main(lr=0.1, steps=50) == ""
    assert "small enough" in capsys.readouterr().out


def test_nan_example_says_when_the_update_step_overflowed_first(capsys):
    # at this rate the parameters overflow in `param -= lr * grad`, before any backward does
    assert load("nan_loss_anomaly").main(lr=8.0, steps=1000) == ""
    assert "update step" in capsys.readouterr().out


def test_viz_is_importable_without_graphviz(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    assert viz.to_dot(load("graph_of_linear_regression").build_graph(n=5)[0]).startswith("digraph")
