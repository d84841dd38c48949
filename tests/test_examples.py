"""Every example runs (at fast settings where it has them) and its result is checked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from example_modules import EXAMPLES, load


def test_every_example_is_run_by_some_test() -> None:
    sources = "\n".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))
    untested = [path.name for path in EXAMPLES.glob("*.py") if path.stem not in sources]
    assert untested == [], f"examples no test runs: {untested}"


@pytest.mark.parametrize("seed", [0, 1])
def test_d2l_scratch_lands_in_the_chapters_range(seed: int) -> None:
    result = load("d2l_linear_regression_scratch").main(seed=seed, verbose=False)
    losses = result["losses"]
    assert len(losses) == 3 and 1e-3 < losses[0] < 0.1 and losses[-1] < 2e-4
    assert losses[0] > losses[1] > losses[2] * 0.9  # the last two epochs sit at the noise floor
    assert np.all(np.abs(result["error_w"]) < 5e-3) and abs(result["error_b"]) < 5e-3
    np.testing.assert_allclose(result["w"], [2, -3.4], atol=5e-3)


def test_d2l_scratch_keeps_a_short_last_batch() -> None:
    # The chapter's last exercise: 1000 examples in batches of 7 still visit every example.
    result = load("d2l_linear_regression_scratch").main(batch_size=7, num_epochs=3, verbose=False)
    assert np.all(np.abs(result["error_w"]) < 5e-3)


def test_coders_guide_three_ways_agree_at_every_epoch(tmp_path: Path) -> None:
    module = load("coders_guide_linear_regression")
    result = module.main(epochs=30, verbose=False)
    histories = result["histories"]
    assert set(histories) == {"python loops", "numpy", "autograd"}
    assert all(h.shape == (30, 3) for h in histories.values())
    assert result["max_difference"] < 1e-9
    for history in histories.values():
        np.testing.assert_allclose(
            history[:, :2], histories["python loops"][:, :2], rtol=0, atol=1e-9
        )
        assert np.all(np.diff(history[:, 2]) <= 1e-9)  # gradient descent on a convex loss
    assert result["slope"] == pytest.approx(result["exact_slope"], rel=0.05)
    assert module.step_size(100) == pytest.approx(0.05)  # the chapter's 1e-3 * n / 2


def test_coders_guide_plots_the_loss_curves(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "curves.png"
    load("coders_guide_linear_regression").main(epochs=3, plot_path=str(target), verbose=False)
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_concise_version_recovers_the_parameters() -> None:
    result = load("concise_linear_regression").main(verbose=False)
    assert np.all(np.abs(result["error_w"]) < 5e-3) and abs(result["error_b"]) < 5e-3
    assert result["losses"][-1] < 2e-4


def test_logistic_regression_reaches_the_newton_solution() -> None:
    result = load("logistic_regression").main(steps=300, verbose=False)
    np.testing.assert_allclose(result["parameters"], result["exact"], atol=1e-6)
    assert result["accuracy"] > 0.8
    assert result["losses"][-1] < result["losses"][0]


def test_mlp_separates_the_two_moons_completely(tmp_path: Path) -> None:
    result = load("mlp_two_moons").main(verbose=False)
    assert result["accuracy"] == 1.0 and result["steps"] < 2000


def test_nan_loss_example_finds_the_op_and_the_line() -> None:
    module = load("nan_loss_anomaly")
    message = module.main(lr=1.5)
    assert "non-finite gradient" in message and "nan_loss_anomaly.py:" in message
    assert module.main(lr=0.1, steps=50) == ""  # a small enough rate stays finite


def test_graph_example_writes_the_dot_text(tmp_path: Path) -> None:
    written = load("graph_of_linear_regression").main(out_dir=tmp_path, fmt="svg")
    dot_files = [path for path in written if path.suffix == ".dot"]
    assert [path.name for path in dot_files] == ["graph_before.dot", "graph_after.dot"]
    assert all(path.read_text().lstrip().startswith("digraph") for path in dot_files)
    assert all(path.exists() and path.stat().st_size > 0 for path in written)


def test_examples_run_as_scripts() -> None:
    root = EXAMPLES.parent
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "d2l_linear_regression_scratch.py"), "--epochs", "1"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "epoch 1, loss" in done.stdout and "error in estimating b" in done.stdout
    for path in sorted(EXAMPLES.glob("*.py")):
        shown = subprocess.run(
            [sys.executable, str(path), "--help"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert shown.returncode == 0 and "usage:" in shown.stdout, (path.name, shown.stderr)


def test_compiled_softmax_regression_replays_the_eager_run_bit_for_bit() -> None:
    result = load("compiled_softmax_regression").main(epochs=2, verbose=False)
    assert result["same"]
    assert result["eager"]["accuracy"] > 0.9
    code = result["compiled"]["code"]
    assert code is not None and "ClassIndexMask" in code and "np.log(np.sum(np.exp(" in code
