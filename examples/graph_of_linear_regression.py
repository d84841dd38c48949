"""The computation graph of linear regression, as in section 1.7 of the coder's guide chapter
"Linear Regression from Scratch in Python": the inputs on the left, the line
y_hat = slope * x + bias in the middle, the mean squared error on the right. Forward
propagation runs left to right; backpropagation walks the same graph right to left.

The graph is drawn twice: before backward (values only) and after it, traced by
`viz.trace_backward`, when every node carries its gradient, from dMSE/dMSE = 1 back to
dMSE/dslope and dMSE/dbias. The forward pass runs inside `viz.watch()`, which keeps the
intermediate values (y_hat, the residuals...) for the pictures.

    python examples/graph_of_linear_regression.py [--out DIR] [--format png|svg|pdf]

Files go to DIR, or to a new temporary folder.

The DOT text is always written (open it at any Graphviz viewer, or run
`dot -Tpng graph_before.dot -o graph_before.png`); the pictures need
`pip install ".[viz]"` (from a checkout) and Graphviz's `dot` program.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import tinygrad_lr as tl
from tinygrad_lr import viz
from tinygrad_lr.data import make_regression


def build_graph(n: int = 100, seed: int = 0) -> tuple[tl.Tensor, dict[str, tl.Tensor]]:
    """The chapter's data (one feature, bias 5, noise 5) and its MSE for slope = bias = 0.

    Returns the loss and the named tensors of the graph."""
    x_data, y_data = make_regression(
        n_samples=n, n_features=1, bias=5.0, noise=5.0, random_state=seed
    )
    x = tl.tensor(x_data.reshape(-1), name="x")
    y = tl.tensor(y_data, name="y")
    slope = tl.tensor(0.0, requires_grad=True, name="slope")
    bias = tl.tensor(0.0, requires_grad=True, name="bias")
    with viz.watch():  # keep the intermediate values for the pictures
        y_hat = slope * x + bias  # the regression line
        y_hat.name = "y_hat"
        loss = ((y - y_hat) ** 2).mean()  # mean squared error
    loss.name = "MSE"
    return loss, {"x": x, "y": y, "slope": slope, "bias": bias, "y_hat": y_hat}


def main(
    out_dir: str | Path | None = None, fmt: str = "png", n: int = 100, seed: int = 0
) -> list[Path]:
    """Draw the graph before and after backward; returns the files written."""
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="graph_"))
    out.mkdir(parents=True, exist_ok=True)
    loss, tensors = build_graph(n, seed)
    written = []
    shown: object = loss
    for stage in ("before", "after"):
        if stage == "after":
            shown = viz.trace_backward(loss)  # runs loss.backward(), noting every gradient
        print(f"--- the graph {stage} backward ---")
        viz.print_graph(shown)
        picture = viz.graph(shown, title=f"linear regression, {stage} backward")
        written.append(picture.save(out / f"graph_{stage}.dot"))
        try:
            written.append(picture.save(out / f"graph_{stage}.{fmt}"))
        except viz.GraphvizNotInstalledError as error:
            print(f"(no {fmt} picture: {error})")
    slope, bias = tensors["slope"], tensors["bias"]
    assert slope.grad is not None and bias.grad is not None
    print(f"dMSE/dslope = {slope.grad.item():.4f}, dMSE/dbias = {bias.grad.item():.4f}")
    print("wrote " + ", ".join(str(path) for path in written))
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the files (default: a new "
                        "temporary folder)")  # fmt: skip
    parser.add_argument("--format", default="png", choices=["png", "svg", "pdf"])
    arguments = parser.parse_args()
    main(arguments.out, arguments.format)
