"""Run one workload on one implementation and measure it.

`python -m benchmarks.worker IMPL WORKLOAD [--smoke]` prints one JSON line; run.py starts a
fresh process of it for every repeat, so no repeat inherits another's warm caches.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import json
import sys
import tracemalloc
from time import perf_counter
from types import ModuleType
from typing import Any

import numpy as np

from benchmarks import workloads
from benchmarks.workloads import Chain, Regression

# implementation name -> (module in this package, the library it needs)
IMPLS = {
    "numpy": ("benchmarks.impl_numpy", "numpy"),
    "tinygrad_lr": ("benchmarks.impl_tinygrad_lr", "tinygrad_lr"),
    "compiled": ("benchmarks.impl_compiled", "tinygrad_lr"),
    "compiled_epoch": ("benchmarks.impl_compiled_epoch", "tinygrad_lr"),
    "pytorch": ("benchmarks.impl_torch", "torch"),
    "mygrad": ("benchmarks.impl_mygrad", "mygrad"),
    "autograd": ("benchmarks.impl_hips", "autograd"),
    "micrograd": ("benchmarks.impl_micrograd", "micrograd"),
}


def available(impl: str) -> bool:
    """True when the library behind `impl` is installed (checked without importing it)."""
    return importlib.util.find_spec(IMPLS[impl][1]) is not None


def run_one(
    impl_name: str, workload: str, smoke: bool = False, warmup: bool = True
) -> dict[str, Any]:
    """{"seconds", "result", "extra"} for one run, or {"skipped": why} / {"error": what}."""
    try:
        impl = importlib.import_module(IMPLS[impl_name][0])
        if warmup and not smoke:
            # a tiny run first, so lazy imports and one-off set-up are not timed
            _measure(impl, workload, workloads.make(workload, smoke=True), smoke=True)
        return _measure(impl, workload, workloads.make(workload, smoke), smoke)
    except (ImportError, NotImplementedError) as reason:
        return {"skipped": str(reason)}
    except Exception as error:  # reported in the table: a comparator may fail (e.g. RecursionError)
        return {"error": f"{type(error).__name__}: {str(error)[:200]}"}


def _measure(
    impl: ModuleType, workload: str, data: Regression | Chain, smoke: bool
) -> dict[str, Any]:
    factory = getattr(impl, workloads.KIND[workload], None)
    if factory is None:
        raise NotImplementedError(f"{impl.__name__} has no {workloads.KIND[workload]}")
    if workload == "memory":
        assert isinstance(data, Regression)
        return _memory(impl, data, smoke)
    if isinstance(data, Regression):
        train = factory(data)
        start = perf_counter()
        params = train(data.batches)
        seconds = perf_counter() - start
        return {"seconds": seconds, "result": _lists(params), "extra": _extra_of(impl)}
    run = factory(data)
    start = perf_counter()
    _, result = run()
    seconds = perf_counter() - start
    extra: dict[str, Any] = {"us_per_op": 1e6 * seconds / data.n_ops, **_extra_of(impl)}
    if workload.startswith("deep") and impl.TRACED:
        extra["set_up_peak_kib"], extra["graph_peak_kib"] = _traced_peaks(factory, data)
    return {"seconds": seconds, "result": _lists(result), "extra": extra}


def _extra_of(impl: ModuleType) -> dict[str, Any]:
    """What an implementation measures itself (tl.compile: recording and first-call times)."""
    return impl.extra() if hasattr(impl, "extra") else {}


def _traced_peaks(factory: Any, data: Chain) -> tuple[float, float]:
    """Peak memory (KiB, as tracemalloc sees it) of the set-up (for tl.compile: recording and
    code generation) and of one run: building the chain and running backward."""
    gc.collect()
    tracemalloc.start()
    try:
        run = factory(data)
        set_up = tracemalloc.get_traced_memory()[1] / 1024
        gc.collect()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        run()
        return set_up, (tracemalloc.get_traced_memory()[1] - before) / 1024
    finally:
        tracemalloc.stop()


def _memory(impl: ModuleType, data: Regression, smoke: bool) -> dict[str, Any]:
    """Memory growth from step n/10 to step n of training, and what a graph keeps after backward."""
    train = impl.linear_regression(data)
    first = len(data.batches) // 10
    tracemalloc.start()
    try:
        train(data.batches[:first])
        gc.collect()
        after_first = tracemalloc.get_traced_memory()[0]
        params = train(data.batches[first:])
        gc.collect()
        extra: dict[str, Any] = {
            "growth_kib": (tracemalloc.get_traced_memory()[0] - after_first) / 1024
        }
        extra.update(_graph_probe(impl, smoke))
    finally:
        tracemalloc.stop()
    if not impl.TRACED:
        extra = {key: None for key in extra}
    return {"seconds": None, "result": _lists(params), "extra": extra}


def _graph_probe(impl: ModuleType, smoke: bool) -> dict[str, Any]:
    """Memory of a chain's graph at its peak, and what is still held once backward is done
    while the caller keeps the output (x0's gradient and the output itself are expected)."""
    probe = workloads.graph_probe(smoke)
    try:
        run = impl.chain(probe)
    except NotImplementedError:
        return {}
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    output = run()  # noqa: F841 -- kept alive while measuring, as a user keeps `loss`
    current, peak = tracemalloc.get_traced_memory()
    return {
        "graph_peak_kib": (peak - before) / 1024,
        "kept_after_backward_kib": (current - before) / 1024,
        "array_kib": probe.x0.nbytes / 1024,
    }


def _lists(arrays: list[Any]) -> list[Any]:
    return [np.asarray(a, dtype=np.float64).tolist() for a in arrays]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("impl", choices=IMPLS)
    parser.add_argument("workload", choices=workloads.WORKLOADS)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    json.dump(run_one(args.impl, args.workload, args.smoke), sys.stdout)
    print()


if __name__ == "__main__":
    main()
