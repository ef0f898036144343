"""Top-level settings, queries and constructors, and legacy Tensor methods
(gpugrad/_topx.py) against PyTorch: values, dtypes, strides, warnings and error texts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")


def _numpy(t):
    return t.detach().cpu().numpy() if isinstance(t, gg.Tensor) else t.detach().numpy()


def _outcome(function):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            result = function()
        except Exception as error:  # noqa: BLE001 - the class and text are compared
            return type(error).__name__, str(error).replace("gpugrad.", "torch.")
    if isinstance(result, (gg.Tensor, torch.Tensor)):
        return str(result.dtype).split(".")[-1], result.tolist()
    if isinstance(result, tuple) and result and isinstance(result[0], (gg.Tensor, torch.Tensor)):
        return [r.tolist() for r in result]
    return result


SAME = {
    "unravel_index": lambda m, d: m.unravel_index(m.tensor([[4, -1], [7, 13]]).to(d), (2, 4)),
    "unravel_index_int": lambda m, d: m.unravel_index(m.tensor(5).to(d), (2, 3)),
    "unravel_index_float": lambda m, d: m.unravel_index(m.tensor(1.0).to(d), (2, 3)),
    "unravel_index_negative_shape": lambda m, d: m.unravel_index(m.tensor(1).to(d), (2, -3)),
    "empty_strided": lambda m, d: m.empty_strided((2, 3), (1, 2), device=d).stride(),
    "empty_strided_rank": lambda m, d: m.empty_strided((2, 3), (1,), device=d),
    "scalar_tensor_bool": lambda m, d: m.scalar_tensor(True, device=d),
    "scalar_tensor_int": lambda m, d: m.scalar_tensor(3, dtype=m.int64, device=d),
    "range_float": lambda m, d: m.range(1, 2.5, 0.5, device=d),
    "range_down": lambda m, d: m.range(3, 0, -1, device=d),
    "range_int": lambda m, d: m.range(0, 3, dtype=m.int64, device=d),
    "range_zero_step": lambda m, d: m.range(0, 3, 0, device=d),
    "range_wrong_sign": lambda m, d: m.range(3, 0, device=d),
    "is_same_size": lambda m, d: m.is_same_size(m.zeros(2, 3).to(d), m.ones(2, 3).to(d)),
    "is_same_size_number": lambda m, d: m.is_same_size(m.zeros(2).to(d), 3),
    "is_signed_float": lambda m, d: m.is_signed(m.zeros(1).to(d)),
    "is_signed_uint8": lambda m, d: m.is_signed(m.zeros(1, dtype=m.uint8).to(d)),
    "is_signed_bool": lambda m, d: m.is_signed(m.zeros(1, dtype=m.bool).to(d)),
    "is_signed_int8": lambda m, d: m.is_signed(m.zeros(1, dtype=m.int8).to(d)),
    "is_neg": lambda m, d: (m.is_neg(m.zeros(1).to(d)), m.zeros(1).to(d).is_neg()),
    "is_inference": lambda m, d: (m.is_inference(m.ones(1).to(d)), m.ones(1).to(d).is_inference()),
    "is_complex": lambda m, d: m.zeros(1, dtype=m.float64).to(d).is_complex(),
    "is_nonzero": lambda m, d: m.tensor([2.0]).to(d).is_nonzero(),
    "is_nonzero_many": lambda m, d: m.tensor([2.0, 1.0]).to(d).is_nonzero(),
    "dim_order": lambda m, d: (m.zeros(2, 3).to(d).t().dim_order(), m.zeros(2, 1, 3).dim_order()),
    "new_sizes": lambda m, d: tuple(m.zeros(3, dtype=m.float64).to(d).new(2, 3).shape),
    "new_data": lambda m, d: m.zeros(3, dtype=m.float64).to(d).new([1, 2]),
    "new_empty": lambda m, d: m.zeros(3, dtype=m.int32).to(d).new(),
    "new_empty_strided": lambda m, d: m.zeros(3).to(d).new_empty_strided((2, 2), (1, 2)).stride(),
    "apply_": lambda m, d: m.arange(3.0).apply_(lambda v: v * v + 1),
    "map_": lambda m, d: m.arange(3.0).map_(m.tensor([1.0, 2.0, 3.0]), lambda a, b: a * b),
    "apply_requires_grad": lambda m, d: m.ones(2, requires_grad=True).apply_(lambda v: v),
    "fill_diagonal": lambda m, d: m.zeros(3, 3, 3).to(d).fill_diagonal_(2.0),
    "fill_diagonal_wrap": lambda m, d: m.zeros(7, 2).to(d).fill_diagonal_(3, wrap=True),
    "fill_diagonal_no_wrap": lambda m, d: m.zeros(7, 2).to(d).fill_diagonal_(3),
    "fill_diagonal_unequal": lambda m, d: m.zeros(2, 3, 4).to(d).fill_diagonal_(3),
    "fill_diagonal_1d": lambda m, d: m.zeros(3).to(d).fill_diagonal_(3),
    "resize_shrink": lambda m, d: m.arange(6.0).to(d).reshape(2, 3).clone().resize_(2, 2),
    "resize_grow_shape": lambda m, d: tuple(m.arange(6.0).to(d).resize_(3, 3).shape),
    "resize_negative": lambda m, d: m.arange(6.0).to(d).resize_(-1),
    "resize_requires_grad": lambda m, d: m.ones(2, requires_grad=True).resize_(3),
    "resize_as_": lambda m, d: m.arange(6.0).to(d).resize_as_(m.zeros(2, 2)),
    "resize": lambda m, d: m.arange(6.0).to(d).resize(3, 2),
    "geometric_p": lambda m, d: m.zeros(3).to(d).geometric_(1.5),
    "cauchy_sigma": lambda m, d: m.zeros(3).to(d).cauchy_(0, -1),
    "cauchy_int": lambda m, d: m.zeros(3, dtype=m.int64).to(d).cauchy_(),
    "log_normal_std": lambda m, d: m.zeros(3).to(d).log_normal_(0, -1),
    "log_normal_int": lambda m, d: m.zeros(3, dtype=m.int64).to(d).log_normal_(),
    "frombuffer": lambda m, d: m.frombuffer(bytearray(b"\x01\0\0\0\x02\0\0\0"), dtype=m.int32),
    "frombuffer_offset": lambda m, d: m.frombuffer(
        bytearray(b"\x01\0\0\0\x02\0\0\0"), dtype=m.int32, count=1, offset=4
    ),
    "frombuffer_ragged": lambda m, d: m.frombuffer(bytearray(3), dtype=m.int32),
    "frombuffer_empty": lambda m, d: m.frombuffer(bytearray(), dtype=m.int32),
    "frombuffer_count": lambda m, d: m.frombuffer(bytearray(8), dtype=m.int32, count=3),
    "frombuffer_past_end": lambda m, d: m.frombuffer(bytearray(8), dtype=m.int32, offset=8),
    "asarray_list": lambda m, d: m.asarray([1, 2], device=d),
    "asarray_dtype": lambda m, d: m.asarray(m.ones(2).to(d), dtype=m.float64),
    "asarray_no_copy_cast": lambda m, d: m.asarray(m.ones(2).to(d), dtype=m.float64, copy=False),
    "asarray_scalar": lambda m, d: m.asarray(3.5, device=d),
    "typename_number": lambda m, d: m.typename(3),
    "adjoint_1d": lambda m, d: m.adjoint(m.zeros(3).to(d)),
    "use_deterministic_algorithms_str": lambda m, d: m.use_deterministic_algorithms("x"),
    "deterministic_debug_mode_str": lambda m, d: m.set_deterministic_debug_mode("foo"),
    "deterministic_debug_mode_int": lambda m, d: m.set_deterministic_debug_mode(5),
    "set_num_threads_zero": lambda m, d: m.set_num_threads(0),
    "set_num_threads_float": lambda m, d: m.set_num_threads(1.5),
    "set_num_interop_threads_zero": lambda m, d: m.set_num_interop_threads(0),
    "default_tensor_type_int": lambda m, d: m.set_default_tensor_type(m.IntTensor),
    "default_tensor_type_number": lambda m, d: m.set_default_tensor_type(3),
    "compiled_with_cxx11_abi": lambda m, d: m.compiled_with_cxx11_abi(),
    "is_storage": lambda m, d: (
        m.is_storage(m.zeros(2).untyped_storage()),
        m.is_storage(m.zeros(2)),
    ),
    "is_distributed": lambda m, d: (m.is_distributed(m.zeros(2)), m.zeros(2).is_distributed()),
    "get_device_cpu": lambda m, d: m.get_device(m.zeros(2)),
    "empty_permuted": lambda m, d: m.empty_permuted((2, 3, 4), (0, 2, 1), device=d).stride(),
    "empty_permuted_duplicate": lambda m, d: m.empty_permuted((2, 3), (0, 0), device=d),
    "is_set_to": lambda m, d: [
        x.is_set_to(y) for x in [m.zeros(3).to(d)] for y in (x, x[:], x.clone(), x[1:])
    ],
    "map2_": lambda m, d: m.ones(2).map2_(
        m.ones(2), m.tensor([2.0, 3.0]), lambda a, b, c: a + b * c
    ),
    "ger": lambda m, d: m.tensor([1.0, 2.0]).to(d).ger(m.tensor([3.0, 4.0, 5.0]).to(d)),
    "false_flags": lambda m, d: [
        getattr(m.zeros(1).to(d), f)
        for f in ("is_meta", "is_mps", "is_xla", "is_sparse", "is_quantized", "is_nested")
    ],
    "is_anomaly_check_nan_enabled": lambda m, d: m.is_anomaly_check_nan_enabled(),
}


@pytest.mark.parametrize("name", sorted(SAME))
def test_as_pytorch(name, device):
    theirs = _outcome(lambda: SAME[name](torch, "cpu"))
    ours = _outcome(lambda: SAME[name](gg, device))
    assert ours == theirs


def test_asarray_shares_and_copies_as_pytorch(device):
    x = gg.ones(3, device=device)
    assert gg.asarray(x) is x
    copied = gg.asarray(x, copy=True)
    copied.zero_()
    assert x.tolist() == [1.0, 1.0, 1.0]
    leaf = gg.asarray(x, requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf and not x.requires_grad
    host = np.arange(3.0)
    shared = gg.asarray(host)
    host[0] = 9.0
    assert shared.tolist() == [9.0, 1.0, 2.0]
    assert gg.asarray(host, copy=True).data_ptr() != host.ctypes.data


def test_frombuffer_shares_the_buffer():
    buffer = bytearray(b"\x01\0\0\0\x02\0\0\0")
    t = gg.frombuffer(buffer, dtype=gg.int32)
    buffer[0] = 7
    assert t.tolist() == [7, 2]


def test_range_warns_deprecated_as_pytorch(device):
    with pytest.warns(UserWarning, match=r"torch.range is deprecated .* use torch.arange"):
        r = gg.range(0, 1, 0.25, device=device)
    assert r.dtype is gg.float32 and r.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_typename_of_tensors():
    assert gg.typename(gg.zeros(2)) == gg.zeros(2).type()
    assert gg.typename(gg.zeros(2, dtype=gg.float64)).endswith("DoubleTensor")
    assert gg.typename(gg.nn.Linear(1, 1)) == "gpugrad.nn.modules.linear.Linear"


def test_thread_settings_reach_the_kernel_pool():
    from gpugrad.backends.kernels import numpy_exec

    before = gg.get_num_threads()
    try:
        gg.set_num_threads(1)
        assert gg.get_num_threads() == numpy_exec.get_num_threads() == 1
    finally:
        gg.set_num_threads(before)
    assert gg.get_num_interop_threads() >= 1


def test_determinism_and_precision_settings_round_trip():
    try:
        gg.use_deterministic_algorithms(True, warn_only=True)
        assert gg.are_deterministic_algorithms_enabled()
        assert gg.is_deterministic_algorithms_warn_only_enabled()
        assert gg.get_deterministic_debug_mode() == 1
        gg.set_deterministic_debug_mode("error")
        assert gg.get_deterministic_debug_mode() == 2
        assert not gg.is_deterministic_algorithms_warn_only_enabled()
    finally:
        gg.set_deterministic_debug_mode(0)
    assert not gg.are_deterministic_algorithms_enabled()
    assert gg.get_float32_matmul_precision() == "highest"
    try:
        gg.set_float32_matmul_precision("medium")
        assert gg.get_float32_matmul_precision() == "medium"
        with pytest.warns(UserWarning, match="foo is not one of 'highest', 'high', or 'medium'"):
            gg.set_float32_matmul_precision("foo")
        assert gg.get_float32_matmul_precision() == "medium"
    finally:
        gg.set_float32_matmul_precision("highest")
    try:
        gg.set_warn_always(True)
        assert gg.is_warn_always_enabled()
    finally:
        gg.set_warn_always(False)
    assert gg.set_flush_denormal(True) is False  # NumPy keeps subnormals: not supported


def test_anomaly_flags():
    assert not gg.is_anomaly_enabled()
    try:
        gg.set_anomaly_enabled(True)
        assert gg.is_anomaly_enabled() and gg.autograd.is_anomaly_enabled()
    finally:
        gg.set_anomaly_enabled(False)
    assert not gg.is_anomaly_enabled()


def test_set_default_tensor_type_warns_and_sets_the_dtype():
    try:
        with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
            gg.set_default_tensor_type(gg.DoubleTensor)
        assert gg.get_default_dtype() is gg.float64 and gg.zeros(1).dtype is gg.float64
        with pytest.warns(UserWarning):
            gg.set_default_tensor_type("torch.FloatTensor")
        assert gg.get_default_dtype() is gg.float32
    finally:
        gg.set_default_dtype(gg.float32)


def test_random_methods_follow_their_distributions(device):
    gen = gg.Generator(device=device).manual_seed(0) if device == "cpu" else None
    gg.manual_seed(0)
    geometric = gg.empty(20000, dtype=gg.float64, device=device).geometric_(0.25, generator=gen)
    assert geometric.min().item() == 1.0 and abs(geometric.mean().item() - 4.0) < 0.1
    cauchy = gg.empty(20000, dtype=gg.float64, device=device).cauchy_(2.0, 0.5)
    assert abs(cauchy.median().item() - 2.0) < 0.05
    quartiles = cauchy.quantile(gg.tensor([0.25, 0.75], dtype=gg.float64, device=device))
    np.testing.assert_allclose(_numpy(quartiles), [1.5, 2.5], atol=0.05)
    log_normal = gg.empty(20000, device=device).log_normal_(1.0, 0.5)
    logs = log_normal.log()
    assert abs(logs.mean().item() - 1.0) < 0.02 and abs(logs.std().item() - 0.5) < 0.02
    x = gg.ones(3, device=device)
    start = x._version
    x.geometric_(0.5)
    assert x._version == start + 1
    leaf = gg.ones(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        leaf.cauchy_()


def test_bernoulli_and_multinomial_methods(device):
    gg.manual_seed(1)
    p = gg.full((4000,), 0.3, dtype=gg.float64, device=device)
    draws = p.bernoulli()
    assert draws.dtype is gg.float64 and set(draws.unique().tolist()) <= {0.0, 1.0}
    assert abs(draws.mean().item() - 0.3) < 0.04
    assert abs(p.bernoulli(0.8).mean().item() - 0.8) < 0.04
    weights = gg.tensor([0.0, 1.0, 0.0], device=device)
    assert weights.multinomial(2, replacement=True).tolist() == [1, 1]


def test_resize_keeps_the_first_elements_and_shares_nothing_new(device):
    x = gg.arange(6.0, device=device)
    start = x._version
    x.resize_(2, 2)
    assert x.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    x.resize_(3, 3)
    assert x.shape == (3, 3) and x.reshape(-1)[:4].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert x._version == start  # as PyTorch: resizing is not a write


def test_legacy_memory_methods(device):
    x = gg.ones(2, device=device)
    assert x.share_memory_() is x and x.is_shared() is (device == "cuda")
    assert x.is_pinned() is False
    if not gg.cuda.is_available():
        with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
            x.pin_memory()
    assert x.storage_type().__name__ == "FloatStorage"
    assert gg.zeros(1, dtype=gg.int64).storage_type().__name__ == "LongStorage"
    with pytest.raises(TypeError, match="bfloat16"):
        x.bfloat16()


def test_output_nr_as_pytorch(device):
    for m, d in ((gg, device), (torch, "cpu")):
        x = (
            m.arange(6.0, requires_grad=True).to(d)
            if m is torch
            else m.arange(6.0, device=d, requires_grad=True)
        )
        pieces = (x * 1).split(2)
        assert [p.output_nr for p in pieces] == [0, 1, 2]
        assert x.output_nr == 0


def test_post_accumulate_grad_hook_as_pytorch(device):
    calls = []
    for m, d in ((gg, device), (torch, "cpu")):
        w = m.ones(2, requires_grad=True) if m is torch else m.ones(2, device=d, requires_grad=True)
        handle = w.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.tolist()))
        (w * 3).sum().backward()
        m.autograd.grad((w * 5).sum(), w)  # accumulates nothing: no call
        (w * 2).sum().backward()
        handle.remove()
        (w * 2).sum().backward()
        with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
            (w * 2).register_post_accumulate_grad_hook(print)
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            m.ones(1).register_post_accumulate_grad_hook(print)
    assert calls == [[3.0, 3.0], [5.0, 5.0]] * 2


def test_as_subclass_shares_memory_and_graph(device):
    class Marked(gg.Tensor):
        pass

    x = gg.ones(2, device=device, requires_grad=True)
    y = x * 2
    marked = y.as_subclass(Marked)
    assert type(marked) is Marked and marked.grad_fn is y.grad_fn
    (marked * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    plain = gg.zeros(2, device=device)
    view = plain.as_subclass(Marked)
    plain.add_(1)
    assert view.tolist() == [1.0, 1.0] and view._version == plain._version == 1


def test_complex_casts_are_refused(device):
    for name in ("cfloat", "cdouble", "chalf"):
        with pytest.raises(TypeError, match="no complex dtypes"):
            getattr(gg.zeros(1, device=device), name)()


def test_set_as_pytorch(device):
    for m, d in ((gg, device), (torch, "cpu")):
        x, y = m.zeros(2).to(d), m.ones(3).to(d)
        start = x._version
        assert x.set_(y) is x and x.tolist() == [1.0, 1.0, 1.0] and x._version == start + 1
        assert x.data_ptr() == y.data_ptr()
        z = m.zeros(2).to(d).set_(y.untyped_storage(), 1, (2,), (1,))
        y[2] = 5.0
        assert z.tolist() == [1.0, 5.0]
        assert tuple(x.set_().shape) == (0,)


def test_removed_attributes_as_pytorch(device):
    x = gg.zeros(1, device=device)
    with pytest.warns(UserWarning, match=r"volatile was removed \(Variable.volatile is always"):
        assert x.volatile is False
    with pytest.raises(RuntimeError) as ours:
        x.reinforce(1.0)
    with pytest.raises(RuntimeError) as theirs:
        torch.zeros(1).reinforce(1.0)
    assert str(theirs.value).startswith(str(ours.value))


def test_layout_as_pytorch(device):
    import pickle

    x = gg.zeros(2, device=device)
    assert x.layout is gg.strided and isinstance(gg.strided, gg.layout)
    assert repr(gg.strided) == repr(torch.strided).replace("torch", "gpugrad")
    assert pickle.loads(pickle.dumps(gg.strided)) is gg.strided
    assert x[None].t().layout is gg.strided
