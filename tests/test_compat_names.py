"""PyTorch's top-level names outside the engine: dtypes, devices, seeds and generators,
inference_mode, save/load of nested data, and the error for names tinygrad_lr lacks."""

from __future__ import annotations

import io
import traceback
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr import nn, optim

DTYPE_NAMES = [
    "float", "double", "long", "int", "half", "bool", "short",
    "float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64",
]  # fmt: skip


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_dtype_names_mean_what_they_mean_in_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    theirs = torch.zeros(1, dtype=getattr(torch, name)).numpy().dtype
    assert getattr(tl, name) == theirs
    assert tl.zeros(2, dtype=getattr(tl, name)).dtype == theirs


def test_default_dtype_is_float64_and_can_only_be_set_to_it() -> None:
    assert tl.get_default_dtype() == tl.float64 == tl.tensor(1.5).dtype
    tl.set_default_dtype(tl.float64)
    with pytest.raises(tl.DTypeError, match="fixed at float64, got float32"):
        tl.set_default_dtype(tl.float32)
    assert tl.finfo(tl.float32).eps == np.finfo(np.float32).eps


def test_devices_for_cpu_only_code() -> None:
    torch = pytest.importorskip("torch")
    for spelling in [("cpu",), ("cpu", 0), ("cpu:0",)]:
        ours, theirs = tl.device(*spelling), torch.device(*spelling)
        assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
        assert ours.type == theirs.type == "cpu" and ours.index == theirs.index
    device = tl.device("cuda" if tl.cuda.is_available() else "cpu")
    assert tl.ones(2, device=device).device == "cpu"
    assert tl.randn(2, device="cpu").shape == (2,)
    assert tl.cuda.is_available() is False and tl.cuda.device_count() == 0
    assert tl.backends.mps.is_available() is False
    tl.backends.cudnn.deterministic = True
    tl.cuda.manual_seed_all(0)
    tl.set_default_device("cpu")
    assert tl.get_default_device() == "cpu"
    with tl.device("cpu"):
        assert tl.zeros(1).device == "cpu"


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps"])
def test_gpu_devices_are_refused_with_a_clear_message(name: str) -> None:
    with pytest.raises(tl.DeviceError, match=rf"device '{name}': tinygrad_lr runs on the CPU only"):
        tl.device(name)
    with pytest.raises(tl.DeviceError, match=r"zeros: device .*CPU only"):
        tl.zeros(2, device=name)
    with pytest.raises(ValueError, match=r"unknown device type 'tpu'"):
        tl.device("tpu")


def test_seeds_as_torch_reads_them() -> None:
    torch = pytest.importorskip("torch")
    for seed in [0, 7, -1, -(2**63), 2**64 - 1]:
        assert tl.manual_seed(seed).initial_seed() == torch.manual_seed(seed).initial_seed()
        assert tl.initial_seed() == seed % 2**64
    with pytest.raises(ValueError, match=r"seed must lie in \[-2\*\*63, 2\*\*64 - 1\]"):
        tl.manual_seed(2**64)
    with pytest.raises(TypeError, match=r"seed must be an integer, got 1\.5"):
        tl.manual_seed(1.5)  # type: ignore[arg-type]
    tl.manual_seed(-1)
    first = tl.randn(3).numpy()
    tl.manual_seed(-1)
    np.testing.assert_array_equal(tl.randn(3).numpy(), first)


def test_generators_give_their_own_repeatable_streams() -> None:
    g = tl.Generator()
    assert g.manual_seed(5) is g and g.initial_seed() == 5 and g.device == "cpu"
    draws = [tl.randn(3, generator=g), tl.rand(2, generator=g), tl.randperm(5, generator=g)]
    g.manual_seed(5)
    again = [tl.randn(3, generator=g), tl.rand(2, generator=g), tl.randperm(5, generator=g)]
    for a, b in zip(draws, again):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    tl.manual_seed(0)
    before = tl.rand(2).numpy()
    tl.manual_seed(0)
    tl.randn(3, generator=g)  # a separate stream: the default one does not move
    np.testing.assert_array_equal(tl.rand(2).numpy(), before)
    assert tl.randint(0, 3, (4,), generator=g).dtype == tl.int64
    with pytest.raises(TypeError, match="randn: generator must be"):
        tl.randn(2, generator=5)


def test_inference_mode_is_no_grad_under_torchs_name() -> None:
    w = tl.ones(2, requires_grad=True)
    with tl.inference_mode():
        assert tl.is_inference_mode_enabled() and not tl.is_grad_enabled()
        assert not (w * 2).requires_grad
    assert not tl.is_inference_mode_enabled() and tl.is_grad_enabled()
    with tl.inference_mode(False):
        assert (w * 2).requires_grad

    @tl.inference_mode()
    def called() -> bool:
        return (w * 2).requires_grad

    @tl.inference_mode
    def bare() -> bool:
        return (w * 2).requires_grad

    assert called() is False and bare() is False and called.__name__ == "called"


# --- names tinygrad_lr does not have ----------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "name", "message"),
    [
        (tl, "bfloat16", r"torch.bfloat16 is not in tinygrad_lr; NumPy has no bfloat16; use"),
        (
            tl,
            "no_such_thing",
            r"tinygrad_lr.no_such_thing: torch.no_such_thing is not in tinygrad_lr$",
        ),
        (nn, "Conv2d", r"torch.nn.Conv2d is not in tinygrad_lr; convolutions are not implemented"),
        (optim, "LBFGS", r"torch.optim.LBFGS is not in tinygrad_lr; use optim.SGD or optim.Adam"),
        (nn.functional, "one_hot", r"torch.nn.functional.one_hot is not in tinygrad_lr; index"),
        (tl.cuda, "synchronize", r"torch.cuda.synchronize is not in tinygrad_lr; tinygrad_lr runs"),
    ],
)
def test_missing_pytorch_names_say_so_without_a_guess(
    where: object, name: str, message: str
) -> None:
    with pytest.raises(AttributeError, match=message) as info:
        getattr(where, name)
    printed = "".join(traceback.format_exception(info.value))
    assert "Did you mean" not in printed
    assert not hasattr(where, name)


# --- save and load --------------------------------------------------------------------------


def test_save_and_load_nested_checkpoints_round_trip(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(tl.ones(4, 2)).sum().backward()
    opt.step()
    checkpoint = {
        "epoch": 3,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "losses": [0.5, 0.25, float("inf")],
        "note": "after warm-up",
        "grid": (tl.arange(3), np.float32(2.5), None, True),
        "w": tl.ones(2, requires_grad=True),
    }
    tl.save(checkpoint, tmp_path / "ckpt.pt")
    loaded = tl.load(tmp_path / "ckpt.pt", weights_only=True, map_location="cpu")
    assert loaded["epoch"] == 3 and loaded["note"] == "after warm-up"
    assert loaded["losses"] == [0.5, 0.25, float("inf")]
    assert isinstance(loaded["model"], OrderedDict) and list(loaded["model"]) == list(
        checkpoint["model"]
    )
    assert loaded["w"].requires_grad and not loaded["model"]["0.weight"].requires_grad
    assert isinstance(loaded["grid"], tuple) and loaded["grid"][1] == np.float32(2.5)
    assert loaded["grid"][2] is None and loaded["grid"][3] is True
    np.testing.assert_array_equal(loaded["grid"][0].numpy(), [0, 1, 2])
    fresh_model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    fresh_model.load_state_dict(loaded["model"])
    fresh_opt = optim.Adam(fresh_model.parameters(), lr=0.01)
    fresh_opt.load_state_dict(loaded["optimizer"])
    assert fresh_opt.state_dict()["state"].keys() == opt.state_dict()["state"].keys()
    np.testing.assert_array_equal(
        fresh_opt.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"]
    )
    tensor_only = tmp_path / "t.pt"
    tl.save(tl.tensor([1.0, 2.0]), tensor_only)
    np.testing.assert_array_equal(tl.load(tensor_only).numpy(), [1.0, 2.0])


def test_save_and_load_through_a_file_object() -> None:
    buffer = io.BytesIO()
    tl.save({"w": tl.ones(2)}, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(tl.load(buffer)["w"].numpy(), [1.0, 1.0])


def test_load_refuses_a_gpu_map_location_and_a_torch_file(tmp_path: Path) -> None:
    tl.save({"w": tl.ones(1)}, tmp_path / "w.pt")
    with pytest.raises(tl.DeviceError, match="load: map_location: device 'cuda'"):
        tl.load(tmp_path / "w.pt", map_location="cuda")
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(1)}, tmp_path / "torch.pt")
    with pytest.raises(tl.serialization.CheckpointError, match=r"written by PyTorch's torch\.save"):
        tl.load(tmp_path / "torch.pt")
