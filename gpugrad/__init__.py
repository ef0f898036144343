"""gpugrad: PyTorch-style automatic differentiation on NumPy (CPU) and CuPy (CUDA) arrays.

>>> import gpugrad as gg
>>> x = gg.tensor(3.0, requires_grad=True)
>>> y = x ** 2
>>> y.backward()
>>> x.grad
tensor(6.)
"""

from ._factories import (
    arange,
    as_tensor,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    manual_seed,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    tril_indices,
    triu_indices,
    zeros,
    zeros_like,
)
from ._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    seed,
    set_rng_state,
)
from ._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._tensor import Size, Tensor
from .backends import get_cpu_kernels, set_cpu_kernels
from .backends.device import Device as device
from .backends.formatting import set_printoptions
from .backends.dtypes import (
    DType as dtype,
)
from .backends.dtypes import (
    bool_ as bool,
)
from .backends.dtypes import (
    finfo,
    get_default_dtype,
    iinfo,
    set_default_dtype,
)
from ._default_device import get_default_device, set_default_device
from ._legacy_tensors import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
)
from ._toplevel import (
    can_cast,
    inference_mode,
    is_complex,
    is_floating_point,
    is_inference_mode_enabled,
    is_nonzero,
    is_tensor,
    numel,
    promote_types,
    result_type,
)
from .backends.dtypes import (
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from . import ops
from . import _tensor_methods  # noqa: I001  (attaches the registry's methods to Tensor)
from ._exports import *  # noqa: F403  (the registry's ops: gpugrad.sin, gpugrad.sum …)
from . import accelerator, autograd, cuda, linalg
from .ops import return_types

_tensor_methods.attach()

# --- s7-topx: top-level in-place forms, settings, legacy Tensor methods ---
from ._topx import *  # noqa: E402, F403
from . import _topx  # noqa: E402

_topx.attach()
# --- end s7-topx ---

from . import nn, optim, utils  # noqa: E402  (they build on the tensor methods above)

# --- s7-nnloss: the losses PyTorch also has at top level ---
from .nn.functional import (  # noqa: E402
    cosine_embedding_loss,
    ctc_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    poisson_nll_loss,
    triplet_margin_loss,
)
from . import distributed  # noqa: E402  (mpi4py is imported only by init_process_group)
from .serialization import load, save  # noqa: E402
from . import viz  # noqa: E402  (graph drawing; graphviz is imported only by make_dot)
from .compile import compile  # noqa: E402  (gg.compile; the package stays gpugrad.compile's)
from . import fft, special  # noqa: E402  (--- s7-mathx ---)

# --- s7-func ---
from . import func  # noqa: E402  (gg.func: grad, vjp, jvp, jacrev, vmap, functional_call)
from .func import vmap  # noqa: E402
# --- end s7-func ---
# --- s7-dist ---


def __getattr__(name: str) -> object:
    """``gg.distributions`` is imported on first use. It is written against gpugrad's public
    names, as ``torch.distributions`` is against torch's: a layer above this package, which
    therefore does not import it while it loads (tests/test_layers.py)."""
    if name == "distributions":
        import importlib  # ``from . import`` here would call this function again

        return importlib.import_module("gpugrad.distributions")
    raise AttributeError(f"module 'gpugrad' has no attribute {name!r}")


# --- s7-seq ---
from . import amp, cpu, random  # noqa: E402
from .amp import autocast, get_autocast_dtype, is_autocast_enabled  # noqa: E402
from .amp import set_autocast_dtype, set_autocast_enabled  # noqa: E402
from .amp import (  # noqa: E402
    autocast_decrement_nesting,
    autocast_increment_nesting,
    clear_autocast_cache,
    is_autocast_cache_enabled,
    set_autocast_cache_enabled,
)
from ._amp_legacy import cuda_amp as _cuda_amp  # noqa: E402

cuda.amp = _cuda_amp  # gg.cuda.amp, PyTorch's deprecated spelling
del _cuda_amp
# --- end s7-seq ---

# --- s7-nnpool: top-level convolution, pooling and normalization (torch.conv2d ...) ---
from ._toplevel_nn import *  # noqa: E402, F403

half, float, double, long, int = float16, float32, float64, int64, int32
from ._version import __version__  # noqa: E402
