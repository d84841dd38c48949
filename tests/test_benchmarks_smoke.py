"""The benchmark workloads at smoke size: every implementation agrees with hand-written NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import run, workloads
from benchmarks.worker import IMPLS, available


@pytest.fixture(scope="module")
def outcomes() -> list[dict]:
    impls = [impl for impl in IMPLS if available(impl)]
    return run.smoke(list(workloads.WORKLOADS), impls)


def test_every_workload_ran_on_tinygrad_lr_and_agrees_with_numpy(outcomes: list[dict]) -> None:
    mine = {o["workload"]: o["status"] for o in outcomes if o["impl"] == "tinygrad_lr"}
    assert mine == {w: "ok" for w in workloads.WORKLOADS}


def test_every_available_comparator_agrees_or_is_skipped(outcomes: list[dict]) -> None:
    bad = [o for o in outcomes if o["status"] != "ok" and not o["status"].startswith("skipped")]
    assert bad == []


def test_tinygrad_lr_releases_the_graph_after_backward(outcomes: list[dict]) -> None:
    (memory,) = [
        o["extra"] for o in outcomes if o["impl"] == "tinygrad_lr" and o["workload"] == "memory"
    ]
    # while the output is still referenced, only it and x0's gradient (two arrays) may remain;
    # the chain x * scale + shift saves no values for backward (a product with a number keeps
    # neither factor, as in PyTorch), so its peak is only a few arrays too
    assert memory["kept_after_backward_kib"] < 4 * memory["array_kib"]
    assert memory["array_kib"] < memory["graph_peak_kib"]


def test_agreement_check_rejects_a_wrong_result() -> None:
    reference = [np.arange(6.0).reshape(2, 3).tolist(), [1.0]]
    assert run.agrees(reference, reference)
    assert not run.agrees([np.arange(6.0).reshape(3, 2).tolist(), [1.0]], reference)
    assert not run.agrees([reference[0], [1.0 + 1e-4]], reference)
    assert not run.agrees(reference[:1], reference)


def test_smoke_command_line_reports_all_passed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--smoke", "--workloads", "d2l,overhead", "--impls", "numpy,tinygrad_lr"]) == 0
    assert "smoke: 4 passed, 0 failed" in capsys.readouterr().out


def test_the_bare_engine_of_the_floor_measurement_differentiates_the_chain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import floor

    np.testing.assert_allclose(floor.chain_bare(), 1.0001**floor.REPEATS, rtol=1e-12)
    floor.main(rounds=1)
    printed = capsys.readouterr().out
    assert "bare engine" in printed and "tinygrad_lr" in printed
