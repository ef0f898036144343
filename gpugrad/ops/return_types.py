"""Named ``(values, indices)`` results, as PyTorch's ``torch.return_types``.

Each is a ``namedtuple``: it unpacks as a tuple, its fields read by name, and it prints as
PyTorch prints its own, ``gpugrad.return_types.sort(values=..., indices=...)``.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any


def _repr(self: Any) -> str:
    fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
    return f"gpugrad.return_types.{type(self).__name__}(\n{fields})"


def _result_type(name: str, fields: tuple[str, ...] = ("values", "indices")) -> type:
    base = namedtuple(name, fields)  # noqa: PYI024
    return type(
        name,
        (base,),
        {
            "__slots__": (),
            "__repr__": _repr,
            "__module__": __name__,
            "__doc__": f"The result of ``{name}``: ``({', '.join(fields)})``.",
        },
    )


max = _result_type("max")
min = _result_type("min")
sort = _result_type("sort")
topk = _result_type("topk")
median = _result_type("median")
nanmedian = _result_type("nanmedian")
mode = _result_type("mode")
kthvalue = _result_type("kthvalue")
cummax = _result_type("cummax")
cummin = _result_type("cummin")
aminmax = _result_type("aminmax", ("min", "max"))
# --- mathx ---
frexp = _result_type("frexp", ("mantissa", "exponent"))
histogram = _result_type("histogram", ("hist", "bin_edges"))
histogramdd = _result_type("histogramdd", ("hist", "bin_edges"))

__all__ = [
    "aminmax",
    "cummax",
    "cummin",
    "frexp",
    "histogram",
    "histogramdd",
    "kthvalue",
    "max",
    "median",
    "min",
    "mode",
    "nanmedian",
    "sort",
    "topk",
]
