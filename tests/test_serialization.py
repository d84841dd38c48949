"""Checkpoints: round trips, training resumed from a checkpoint, and interrupted saves; pickle
and copy.deepcopy of models and optimisers."""

from __future__ import annotations

import copy
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import nn, optim, serialization
from tinygrad_lr.serialization import CheckpointError

NUMERIC_DTYPES = st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.bool_])
NAMES = st.text(alphabet="abcdefghij._", min_size=1, max_size=12)


@given(
    st.dictionaries(
        NAMES,
        NUMERIC_DTYPES.flatmap(lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0))),
        max_size=4,
    )
)
def test_round_trip_keeps_names_order_values_and_dtypes(tmp_path_factory, arrays) -> None:
    path = tmp_path_factory.mktemp("ckpt") / "state.npz"
    state = {name: tl.tensor(array) for name, array in arrays.items()}
    tl.save(state, path)
    loaded = tl.load(path)
    assert list(loaded) == list(state)
    for name, tensor in state.items():
        assert isinstance(loaded[name], tl.Tensor)
        assert loaded[name].dtype == tensor.dtype
        assert loaded[name].shape == tensor.shape
        np.testing.assert_array_equal(loaded[name].numpy(), tensor.numpy())


def test_save_accepts_arrays_and_tensors_that_require_grad(tmp_path: Path) -> None:
    weight = tl.randn(3, 2, requires_grad=True)
    tl.save({"weight": weight, "scale": np.array(2.5)}, tmp_path / "mixed.npz")
    loaded = tl.load(tmp_path / "mixed.npz")
    np.testing.assert_array_equal(loaded["weight"].numpy(), weight.detach().numpy())
    assert not loaded["weight"].requires_grad
    assert loaded["scale"].item() == 2.5


def test_loaded_values_do_not_share_memory_with_the_saved_tensor(tmp_path: Path) -> None:
    weight = tl.ones(3)
    tl.save({"w": weight}, tmp_path / "w.npz")
    loaded = tl.load(tmp_path / "w.npz")["w"]
    loaded.add_(1.0)
    np.testing.assert_array_equal(weight.numpy(), np.ones(3))


def _train(w: tl.Tensor, b: tl.Tensor, x: tl.Tensor, y: tl.Tensor, steps: int) -> None:
    """Plain gradient descent on the mean squared error of x @ w + b."""
    for _ in range(steps):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with tl.no_grad():
            for param in (w, b):
                assert param.grad is not None
                param -= 0.1 * param.grad
                param.grad.zero_()


def test_training_resumed_from_a_checkpoint_matches_training_never_saved(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, y = tl.tensor(rng.normal(size=(16, 3))), tl.tensor(rng.normal(size=(16, 1)))
    start_w, start_b = rng.normal(size=(3, 1)), rng.normal(size=(1,))

    w, b = tl.tensor(start_w, requires_grad=True), tl.tensor(start_b, requires_grad=True)
    _train(w, b, x, y, steps=10)

    w2, b2 = tl.tensor(start_w, requires_grad=True), tl.tensor(start_b, requires_grad=True)
    _train(w2, b2, x, y, steps=4)
    tl.save({"w": w2, "b": b2}, tmp_path / "half.npz")
    state = tl.load(tmp_path / "half.npz", like={"w": w2, "b": b2})
    w3, b3 = state["w"].requires_grad_(), state["b"].requires_grad_()
    _train(w3, b3, x, y, steps=6)

    np.testing.assert_array_equal(w3.detach().numpy(), w.detach().numpy())
    np.testing.assert_array_equal(b3.detach().numpy(), b.detach().numpy())


def test_module_saved_loaded_and_trained_matches_one_never_saved(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x, y = tl.tensor(rng.normal(size=(20, 4))), tl.tensor(rng.normal(size=(20, 2)))

    def make_model() -> nn.Module:
        tl.manual_seed(7)
        return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))

    def train(model: nn.Module, steps: int) -> None:
        optimizer = optim.SGD(model.parameters(), lr=0.05)
        for _ in range(steps):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    never_saved = make_model()
    train(never_saved, 8)

    resumed = make_model()
    train(resumed, 3)
    tl.save(resumed.state_dict(), tmp_path / "model.npz")
    fresh = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))  # other initial weights
    fresh.load_state_dict(tl.load(tmp_path / "model.npz", like=fresh.state_dict()))
    train(fresh, 5)

    for (name, expected), (_, got) in zip(
        never_saved.state_dict().items(), fresh.state_dict().items()
    ):
        np.testing.assert_array_equal(got.numpy(), expected.numpy(), err_msg=name)


def test_interrupted_save_leaves_the_previous_checkpoint_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.npz"
    tl.save({"w": tl.ones(4)}, path)
    before = path.read_bytes()

    def write_half_then_fail(file, arrays) -> None:  # type: ignore[no-untyped-def]
        file.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_write_arrays", write_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        tl.save({"w": tl.zeros(4)}, path)

    assert path.read_bytes() == before
    np.testing.assert_array_equal(tl.load(path)["w"].numpy(), np.ones(4))
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind


def test_failed_first_save_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(file, arrays) -> None:  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serialization, "_write_arrays", fail)
    with pytest.raises(OSError, match=r"save: cannot write .*new\.npz.*No space left"):
        tl.save({"w": tl.zeros(4)}, tmp_path / "new.npz")
    assert os.listdir(tmp_path) == []


# --- loading checks say what differs ----------------------------------------------------------


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "ckpt.npz"
    tl.save({"weight": tl.zeros(3, 2), "bias": tl.zeros(2)}, path)
    return path


def test_load_like_names_a_missing_entry(checkpoint: Path) -> None:
    expected = {"weight": tl.zeros(3, 2), "bias": tl.zeros(2), "scale": tl.zeros(1)}
    with pytest.raises(CheckpointError, match=r"load: .*ckpt\.npz.*missing entries \['scale'\]"):
        tl.load(checkpoint, like=expected)


def test_load_like_names_an_unexpected_entry(checkpoint: Path) -> None:
    with pytest.raises(CheckpointError, match=r"unexpected entries \['bias'\]"):
        tl.load(checkpoint, like={"weight": tl.zeros(3, 2)})


def test_load_like_names_a_shape_difference(checkpoint: Path) -> None:
    expected = {"weight": tl.zeros(2, 3), "bias": tl.zeros(2)}
    with pytest.raises(
        CheckpointError, match=r"'weight' has shape \(3, 2\) in the file, expected \(2, 3\)"
    ):
        tl.load(checkpoint, like=expected)


def test_load_like_names_a_dtype_difference(checkpoint: Path) -> None:
    expected = {"weight": tl.zeros(3, 2, dtype=tl.float32), "bias": tl.zeros(2)}
    with pytest.raises(
        CheckpointError, match=r"'weight' has dtype float64 in the file, expected float32"
    ):
        tl.load(checkpoint, like=expected)


def test_load_like_lists_every_difference_at_once(checkpoint: Path) -> None:
    expected = {"weight": tl.zeros(4, 2), "extra": tl.zeros(1)}
    with pytest.raises(CheckpointError) as info:
        tl.load(checkpoint, like=expected)
    message = str(info.value)
    assert "missing entries ['extra']" in message
    assert "unexpected entries ['bias']" in message
    assert "'weight' has shape (3, 2) in the file, expected (4, 2)" in message


def test_load_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"load: no checkpoint file at .*nothing\.npz"):
        tl.load(tmp_path / "nothing.npz")


def test_load_of_a_file_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "notes.npz"
    path.write_text("not an archive")
    with pytest.raises(CheckpointError, match=r"load: .*notes\.npz.*not a readable \.npz"):
        tl.load(path)


def test_load_of_a_plain_npy_file(tmp_path: Path) -> None:
    path = tmp_path / "array.npy"
    np.save(path, np.ones(3))
    with pytest.raises(CheckpointError, match=r"load: .*array\.npy.* is not an \.npz checkpoint"):
        tl.load(path)


def test_load_refuses_pickled_objects(tmp_path: Path) -> None:
    path = tmp_path / "pickled.npz"
    np.savez(path, code=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match=r"not a readable \.npz checkpoint.*pickle"):
        tl.load(path)


def test_save_refuses_what_is_not_data(tmp_path: Path) -> None:
    # Strings, int keys and lists are data (an optimizer's state_dict has them); objects with
    # code, and arrays of strings, are not.
    with pytest.raises(TypeError, match=r"save: entry 'names' must hold numbers.*<U1"):
        tl.save({"names": np.array(["a", "b"])}, tmp_path / "bad.npz")
    with pytest.raises(TypeError, match=r"save: cannot save a object at \['lr'\]"):
        tl.save({"lr": object()}, tmp_path / "bad.npz")
    with pytest.raises(TypeError, match=r"save: cannot save a Linear.*save its state_dict\(\)"):
        tl.save(nn.Linear(2, 1), tmp_path / "bad.npz")
    with pytest.raises(TypeError, match=r"cannot save a function at \[0\]"):
        tl.save([lambda: 0], tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


def test_save_into_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OSError, match=r"save: cannot write .*no_such_folder"):
        tl.save({"w": tl.ones(1)}, tmp_path / "no_such_folder" / "w.npz")


# --- pickle and copy.deepcopy ---------------------------------------------------------------


def _trained() -> tuple[nn.Module, optim.Optimizer, tl.Tensor]:
    """A model and its optimiser after one step, and the loss, whose graph is still alive."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = model(tl.randn(5, 3)).sum()
    loss.backward()
    optimizer.step()
    return model, optimizer, loss


def test_a_deep_copy_made_while_a_graph_is_alive_gets_gradients_of_its_own() -> None:
    model, _, loss = _trained()
    model.zero_grad()
    twin = copy.deepcopy(model)
    twin(tl.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in twin.parameters())
    assert all(p.grad is None for p in model.parameters()) and loss.requires_grad


def test_a_trained_model_and_its_optimiser_pickle_and_load_with_their_values() -> None:
    model, optimizer, _ = _trained()
    loaded, loaded_optimizer = pickle.loads(pickle.dumps((model, optimizer)))
    for mine, theirs in zip(model.parameters(), loaded.parameters()):
        assert type(theirs) is nn.Parameter and theirs.requires_grad and theirs.is_leaf
        np.testing.assert_array_equal(mine.detach().numpy(), theirs.detach().numpy())
        assert mine.grad is not None and theirs.grad is not None
        np.testing.assert_array_equal(mine.grad.numpy(), theirs.grad.numpy())
    assert len(loaded_optimizer.state) == len(optimizer.state) == 4


def test_a_copy_of_a_computed_tensor_is_a_leaf_with_its_values() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    for copied in (copy.deepcopy(w * 3.0), copy.deepcopy(w[1])):
        assert copied.is_leaf and copied.requires_grad and copied._base is None
    assert copy.deepcopy(w * 3.0).tolist() == [3.0, 6.0]
