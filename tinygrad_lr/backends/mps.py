"""Apple's GPU backend: never available here (tinygrad_lr computes with NumPy on the CPU)."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
