"""Fused elementwise kernels, each defined once (``defs``) and run by both backends.

``spec.Kernel`` is the definition: inputs, parameters, outputs, a CUDA C body and a NumPy
body. ``numpy_exec`` runs the NumPy body over cache-sized blocks on a small thread pool;
``cuda_source`` turns the CUDA body into complete CUDA sources, which ``cupy_exec``
compiles (NVRTC, without ``-ftz``) and launches on a GPU and ``nvrtc`` compiles without
one (the CI gate).
Backends expose them as ``backend.run_kernel(kernel, inputs, params, reduce=, divisor=)``.
"""

from . import defs
from .defs import KERNELS
from .spec import Kernel

__all__ = ["KERNELS", "Kernel", "defs"]
