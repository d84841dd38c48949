"""NVIDIA's cuDNN: never available here. The switches exist so seeding boilerplate runs."""

deterministic = False
benchmark = False
enabled = False


def is_available() -> bool:
    return False
