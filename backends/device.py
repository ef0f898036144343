"""Device names as PyTorch spells them: ``cpu``, ``cuda``, ``cuda:1``."""

from __future__ import annotations


class Device:
    """A device as PyTorch names it (``torch.device``): ``device("cpu")``, ``device("cuda")``,
    ``device("cuda:1")`` or ``device("cuda", 1)``; ``type`` and ``index`` (``None`` when not
    given)."""

    __slots__ = ("type", "index")

    def __init__(self, spec: str | Device, index: int | None = None) -> None:
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(
                f"device must be a string or a gpugrad.device, not {type(spec).__name__}"
            )
        kind, _, number = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {spec}"
            )
        if number:
            if index is not None or not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{spec}'")
            index = int(number)
        if kind == "cpu" and index not in (None, 0):
            raise RuntimeError(f"CPU device index must be -1 or zero, got {index}")
        self.type = kind
        self.index = index if kind == "cuda" else None

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))
