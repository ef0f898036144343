"""PyTorch-identical tensor printing: fixed expectations plus a torch oracle."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gpugrad.backends.formatting import format_tensor

NAN, INF = float("nan"), float("inf")

# Every expected string below was printed by PyTorch 2.13 (with "torch." -> "gpugrad.").
FIXED = [
    (np.array(3.0, np.float32), "tensor(3.)"),
    (np.float32(0.41211848), "tensor(0.4121)"),
    (np.array(-5.46683, np.float32), "tensor(-5.4668)"),
    (np.array([2 / 3, 4 / 3, 2.0], np.float32), "tensor([0.6667, 1.3333, 2.0000])"),
    (np.array([1.0, 2.0, -3.0], np.float32), "tensor([ 1.,  2., -3.])"),
    (np.array([1e-5, 1.0, 123456.0], np.float32), "tensor([1.0000e-05, 1.0000e+00, 1.2346e+05])"),
    (np.array([1e9, 2.0], np.float32), "tensor([1.0000e+09, 2.0000e+00])"),
    (np.array([1e10, 1.0], np.float32), "tensor([1.0000e+10, 1.0000e+00])"),
    (np.array([5e-5, 9e-5], np.float32), "tensor([5.0000e-05, 9.0000e-05])"),
    (np.array([2e8, 3e8]), "tensor([2.0000e+08, 3.0000e+08], dtype=gpugrad.float64)"),
    (np.array([1.0, 999.0, 0.5], np.float32), "tensor([1.0000e+00, 9.9900e+02, 5.0000e-01])"),
    (np.array([1, -20, 300]), "tensor([  1, -20, 300])"),
    (
        np.array([[1, 2], [3, 4]], np.int32),
        "tensor([[1, 2],\n        [3, 4]], dtype=gpugrad.int32)",
    ),
    (np.array([0, 255], np.uint8), "tensor([  0, 255], dtype=gpugrad.uint8)"),
    (np.array([True, False, True]), "tensor([ True, False,  True])"),
    (np.array([1.5, 2.25]), "tensor([1.5000, 2.2500], dtype=gpugrad.float64)"),
    (
        np.array([0.1, 1000.0], np.float16),
        "tensor([9.9976e-02, 1.0000e+03], dtype=gpugrad.float16)",
    ),
    (np.zeros(0, np.float32), "tensor([])"),
    (np.zeros((0, 3), np.float32), "tensor([], size=(0, 3))"),
    (np.zeros(0, np.int64), "tensor([], dtype=gpugrad.int64)"),
    (np.zeros((2, 0, 4), np.int8), "tensor([], size=(2, 0, 4), dtype=gpugrad.int8)"),
    (
        np.array(
            [
                [0.1257, -0.1321, 0.6404, 0.1049],
                [-0.5357, 0.3616, 1.3040, 0.9471],
                [-0.7037, -1.2654, -0.6233, 0.0413],
            ],
            np.float32,
        ),
        "tensor([[ 0.1257, -0.1321,  0.6404,  0.1049],\n"
        "        [-0.5357,  0.3616,  1.3040,  0.9471],\n"
        "        [-0.7037, -1.2654, -0.6233,  0.0413]])",
    ),
    (
        np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 4,
        "tensor([[[0.0000, 0.2500, 0.5000, 0.7500],\n"
        "         [1.0000, 1.2500, 1.5000, 1.7500],\n"
        "         [2.0000, 2.2500, 2.5000, 2.7500]],\n"
        "\n"
        "        [[3.0000, 3.2500, 3.5000, 3.7500],\n"
        "         [4.0000, 4.2500, 4.5000, 4.7500],\n"
        "         [5.0000, 5.2500, 5.5000, 5.7500]]])",
    ),
    (
        np.arange(30, dtype=np.float32) / 3,
        "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n"
        "        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n"
        "        6.0000, 6.3333, 6.6667, 7.0000, 7.3333, 7.6667, 8.0000, 8.3333, 8.6667,\n"
        "        9.0000, 9.3333, 9.6667])",
    ),
    (np.arange(1001, dtype=np.float32), "tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])"),
    (
        np.arange(2000).reshape(40, 50),
        "tensor([[   0,    1,    2,  ...,   47,   48,   49],\n"
        "        [  50,   51,   52,  ...,   97,   98,   99],\n"
        "        [ 100,  101,  102,  ...,  147,  148,  149],\n"
        "        ...,\n"
        "        [1850, 1851, 1852,  ..., 1897, 1898, 1899],\n"
        "        [1900, 1901, 1902,  ..., 1947, 1948, 1949],\n"
        "        [1950, 1951, 1952,  ..., 1997, 1998, 1999]])",
    ),
    (
        np.array([NAN, INF, -INF, 1.5, -0.0], np.float32),
        "tensor([   nan,    inf,   -inf, 1.5000, -0.0000])",
    ),
    (np.array([NAN, 0.0], np.float32), "tensor([nan, 0.])"),
    (np.array([NAN, 1.0, 2.0], np.float32), "tensor([nan, 1., 2.])"),
    (np.array([-0.0, 0.25], np.float32), "tensor([-0.0000, 0.2500])"),
    # The dtype suffix does not fit after a 79-character line, so it wraps.
    (
        np.arange(8, dtype=np.float64) + 10.5,
        "tensor([10.5000, 11.5000, 12.5000, 13.5000, 14.5000, 15.5000, 16.5000, 17.5000],\n"
        "       dtype=gpugrad.float64)",
    ),
    # Break positions follow torch's "dtype=torch.int16" length, so this line is 81 wide.
    (
        np.arange(10, 23, dtype=np.int16),
        "tensor([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22], dtype=gpugrad.int16)",
    ),
    (
        np.arange(12, dtype=np.float64) + 0.5,
        "tensor([ 0.5000,  1.5000,  2.5000,  3.5000,  4.5000,  5.5000,  6.5000,  7.5000,\n"
        "         8.5000,  9.5000, 10.5000, 11.5000], dtype=gpugrad.float64)",
    ),
]


@pytest.mark.parametrize(("values", "expected"), FIXED, ids=range(len(FIXED)))
def test_fixed(values: np.ndarray, expected: str) -> None:
    assert format_tensor(values) == expected


def test_device_and_requires_grad() -> None:
    got = format_tensor(
        np.array([1.0, 2.0], np.float32), device="cuda:0", extra=["requires_grad=True"]
    )
    assert got == "tensor([1., 2.], device='cuda:0', requires_grad=True)"


def test_grad_fn() -> None:
    got = format_tensor(np.array([1.0, 4.0], np.float32), extra=["grad_fn=<PowBackward0>"])
    assert got == "tensor([1., 4.], grad_fn=<PowBackward0>)"


def test_second_suffix_wraps() -> None:
    got = format_tensor(np.arange(12, dtype=np.float64) * 1.5, extra=["grad_fn=<MulBackward0>"])
    assert got == (
        "tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n"
        "        12.0000, 13.5000, 15.0000, 16.5000], dtype=gpugrad.float64,\n"
        "       grad_fn=<MulBackward0>)"
    )


def test_cpu_device_is_implicit() -> None:
    assert format_tensor(np.array([1, 2]), device="cpu") == "tensor([1, 2])"


def test_rejects_unsupported_dtype() -> None:
    with pytest.raises(TypeError):
        format_tensor(np.array([1 + 2j]))


# --- torch oracle -------------------------------------------------------------------------------

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
SHAPES = [
    (),
    (1,),
    (5,),
    (7,),
    (12,),
    (100,),
    (1000,),
    (1001,),
    (2000,),
    (0,),
    (0, 3),
    (2, 0, 4),
    (1, 1),
    (3, 4),
    (6, 7),
    (40, 50),
    (3, 400),
    (1, 2000),
    (2000, 1),
    (7, 7, 7),
    (10, 10, 11),
    (13, 13, 6),
    (2, 3, 4, 5),
    (4, 4, 4, 16),
    (3, 1, 7, 2),
]
N_ORACLE = 400


def _random_array(rng: np.random.Generator) -> np.ndarray:
    dtype = np.dtype(DTYPES[rng.integers(len(DTYPES))])
    shape = SHAPES[rng.integers(len(SHAPES))]
    if dtype.kind == "b":
        return rng.random(shape) < rng.random()
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        hi = min(int(info.max), 10 ** int(rng.integers(1, 19)))
        lo = 0 if dtype.kind == "u" else -hi
        return rng.integers(lo, hi, size=shape, dtype=dtype, endpoint=True)
    scale = 10.0 ** rng.uniform(-6, 10)
    kind = rng.integers(5)
    if kind == 0:
        x = rng.standard_normal(shape) * scale
    elif kind == 1:  # integral values
        x = np.round(rng.standard_normal(shape) * 10.0 ** rng.integers(0, 10))
    elif kind == 2:  # magnitudes spanning many decades
        x = rng.standard_normal(shape) * 10.0 ** rng.uniform(-8, 12, shape)
    elif kind == 3:
        x = rng.random(shape) * scale
    else:  # narrow range: only the min < 1e-4 and max > 1e8 rules can trigger sci mode
        x = (1 + rng.random(shape)) * scale
    x = np.asarray(x)
    if rng.random() < 0.4:  # sprinkle specials
        specials = np.array([NAN, INF, -INF, 0.0, -0.0])
        mask = rng.random(shape) < 0.2
        x = np.where(mask, rng.choice(specials, size=shape), x)
    with np.errstate(over="ignore"):
        return np.asarray(x).astype(dtype)


def _torch_suffixes(torch, t) -> tuple[str, list[str]]:
    """Split torch's CPU repr into ``tensor(<body>`` and its list of suffixes."""
    body = torch._tensor_str._tensor_str(t.detach(), len("tensor("))
    text = repr(t)
    head = "tensor(" + body
    assert text.startswith(head) and text.endswith(")")
    return head, re.split(r",\s*(?=[a-z_]+=)", text[len(head) : -1])[1:]


@pytest.mark.parametrize("seed", range(N_ORACLE))
def test_matches_torch(seed: int) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    a = _random_array(rng)
    t = torch.from_numpy(a)
    floating = a.dtype.kind == "f"
    mode = seed % 4
    if mode == 0:
        got, ref = format_tensor(a), repr(t)
    elif mode == 1 and floating:
        got, ref = format_tensor(a, extra=["requires_grad=True"]), repr(t.requires_grad_())
    elif mode == 2:  # no GPU here: add the device suffix with torch's own wrapping rule
        if floating:
            t.requires_grad_()
        head, suffixes = _torch_suffixes(torch, t)
        extra = ["requires_grad=True"] if floating else []
        got = format_tensor(a, device="cuda:0", extra=extra)
        ref = torch._tensor_str._add_suffixes(head, ["device='cuda:0'", *suffixes], 7, False)
    elif mode == 3 and floating:
        got = format_tensor(a, extra=["grad_fn=<MulBackward0>"])
        ref = repr(t.requires_grad_() * 1)
    else:
        got, ref = format_tensor(a), repr(t)
    assert got == ref.replace("torch.", "gpugrad.")
