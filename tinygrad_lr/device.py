"""Devices: tinygrad_lr computes on the CPU only, but accepts PyTorch's device boilerplate.

`device("cpu")`, `set_default_device("cpu")` and `device=` on the factories work and change
nothing; "cuda" and "mps" are refused with a message, and `cuda.is_available()` is False, so
`device = "cuda" if torch.cuda.is_available() else "cpu"` picks the CPU.
"""

from __future__ import annotations

from typing import Any

from .errors import DeviceError

_KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "mtia", "privateuseone")


class device(str):
    """A device: `device("cpu")`, `device("cpu", 0)`, `device("cpu:0")`.

    It is a string ("cpu" or "cpu:0"), so every function that takes "cpu" also takes a device;
    `.type` is "cpu" and `.index` the optional index (which hides str's `index` method).
    Usable as `with device("cpu"): ...`."""

    _index: int | None

    def __new__(cls, type: Any = "cpu", index: int | None = None) -> device:
        if isinstance(type, device) and index is None:
            return type
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {type!r}")
        kind, colon, number = type.partition(":")
        if colon:
            if index is not None:
                raise ValueError(f"device: index given twice, in {type!r} and as {index}")
            if not number.isdigit():
                raise ValueError(f"device: invalid device string {type!r}")
            index = int(number)
        if kind not in _KNOWN_TYPES:
            raise ValueError(
                f"device: unknown device type {kind!r} in {type!r}; tinygrad_lr has only 'cpu'"
            )
        if kind != "cpu":
            raise DeviceError(
                f"device {type!r}: tinygrad_lr runs on the CPU only (it computes with NumPy); "
                "use 'cpu', or write device = 'cuda' if torch.cuda.is_available() else 'cpu', "
                "which picks 'cpu' here"
            )
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, int) or index < 0
        ):
            raise ValueError(f"device: index must be a non-negative integer, got {index!r}")
        self = super().__new__(cls, "cpu" if index is None else f"cpu:{index}")
        self._index = index
        return self

    @property
    def type(self) -> str:
        return "cpu"

    @property
    def index(self) -> int | None:  # type: ignore[override]
        return self._index

    def __repr__(self) -> str:
        extra = "" if self._index is None else f", index={self._index}"
        return f"device(type='cpu'{extra})"

    def __enter__(self) -> device:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def __reduce__(self) -> tuple[Any, ...]:
        return (device, ("cpu", self._index))


def check_device(value: Any, where: str) -> device:
    """`value` (None, "cpu", "cpu:0" or a device) as a device, or a DeviceError naming `where`."""
    if value is None:
        return device("cpu")
    try:
        return device(value)
    except (DeviceError, ValueError, TypeError) as error:
        raise type(error)(f"{where}: {error}") from None


def set_default_device(value: Any) -> None:
    """Accepts the CPU (the only device, so nothing changes); refuses others."""
    check_device(value, "set_default_device")


def get_default_device() -> device:
    return device("cpu")
