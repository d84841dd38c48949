"""Layers, activations, containers, Module methods, nn.init and clip_grad_norm_, against torch
2.13 where it makes sense."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import nn

VALUES = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
ARRAYS = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=VALUES
)

ACTIVATIONS: list[tuple[str, dict[str, Any]]] = [
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("GELU", {}),
    ("GELU", {"approximate": "tanh"}),
    ("Softmax", {"dim": -1}),
    ("LogSoftmax", {"dim": 0}),
    ("Identity", {}),
    ("Flatten", {"start_dim": 0}),
]


@pytest.mark.parametrize(("name", "options"), ACTIVATIONS)
@given(x=ARRAYS)
def test_layers_without_parameters_match_torch(name: str, options: Any, x: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    ours_x, theirs_x = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = (
        getattr(nn, name)(**options)(ours_x),
        getattr(torch.nn, name)(**options)(theirs_x),
    )
    weights = np.linspace(-1, 2, ours.numel()).reshape(ours.shape)
    (ours * tl.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(
        ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert repr(getattr(nn, name)(**options)) == repr(getattr(torch.nn, name)(**options))


def test_flatten_and_unflatten_shapes_match_torch() -> None:
    torch = pytest.importorskip("torch")
    x = np.arange(120.0).reshape(2, 3, 4, 5)
    for ours, theirs in [
        (nn.Flatten(), torch.nn.Flatten()),
        (nn.Flatten(1, 2), torch.nn.Flatten(1, 2)),
        (nn.Unflatten(1, (3, 1)), torch.nn.Unflatten(1, (3, 1))),
        (nn.Unflatten(-1, (-1, 5, 1)), torch.nn.Unflatten(-1, (-1, 5, 1))),
    ]:
        np.testing.assert_array_equal(ours(tl.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())
    with pytest.raises(tl.ShapeError, match=r"Unflatten: dimension 1 of size 3 cannot be split"):
        nn.Unflatten(1, (2, 2))(tl.tensor(x))


def test_softmax_without_dim_picks_torchs_dimension_and_warns() -> None:
    torch = pytest.importorskip("torch")
    for shape in [(4,), (2, 3), (2, 3, 4), (2, 2, 2, 2)]:
        x = np.linspace(-2, 2, math.prod(shape)).reshape(shape)
        with pytest.warns(UserWarning, match="implicit dimension"):
            ours = nn.Softmax()(tl.tensor(x)).numpy()
        with pytest.warns(UserWarning):
            theirs = torch.nn.Softmax()(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_dropout_in_training_and_eval_mode() -> None:
    layer = nn.Dropout(0.25)
    x = tl.ones(200, 50, requires_grad=True)
    tl.manual_seed(0)
    y = layer(x)
    kept = y.detach().numpy() != 0
    assert 0.7 < kept.mean() < 0.8  # 10,000 draws: the kept share is 0.75 +- 0.005
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 1 / 0.75, 0.0))
    tl.manual_seed(0)
    np.testing.assert_array_equal(layer(x).detach().numpy(), y.detach().numpy())  # seeded
    layer.eval()
    assert layer(x) is x
    assert nn.Dropout(1.0)(x).detach().numpy().max() == 0.0
    with pytest.raises(ValueError, match=r"dropout: probability p must lie in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)
    torch = pytest.importorskip("torch")
    assert repr(nn.Dropout(0.25)) == repr(torch.nn.Dropout(0.25))


def test_containers_register_their_modules_like_torch() -> None:
    torch = pytest.importorskip("torch")

    def build(module: Any) -> Any:
        class Net(module.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.layers = module.nn.ModuleList([module.nn.Linear(3, 4), module.nn.Linear(4, 4)])
                self.heads = module.nn.ModuleDict(
                    {"a": module.nn.Linear(4, 1), "b": module.nn.Linear(4, 2)}
                )
                self.body = module.nn.Sequential(
                    OrderedDict([("hidden", module.nn.Linear(4, 4)), ("act", module.nn.ReLU())])
                )

        return Net()

    ours, theirs = build(tl), build(torch)
    names = [name for name, _ in ours.named_parameters()]
    assert names == [name for name, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert repr(ours) == repr(theirs)
    ours.layers.append(nn.Linear(4, 4))
    ours.layers.insert(0, nn.Identity())
    assert len(ours.layers) == 4 and isinstance(ours.layers[0], nn.Identity)
    assert list(ours.heads) == ["a", "b"] and "a" in ours.heads
    assert isinstance(ours.body.hidden, nn.Linear)
    del ours.layers[0]
    assert [n for n, _ in ours.layers.named_children()] == ["0", "1", "2"]
    with pytest.raises(TypeError, match=r"ModuleList\.append: expected a Module, got int"):
        ours.layers.append(3)  # type: ignore[arg-type]


def test_module_to_double_float_keep_the_same_parameters() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    optimizer = tl.optim.SGD(model.parameters(), lr=0.1)
    params = list(model.parameters())
    assert model.float() is model
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    model(tl.ones(4, 2, dtype=tl.float32)).sum().backward()
    assert all(p.grad.dtype == np.float32 for p in params)
    model.to(tl.float64)
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    optimizer.step()  # the optimizer still holds the converted parameters
    assert model.to("cpu") is model and model.to(tl.device("cpu"), dtype=tl.float32) is model
    assert model[0].weight.dtype == np.float32
    model.double()
    with pytest.raises(tl.DeviceError, match="CPU only"):
        model.to("cuda")
    with pytest.raises(tl.DTypeError, match="only floating dtypes"):
        model.to(tl.int64)


def test_requires_grad_apply_children_train_eval() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(), nn.Linear(3, 1))
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    seen: list[str] = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "Dropout", "Linear", "Sequential"]  # children first, as torch
    assert [type(m).__name__ for m in model.children()] == ["Linear", "Dropout", "Linear"]
    assert len(list(model.modules())) == 4
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_init_with_an_apply_function_as_tutorials_write_it() -> None:
    def init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)

    model = nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 1))
    model.apply(init_weights)
    assert np.all(model[0].bias.detach().numpy() == 0)
    assert np.abs(model[0].weight.detach().numpy()).max() <= math.sqrt(6 / 50)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (6, 2, 3, 3)])
def test_init_bounds_and_spreads_follow_torchs_fans_and_gains(shape: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    from torch.nn.init import _calculate_fan_in_and_fan_out

    fan_in, fan_out = _calculate_fan_in_and_fan_out(torch.empty(shape))
    for nonlinearity, param in [
        ("relu", None),
        ("tanh", None),
        ("leaky_relu", 0.2),
        ("sigmoid", None),
        ("selu", None),
    ]:
        assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity, param)
        )
    big = (2000, *shape[1:])  # many draws, the same fan_in
    fan_in_big = fan_in
    weight = tl.zeros(*big, requires_grad=True)
    assert nn.init.kaiming_uniform_(weight, a=math.sqrt(5)) is weight
    bound = (
        math.sqrt(3)
        * torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5))
        / math.sqrt(fan_in_big)
    )
    values = weight.detach().numpy()
    assert values.max() <= bound and values.max() > 0.95 * bound and weight.grad is None
    nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
    assert weight.detach().numpy().std() == pytest.approx(math.sqrt(2 / fan_in_big), rel=0.08)
    small = tl.zeros(*shape)
    nn.init.xavier_normal_(small, gain=2.0)
    nn.init.xavier_uniform_(small, gain=2.0)
    assert np.abs(small.numpy()).max() <= 2.0 * math.sqrt(6 / (fan_in + fan_out))
    nn.init.constant_(small, 0.3)
    assert np.all(small.numpy() == 0.3)
    g = tl.Generator().manual_seed(1)
    first = nn.init.normal_(tl.zeros(3), generator=g).numpy().copy()
    g.manual_seed(1)
    np.testing.assert_array_equal(nn.init.normal_(tl.zeros(3), generator=g).numpy(), first)
    with pytest.raises(tl.ShapeError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(tl.zeros(3))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        nn.init.calculate_gain("swish")


@given(st.floats(0.01, 10), st.sampled_from([1.0, 2.0, math.inf]))
def test_clip_grad_norm_matches_torch(max_norm: float, norm_type: float) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    results = []
    for module in (tl, torch):
        params = [module.zeros(*g.shape, dtype=module.float64, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = module.tensor(g)
        total = module.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
        results.append((float(total), [p.grad.numpy() for p in params]))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-12)
    for ours, theirs in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
