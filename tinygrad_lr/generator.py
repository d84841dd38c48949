"""Random number generators: `Generator`, `manual_seed`, `seed`, `initial_seed`.

Every random draw of the library (rand, randn, nn.init, Dropout, DataLoader shuffling...) comes
from one default `Generator` unless a `generator=` argument names another one. A Generator wraps
a NumPy `np.random.Generator`, so the same seed gives the same numbers here on every run, but not
the numbers PyTorch gives for that seed.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .autograd import graph
from .device import check_device, device

_SEED_LIMIT = 2**64  # seeds are 64-bit: [-2**63, 2**64 - 1], negatives wrap as in PyTorch


def _checked_seed(seed: Any, where: str) -> int:
    """`seed` as an integer in [0, 2**64): a negative seed s becomes s + 2**64 (its 64-bit
    two's-complement reading), as PyTorch does, so `manual_seed(-1)` works."""
    try:
        value = operator.index(seed)
    except TypeError:
        raise TypeError(f"{where}: seed must be an integer, got {seed!r}") from None
    if isinstance(seed, bool):
        raise TypeError(f"{where}: seed must be an integer, got {seed!r}")
    if not -(2**63) <= value < _SEED_LIMIT:
        raise ValueError(f"{where}: seed must lie in [-2**63, 2**64 - 1], got {value}")
    return value % _SEED_LIMIT


class Generator:
    """A source of random numbers: `g = Generator().manual_seed(0)`, then `randn(3, generator=g)`.

    A new Generator starts from a seed drawn from the operating system's entropy."""

    def __init__(self, device: Any = "cpu") -> None:
        check_device(device, "Generator")
        self._initial_seed = 0
        self._rng = np.random.default_rng()
        self.seed()

    @property
    def device(self) -> device:
        return device("cpu")

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from `seed`; returns the generator itself, as in PyTorch."""
        graph.note_untraced("manual_seed")  # tl.compile: a replay draws on, it cannot reseed
        self._initial_seed = _checked_seed(seed, "manual_seed")
        self._rng = np.random.default_rng(self._initial_seed)
        return self

    def seed(self) -> int:
        """Restart from a fresh seed taken from the operating system; returns that seed."""
        fresh = int(np.random.SeedSequence().entropy) % _SEED_LIMIT  # type: ignore[arg-type]
        self.manual_seed(fresh)
        return fresh

    def initial_seed(self) -> int:
        """The seed the current stream started from."""
        return self._initial_seed

    def numpy_generator(self) -> np.random.Generator:
        """The NumPy generator that produces this Generator's numbers."""
        return self._rng


_default = Generator()


def manual_seed(seed: int) -> Generator:
    """Restart the library's default generator from `seed`, making later draws repeatable."""
    return _default.manual_seed(seed)


def seed() -> int:
    """Restart the default generator from a fresh seed; returns it."""
    return _default.seed()


def initial_seed() -> int:
    """The seed the default generator started from."""
    return _default.initial_seed()


def default_generator() -> np.random.Generator:
    """The NumPy generator behind rand, randn, normal, randperm, nn initialisation..."""
    return _default.numpy_generator()


def numpy_generator(generator: Any, where: str) -> np.random.Generator:
    """The NumPy generator to draw from: the default one for None, a Generator's own, or a NumPy
    generator as it is."""
    if generator is None:
        return default_generator()
    if isinstance(generator, Generator):
        return generator.numpy_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(
        f"{where}: generator must be a tinygrad_lr.Generator (or a NumPy Generator), "
        f"got {type(generator).__name__}"
    )
