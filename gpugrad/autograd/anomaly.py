"""``detect_anomaly``: a backward that produces NaN names the op whose backward produced it
and shows where that op was created (its forward traceback), as PyTorch's anomaly mode.
The mode itself lives in the core (``gpugrad._anomaly``), where the engine reaches it."""

from __future__ import annotations

from .._anomaly import is_anomaly_enabled, set_detect_anomaly, state


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager: check every backward output for NaN and report its forward call."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._previous = state.enabled
        set_detect_anomaly(self.check_nan)

    def __exit__(self, *exc: object) -> None:
        set_detect_anomaly(self._previous)


__all__ = ["detect_anomaly", "is_anomaly_enabled", "set_detect_anomaly"]
