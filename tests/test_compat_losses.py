"""Losses (functions and modules) against torch 2.13: values and input gradients, for every
reduction and option."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import nn
from tinygrad_lr.nn import functional as F  # noqa: N812 (as PyTorch code writes it)

REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
VALUES = st.floats(-4, 4, allow_nan=False, allow_infinity=False)
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def _ours(fn: Callable[..., Any], x: np.ndarray, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    leaf = tl.tensor(x, requires_grad=True)
    loss = fn(leaf, *args, **kwargs)
    loss.sum().backward()
    return loss.detach().numpy(), leaf.grad.numpy()


def _theirs(fn: Callable[..., Any], x: np.ndarray, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    import torch

    leaf = torch.tensor(x, requires_grad=True)
    loss = fn(leaf, *args, **kwargs)
    loss.sum().backward()
    return loss.detach().numpy(), leaf.grad.numpy()


def _compare(ours: tuple[Any, Any], theirs: tuple[Any, Any], atol: float = 1e-10) -> None:
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-9, atol=atol)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=atol)


@given(st.data(), SHAPES, REDUCTIONS, st.sampled_from(["mse", "l1", "huber", "smooth_l1"]))
def test_regression_losses_match_torch(data: Any, shape: Any, reduction: str, name: str) -> None:
    torch = pytest.importorskip("torch")
    x = data.draw(hnp.arrays(np.float64, shape, elements=VALUES))
    y = data.draw(hnp.arrays(np.float64, shape, elements=VALUES))
    size = data.draw(st.floats(0.25, 3.0))
    # |x - y| exactly at delta (a kink) is fine: both sides give the same slope there.
    options: dict[str, Any] = {"reduction": reduction}
    if name == "huber":
        options["delta"] = size
    if name == "smooth_l1":
        options["beta"] = size
    our_fn = getattr(F, f"{name}_loss")
    their_fn = getattr(torch.nn.functional, f"{name}_loss")
    ours = _ours(our_fn, x, tl.tensor(y), **options)
    theirs = _theirs(their_fn, x, torch.tensor(y), **options)
    _compare(ours, theirs)


@given(st.data(), SHAPES, REDUCTIONS, st.booleans(), st.booleans())
def test_binary_cross_entropy_with_logits_matches_torch(
    data: Any, shape: Any, reduction: str, weighted: bool, positive_weighted: bool
) -> None:
    torch = pytest.importorskip("torch")
    x = data.draw(hnp.arrays(np.float64, shape, elements=VALUES))
    y = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1)))
    weight = np.linspace(0.5, 2.0, shape[-1]) if weighted else None
    pos_weight = np.linspace(3.0, 0.5, shape[-1]) if positive_weighted else None

    def options(module: Any) -> dict[str, Any]:
        wrap = module.tensor
        return {
            "weight": None if weight is None else wrap(weight),
            "pos_weight": None if pos_weight is None else wrap(pos_weight),
            "reduction": reduction,
        }

    ours = _ours(F.binary_cross_entropy_with_logits, x, tl.tensor(y), **options(tl))
    theirs = _theirs(
        torch.nn.functional.binary_cross_entropy_with_logits, x, torch.tensor(y), **options(torch)
    )
    _compare(ours, theirs)


@given(st.data(), SHAPES, REDUCTIONS, st.booleans())
def test_binary_cross_entropy_matches_torch(
    data: Any, shape: Any, reduction: str, weighted: bool
) -> None:
    torch = pytest.importorskip("torch")
    p = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(0.01, 0.99)))
    y = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1)))
    weight = np.linspace(0.5, 2.0, shape[-1]) if weighted else None
    ours = _ours(
        F.binary_cross_entropy,
        p,
        tl.tensor(y),
        weight=None if weight is None else tl.tensor(weight),
        reduction=reduction,
    )
    theirs = _theirs(
        torch.nn.functional.binary_cross_entropy,
        p,
        torch.tensor(y),
        weight=None if weight is None else torch.tensor(weight),
        reduction=reduction,
    )
    _compare(ours, theirs)


def test_binary_cross_entropy_at_certain_probabilities_is_finite_as_in_torch() -> None:
    torch = pytest.importorskip("torch")
    p, y = np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0])
    with np.errstate(divide="ignore"):  # log(0), clamped to -100 afterwards
        ours = F.binary_cross_entropy(tl.tensor(p), tl.tensor(y), reduction="none").numpy()
    theirs = torch.nn.functional.binary_cross_entropy(
        torch.tensor(p), torch.tensor(y), reduction="none"
    ).numpy()
    np.testing.assert_array_equal(ours, theirs)  # the logs are clamped at -100


CLASS_SHAPES = st.sampled_from([(5,), (4, 3), (3, 4, 2), (2, 3, 2, 2)])


def _class_target(data: Any, shape: tuple[int, ...], ignore: bool) -> np.ndarray:
    classes = shape[0] if len(shape) == 1 else shape[1]
    target_shape = () if len(shape) == 1 else (shape[0], *shape[2:])
    labels = data.draw(hnp.arrays(np.int64, target_shape, elements=st.integers(0, classes - 1)))
    if ignore and labels.size > 1:
        labels.flat[0] = -100  # one ignored example, the rest count
    return labels


@given(st.data(), CLASS_SHAPES, REDUCTIONS, st.booleans(), st.booleans(), st.sampled_from([0, 0.2]))
def test_cross_entropy_with_class_indices_matches_torch(
    data: Any, shape: Any, reduction: str, weighted: bool, ignore: bool, smoothing: float
) -> None:
    torch = pytest.importorskip("torch")
    x = data.draw(hnp.arrays(np.float64, shape, elements=VALUES))
    labels = _class_target(data, shape, ignore)
    classes = shape[0] if len(shape) == 1 else shape[1]
    weight = np.linspace(0.5, 2.0, classes) if weighted else None

    def options(module: Any) -> dict[str, Any]:
        return {
            "weight": None if weight is None else module.tensor(weight),
            "reduction": reduction,
            "label_smoothing": smoothing,
        }

    ours = _ours(F.cross_entropy, x, tl.tensor(labels), **options(tl))
    theirs = _theirs(torch.nn.functional.cross_entropy, x, torch.tensor(labels), **options(torch))
    _compare(ours, theirs)
    module = nn.CrossEntropyLoss(**options(tl))
    np.testing.assert_allclose(
        module(tl.tensor(x), tl.tensor(labels)).numpy(), theirs[0], rtol=1e-9, atol=1e-10
    )


@given(st.data(), CLASS_SHAPES, REDUCTIONS, st.booleans(), st.sampled_from([0, 0.3]))
def test_cross_entropy_with_probabilities_matches_torch(
    data: Any, shape: Any, reduction: str, weighted: bool, smoothing: float
) -> None:
    torch = pytest.importorskip("torch")
    x = data.draw(hnp.arrays(np.float64, shape, elements=VALUES))
    raw = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(0.01, 1)))
    class_dim = 0 if len(shape) == 1 else 1
    q = raw / raw.sum(axis=class_dim, keepdims=True)
    weight = np.linspace(0.5, 2.0, shape[class_dim]) if weighted else None
    kwargs = {"reduction": reduction, "label_smoothing": smoothing}
    ours = _ours(
        F.cross_entropy, x, tl.tensor(q), None if weight is None else tl.tensor(weight), **kwargs
    )
    theirs = _theirs(
        torch.nn.functional.cross_entropy,
        x,
        torch.tensor(q),
        None if weight is None else torch.tensor(weight),
        **kwargs,
    )
    _compare(ours, theirs)


@given(st.data(), CLASS_SHAPES, REDUCTIONS, st.booleans(), st.booleans())
def test_nll_loss_matches_torch(
    data: Any, shape: Any, reduction: str, weighted: bool, ignore: bool
) -> None:
    torch = pytest.importorskip("torch")
    x = data.draw(hnp.arrays(np.float64, shape, elements=VALUES))
    labels = _class_target(data, shape, ignore)
    classes = shape[0] if len(shape) == 1 else shape[1]
    weight = np.linspace(2.0, 0.5, classes) if weighted else None
    ours = _ours(
        F.nll_loss,
        x,
        tl.tensor(labels),
        None if weight is None else tl.tensor(weight),
        reduction=reduction,
    )
    theirs = _theirs(
        torch.nn.functional.nll_loss,
        x,
        torch.tensor(labels),
        None if weight is None else torch.tensor(weight),
        reduction=reduction,
    )
    _compare(ours, theirs)
    module = nn.NLLLoss(reduction=reduction)
    expected = torch.nn.NLLLoss(reduction=reduction)(torch.tensor(x), torch.tensor(labels))
    np.testing.assert_allclose(module(tl.tensor(x), tl.tensor(labels)).numpy(), expected.numpy())


MODULES = [
    ("MSELoss", {}, "regression"),
    ("L1Loss", {"reduction": "sum"}, "regression"),
    ("HuberLoss", {"delta": 0.5}, "regression"),
    ("SmoothL1Loss", {"beta": 2.0, "reduction": "none"}, "regression"),
    ("BCELoss", {}, "probability"),
    ("BCEWithLogitsLoss", {"reduction": "sum"}, "regression"),
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, "classes"),
    ("NLLLoss", {"reduction": "sum"}, "classes"),
]


@pytest.mark.parametrize(("name", "options", "kind"), MODULES)
def test_loss_modules_match_torch_and_print_like_it(name: str, options: Any, kind: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.uniform(0.05, 0.95, (4, 3)) if kind == "probability" else rng.normal(size=(4, 3))
    if kind == "classes":
        y: np.ndarray = rng.integers(0, 3, 4)
    else:
        y = rng.uniform(0, 1, (4, 3))
    ours = _ours(getattr(nn, name)(**options), x, tl.tensor(y))
    theirs = _theirs(getattr(torch.nn, name)(**options), x, torch.tensor(y))
    _compare(ours, theirs)
    if not options:
        assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())


def test_legacy_size_average_and_reduce_flags_become_a_reduction() -> None:
    torch = pytest.importorskip("torch")
    x, y = np.arange(4.0), np.ones(4)
    for flags in ({"size_average": False}, {"reduce": False}, {"size_average": True}):
        ours = F.mse_loss(tl.tensor(x), tl.tensor(y), **flags).numpy()
        with pytest.warns(UserWarning):
            theirs = torch.nn.functional.mse_loss(torch.tensor(x), torch.tensor(y), **flags)
        np.testing.assert_allclose(ours, theirs.numpy())


def test_loss_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities"):
        F.binary_cross_entropy(tl.tensor([1.5]), tl.tensor([1.0]))
    with pytest.raises(tl.ShapeError, match=r"cross_entropy: weight must have one entry per class"):
        F.cross_entropy(tl.zeros(2, 3), tl.tensor([0, 1]), weight=tl.ones(2))
    with pytest.raises(tl.DTypeError, match=r"nll_loss: target must hold integer class indices"):
        F.nll_loss(tl.zeros(2, 3), tl.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"label_smoothing must lie in \[0, 1\], got 1.5"):
        F.cross_entropy(tl.zeros(2, 3), tl.tensor([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"huber_loss: delta must be positive, got 0"):
        F.huber_loss(tl.zeros(2), tl.zeros(2), delta=0)
    with pytest.raises(tl.ShapeError, match=r"class-index target must have shape \(2, 4\)"):
        F.cross_entropy(tl.zeros(2, 3, 4), tl.tensor([0, 1]))
