"""PyTorch code runs after changing only `import torch` to `import tinygrad_lr as torch`."""

import pathlib
import types

import pytest
from example_modules import load_torch_program, swap_torch_imports

SCRIPT = pathlib.Path(__file__).parent / "scripts" / "torch_linear_regression.py"


def check_training(module: types.ModuleType) -> list[float]:
    losses, w_error, b_error = module.train(seed=1)
    assert losses[0] < 0.1 and losses[-1] < 1e-4
    assert w_error < 5e-3 and b_error < 5e-3
    return losses


def test_pytorch_tutorial_code_trains_on_tinygrad_lr():
    check_training(load_torch_program(SCRIPT, "tinygrad_lr"))


def test_the_same_code_trains_on_pytorch():
    pytest.importorskip("torch")
    check_training(load_torch_program(SCRIPT, "torch"))


def test_the_import_swap_is_the_learners_textual_change():
    source = (
        "import torch\n"
        "import torch.nn.functional as F  # activations\n"
        "from torch import nn\n"
        "    from torch.utils.data import DataLoader\n"
        "x = torch.ones(2)  # torch stays torch here\n"
    )
    assert swap_torch_imports(source) == (
        "import tinygrad_lr as torch\n"
        "import tinygrad_lr.nn.functional as F  # activations\n"
        "from tinygrad_lr import nn\n"
        "    from tinygrad_lr.utils.data import DataLoader\n"
        "x = torch.ones(2)  # torch stays torch here\n"
    )


def test_an_import_the_swap_cannot_make_is_refused():
    with pytest.raises(ValueError, match=r"import torch\.nn"):
        swap_torch_imports("import torch.nn\n")
