"""The examples' training steps, compiled: the same parameters as eager, bit for bit."""

from __future__ import annotations

import numpy as np
from example_modules import load

import tinygrad_lr as tl
from tinygrad_lr import nn


def test_d2l_scratch_step_compiled_matches_eager_including_the_short_last_batch() -> None:
    d2l = load("d2l_linear_regression_scratch")
    results = []
    for compiled in (False, True):
        tl.manual_seed(0)
        features, labels = d2l.synthetic_data(tl.tensor([2.0, -3.4]), 4.2, 1005)
        w = tl.normal(0, 0.01, (2, 1), requires_grad=True)
        b = tl.zeros(1, requires_grad=True)

        def step(x: tl.Tensor, y: tl.Tensor, w: tl.Tensor = w, b: tl.Tensor = b) -> tl.Tensor:
            loss = d2l.squared_loss(d2l.linreg(x, w, b), y)
            loss.sum().backward()
            d2l.sgd([w, b], 0.03, 10)
            return loss

        run = tl.compile(step) if compiled else step
        rng = np.random.default_rng(1)
        for _ in range(3):  # 1005 examples: the last batch of each epoch has 5
            for x, y in d2l.data_iter(10, features, labels, rng):
                run(x, y)
        results.append([w.detach().numpy().copy(), b.detach().numpy().copy()])
        if compiled:
            assert run.code is not None and len(run._entries) == 2
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b, strict=True)


def _train_classifier(example: str, compiled: bool) -> list[np.ndarray]:
    module = load(example)
    tl.manual_seed(0)
    if example == "mlp_two_moons":
        features, labels = np.random.default_rng(0).standard_normal((100, 2)), None
        labels = (features[:, 0] * features[:, 1] > 0).astype(np.float64)
        model = module.build_model()
        optimizer: tl.optim.Optimizer = tl.optim.Adam(model.parameters(), lr=0.01)
    else:
        features, labels = module.make_blobs(200, 0)
        model = nn.Linear(2, 1)
        optimizer = tl.optim.SGD(model.parameters(), lr=1.0)
    inputs, targets = tl.tensor(features), tl.tensor(labels.reshape(-1, 1).astype(np.float64))
    loss_fn = nn.BCEWithLogitsLoss()

    def step(x: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    run = tl.compile(step) if compiled else step
    for _ in range(200):
        run(inputs, targets)
    if compiled:
        assert run.code is not None
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_logistic_regression_and_two_moons_steps_compiled_match_eager() -> None:
    for example in ("logistic_regression", "mlp_two_moons"):
        for a, b in zip(_train_classifier(example, False), _train_classifier(example, True)):
            np.testing.assert_array_equal(a, b, strict=True)
