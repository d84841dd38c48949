"""Speed and memory of tinygrad_lr next to hand-written NumPy and other autodiff engines.

Run `python -m benchmarks --help`; the workloads are described in workloads.py.
"""
