"""PyTorch-identical ``repr(tensor)`` text for host NumPy arrays.

Mirrors the default print options and rules of ``torch/_tensor_str.py`` (dense, real
dtypes only). Imports nothing but NumPy and the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# The print options (``set_printoptions``), read at call time as module globals.
PRECISION = 4
THRESHOLD: float = 1000  # more elements than this are summarized with "..."
EDGE_ITEMS = 3
LINE_WIDTH = 80
SCI_MODE: bool | None = None  # None: chosen from the values shown
PROFILES = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}
"""``set_printoptions``' profiles: (precision, threshold, edgeitems, linewidth)."""


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set how tensors print, as ``torch.set_printoptions``: ``precision`` digits after the
    point (4), summarize past ``threshold`` elements (1000) showing ``edgeitems`` at each
    end (3), ``linewidth`` characters a line (80); ``profile`` ``'default'``, ``'short'``
    or ``'full'`` sets all four first; ``sci_mode`` True/False forces scientific notation
    on or off, None (what every call without it sets) lets the values choose."""
    global PRECISION, THRESHOLD, EDGE_ITEMS, LINE_WIDTH, SCI_MODE
    if profile in PROFILES:  # PyTorch ignores an unknown profile
        PRECISION, THRESHOLD, EDGE_ITEMS, LINE_WIDTH = PROFILES[profile]
    if precision is not None:
        PRECISION = precision
    if threshold is not None:
        THRESHOLD = threshold
    if edgeitems is not None:
        EDGE_ITEMS = edgeitems
    if linewidth is not None:
        LINE_WIDTH = linewidth
    SCI_MODE = sci_mode


_PREFIX = "tensor("

_SUPPORTED = frozenset(
    {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}
)
_IMPLICIT_DTYPES = frozenset({"float32", "int64", "bool"})  # never shown for non-empty data


class _Formatter:
    """One element style and width for the whole tensor, chosen from the shown values."""

    def __init__(self, shown: np.ndarray) -> None:
        self.floating = shown.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = shown.reshape(-1)
        if not self.floating:
            self.width = max([1, *(len(str(v)) for v in flat.tolist())])
            return
        nonzero = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero.size == 0:
            return
        magnitudes = np.abs(nonzero).astype(np.float64)
        lo, hi = float(magnitudes.min()), float(magnitudes.max())
        self.int_mode = bool(np.all(nonzero == np.ceil(nonzero)))
        if SCI_MODE is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = SCI_MODE
        for v in nonzero.tolist():
            if self.sci_mode:
                text = f"{v:.{PRECISION}e}"
            elif self.int_mode:
                text = f"{v:.0f}."
            else:
                text = f"{v:.{PRECISION}f}"
            self.width = max(self.width, len(text))

    def __call__(self, value: float | int | bool) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{PRECISION}f}"
        # Wider values (e.g. "-0.0000" among positives) overflow instead of being padded.
        return text.rjust(self.width)


def _edges(n: int) -> list[int]:
    if n > 2 * EDGE_ITEMS:
        return [*range(EDGE_ITEMS), *range(n - EDGE_ITEMS, n)]
    return list(range(n))


def _shown_values(a: np.ndarray) -> np.ndarray:
    """The elements a summarized print displays; only these steer the formatter."""
    return a[np.ix_(*(_edges(n) for n in a.shape))]


def _render(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt(a.item())
    n = a.shape[0]
    cut = summarize and n > 2 * EDGE_ITEMS
    if a.ndim == 1:
        if cut:
            head, tail = a[:EDGE_ITEMS].tolist(), a[-EDGE_ITEMS:].tolist()
            data = [*map(fmt, head), " ...", *map(fmt, tail)]
        else:
            data = [fmt(v) for v in a.tolist()]
        per_line = max(1, (LINE_WIDTH - indent) // (fmt.width + 2))
        lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows: list[int | None] = (
        [*range(EDGE_ITEMS), None, *range(n - EDGE_ITEMS, n)] if cut else list(range(n))
    )
    parts = ["..." if i is None else _render(a[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _add_suffixes(text: str, suffixes: Sequence[str], indent: int) -> str:
    """Append ``, suffix`` items, moving one to a new line when it would pass the width."""
    out = [text]
    # PyTorch's own count (two more than the real last-line length); kept for parity.
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > LINE_WIDTH:
            out.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last_line_len += len(suffix) + 2
    out.append(")")
    return "".join(out)


def format_tensor(
    values: np.ndarray, *, device: str | None = None, extra: Sequence[str] = ()
) -> str:
    """Text of `tensor(...)` exactly as PyTorch prints a tensor with these values."""
    a = np.asarray(values)
    name = a.dtype.name
    if name not in _SUPPORTED:
        raise TypeError(f"cannot format arrays of dtype {name}")
    suffixes = [] if device in (None, "cpu") else [f"device='{device}'"]
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        show_dtype = name != "float32"  # nothing to infer the dtype from, so only float32 hides
        body = "[]"
    else:
        show_dtype = name not in _IMPLICIT_DTYPES
        summarize = a.size > THRESHOLD
        fmt = _Formatter(_shown_values(a) if summarize else a)
        body = _render(a, len(_PREFIX), summarize, fmt)
    if show_dtype:
        # Lay out with PyTorch's spelling so line breaks fall exactly where torch puts them.
        suffixes.append(f"dtype=torch.{name}")
    suffixes.extend(extra)
    text = _add_suffixes(_PREFIX + body, suffixes, len(_PREFIX))
    return text.replace("dtype=torch.", "dtype=gpugrad.", 1) if show_dtype else text
