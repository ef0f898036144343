"""gpugrad's ops, each declared once in its family module (see ``registry``).

Families: ``elementwise`` (arithmetic, unary math, comparisons), ``reduce``, ``shape``,
``index``, ``linalg``, ``transfer`` (devices and dtypes), ``nn`` (fused activations and
losses) and ``random`` (the in-place random methods). ``dispatch`` records an op's node;
``backward_ns`` is the namespace the derivative formulas use on tensors.
"""

from . import registry
from . import transfer  # noqa: I001  (families in dependency order)
from . import elementwise, reduce, shape, index, linalg, nn, random, backward_ns
from . import numeric, linalg_more  # --- s7-mathx ---
from . import nn_activation  # --- s7-nnact: torch.celu, torch.pixel_shuffle, torch.pdist ... ---

__all__ = [
    "backward_ns",
    "elementwise",
    "index",
    "linalg",
    "linalg_more",
    "nn",
    "nn_activation",
    "numeric",
    "random",
    "reduce",
    "registry",
    "shape",
    "transfer",
]
