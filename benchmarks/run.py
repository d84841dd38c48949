"""Benchmark tinygrad_lr against hand-written NumPy, PyTorch, MyGrad, HIPS autograd, micrograd.

    python -m benchmarks                    all workloads, 5 repeats each, table of medians
    python -m benchmarks --quick -w d2l,deep --json out.json
    python -m benchmarks --smoke            tiny sizes, in-process: check results agree only

Every repeat of every (workload, implementation) runs in a fresh process; the repeats of the
implementations are interleaved so that background load hits them alike. Times are medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as `python benchmarks/run.py`: make the package importable
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks import workloads
from benchmarks.worker import IMPLS, available, run_one

ROOT = Path(__file__).resolve().parent.parent
RTOL, ATOL = 1e-7, 1e-9  # float64 results differ only by the order of summation
# one thread for BLAS and PyTorch alike: the machine is small and shared, and threads add noise
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _in_fresh_process(impl: str, workload: str) -> dict[str, Any]:
    env = {
        **os.environ,
        **ONE_THREAD,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", impl, workload],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]}
    record: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return record


def agrees(result: list[Any], reference: list[Any]) -> bool:
    """Same number of arrays, same shapes, values equal to float64 round-off."""
    return len(result) == len(reference) and all(
        np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=RTOL, atol=ATOL)
        for a, b in zip(result, reference)
    )


def benchmark(names: list[str], impls: list[str], repeats: int) -> list[dict[str, Any]]:
    """One row per (workload, implementation): times of each repeat, median, ratios, extras."""
    rows = []
    for workload in names:
        runs = 1 if workload == "memory" else repeats  # memory is measured, not timed
        print(f"{workload}: {runs} repeats x {', '.join(impls)}", file=sys.stderr, flush=True)
        records: dict[str, list[dict[str, Any]]] = {impl: [] for impl in impls}
        for _ in range(runs):
            for impl in impls:
                if not any("seconds" not in r for r in records[impl]):  # stop after a skip or error
                    records[impl].append(_in_fresh_process(impl, workload))
        rows += _rows(workload, records)
    return rows


def _rows(workload: str, records: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    for impl, runs in records.items():
        row: dict[str, Any] = {"workload": workload, "impl": impl}
        failed = [r for r in runs if "seconds" not in r]
        if failed:
            row["status"] = (
                "skipped: " + failed[0]["skipped"]
                if "skipped" in failed[0]
                else "error: " + failed[0]["error"]
            )
        else:
            times = [r["seconds"] for r in runs if r["seconds"] is not None]
            row["times_s"] = times
            row["median_s"] = statistics.median(times) if times else None
            row["extra"] = {
                k: statistics.median(r["extra"][k] for r in runs)
                for k in runs[0]["extra"]
                if all(r["extra"].get(k) is not None for r in runs)
            }
            row["result"] = runs[0]["result"]
        rows.append(row)
    reference = {r["impl"]: r for r in rows}
    for row in rows:
        if "result" in row and "result" in reference.get("numpy", {}):
            row["agrees_with_numpy"] = agrees(row["result"], reference["numpy"]["result"])
        for base in ("numpy", "pytorch"):
            base_s = reference.get(base, {}).get("median_s")
            if row.get("median_s") and base_s:
                row[f"x_{base}"] = row["median_s"] / base_s
    for row in rows:
        row.pop("result", None)
    return rows


def _note(row: dict[str, Any]) -> str:
    extra = row.get("extra", {})
    parts = []
    if "us_per_op" in extra:
        parts.append(f"{extra['us_per_op']:.2f} us/op")
    if "record_ms" in extra:
        note = f"first call {extra['first_call_ms']:.1f} ms, recording + codegen "
        note += f"{extra['record_ms']:.1f} ms"
        if "eager20_ms" in extra:  # in eager steps: 20 eager steps take eager20_ms
            note += f" = {20 * extra['record_ms'] / extra['eager20_ms']:.1f} eager steps"
        if "eager_call_ms" in extra:  # a compiled epoch: in calls of the eager epoch
            note += f" = {extra['record_ms'] / extra['eager_call_ms']:.1f} eager calls"
        parts.append(note)
    if "growth_kib" in extra:
        parts.append(
            f"growth {extra['growth_kib']:+.0f} KiB over {workloads.memory_steps(False):,} steps"
        )
    if "kept_after_backward_kib" in extra:
        parts.append(
            f"graph peak {extra['graph_peak_kib']:.0f} KiB, kept after backward "
            f"{extra['kept_after_backward_kib']:.0f} KiB (1 array = {extra['array_kib']:.0f} KiB)"
        )
    elif "graph_peak_kib" in extra:
        parts.append(f"peak {extra['graph_peak_kib']:.0f} KiB")
        if "record_ms" in extra:
            parts.append(f"recording peak {extra['set_up_peak_kib']:.0f} KiB")
    if row["workload"] == "memory" and not extra and "status" not in row:
        parts.append("not measured: its memory is invisible to tracemalloc")
    if row.get("agrees_with_numpy") is False:
        parts.append("RESULT DIFFERS FROM NUMPY")
    return "; ".join(parts) or row.get("status", "")


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of the rows, plus the deep chains' growth from 10k to 100k ops."""

    def num(value: Any, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    lines = [
        "| workload | implementation | median ms | x NumPy | x PyTorch | notes |",
        "|---|---|--:|--:|--:|---|",
    ]
    for row in rows:
        ms = None if row.get("median_s") is None else 1000 * row["median_s"]
        ratios = f"{num(row.get('x_numpy'), '.2f')} | {num(row.get('x_pytorch'), '.2f')}"
        lines.append(
            f"| {row['workload']} | {row['impl']} | {num(ms, '.2f')} | {ratios} | {_note(row)} |"
        )
    medians = {(r["workload"], r["impl"]): r.get("median_s") for r in rows}
    scaling = []
    for impl in dict.fromkeys(r["impl"] for r in rows):
        short, long = medians.get(("deep10k", impl)), medians.get(("deep100k", impl))
        if short and long:
            scaling.append(f"- deep, {impl}: 10x the ops took {long / short:.1f}x the time")
    return "\n".join(lines + ([""] + scaling if scaling else []))


def smoke(names: list[str], impls: list[str]) -> list[dict[str, Any]]:
    """Run every workload once at tiny size in this process; compare each result with NumPy's."""
    outcomes = []
    for workload in names:
        reference = run_one("numpy", workload, smoke=True)
        for impl in impls:
            record = reference if impl == "numpy" else run_one(impl, workload, smoke=True)
            status = record.get("error") or (
                "skipped: " + record["skipped"] if "skipped" in record else ""
            )
            if not status:
                status = (
                    "ok" if agrees(record["result"], reference["result"]) else "DIFFERS FROM NUMPY"
                )
            outcomes.append(
                {"workload": workload, "impl": impl, "status": status, "extra": record.get("extra")}
            )
    return outcomes


def _choose(
    value: str, known: tuple[str, ...], aliases: Mapping[str, tuple[str, ...]]
) -> list[str]:
    chosen: list[str] = []
    for name in value.split(","):
        for part in aliases.get(name, (name,)):
            if part not in known:
                raise SystemExit(
                    f"benchmarks: unknown name {part!r}; choose from {', '.join(known)}"
                )
            chosen.append(part)
    return list(dict.fromkeys(chosen))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-w",
        "--workloads",
        default=",".join(workloads.WORKLOADS),
        help="comma-separated: %(default)s (deep = deep10k,deep100k)",
    )
    parser.add_argument(
        "-i", "--impls", default=",".join(IMPLS), help="comma-separated: %(default)s"
    )
    parser.add_argument(
        "-r", "--repeats", type=int, default=5, help="fresh processes per timing (default 5)"
    )
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 5")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, in-process, correctness only"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    names = _choose(args.workloads, workloads.WORKLOADS, workloads.ALIASES)
    impls = [i for i in _choose(args.impls, tuple(IMPLS), {}) if available(i)]
    if args.smoke:
        outcomes = smoke(names, impls)
        for o in outcomes:
            print(f"{o['workload']:10} {o['impl']:14} {o['status']}")
        failed = [
            o for o in outcomes if not (o["status"] == "ok" or o["status"].startswith("skipped"))
        ]
        print(f"smoke: {len(outcomes) - len(failed)} passed, {len(failed)} failed")
        return 1 if failed else 0
    rows = benchmark(names, impls, 3 if args.quick else args.repeats)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
