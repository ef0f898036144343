"""Anomaly mode (``gpugrad.autograd.detect_anomaly``): a backward that produces NaN names
the op whose backward produced it and shows where that op was created (its forward
traceback), as PyTorch's anomaly mode.

While the mode is on, every new graph node records the stack of its creation; outside it
nothing is recorded, so the mode costs nothing when off.
"""

from __future__ import annotations

import traceback
import warnings
import weakref
from pathlib import Path
from typing import Any

from . import _graph

_traces: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


state = _graph.anomaly


_PACKAGE = str(Path(__file__).resolve().parent)


def _record_creation(node: Any) -> None:
    """Remember the user's stack that made ``node`` (``_graph.new_node`` calls it)."""
    frames = [f for f in traceback.extract_stack() if not f.filename.startswith(_PACKAGE)]
    _traces[node] = traceback.format_list(frames)


state.record_creation = _record_creation


def is_anomaly_enabled() -> bool:
    """True while anomaly detection is on (``detect_anomaly`` or ``set_detect_anomaly(True)``)."""
    return state.enabled


def set_detect_anomaly(mode: bool) -> None:
    """Turn anomaly detection on or off: nodes remember the stack that made them, and a backward
    that produces NaN names the node and that stack."""
    state.enabled = bool(mode)


def check_backward_outputs(node: Any, grads: list) -> None:
    """Raise when ``node``'s backward produced NaN (called by the engine in anomaly mode)."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        if bool(node.backend.isnan(getattr(g, "_data", g)).any()):
            trace = "".join(_traces.get(node, ["(created before anomaly detection was on)\n"]))
            warnings.warn(
                f"Error detected in {node.name()}. Traceback of forward call that caused the "
                f"error:\n{trace}",
                RuntimeWarning,
                stacklevel=2,
            )
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {_ordinal(i)} output.\n"
                f"Forward call that created it:\n{trace}"
            )


def _ordinal(i: int) -> str:
    return f"{i}th"  # PyTorch's wording: "its 0th output"
