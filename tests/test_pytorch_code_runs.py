"""PyTorch code runs after changing only `import torch` to `import tinygrad_lr as torch`."""

import pathlib
import types

import pytest

SCRIPT = pathlib.Path(__file__).parent / "scripts" / "torch_linear_regression.py"


def load_script(import_line: str) -> types.ModuleType:
    source = SCRIPT.read_text()
    assert "import torch\n" in source
    module = types.ModuleType("tutorial")
    exec(
        compile(source.replace("import torch\n", import_line + "\n"), str(SCRIPT), "exec"),
        module.__dict__,
    )
    return module


def check_training(module: types.ModuleType) -> list[float]:
    losses, w_error, b_error = module.train(seed=1)
    assert losses[0] < 0.1 and losses[-1] < 1e-4
    assert w_error < 5e-3 and b_error < 5e-3
    return losses


def test_pytorch_tutorial_code_trains_on_tinygrad_lr():
    check_training(load_script("import tinygrad_lr as torch"))


def test_the_same_code_trains_on_pytorch():
    pytest.importorskip("torch")
    check_training(load_script("import torch"))
