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
svd = _result_type("svd", ("U", "S", "V"))
qr = _result_type("qr", ("Q", "R"))
geqrf = _result_type("geqrf", ("a", "tau"))
triangular_solve = _result_type("triangular_solve", ("solution", "cloned_coefficient"))
lu_unpack = _result_type("lu_unpack", ("P", "L", "U"))
linalg_lstsq = _result_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
linalg_lu = _result_type("linalg_lu", ("P", "L", "U"))
linalg_lu_factor = _result_type("linalg_lu_factor", ("LU", "pivots"))
linalg_lu_factor_ex = _result_type("linalg_lu_factor_ex", ("LU", "pivots", "info"))
linalg_solve_ex = _result_type("linalg_solve_ex", ("result", "info"))
linalg_inv_ex = _result_type("linalg_inv_ex", ("inverse", "info"))
linalg_cholesky_ex = _result_type("linalg_cholesky_ex", ("L", "info"))

__all__ = [
    "aminmax",
    "cummax",
    "cummin",
    "frexp",
    "geqrf",
    "histogram",
    "histogramdd",
    "kthvalue",
    "linalg_cholesky_ex",
    "linalg_inv_ex",
    "linalg_lstsq",
    "linalg_lu",
    "linalg_lu_factor",
    "linalg_lu_factor_ex",
    "linalg_solve_ex",
    "lu_unpack",
    "max",
    "median",
    "min",
    "mode",
    "nanmedian",
    "qr",
    "sort",
    "svd",
    "topk",
    "triangular_solve",
]
