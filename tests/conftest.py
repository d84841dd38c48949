"""Shared test settings: hypothesis profiles chosen by HYPOTHESIS_PROFILE.

- ci: derandomized and bounded, so the whole suite stays well inside CI's time (the default
  when CI=true);
- dev: the default on a workstation;
- thorough: many examples, for long local runs (HYPOTHESIS_PROFILE=thorough pytest).
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=20,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so a failing test fails the same way again."""
    return np.random.default_rng(1234)
