"""gpugrad: PyTorch-style automatic differentiation on NumPy (CPU) and CuPy (CUDA) arrays.

>>> import gpugrad as gg
>>> x = gg.tensor(3.0, requires_grad=True)
>>> y = x ** 2
>>> y.backward()
>>> x.grad
tensor(6.)
"""

from . import _inplace, _random, _tensor_methods
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
    zeros,
    zeros_like,
)
from ._random import Generator, default_generator, initial_seed, seed
from ._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._linalg import bmm, dot, ger, matmul, mm, mv, outer
from ._ops import (
    abs,
    add,
    allclose,
    clamp,
    clip,
    cos,
    div,
    eq,
    equal,
    exp,
    expm1,
    ge,
    gt,
    isfinite,
    isnan,
    le,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    negative,
    pow,
    reciprocal,
    relu,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    sub,
    tan,
    tanh,
    where,
)
from ._reductions import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    cumsum,
    flip,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    prod,
    softmax,
    std,
    sum,
    var,
)
from ._shape_ops import (
    broadcast_to,
    cat,
    chunk,
    clone,
    concat,
    concatenate,
    flatten,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    t,
    transpose,
    unsqueeze,
)
from ._tensor import Size, Tensor
from .backends import get_cpu_kernels, set_cpu_kernels
from .backends.device import Device as device
from .backends.dtypes import (
    DType as dtype,
)
from .backends.dtypes import (
    bool_ as bool,
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
from . import autograd, cuda  # noqa: E402  (autograd imports the core above)

_tensor_methods.attach()
_inplace.attach()
_random.attach()

from . import nn, optim, utils  # noqa: E402  (they build on the tensor methods above)
from . import distributed  # noqa: E402  (mpi4py is imported only by init_process_group)
from .serialization import load, save  # noqa: E402
from . import viz  # noqa: E402  (graph drawing; graphviz is imported only by make_dot)

half, float, double, long, int = float16, float32, float64, int64, int32
__version__ = "0.1.0"
