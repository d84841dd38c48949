"""Load example scripts and PyTorch programs as modules, for the tests that run them.

`load_torch_program(path, library)` runs a file written for PyTorch against `library`. For
tinygrad_lr it makes exactly the textual change a learner would make, line by line:

    import torch                    ->  import tinygrad_lr as torch
    import torch.X as Y             ->  import tinygrad_lr.X as Y
    from torch import ...           ->  from tinygrad_lr import ...
    from torch.X import ...         ->  from tinygrad_lr.X import ...

Nothing else in the source changes, and nothing is put into `sys.modules`: a name the program
uses and tinygrad_lr lacks fails where the program uses it, as it would for a learner.
"""

from __future__ import annotations

import importlib.util
import re
import types
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

LIBRARIES = ("torch", "tinygrad_lr")

# One rule per import form; each keeps the line's indentation and the rest of the line.
_IMPORT_SWAPS = (
    (re.compile(r"^(\s*)import torch(\s*(#.*)?)$", re.M), r"\1import tinygrad_lr as torch\2"),
    (re.compile(r"^(\s*)import torch\.([\w.]+) as (\w+)", re.M), r"\1import tinygrad_lr.\2 as \3"),
    (re.compile(r"^(\s*)from torch(\.[\w.]+)? import ", re.M), r"\1from tinygrad_lr\2 import "),
)
# Any import of torch left after the swaps is one the rules above do not cover.
_ANY_TORCH_IMPORT = re.compile(r"^\s*(import|from)\s+torch\b", re.M)


def load(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def swap_torch_imports(source: str) -> str:
    """The source with its torch imports pointed at tinygrad_lr (the rules in the docstring)."""
    for pattern, replacement in _IMPORT_SWAPS:
        source = pattern.sub(replacement, source)
    leftover = _ANY_TORCH_IMPORT.search(source)
    if leftover is not None:
        line = source[leftover.start() : source.find("\n", leftover.start())].strip()
        raise ValueError(f"no rule swaps this import of torch: {line!r}")
    return source


def load_torch_program(path: Path, library: str) -> types.ModuleType:
    """Run the PyTorch program at `path` as a fresh module, against torch or tinygrad_lr."""
    if library not in LIBRARIES:
        raise ValueError(f"library must be one of {LIBRARIES}, got {library!r}")
    source = path.read_text()
    if not _ANY_TORCH_IMPORT.search(source):
        raise ValueError(f"{path.name} does not import torch")
    if library == "tinygrad_lr":
        source = swap_torch_imports(source)
    module = types.ModuleType(f"{path.stem}_on_{library}")
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module
