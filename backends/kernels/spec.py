"""The one definition of a fused elementwise kernel, from which both backends run it.

A ``Kernel`` names its array inputs, its scalar parameters and its outputs, and gives the
elementwise body twice, side by side: once as CUDA C statements (compiled into complete
``RawKernel`` sources by ``cuda_source``, for CuPy) and once as a NumPy function that
writes into ``out=`` buffers (run over cache-sized blocks by ``numpy_exec``). Adding a
kernel is adding one ``Kernel`` to ``defs``; neither executor changes.

The CUDA body sees every input as a ``const acc_t`` local of the same name (``acc_t`` is
``float`` for float16/float32 tensors and ``double`` for float64), every parameter as a
``const acc_t`` argument, and assigns every output, an ``acc_t`` local. An optional input
that the caller leaves out reads as ``acc_t(1)`` and ``HAS_<name>`` is ``false``; helpers
``gg_exp gg_log gg_log1p gg_tanh gg_erf gg_abs gg_max gg_min`` pick the precision.

The NumPy body is called as ``numpy(*outputs, *inputs, *params, *scratch)`` on 1-D
arrays of the compute dtype (float16 is computed in float32), an absent optional input
being ``None`` and an input broadcast from one element being a 1-element array. It must
only write into the outputs and the ``scratch`` buffers (all of the block's length), and
may return ``True`` to flag the block (a kernel-specific check, such as BCE's input range).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Kernel:
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    cuda: str
    numpy: Callable[..., bool | None]
    params: tuple[str, ...] = ()
    optional: frozenset[str] = field(default_factory=frozenset)
    scratch: int = 0
    reducible: bool = False
    """Output 0 may be summed in the same pass (``reduce=True``): CUDA accumulates it in
    double and reduces across blocks in one launch; NumPy sums each block pairwise and
    adds the block sums in double. Other outputs are stored as usual."""
    check: str = ""
    """A C condition on the inputs, true for an element the NumPy body would flag (such as
    a probability outside [0, 1]): the native CPU executor ORs it over the elements; CUDA
    never checks (it would have to wait for the device)."""
    doc: str = ""
    small: Callable[..., Any] | None = None
    """The same formula as one array expression, ``small(*inputs)`` -> the output, for a
    kernel with one output: what ``executor.bind(kernel)`` computes where the kernel
    machinery costs more than the math (NumPy inputs of at most ``SMALL`` elements, float16
    aside) or does not apply (inputs of differing or non-float dtypes)."""

    def __post_init__(self) -> None:
        names = self.inputs + self.params + self.outputs
        if len(set(names)) != len(names):
            raise ValueError(f"kernel {self.name}: a name is used twice in {names}")
        if not self.optional <= set(self.inputs):
            raise ValueError(f"kernel {self.name}: optional names must be inputs")

    def stored(self, reduce: bool) -> tuple[str, ...]:
        """The outputs written element by element (with ``reduce``, output 0 is summed)."""
        return self.outputs[1:] if reduce else self.outputs

    def variants(self) -> list[tuple[str, ...]]:
        """Every subset of the optional inputs that may be present, in input order."""
        optional = [name for name in self.inputs if name in self.optional]
        subsets: list[tuple[str, ...]] = [()]
        for name in optional:
            subsets += [s + (name,) for s in subsets]
        return sorted(subsets, key=lambda s: (len(s), s))
