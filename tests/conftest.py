"""Shared test settings: hypothesis profiles chosen by HYPOTHESIS_PROFILE.

- ci: derandomized and bounded, so the whole suite stays well inside CI's time (the default
  when CI=true);
- dev: the default on a workstation;
- thorough: many examples, for long local runs (HYPOTHESIS_PROFILE=thorough pytest).
"""

import csv
import os
from collections.abc import Callable

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


@pytest.fixture(scope="session")
def diabetes() -> tuple[list[str], np.ndarray, np.ndarray]:
    """scikit-learn's diabetes table in its original units: 442 rows, 10 features, the target
    (disease progression a year later). Loaded offline; the test skips without scikit-learn."""
    datasets = pytest.importorskip("sklearn.datasets")
    data = datasets.load_diabetes(scaled=False)
    return list(data.feature_names), np.asarray(data.data), np.asarray(data.target)


@pytest.fixture(scope="session")
def diabetes_csv(tmp_path_factory: pytest.TempPathFactory, diabetes) -> Callable[[str], str]:
    """Writes the diabetes table as CSV with a given delimiter; returns a function of it."""
    names, features, target = diabetes
    folder = tmp_path_factory.mktemp("diabetes")

    def write(delimiter: str = ",") -> str:
        path = folder / f"diabetes_{ord(delimiter)}.csv"
        if not path.exists():
            with open(path, "w", newline="") as handle:
                writer = csv.writer(handle, delimiter=delimiter)
                writer.writerow([*names, "target"])
                writer.writerows(
                    [*(repr(float(v)) for v in row), repr(float(y))]
                    for row, y in zip(features, target)
                )
        return str(path)

    return write
