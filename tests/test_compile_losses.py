"""cross_entropy and nll_loss with class-index targets inside tl.compile: the step is replayed
(the labels are checked and used by Tensor ops at every call), bit for bit as eager; bad labels
raise at every call; and the eager values are those of the one-hot construction in NumPy."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import nn, ops, optim
from tinygrad_lr.compile import CompileWarning
from tinygrad_lr.nn import functional as F  # noqa: N812 (as PyTorch code writes it)

CLASSES, FEATURES, BATCH = 3, 4, 6
CLASS_WEIGHTS = np.array([0.5, 2.0, 1.25])
Loss = Callable[[tl.Tensor, tl.Tensor], tl.Tensor]

# name -> (the loss of logits and labels, whether the labels hold ignored entries (-100))
LOSSES: dict[str, tuple[Loss, bool]] = {
    "mean": (lambda z, y: F.cross_entropy(z, y), False),
    "mean_ignored": (lambda z, y: F.cross_entropy(z, y), True),
    "sum_ignored": (lambda z, y: F.cross_entropy(z, y, reduction="sum"), True),
    "none": (lambda z, y: F.cross_entropy(z, y, reduction="none").mean(), False),
    "weight_tensor": (lambda z, y: F.cross_entropy(z, y, weight=tl.tensor(CLASS_WEIGHTS)), True),
    "weight_array": (lambda z, y: F.cross_entropy(z, y, CLASS_WEIGHTS, reduction="sum"), False),
    "smoothing": (lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1), False),
    "smoothing_weight_ignored": (
        lambda z, y: F.cross_entropy(z, y, tl.tensor(CLASS_WEIGHTS), label_smoothing=0.2),
        True,
    ),
    "smoothing_none_ignored": (
        lambda z, y: F.cross_entropy(z, y, reduction="none", label_smoothing=0.3).sum(),
        True,
    ),
    "custom_ignore_index": (lambda z, y: F.cross_entropy(z, y, ignore_index=1), False),
    "nll_loss": (lambda z, y: F.nll_loss(z.log_softmax(dim=1), y), False),
    "nll_loss_weight_ignored": (
        lambda z, y: F.nll_loss(z.log_softmax(dim=1), y, tl.tensor(CLASS_WEIGHTS)),
        True,
    ),
    "module": (nn.CrossEntropyLoss(), False),
    "module_weight_smoothing": (
        nn.CrossEntropyLoss(weight=tl.tensor(CLASS_WEIGHTS), label_smoothing=0.05),
        True,
    ),
    "module_nll_sum": (
        lambda z, y: nn.NLLLoss(reduction="sum")(nn.LogSoftmax(dim=1)(z), y),
        True,
    ),
}


def _labels(seed: int, ignored: bool) -> np.ndarray:
    labels = np.random.default_rng(seed).integers(0, CLASSES, size=4 * BATCH)
    if ignored:
        labels[::5] = -100  # about one example in five of each batch is ignored
    return labels


def _train(loss_fn: Loss, ignored: bool, compiled: bool, steps: int = 20, dtype: Any = None):  # type: ignore[no-untyped-def]
    """A linear classifier trained by SGD with momentum on batches that change every call;
    returns the parameters and the losses."""
    tl.manual_seed(0)
    model = nn.Linear(FEATURES, CLASSES)
    if dtype is not None:
        model = model.to(dtype)
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    features = np.random.default_rng(1).standard_normal((4 * BATCH, FEATURES))
    x = tl.tensor(features, dtype=dtype)
    y = tl.tensor(_labels(2, ignored))

    def step(xb: tl.Tensor, yb: tl.Tensor) -> tl.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    run = tl.compile(step) if compiled else step
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for k in range(steps):
            i = (k % 4) * BATCH
            losses.append(run(x[i : i + BATCH], y[i : i + BATCH]).detach().numpy().copy())
    if compiled:
        assert run.code is not None, "the step was not replayed"
        assert "ClassIndexMask" in run.code  # the labels are checked at every call
    return [p.detach().numpy().copy() for p in model.parameters()], losses


@pytest.mark.parametrize("name", LOSSES)
def test_a_classification_step_replays_bit_for_bit(name: str) -> None:
    loss_fn, ignored = LOSSES[name]
    eager, eager_losses = _train(loss_fn, ignored, compiled=False)
    compiled, losses = _train(loss_fn, ignored, compiled=True)
    for a, b in zip(compiled, eager):
        np.testing.assert_array_equal(a, b, strict=True)
    np.testing.assert_array_equal(losses, eager_losses, strict=True)


def test_a_float32_step_replays_bit_for_bit() -> None:
    loss_fn, ignored = LOSSES["smoothing_weight_ignored"]
    eager, eager_losses = _train(loss_fn, ignored, compiled=False, dtype=tl.float32)
    compiled, losses = _train(loss_fn, ignored, compiled=True, dtype=tl.float32)
    assert compiled[0].dtype == np.float32
    for a, b in zip(compiled, eager):
        np.testing.assert_array_equal(a, b, strict=True)
    np.testing.assert_array_equal(losses, eager_losses, strict=True)


def test_a_step_on_spatial_targets_replays_bit_for_bit() -> None:
    """Input (N, C, d) and targets (N, d), as for a segmentation map."""
    results = []
    for compiled in (False, True):
        w = tl.tensor(np.linspace(-1.0, 1.0, FEATURES * CLASSES * 2).reshape(FEATURES, -1))
        w.requires_grad_()

        def step(xb: tl.Tensor, yb: tl.Tensor, w: tl.Tensor = w) -> tl.Tensor:
            loss = F.cross_entropy((xb @ w).reshape(BATCH, CLASSES, 2), yb, label_smoothing=0.1)
            loss.backward()
            with tl.no_grad():
                w -= 0.5 * w.grad
                w.grad.zero_()
            return loss

        run = tl.compile(step) if compiled else step
        rng = np.random.default_rng(3)
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            for _ in range(10):
                labels = rng.integers(-1, CLASSES, size=(BATCH, 2))
                labels[labels == -1] = -100
                run(tl.tensor(rng.standard_normal((BATCH, FEATURES))), tl.tensor(labels))
        assert not compiled or run.code is not None
        results.append(w.detach().numpy().copy())
    np.testing.assert_array_equal(results[0], results[1], strict=True)


# --- bad labels raise at every call, also when the step is replayed -------------------------


@pytest.mark.parametrize(
    ("loss_fn", "bad", "message"),
    [
        (
            lambda z, y: F.cross_entropy(z, y),
            [0, 1, 3, 2, 0, 1],
            "cross_entropy: target values must lie in [0, 3), got values from 0 to 3",
        ),
        (
            lambda z, y: F.nll_loss(z.log_softmax(dim=1), y, tl.tensor(CLASS_WEIGHTS)),
            [0, -1, 2, -100, 0, 1],
            "nll_loss: target values must lie in [0, 3), got values from -1 to 2",
        ),
    ],
)
def test_out_of_range_labels_raise_in_a_replayed_step(
    loss_fn: Loss, bad: list[int], message: str
) -> None:
    w = tl.zeros(FEATURES, CLASSES, requires_grad=True)
    x = tl.tensor(np.random.default_rng(4).standard_normal((BATCH, FEATURES)))

    @tl.compile
    def step(xb: tl.Tensor, yb: tl.Tensor) -> tl.Tensor:
        loss = loss_fn(xb @ w, yb)
        loss.backward()
        with tl.no_grad():
            w.sub_(0.1 * w.grad)
            w.grad.zero_()
        return loss

    good = tl.tensor([0, 1, 2, 2, 0, 1])
    for _ in range(3):  # two recording calls, then the replay
        step(x, good)
    assert step.code is not None
    before = w.detach().numpy().copy()
    for _ in range(2):
        with pytest.raises(ValueError) as info:
            step(x, tl.tensor(bad))
        assert str(info.value) == message
    np.testing.assert_array_equal(w.detach().numpy(), before)  # nothing was updated
    step(x, good)  # the program still runs on good labels
    assert not np.array_equal(w.detach().numpy(), before)


def test_the_label_check_is_an_op_without_gradient() -> None:
    labels = tl.tensor([2, -100, 0])
    valid = ops.ClassIndexMask.apply(labels, -100, 3, "cross_entropy")
    np.testing.assert_array_equal(valid.numpy(), [True, False, True])
    assert valid.dtype == np.bool_ and not valid.requires_grad
    with pytest.raises(RuntimeError, match="no gradient"):
        ops.ClassIndexMask.backward(None, tl.ones(3))
    with pytest.raises(ValueError) as info:  # the message is not prefixed with the op's name
        ops.ClassIndexMask.apply(labels, 0, 2, "nll_loss")
    assert (
        str(info.value) == "nll_loss: target values must lie in [0, 2), got values from -100 to 2"
    )


# --- eager values: the one-hot construction in NumPy, and torch ------------------------------


def _one_hot_in_numpy(
    log_probs: tl.Tensor, labels: np.ndarray, weight: np.ndarray | None, ignore_index: int,
    reduction: str, smoothing: float,
) -> tl.Tensor:  # fmt: skip
    """The class-index loss with the mask and the example weights computed in NumPy from the
    labels' values, and Python floats as the denominators of 'mean'."""
    class_dim = 0 if log_probs.ndim == 1 else 1
    classes = log_probs.shape[class_dim]
    valid = labels != ignore_index
    safe = np.where(valid, labels, 0)
    chosen = np.moveaxis(np.eye(classes, dtype=bool)[safe] & valid[..., None], -1, class_dim)
    losses = -tl.where(tl.tensor(chosen), log_probs, 0.0).sum(dim=class_dim)
    example_weights = valid.astype(log_probs.dtype)
    if weight is not None:
        example_weights = example_weights * weight[safe].astype(log_probs.dtype)
    if weight is not None or not valid.all():
        losses = losses * tl.tensor(example_weights)
    total = float(example_weights.sum())

    def reduce(values: tl.Tensor) -> tl.Tensor:
        if reduction == "mean":
            return values.sum() / total
        return values.sum() if reduction == "sum" else values

    loss = reduce(losses)
    if not smoothing:
        return loss
    shape = (classes,) + (1,) * (log_probs.ndim - class_dim - 1)
    weighted = log_probs if weight is None else log_probs * tl.tensor(weight.reshape(shape))
    smooth = -weighted.sum(dim=class_dim)
    if not valid.all():
        smooth = smooth * tl.tensor(valid.astype(log_probs.dtype))
    return (1 - smoothing) * loss + (smoothing / classes) * reduce(smooth)


SHAPES = st.sampled_from([(4,), (5, 3), (4, 3, 2), (2, 4, 2, 2)])
OPTIONS = st.fixed_dictionaries(
    {
        "reduction": st.sampled_from(["mean", "sum", "none"]),
        "weighted": st.booleans(),
        "ignore_index": st.sampled_from([-100, 0, 2]),
        "smoothing": st.sampled_from([0.0, 0.25]),
        "nll": st.booleans(),
        "dtype": st.sampled_from([np.float64, np.float32]),
    }
)


def _draw_case(data: st.DataObject) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    shape, options = data.draw(SHAPES), data.draw(OPTIONS)
    class_dim = 0 if len(shape) == 1 else 1
    target_shape = shape[:class_dim] + shape[class_dim + 1 :]
    elements = st.floats(-30, 30, allow_nan=False, width=32)
    logits = data.draw(hnp.arrays(options["dtype"], shape, elements=elements))
    labels = data.draw(
        hnp.arrays(np.int64, target_shape, elements=st.sampled_from([-100, 0, 1, 2, 3]))
    )
    labels[(labels < 0) | (labels >= shape[class_dim])] = options["ignore_index"]
    return logits, labels, options


def _ours(logits: np.ndarray, labels: np.ndarray, options: dict[str, Any], lib: Any) -> Any:
    """The loss and the input's gradient, by lib (tinygrad_lr or torch), or with the mask in
    NumPy (lib None); the upstream gradient is not all ones."""
    framework = tl if lib is None else lib
    leaf = framework.tensor(logits, requires_grad=True)
    classes = logits.shape[0 if logits.ndim == 1 else 1]
    weight = np.linspace(0.5, 2.0, classes).astype(logits.dtype) if options["weighted"] else None
    class_dim = 0 if logits.ndim == 1 else 1
    smoothing = 0.0 if options["nll"] else options["smoothing"]
    if lib is None:
        loss = _one_hot_in_numpy(
            leaf.log_softmax(class_dim),
            labels,
            weight,
            options["ignore_index"],
            options["reduction"],
            smoothing,
        )
    else:
        kwargs = {"ignore_index": options["ignore_index"], "reduction": options["reduction"]}
        weights = None if weight is None else framework.tensor(weight)
        target = framework.tensor(labels)
        if options["nll"]:
            loss = lib.nn.functional.nll_loss(
                leaf.log_softmax(class_dim), target, weights, **kwargs
            )
        else:
            loss = lib.nn.functional.cross_entropy(
                leaf, target, weights, label_smoothing=smoothing, **kwargs
            )
    upstream = np.cos(np.arange(loss.numel())).reshape(tuple(loss.shape)).astype(logits.dtype)
    (loss * framework.tensor(upstream)).sum().backward()
    return loss.detach().numpy(), leaf.grad.numpy()


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_eager_values_are_those_of_the_one_hot_mask_made_in_numpy(data: st.DataObject) -> None:
    logits, labels, options = _draw_case(data)
    with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: 0/0 in both
        ours = _ours(logits, labels, options, tl)
        reference = _ours(logits, labels, options, None)
    for a, b in zip(ours, reference):
        np.testing.assert_array_equal(a, b, strict=True)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_eager_values_and_gradients_match_torch(data: st.DataObject) -> None:
    torch = pytest.importorskip("torch")
    logits, labels, options = _draw_case(data)
    options["dtype"] = np.float64
    logits = logits.astype(np.float64)
    # Every target ignored: 'mean' is 0/0. With label smoothing the gradient is then NaN here
    # (the smoothing term's 0 * (1/0)) where torch gives 0; the loss is NaN in both.
    everything_ignored = bool(np.all(labels == options["ignore_index"]))
    if everything_ignored and options["reduction"] == "mean" and not options["nll"]:
        options["smoothing"] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ours = _ours(logits, labels, options, tl)
    theirs = _ours(logits, labels, options, torch)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_class_weights_that_require_grad_are_refused_with_class_indices(loss: str) -> None:
    """As in PyTorch: the loss of class-index targets has no gradient for the weights."""
    logits = tl.randn(4, 3, requires_grad=True)
    weight = tl.ones(3, requires_grad=True)
    inputs = logits if loss == "cross_entropy" else logits.log_softmax(1)
    with pytest.raises(RuntimeError, match=rf"{loss}: with class-index targets .* pass weight"):
        getattr(F, loss)(inputs, tl.tensor([0, 1, 2, 1]), weight=weight)
    with tl.no_grad():  # no graph, no gradient asked for: allowed
        getattr(F, loss)(inputs, tl.tensor([0, 1, 2, 1]), weight=weight)


def test_class_weights_get_their_gradient_with_probability_targets_as_in_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    logits, weight = rng.standard_normal((5, 3)), rng.uniform(0.5, 2.0, 3)
    target = np.exp(rng.standard_normal((5, 3)))
    target /= target.sum(axis=1, keepdims=True)
    grads = []
    for lib in (tl, torch):
        x = lib.tensor(logits, requires_grad=True)
        w = lib.tensor(weight, requires_grad=True)
        lib.nn.functional.cross_entropy(x, lib.tensor(target), weight=w).backward()
        grads.append((x.grad.numpy(), w.grad.numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


# --- binary classification and clipping ---------------------------------------------------

POSITIVE = tl.tensor([1.5])
BINARY: dict[str, Callable[[nn.Module, tl.Tensor, tl.Tensor], tl.Tensor]] = {
    "bce": lambda model, x, y: F.binary_cross_entropy(model(x).sigmoid(), y),
    "bce_module_weight": lambda model, x, y: nn.BCELoss(weight=tl.full((BATCH, 1), 0.5))(
        tl.sigmoid(model(x)), y
    ),
    "logits_pos_weight": lambda model, x, y: nn.BCEWithLogitsLoss(pos_weight=POSITIVE)(model(x), y),
    "logits_weight": lambda model, x, y: F.binary_cross_entropy_with_logits(
        model(x), y, weight=tl.full((BATCH, 1), 2.0)
    ),
}


def _logistic(loss: str, compiled: bool, clip: str) -> list[Any]:
    """Logistic regression by SGD on batches that change every call, with its gradients
    clipped (`clip`: "norm", "value" or "") before the update."""
    tl.manual_seed(0)
    model = nn.Linear(FEATURES, 1)
    opt = optim.SGD(model.parameters(), lr=0.5)
    rng = np.random.default_rng(3)
    x = tl.tensor(rng.standard_normal((4 * BATCH, FEATURES)))
    y = tl.tensor((rng.random((4 * BATCH, 1)) > 0.5).astype(np.float64))

    def step(xb: tl.Tensor, yb: tl.Tensor) -> tl.Tensor:
        opt.zero_grad()
        value = BINARY[loss](model, xb, yb)
        value.backward()
        if clip == "norm":
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.05)
        elif clip == "value":
            nn.utils.clip_grad_value_(model.parameters(), clip_value=0.01)
        opt.step()
        return value

    run = tl.compile(step) if compiled else step
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        losses = [run(x[k % 4 * BATCH :][:BATCH], y[k % 4 * BATCH :][:BATCH]).item()
                  for k in range(12)]  # fmt: skip
    assert not compiled or run.code is not None  # type: ignore[attr-defined]
    return [losses, *(p.tolist() for p in model.parameters())]


@pytest.mark.parametrize("clip", ["", "norm", "value"])
@pytest.mark.parametrize("loss", BINARY)
def test_a_logistic_regression_step_with_clipping_replays_bit_for_bit(loss: str, clip: str) -> None:
    assert _logistic(loss, True, clip) == _logistic(loss, False, clip)


def test_probabilities_out_of_range_raise_in_a_replayed_step() -> None:
    w = tl.zeros(FEATURES, 1, requires_grad=True)
    x = tl.tensor(np.random.default_rng(4).standard_normal((BATCH, FEATURES)))

    @tl.compile
    def step(p_shift: tl.Tensor) -> tl.Tensor:
        loss = F.binary_cross_entropy((x @ w).sigmoid() + p_shift, tl.ones(BATCH, 1))
        loss.backward()
        with tl.no_grad():
            w.sub_(0.1 * w.grad)
            w.grad.zero_()
        return loss

    for _ in range(3):
        step(tl.zeros(BATCH, 1))
    assert step.code is not None and "ProbabilityCheck" in step.code
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities"):
        step(tl.full((BATCH, 1), 2.0))


def test_bce_weights_given_as_an_array_are_read_at_every_call() -> None:
    def run(compiled: bool) -> list[float]:
        weights = np.full((BATCH, 1), 0.5)
        w = tl.zeros(FEATURES, 1, requires_grad=True)
        x = tl.tensor(np.random.default_rng(5).standard_normal((BATCH, FEATURES)))
        y = tl.tensor((np.arange(BATCH) % 2).reshape(BATCH, 1).astype(np.float64))

        def step() -> tl.Tensor:
            loss = F.binary_cross_entropy_with_logits(x @ w, y, weight=weights)
            loss.backward()
            with tl.no_grad():
                w.sub_(0.5 * w.grad)
                w.grad = None
            return loss

        fn = tl.compile(step) if compiled else step
        losses = [fn().item() for _ in range(3)]
        weights[::2] = 3.0  # in place, between calls
        return losses + [fn().item() for _ in range(2)]

    assert run(True) == run(False)
