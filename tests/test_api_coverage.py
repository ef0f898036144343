"""Issue 16's names: every everyday PyTorch name it lists exists in gpugrad, and the
spellings PyTorch accepts are accepted. (Behaviour is tested per family elsewhere:
tests/test_elementwise_more.py, test_reductions_more.py, test_shape_index_more.py,
test_linalg.py, test_autograd_functional.py, test_random.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

TOP_LEVEL = [
    "randperm",
    "multinomial",
    "bernoulli",
    "normal",
    "Generator",
    "manual_seed",
    "get_default_dtype",
    "set_default_dtype",
    "is_tensor",
    "numel",
    "finfo",
    "iinfo",
    "inference_mode",
    "is_grad_enabled",
    "hstack",
    "vstack",
    "unbind",
    "movedim",
    "narrow",
    "roll",
    "tril",
    "triu",
    "diag",
    "diagonal",
    "trace",
    "repeat_interleave",
    "tile",
    "meshgrid",
    "broadcast_tensors",
    "take_along_dim",
    "gather",
    "scatter",
    "index_select",
    "masked_select",
    "nonzero",
    "einsum",
    "addmm",
    "baddbmm",
    "kron",
    "cdist",
    "norm",
    "dist",
    "exp2",
    "log2",
    "log10",
    "square",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "erf",
    "erfc",
    "erfinv",
    "lgamma",
    "digamma",
    "floor",
    "ceil",
    "round",
    "trunc",
    "frac",
    "fmax",
    "fmin",
    "lerp",
    "remainder",
    "fmod",
    "floor_divide",
    "logaddexp",
    "hypot",
    "isinf",
    "nan_to_num",
    "logical_xor",
    "isclose",
    "var_mean",
    "std_mean",
    "cumprod",
    "cummax",
    "median",
    "quantile",
    "mode",
    "topk",
    "sort",
    "argsort",
    "unique",
    "count_nonzero",
]

TENSOR_METHODS = [
    "type_as",
    "view_as",
    "reshape_as",
    "repeat",
    "unflatten",
    "unfold",
    "narrow",
    "gather",
    "scatter",
    "scatter_",
    "scatter_add",
    "scatter_add_",
    "index_select",
    "index_add_",
    "index_fill_",
    "index_put_",
    "masked_fill",
    "masked_fill_",
    "masked_select",
    "nonzero",
    "where",
    "roll",
    "cumprod",
    "norm",
    "topk",
    "sort",
    "argsort",
    "normal_",
    "uniform_",
    "exponential_",
    "floor",
    "ceil",
    "round",
    "square",
    "lerp",
    "new_zeros",
    "new_ones",
    "new_full",
    "new_tensor",
    "new_empty",
    "isinf",
    "element_size",
    "nbytes",
    "is_contiguous",
    "data_ptr",
    "__floordiv__",
    "__rfloordiv__",
    "__ifloordiv__",
    "__mod__",
    "__rmod__",
    "__imod__",
    "__and__",
    "__rand__",
    "__iand__",
    "__or__",
    "__ror__",
    "__ior__",
    "__xor__",
    "__rxor__",
    "__ixor__",
    "__invert__",
]

LINALG = [
    "norm",
    "vector_norm",
    "matrix_norm",
    "inv",
    "det",
    "solve",
    "cholesky",
    "qr",
    "svd",
    "eigh",
]
AUTOGRAD_FUNCTIONAL = [
    "jacobian",
    "hessian",
    "vjp",
    "jvp",
    "hvp",
    "vhp",
]


@pytest.mark.parametrize(
    "namespace,names",
    [
        ("gpugrad", TOP_LEVEL),
        ("gpugrad.Tensor", TENSOR_METHODS),
        ("gpugrad.linalg", LINALG),
        ("gpugrad.autograd.functional", AUTOGRAD_FUNCTIONAL),
    ],
)
def test_issue_16_names_exist(namespace, names):
    target = {
        "gpugrad": gg,
        "gpugrad.Tensor": gg.Tensor,
        "gpugrad.linalg": gg.linalg,
        "gpugrad.autograd.functional": gg.autograd.functional,
    }[namespace]
    assert [n for n in names if not hasattr(target, n)] == []


def test_spellings_pytorch_accepts(device):
    x = gg.arange(6.0, device=device).reshape(2, 3)
    assert x.sum(1, keepdims=True).tolist() == [[3.0], [12.0]]  # NumPy's spelling
    assert x[np.array([1, 0])].tolist() == [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]]
    assert x[np.array([True, False])].tolist() == [[0.0, 1.0, 2.0]]
    assert gg.randint(5, (2,), device=device).shape == (2,)
    assert (x == None) is False and (x != None) is True  # noqa: E711
    w = gg.ones(2, device=device, requires_grad=True)
    (g,) = gg.autograd.grad((w * 3).sum(), w, only_inputs=True)
    assert g.tolist() == [3.0, 3.0]
    cond = x > 2
    assert x.where(cond, gg.zeros_like(x)).tolist() == [[0.0, 0.0, 0.0], [3.0, 4.0, 5.0]]
