"""Watch the chain rule go through the graph: one HTML page that steps through the forward
pass and then the backward pass, one node at a time, with every value and gradient.

    python examples/backprop_page.py [--model linear|mlp] [--out DIR]

`linear` is the coder's guide linear regression (y_hat = slope * x + bias, mean squared
error, as in coders_guide_linear_regression.py), on a few points so that every value fits in
the picture; `mlp` is the two-moons network of mlp_two_moons.py on a small batch, where big
tensors are summarised. The page (and the trace as text) are written to DIR, or to a new
temporary folder; open the page in any browser, offline: Next/Previous or the arrow keys.
Drawing needs `pip install graphviz` (from a checkout: `pip install ".[viz]"`) and Graphviz's
dot program.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lr as tl
from tinygrad_lr import viz
from tinygrad_lr.data import make_moons, make_regression


def linear_loss(n: int = 5, seed: int = 762) -> tuple[tl.Tensor, dict[str, tl.Tensor]]:
    """The coder's guide model and loss, at slope = bias = 0, its starting point."""
    x_data, y_data = make_regression(n_samples=n, n_features=1, bias=5.0, noise=5.0,
                                     random_state=seed)  # fmt: skip
    x = tl.tensor(x_data.reshape(-1, 1), name="x")
    y = tl.tensor(y_data.reshape(-1, 1), name="y")
    slope = tl.tensor(0.0, requires_grad=True, name="slope")
    bias = tl.tensor(0.0, requires_grad=True, name="bias")
    with viz.watch():  # keeps every intermediate value for the page
        y_hat = slope * x + bias
        y_hat.name = "y_hat"
        loss = tl.nn.functional.mse_loss(y_hat, y)
    return loss, {"slope": slope, "bias": bias}


def mlp_loss(n: int = 8, seed: int = 0) -> tuple[tl.Tensor, dict[str, tl.Tensor]]:
    """The two-moons MLP (from mlp_two_moons.py) and its loss on a batch of n points."""
    spec = importlib.util.spec_from_file_location(
        "mlp_two_moons", Path(__file__).with_name("mlp_two_moons.py")
    )
    assert spec is not None and spec.loader is not None
    example: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    tl.manual_seed(seed)
    features, labels = make_moons(n, noise=0.1, random_state=seed)
    model = example.build_model(hidden=4)
    with viz.watch():
        logits = model(tl.tensor(features, name="points"))
        loss = tl.nn.BCEWithLogitsLoss()(logits, tl.tensor(labels.reshape(-1, 1) * 1.0))
    return loss, dict(model.named_parameters())


def main(model: str = "linear", out_dir: str | Path | None = None) -> list[Path]:
    """Trace one backward pass, write the page and the trace's text; returns the files."""
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="backprop_"))
    out.mkdir(parents=True, exist_ok=True)
    loss, names = linear_loss() if model == "linear" else mlp_loss()
    trace = viz.trace_backward(loss, names=names)
    print(trace)
    text = out / f"backprop_{model}.txt"
    text.write_text(str(trace) + "\n", encoding="utf-8")
    written = [text]
    try:
        written.append(viz.to_html(trace, out / f"backprop_{model}.html"))
    except viz.GraphvizNotInstalledError as error:
        print(f"(no page: {error})")
    for name, tensor in names.items():
        assert tensor.grad is not None
        print(f"dL/d{name}: {np.round(tensor.grad.numpy(), 4).tolist()}")
    print("wrote " + ", ".join(str(path) for path in written))
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="linear", choices=["linear", "mlp"])
    parser.add_argument("--out", default=None, help="folder for the files (default: a new "
                        "temporary folder)")  # fmt: skip
    arguments = parser.parse_args()
    main(arguments.model, arguments.out)
