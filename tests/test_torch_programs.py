"""PyTorch teaching programs run on tinygrad_lr with only their imports changed.

Each file in `torch_programs/` is a learner's PyTorch program (the official tutorials, d2l.ai
chapters 3 to 5, micrograd's comparison with torch) with a `main()` that returns its results.
`example_modules.load_torch_program` runs it twice: as written, under torch, and with the
textual import swap `import torch` -> `import tinygrad_lr as torch`, `from torch...` ->
`from tinygrad_lr...` (the rules are in its docstring), under tinygrad_lr. Nothing else changes.

The tests, per program:
- under torch (on one thread), the program must pass its quality checks (skipped without torch);
- under tinygrad_lr, the same quality checks (always run). Where a run starts from random
  numbers, quality means what the program is for: an accuracy above 0.9, weights within 0.01 of
  the truth, a loss below a bound; where a training path is fixed by its start, the final
  weights must match the same steps replayed here in NumPy;
- and, where part of the results does not depend on random numbers (gradients of a fixed
  expression, shapes, names, a module's repr), tinygrad_lr's must equal torch's: to 1e-6
  relative for single computations, to 1e-4 for 2000 steps of training in float32.
"""

from __future__ import annotations

import functools
import math
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from example_modules import load_torch_program

PROGRAMS = Path(__file__).parent / "torch_programs"
PROGRAM_NAMES = sorted(path.stem for path in PROGRAMS.glob("*.py"))

Result = dict[str, Any]


@functools.cache
def run(name: str, library: str) -> tuple[types.ModuleType, Result]:
    """The program loaded for `library`, and what its main() returned (run once per test run)."""
    if library == "torch":
        import torch

        # One thread: on a small shared machine torch's thread pool makes these small ops
        # ten times slower, and one thread also fixes the order of its sums.
        torch.set_num_threads(1)
    module = load_torch_program(PROGRAMS / f"{name}.py", library)
    return module, module.main()


def as_array(value: Any) -> np.ndarray:
    """A tensor of either library, or nested lists of numbers, as a float64 NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().numpy()
    elif isinstance(value, (list, tuple)):
        value = [as_array(item) for item in value]
    return np.asarray(value, dtype=np.float64)


def assert_close(actual: Any, expected: Any, rtol: float = 1e-6, atol: float = 0.0) -> None:
    np.testing.assert_allclose(as_array(actual), as_array(expected), rtol=rtol, atol=atol)


def assert_same_keys(expected: Result, actual: Result, keys: list[str], **tolerance: float) -> None:
    """Names, flags, counts and shapes must be equal; numbers and tensors close."""
    for key in keys:
        if _is_exact(expected[key]):
            assert actual[key] == expected[key], key
        else:
            try:
                assert_close(actual[key], expected[key], **tolerance)
            except AssertionError as error:
                raise AssertionError(f"{key}: {error}") from None


def _is_exact(value: Any) -> bool:
    """Strings, bools and ints, alone or in (nested) lists and tuples."""
    if isinstance(value, (list, tuple)):
        return all(_is_exact(item) for item in value)
    return isinstance(value, (str, bool, int))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# ---- replays in NumPy float64 of the cubic fits to sin(x) (the tutorials' 2000 points) ------


def cubic_features() -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(-math.pi, math.pi, 2000)
    return np.stack([np.ones_like(x), x, x**2, x**3], axis=1), np.sin(x)


def replay_cubic_sgd(initial: list[float], steps: int, learning_rate: float) -> np.ndarray:
    """Gradient descent on sum((F c - y)^2), the gradient being 2 F^T (F c - y)."""
    features, y = cubic_features()
    coefficients = np.array(initial, dtype=np.float64)
    for _ in range(steps):
        coefficients -= learning_rate * features.T @ (2 * (features @ coefficients - y))
    return coefficients


def replay_cubic_rmsprop(
    initial: list[float], steps: int, learning_rate: float, alpha: float, eps: float
) -> np.ndarray:
    """RMSprop: v = alpha v + (1 - alpha) g^2, then c -= lr g / (sqrt(v) + eps).

    Returns the coefficients after every 100 steps, one row each.
    """
    features, y = cubic_features()
    coefficients = np.array(initial, dtype=np.float64)
    square_average = np.zeros(4)
    snapshots = []
    for step in range(1, steps + 1):
        grad = features.T @ (2 * (features @ coefficients - y))
        square_average = alpha * square_average + (1 - alpha) * grad**2
        coefficients -= learning_rate * grad / (np.sqrt(square_average) + eps)
        if step % 100 == 0:
            snapshots.append(coefficients.copy())
    return np.array(snapshots)


def replay_legendre(initial: list[float], steps: int, learning_rate: float) -> np.ndarray:
    """Gradient descent on sum((a + b P3(c + d x) - y)^2), P3(u) = (5u^3 - 3u) / 2."""
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    a, b, c, d = initial
    for _ in range(steps):
        u = c + d * x
        p3, dp3 = 0.5 * (5 * u**3 - 3 * u), 1.5 * (5 * u**2 - 1)
        g = 2 * (a + b * p3 - y)
        grads = (g.sum(), (g * p3).sum(), (g * b * dp3).sum(), (g * b * dp3 * x).sum())
        a, b, c, d = (v - learning_rate * dv for v, dv in zip((a, b, c, d), grads))
    return np.array([a, b, c, d])


def check_cubic_fit(result: Result, replayed: np.ndarray) -> None:
    # float32 arithmetic along 2000 steps against float64 here: agreement to about 1e-4.
    assert_close(result["final"], replayed, rtol=2e-3, atol=2e-4)
    losses = result["losses"]
    assert losses[-1] < losses[0] and losses[-1] < 15.0, losses


# ---- quality checks: run under each library --------------------------------------------------


def quality_tensors_tutorial(r: Result, module: types.ModuleType) -> None:
    data = np.array([[1, 2], [3, 4]])
    assert r["x_data_is_int64"] is True and r["x_rand_is_float"] is True
    assert_close(r["x_data"], data)
    assert_close(r["x_np"], data)
    assert_close(r["x_ones"], np.ones((2, 2)))
    x_rand = as_array(r["x_rand"])
    assert x_rand.shape == (2, 2) and ((x_rand >= 0) & (x_rand < 1)).all()
    assert r["shapes"] == [(2, 3)] * 3 and r["tensor_shape"] == (3, 4)
    assert_close(r["ones_tensor"], np.ones((2, 3)))
    assert_close(r["zeros_tensor"], np.zeros((2, 3)))
    assert r["device"] == "cpu"
    t = np.ones((4, 4))
    t[:, 1] = 0
    assert_close(r["first_row"], t[0])
    assert_close(r["first_column"], t[:, 0])
    assert_close(r["last_column"], t[..., -1])
    assert r["t1_shape"] == (4, 12)
    assert_close(r["t1"], np.concatenate([t, t, t], axis=1))
    for key in ("y1", "y2", "y3"):
        assert_close(r[key], t @ t.T)
    for key in ("z1", "z2", "z3"):
        assert_close(r[key], t * t)
    assert r["agg_item"] == t.sum() and r["agg_item_is_float"] is True
    assert_close(r["t_after_add_"], t + 5)
    # The tensor and its .numpy() array share memory, both ways.
    assert_close(r["seen_by_numpy"], np.full(5, 2.0))
    assert_close(r["seen_by_tensor"], np.full(5, 3.0))


def quality_autograd_intro(r: Result, module: types.ModuleType) -> None:
    a, b = np.array([2.0, 3.0]), np.array([6.0, 4.0])
    assert_close(r["Q"], 3 * a**3 - b**2)
    assert_close(r["a_grad"], 9 * a**2)
    assert_close(r["b_grad"], -2 * b)
    assert r["a_grad_matches"] is True and r["b_grad_matches"] is True
    assert r["sum_xy_requires_grad"] is False and r["sum_xz_requires_grad"] is True
    assert r["frozen_grads_are_none"] is True
    assert r["body_unchanged"] is True and r["fc_changed"] is True
    assert r["trainable"] == ["fc.weight", "fc.bias"]


def quality_autograd_mechanics(r: Result, module: types.ModuleType) -> None:
    x, y, w, b = (as_array(r[key]) for key in ("x", "y", "w", "b"))
    z = x @ w + b
    bce = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    assert_close(r["loss"], bce.mean(), rtol=1e-5)
    # d(mean BCE)/dz = (sigmoid(z) - y) / 3, then z = x w + b.
    dz = (sigmoid(z) - y) / 3
    assert_close(r["w_grad"], np.outer(x, dz), rtol=1e-5, atol=1e-7)
    assert_close(r["b_grad"], dz, rtol=1e-5, atol=1e-7)
    assert r["has_grad_fns"] is True
    assert r["tracked"] is True and r["untracked"] is False
    assert r["detached_requires_grad"] is False
    once = 2 * (np.eye(4, 5) + 1)  # d/d(inp) of sum((inp + 1)^2)
    assert_close(r["first_call"], once)
    assert_close(r["second_call"], 2 * once)
    assert_close(r["after_zeroing"], once)


def quality_polynomial_tensors(r: Result, module: types.ModuleType) -> None:
    check_cubic_fit(r, replay_cubic_sgd(r["initial"], r["steps"], r["learning_rate"]))


quality_polynomial_autograd = quality_polynomial_tensors


def quality_legendre_function(r: Result, module: types.ModuleType) -> None:
    probe = as_array(r["probe"])
    assert_close(r["custom_grad"], 1.5 * (5 * probe**2 - 1), rtol=1e-12)
    assert_close(r["autograd_grad"], r["custom_grad"], rtol=1e-12)
    replayed = replay_legendre([0.0, -1.0, 0.0, 0.3], 2000, 5e-6)
    assert_close(r["final"], replayed, rtol=1e-3, atol=1e-5)
    assert r["losses"][-1] < r["losses"][0] and r["losses"][-1] < 10.0


def quality_myrelu_function(r: Result, module: types.ModuleType) -> None:
    for custom, builtin in zip(r["custom_grads"], r["builtin_grads"]):
        assert_close(custom, builtin, rtol=1e-6)
    assert r["last_loss"] < 1e-3 * r["first_loss"]


def quality_polynomial_nn(r: Result, module: types.ModuleType) -> None:
    assert r["xx_shape"] == (2000, 3) and r["output_shape"] == (2000,)
    check_cubic_fit(r, replay_cubic_sgd(r["initial"], r["steps"], r["learning_rate"]))


def quality_polynomial_optim(r: Result, module: types.ModuleType) -> None:
    assert r["defaults"] == {"alpha": 0.99, "eps": 1e-8, "momentum": 0}
    # Once at the minimum, RMSprop's steps of about lr jump around it, and float32 and float64
    # runs part: the path is compared over its first 1000 steps, the end by its loss only.
    replayed = replay_cubic_rmsprop(r["initial"], 1000, r["learning_rate"], 0.99, 1e-8)
    assert_close(r["snapshots"][:10], replayed, rtol=1e-4, atol=1e-5)
    losses = r["losses"]
    assert len(r["snapshots"]) == r["steps"] // 100
    assert losses[-1] < losses[0] and losses[-1] < 15.0, losses


def quality_polynomial_module(r: Result, module: types.ModuleType) -> None:
    assert r["names"] == ["a", "b", "c", "d"]
    check_cubic_fit(r, replay_cubic_sgd(r["initial"], r["steps"], r["learning_rate"]))
    assert r["string"].startswith("y = ") and r["string"].endswith(" x^3")
    last = r["dynamic_last_losses"]
    assert all(math.isfinite(loss) for loss in last) and min(last) < r["dynamic_first_loss"]


def quality_build_model(r: Result, module: types.ModuleType) -> None:
    assert r["logits_shape"] == (1, 10) and r["batch_probab_shape"] == (3, 10)
    assert_close(r["probab_row_sums"], np.ones(1), rtol=1e-5)
    assert_close(r["batch_probab_row_sums"], np.ones(3), rtol=1e-5)
    y_pred = as_array(r["y_pred"])
    assert y_pred.shape == (1,) and 0 <= y_pred[0] < 10
    assert r["flat_image_size"] == (3, 784) and r["hidden1_shape"] == (3, 20)
    assert r["hidden1_min"] >= 0
    sizes = [(784, 512), (512, 512), (512, 10)]
    expected = []
    for index, (fan_in, fan_out) in zip((0, 2, 4), sizes):
        expected.append((f"linear_relu_stack.{index}.weight", (fan_out, fan_in)))
        expected.append((f"linear_relu_stack.{index}.bias", (fan_out,)))
    assert r["parameters"] == expected
    assert r["parameter_count"] == sum(i * o + o for i, o in sizes)
    assert "(flatten): Flatten(" in r["model_repr"]
    assert "(0): Linear(in_features=784, out_features=512, bias=True)" in r["model_repr"]


def quality_optimization_loop(r: Result, module: types.ModuleType) -> None:
    assert r["batch_shapes"] == [(64, 8, 8), (64,)] and r["label_is_int64"] is True
    assert r["batches"] == [math.ceil(1000 / 64), math.ceil(300 / 64)]
    accuracies, losses = r["accuracies"], r["losses"]
    assert accuracies[0] < 0.5 and accuracies[-1] > 0.9, accuracies
    assert losses[-1] < losses[0] / 2, losses
    assert r["reload_difference"] == 0.0


def quality_d2l_linreg_scratch(r: Result, module: types.ModuleType) -> None:
    assert r["shapes"] == [(1000, 2), (1000, 1), (10, 2), (10, 1)]
    assert np.abs(as_array(r["w"]) - as_array(r["true_w"])).max() < 0.01
    assert abs(r["b"] - r["true_b"]) < 0.01
    assert r["losses"][-1] < 1e-3


def quality_d2l_linreg_concise(r: Result, module: types.ModuleType) -> None:
    assert r["first_batch_shapes"] == [(10, 2), (10, 1)] and r["batches"] == 100
    assert np.abs(as_array(r["w"]) - as_array(r["true_w"])).max() < 0.01
    assert abs(r["b"] - r["true_b"]) < 0.01
    assert r["losses"][-1] < 1e-3


def quality_d2l_softmax_scratch(r: Result, module: types.ModuleType) -> None:
    logits = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]])
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert_close(r["softmax"], expected, rtol=1e-6)
    assert_close(r["softmax_row_sums"], np.ones(2), rtol=1e-6)
    assert_close(r["picked"], [0.1, 0.5], rtol=1e-6)
    assert_close(r["cross_entropy"], -np.log([0.1, 0.5]), rtol=1e-6)
    assert r["accuracy"] == 0.5
    assert r["untrained_accuracy"] < 0.5
    history = r["history"]
    assert history[-1][0] < history[0][0] and history[-1][2] > 0.9, history


def quality_d2l_softmax_concise(r: Result, module: types.ModuleType) -> None:
    assert 0.008 < r["initial_weight_std"] < 0.012  # nn.init.normal_(std=0.01) on 640 weights
    assert r["per_example_loss_shape"] == (1000 % 64,)  # the last, short batch
    history = r["history"]
    assert history[-1][0] < history[0][0] and history[-1][2] > 0.9, history


def quality_d2l_mlp_scratch(r: Result, module: types.ModuleType) -> None:
    x = as_array(r["x"])
    assert_close(x, np.arange(160) * 0.1 - 8.0, atol=1e-5)
    assert_close(r["relu_grad"], (x > 0).astype(float))
    assert_close(r["sigmoid_grad"], sigmoid(x) * (1 - sigmoid(x)), rtol=1e-5, atol=1e-7)
    assert_close(r["tanh_grad"], 1 - np.tanh(x) ** 2, rtol=1e-5, atol=1e-7)
    assert_close(r["relu_check"], [0.0, 0.0, 3.0])
    assert r["test_accuracies"][-1] > 0.9, r["test_accuracies"]


def quality_d2l_mlp_concise(r: Result, module: types.ModuleType) -> None:
    assert r["layers"] == ["Flatten", "Linear", "ReLU", "Linear"]
    assert r["parameter_shapes"] == [(256, 64), (256,), (10, 256), (10,)]
    assert r["test_accuracies"][-1] > 0.9, r["test_accuracies"]


def quality_d2l_weight_decay(r: Result, module: types.ModuleType) -> None:
    for style in ("scratch", "concise"):
        plain, decayed = r[f"{style}_no_decay"], r[f"{style}_decay"]
        # 20 examples, 201 parameters: without the penalty the model fits the training set and
        # misses the test set; the penalty shrinks w and generalises far better.
        assert plain["train_loss"] < 0.01 and plain["test_loss"] > 10 * plain["train_loss"]
        assert decayed["norm"] < 0.25 * plain["norm"], (style, plain, decayed)
        assert decayed["test_loss"] < 0.1 * plain["test_loss"], (style, plain, decayed)


def quality_d2l_dropout(r: Result, module: types.ModuleType) -> None:
    x = as_array(r["X"])
    assert_close(x, np.arange(16.0).reshape(2, 8))
    assert_close(r["keep_all"], x)
    assert_close(r["drop_all"], np.zeros((2, 8)))
    half = as_array(r["drop_half"])
    assert ((half == 0) | (half == 2 * x)).all()
    for key in ("scratch_accuracies", "concise_accuracies"):
        assert max(r[key][-3:]) > 0.9, (key, r[key])
    assert r["eval_difference"] == 0.0 and r["train_difference"] > 0.0
    assert 0.45 < r["dropped_fraction"] < 0.55  # 10000 draws of p = 0.5
    assert r["kept_values"] == [0.0, 2.0]


def quality_micrograd_compare(r: Result, module: types.ModuleType) -> None:
    """Each gradient against a central difference of the program's own function."""
    # The program's scalars start as float32 (torch.Tensor), so the step must be exact there.
    h = 2.0**-12

    def slope(function: Any, output: str, args: list[float], index: int) -> float:
        up, down = list(args), list(args)
        up[index] += h
        down[index] -= h
        return (function(*up)[output] - function(*down)[output]) / (2 * h)

    for key, x in (("sanity", -4.0), ("sanity_positive", 3.0)):
        assert_close(r[key]["x_grad"], slope(module.sanity_check, "y", [x], 0), rtol=1e-5)
    for key, args in (("more_ops", [-4.0, 2.0]), ("more_ops_other", [1.5, -0.5])):
        for index, name in enumerate(("a_grad", "b_grad")):
            assert_close(r[key][name], slope(module.more_ops, "g", args, index), rtol=1e-5)
    z = -4.0 * 3 + 2
    assert r["sanity"]["y"] == max(z * z, 0) + (max(z, 0) + z * -4.0) * (1 - 4.0)
    inputs, weights, bias = [1.5, -0.5, 2.0], [0.3, -1.2, 0.8], 0.1

    def neuron_loss(*values: float) -> dict[str, float]:
        act = values[6] + sum(w * x for w, x in zip(values[3:6], values[0:3]))
        out = math.tanh(act)
        return {"loss": (out - 1) ** 2 / 2 - math.exp(out) * 0.1 + math.log(sigmoid(act) + 1)}

    values = inputs + weights + [bias]
    # 0.3 and 0.1 pass through float32 in torch.Tensor([...]): agreement to about 1e-8.
    assert_close(r["neuron"]["loss"], neuron_loss(*values)["loss"], rtol=1e-6)
    grads = r["neuron"]["x_grads"] + r["neuron"]["w_grads"] + [r["neuron"]["b_grad"]]
    for index, grad in enumerate(grads):
        assert_close(grad, slope(neuron_loss, "loss", values, index), rtol=1e-5)
    assert r["is_double"] is True


# ---- the same as torch: the parts of the results that no random number touches ----------------


def same_tensors_tutorial(expected: Result, actual: Result) -> None:
    keys = [key for key in expected if key != "x_rand"]
    assert_same_keys(expected, actual, keys)


def same_autograd_intro(expected: Result, actual: Result) -> None:
    assert_same_keys(expected, actual, list(expected))


def same_autograd_mechanics(expected: Result, actual: Result) -> None:
    keys = ["x", "y", "has_grad_fns", "tracked", "untracked", "detached_requires_grad"]
    assert_same_keys(expected, actual, keys + ["first_call", "second_call", "after_zeroing"])


def same_legendre_function(expected: Result, actual: Result) -> None:
    assert_same_keys(expected, actual, ["probe", "custom_grad", "autograd_grad"])
    assert_same_keys(expected, actual, ["final", "losses"], rtol=1e-4, atol=1e-6)


def same_myrelu_function(expected: Result, actual: Result) -> None:
    assert len(actual["custom_grads"]) == len(expected["custom_grads"])
    for key in ("custom_grads", "builtin_grads"):
        shapes = [as_array(grad).shape for grad in actual[key]]
        assert shapes == [as_array(grad).shape for grad in expected[key]], key


def same_polynomial_nn(expected: Result, actual: Result) -> None:
    assert_same_keys(expected, actual, ["xx_shape", "output_shape"])


def same_polynomial_optim(expected: Result, actual: Result) -> None:
    assert actual["defaults"] == expected["defaults"]


def same_polynomial_module(expected: Result, actual: Result) -> None:
    assert actual["names"] == expected["names"]


def same_build_model(expected: Result, actual: Result) -> None:
    keys = ["model_repr", "parameters", "parameter_count", "logits_shape", "flat_image_size"]
    assert_same_keys(expected, actual, keys + ["hidden1_shape", "batch_probab_shape"])


def same_optimization_loop(expected: Result, actual: Result) -> None:
    assert_same_keys(expected, actual, ["batch_shapes", "label_is_int64", "batches"])


def same_d2l_linreg_concise(expected: Result, actual: Result) -> None:
    assert_same_keys(expected, actual, ["first_batch_shapes", "batches", "true_w", "true_b"])


def same_d2l_softmax_scratch(expected: Result, actual: Result) -> None:
    keys = ["softmax", "softmax_row_sums", "picked", "cross_entropy", "accuracy"]
    assert_same_keys(expected, actual, keys)


def same_d2l_mlp_scratch(expected: Result, actual: Result) -> None:
    assert_same_keys(expected, actual, ["x"], atol=1e-5)
    assert_same_keys(expected, actual, ["sigmoid_grad", "tanh_grad"], rtol=1e-5, atol=1e-7)
    assert_same_keys(expected, actual, ["relu_check"])


def same_d2l_mlp_concise(expected: Result, actual: Result) -> None:
    assert_same_keys(expected, actual, ["layers", "parameter_shapes"])


def same_d2l_dropout(expected: Result, actual: Result) -> None:
    assert_same_keys(expected, actual, ["X", "keep_all", "drop_all", "kept_values"])


def same_micrograd_compare(expected: Result, actual: Result) -> None:
    for key in ("sanity", "sanity_positive", "more_ops", "more_ops_other", "neuron"):
        assert_same_keys(expected[key], actual[key], list(expected[key]))
    assert actual["is_double"] == expected["is_double"]


QUALITY = {
    name.removeprefix("quality_"): f for name, f in globals().items() if name[:8] == "quality_"
}
SAME = {name.removeprefix("same_"): f for name, f in globals().items() if name[:5] == "same_"}


def test_every_program_has_its_checks():
    assert PROGRAM_NAMES and set(QUALITY) == set(PROGRAM_NAMES)
    assert set(SAME) <= set(PROGRAM_NAMES)


@pytest.mark.parametrize("name", PROGRAM_NAMES)
def test_program_under_torch(name: str) -> None:
    pytest.importorskip("torch")
    module, result = run(name, "torch")
    QUALITY[name](result, module)


@pytest.mark.parametrize("name", PROGRAM_NAMES)
def test_program_under_tinygrad_lr(name: str) -> None:
    module, result = run(name, "tinygrad_lr")
    QUALITY[name](result, module)


@pytest.mark.parametrize("name", sorted(SAME))
def test_program_matches_torch(name: str) -> None:
    pytest.importorskip("torch")
    _, expected = run(name, "torch")
    _, actual = run(name, "tinygrad_lr")
    SAME[name](expected, actual)
