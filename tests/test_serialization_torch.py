"""PyTorch's zip checkpoints read without PyTorch, and safetensors both ways.

Hostile PyTorch checkpoints are assembled here by hand, opcode by opcode (no PyTorch
involved), next to a well-formed control built by the same assembler that loads; each
hostile one is refused, naming what was refused, before anything runs or allocates.
With PyTorch installed, ``torch.save`` of a small model's state dict (float32, float64,
int64, bool, a non-contiguous view, shared storages, a Parameter) loads with identical
values, also in a subprocess where ``import torch`` fails.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import _torch_pickle
from gpugrad.serialization import CheckpointError, load, save

ROOT = Path(__file__).resolve().parents[1]
MiB = 1 << 20


def traced_peak(action: Callable[[], object]) -> int:
    """Run ``action``; return the peak of the allocations traced meanwhile."""
    tracemalloc.start()
    try:
        action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def refused_peak(path: Path, message: str) -> int:
    """Check that ``load(path)`` raises ``CheckpointError`` matching ``message``; return
    the peak of the allocations traced meanwhile."""

    def refuse() -> None:
        with pytest.raises(CheckpointError, match=message):
            load(path)

    return traced_peak(refuse)


# --- a tiny pickle assembler ----------------------------------------------------------------
def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _str(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _int(n: int) -> bytes:
    if 0 <= n < 256:
        return b"K" + bytes([n])
    data = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def _tuple(items: list[bytes]) -> bytes:
    return b"(" + b"".join(items) + b"t"


def _storage(storage_type="FloatStorage", key="0", numel=3, location="cpu") -> bytes:
    pid = _tuple([_str("storage"), _global("torch", storage_type), _str(key), _str(location)])
    return pid[:-1] + _int(numel) + b"t" + b"Q"


def _tensor(
    storage: bytes,
    offset=0,
    size=(3,),
    stride=(1,),
    hooks: bytes = _global("collections", "OrderedDict") + b")R",
    rebuild=("torch._utils", "_rebuild_tensor_v2"),
) -> bytes:
    args = [
        storage,
        _int(offset),
        _tuple([_int(n) for n in size]),
        _tuple([_int(n) for n in stride]),
        b"\x89",  # requires_grad=False
        hooks,
    ]
    return _global(*rebuild) + _tuple(args) + b"R"


def _state_dict(**tensors: bytes) -> bytes:
    body = b"".join(_str(name) + value + b"s" for name, value in tensors.items())
    return b"\x80\x02}" + body + b"."


def _torch_zip(path, pickle_bytes: bytes, storages: dict[str, bytes], byteorder="little"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        archive.writestr("archive/byteorder", byteorder)
        for key, data in storages.items():
            archive.writestr(f"archive/data/{key}", data)
        archive.writestr("archive/version", "3\n")


def _floats(*values: float, order="<") -> bytes:
    return np.array(values, dtype=order + "f4").tobytes()


def test_hand_built_checkpoint_loads(tmp_path):
    """The control: the assembler's well-formed output loads, with views and byte order."""
    path = tmp_path / "good.pt"
    storage = _storage(numel=6)
    pickled = _state_dict(
        flat=_tensor(storage, size=(6,)),
        view=_tensor(storage, offset=1, size=(2, 2), stride=(1, 3)),
        params=_global("torch._utils", "_rebuild_parameter")
        + _tuple(
            [_tensor(storage, size=(2,)), b"\x88", _global("collections", "OrderedDict") + b")R"]
        )
        + b"R",
    )
    _torch_zip(path, pickled, {"0": _floats(0, 1, 2, 3, 4, 5)})
    out = load(path)
    assert out["flat"].tolist() == [0, 1, 2, 3, 4, 5]
    assert out["view"].tolist() == [[1, 4], [2, 5]]
    assert isinstance(out["params"], gg.nn.Parameter) and out["params"].requires_grad
    out["flat"].mul_(10)  # tensors that shared a storage load as separate tensors
    assert out["view"].tolist() == [[1, 4], [2, 5]] and out["params"].tolist() == [0, 1]

    big_endian = tmp_path / "big.pt"
    _torch_zip(
        big_endian,
        _state_dict(w=_tensor(_storage(numel=3))),
        {"0": _floats(1.5, -2, 3, order=">")},
        byteorder="big",
    )
    assert load(big_endian)["w"].tolist() == [1.5, -2.0, 3.0]


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_reduce_calling_os_system_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    _torch_zip(path, pickle.dumps({"w": _Exploit(str(marker))}, protocol=2), {})
    with pytest.raises(CheckpointError, match=r"GLOBAL (posix|nt|os)\.system was refused"):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("builtins", "eval"),
        ("torch._utils", "_rebuild_device_tensor_from_numpy"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("torch", "load"),
    ],
)
def test_global_outside_the_allowlist_is_refused_by_name(module, name, tmp_path):
    path = tmp_path / "evil.pt"
    pickled = b"\x80\x02" + _global(module, name) + _tuple([_str("1+1")]) + b"R."
    _torch_zip(path, pickled, {})
    with pytest.raises(CheckpointError, match=f"GLOBAL {module}.{name} was refused"):
        load(path)


def test_storage_size_that_disagrees_with_the_data_is_refused_before_allocating(tmp_path):
    path = tmp_path / "liar.pt"
    _torch_zip(path, _state_dict(w=_tensor(_storage(numel=1000), size=(1000,))), {"0": _floats(1)})
    with pytest.raises(CheckpointError, match=r"declares 1000 float32 elements \(4000 bytes\), "):
        load(path)
    huge = tmp_path / "huge.pt"
    numel = 1 << 40
    _torch_zip(huge, _state_dict(w=_tensor(_storage(numel=numel), size=(numel,))), {"0": b""})
    assert refused_peak(huge, "but its data holds 0 bytes") < MiB


@pytest.mark.parametrize(
    ("offset", "size", "stride", "message"),
    [
        (2, (3,), (1,), "reaches element 4 of storage '0', which holds 3"),
        (0, (2, 2), (1, 2), "reaches element 3 of storage '0', which holds 3"),
        (0, (3,), (1 << 40,), "reaches element 2199023255552"),
        (0, (2,), (-1,), "malformed"),
        (0, (2, 2), (1,), "malformed"),
    ],
    ids=["offset", "stride", "huge-stride", "negative-stride", "rank-mismatch"],
)
def test_offsets_and_strides_out_of_bounds_are_refused(offset, size, stride, message, tmp_path):
    path = tmp_path / "oob.pt"
    tensor = _tensor(_storage(numel=3), offset=offset, size=size, stride=stride)
    _torch_zip(path, _state_dict(w=tensor), {"0": _floats(1, 2, 3)})
    with pytest.raises(CheckpointError, match=message):
        load(path)


def test_expanded_tensor_loads_but_a_stride_zero_bomb_is_refused(tmp_path):
    path = tmp_path / "expanded.pt"
    expanded = _tensor(_storage(numel=1), size=(2, 3), stride=(0, 0))
    _torch_zip(path, _state_dict(w=expanded), {"0": _floats(7)})
    assert load(path)["w"].tolist() == [[7.0] * 3] * 2
    bomb = tmp_path / "bomb.pt"
    huge = _tensor(_storage(numel=1), size=(1 << 30, 1 << 10), stride=(0, 0))
    _torch_zip(bomb, _state_dict(w=huge), {"0": _floats(7)})
    assert refused_peak(bomb, "its tensors declare 4096.0 GiB in all") < MiB


@pytest.mark.parametrize(
    ("pickled", "message"),
    [
        (_state_dict(w=_tensor(_storage(), hooks=b"}" + _str("h") + _int(1) + b"s")),
         "backward hooks"),
        (_state_dict(w=_tensor(_storage("BFloat16Storage"))), "dtype bfloat16"),
        (b"\x80\x02" + b"]" * 1_001 + b".", "more than 1000 objects"),
        (b"\x80\x02" + b"\x8a\xff" + b"\x01" * 255 + b".", "integer of 255 bytes"),
        (b"\x80\x02h\x05.", "memo entry 5, which it never stored"),
        (b"\x80\x02}(" + _tuple([b"]"]) + _int(1) + b"u.", "an unhashable dict key"),
        (b"\x80\x02" + _str("x") + b"r\xff\xff\xff\xff" + b"." , None),
        (b"\x80\x02" + _str("x") + b"\x8c", "truncated"),
        (b"\x80\x02" + b"\x81", r"opcode b'\\x81' is not allowed"),
        (b"\x80\x02" + _tuple([_str("storage"), _str("x"), _str("0"), _str("cpu"), _int(1)])
         + b"Q.", "a storage of type 'x'"),
        (b"\x80\x02" + _global("collections", "OrderedDict") + b")R" + b"]b.",
         "BUILD of a OrderedDict is not allowed|BUILD of a list"),
    ],
    ids=["hooks", "bfloat16", "object-count", "long-int", "memo-get", "unhashable-key",
         "huge-memo-index",
         "truncated", "opcode", "storage-type", "build"],
)  # fmt: skip
def test_malformed_pickles_are_refused(pickled, message, tmp_path, monkeypatch):
    monkeypatch.setattr(_torch_pickle, "MAX_OBJECTS", 1000)  # 1,000,000 by default
    path = tmp_path / "bad.pt"
    _torch_zip(path, pickled, {"0": _floats(1, 2, 3)})
    if message is None:  # a 4-billion memo index costs nothing (a dict, not a list)
        loaded = []
        peak = traced_peak(lambda: loaded.append(load(path)))
        assert loaded == ["x"]
    else:
        peak = refused_peak(path, message)
    assert peak < 256 * MiB


def test_legacy_pytorch_format_is_refused_with_advice(tmp_path):
    path = tmp_path / "legacy.pt"
    magic = 0x1950A86A20F9469CFC6C
    path.write_bytes(pickle.dumps(magic, protocol=2) + pickle.dumps(1001, protocol=2))
    with pytest.raises(CheckpointError, match="legacy format .before PyTorch 1.6.*re-save"):
        load(path)


def test_future_format_version_is_refused(tmp_path):
    path = tmp_path / "future.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02K\x01.")
        archive.writestr("archive/version", "9\n")
    with pytest.raises(CheckpointError, match="format version '9'; gpugrad reads versions 1 to 3"):
        load(path)


# --- with PyTorch ---------------------------------------------------------------------------
def _torch_state_dict(torch):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2).double())
    state = model.state_dict()
    base = torch.arange(12.0).reshape(3, 4)
    state["extra.view"] = base.t()[1:]  # non-contiguous, offset 1, shares base's storage
    state["extra.base"] = base
    state["extra.int64"] = torch.arange(-3, 3)
    state["extra.bool"] = torch.tensor([True, False, True])
    state["extra.scalar"] = torch.tensor(2.5, dtype=torch.float64)
    state["extra.empty"] = torch.zeros(0, 3)
    state["extra.param"] = torch.nn.Parameter(torch.ones(2))
    return model, state


def _assert_same(ours, theirs) -> None:
    assert list(ours) == list(theirs)
    for name, value in theirs.items():
        got = ours[name]
        assert got.dtype.name == str(value.dtype).removeprefix("torch."), name
        assert tuple(got.shape) == tuple(value.shape), name
        assert np.array_equal(got.detach().cpu().numpy(), value.detach().numpy()), name


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_torch_state_dict_loads_with_identical_values(protocol, tmp_path, device):
    torch = pytest.importorskip("torch")
    model, state = _torch_state_dict(torch)
    path = tmp_path / "model.pt"
    torch.save(state, path, pickle_protocol=protocol)
    out = load(path, map_location=device)
    _assert_same(out, state)
    assert out["extra.view"].device.type == device
    assert isinstance(out["extra.param"], gg.nn.Parameter) and out["extra.param"].requires_grad

    # into gpugrad modules of the same names, with the same outputs
    ours = gg.nn.Sequential(gg.nn.Linear(4, 3), gg.nn.Linear(3, 2))
    ours[1].double()
    ours.load_state_dict({k: v for k, v in out.items() if not k.startswith("extra.")})
    ours.to(device)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    expected = model[1](model[0](torch.from_numpy(x)).double()).detach().numpy()
    got = ours[1](ours[0](gg.tensor(x, device=device)).double())
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected, rtol=1e-6, atol=1e-7)


def test_legacy_torch_save_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "old.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="legacy format"):
        load(path)


_NO_TORCH = """
import json, sys
sys.modules["torch"] = None  # any "import torch" now raises ImportError
import gpugrad as gg
out = gg.load(sys.argv[1])
assert "torch" not in [m for m, v in sys.modules.items() if v is not None]
print(json.dumps({k: v.detach().numpy().tolist() for k, v in out.items()}))
"""


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_loading_needs_no_torch(suffix, tmp_path):
    torch = pytest.importorskip("torch")
    _, state = _torch_state_dict(torch)
    path = tmp_path / f"model{suffix}"
    if suffix == ".pt":
        torch.save(state, path)
    else:
        pytest.importorskip("safetensors")
        from safetensors.torch import save_file

        state = {k: v.detach().contiguous() for k, v in state.items() if k != "extra.view"}
        save_file(state, path)
    result = subprocess.run(
        [sys.executable, "-c", _NO_TORCH, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded == {k: v.detach().tolist() for k, v in state.items()}


# --- safetensors ----------------------------------------------------------------------------
def test_safetensors_round_trip(tmp_path, device):
    pytest.importorskip("safetensors")
    state = {
        "w": gg.randn(3, 4, device=device),
        "b": gg.arange(5, device=device),
        "h": gg.ones(2, dtype=gg.float16, device=device),
        "m": gg.tensor([True, False], device=device),
        "s": gg.tensor(1.5, dtype=gg.float64, device=device),
    }
    path = tmp_path / "weights.safetensors"
    save(state, path)
    out = load(path, map_location=device)
    assert list(out) == sorted(state) or set(out) == set(state)
    for name, value in state.items():
        assert out[name].dtype == value.dtype and out[name].device.type == device
        assert out[name].tolist() == value.tolist()
    with pytest.raises(TypeError, match="flat dict of str names to tensors"):
        save({"nested": {"w": gg.ones(1)}}, tmp_path / "bad.safetensors")
    assert not (tmp_path / "bad.safetensors").exists()


def test_safetensors_with_pytorch_both_ways(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file, save_file

    _, state = _torch_state_dict(torch)
    state = {k: v.detach().contiguous() for k, v in state.items()}
    theirs = tmp_path / "theirs.safetensors"
    save_file(state, theirs)
    loaded = load(theirs)
    _assert_same({k: loaded[k] for k in state}, state)

    ours = tmp_path / "ours.safetensors"
    save(loaded, ours)
    back = load_file(ours)
    assert set(back) == set(state)
    for name, value in state.items():
        assert back[name].dtype == value.dtype and torch.equal(back[name], value), name


def test_hostile_safetensors_are_refused(tmp_path):
    pytest.importorskip("safetensors")
    path = tmp_path / "bad.safetensors"
    header = json.dumps({"w": {"dtype": "F32", "shape": [1 << 30], "data_offsets": [0, 4 << 30]}})
    path.write_bytes(len(header).to_bytes(8, "little") + header.encode() + bytes(8))
    assert refused_peak(path, "not a valid checkpoint") < MiB
    path.write_bytes((1 << 40).to_bytes(8, "little") + b"{}")
    with pytest.raises(CheckpointError, match="header declares 1099511627776 bytes"):
        load(path)
    header = json.dumps({"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}})
    path.write_bytes(len(header).to_bytes(8, "little") + header.encode() + bytes(2))
    with pytest.raises(CheckpointError, match="dtype 'BF16', which gpugrad does not support"):
        load(path)
    with pytest.raises(CheckpointError, match="exceed max_bytes=10"):
        load(path, max_bytes=10)
    nested = b'{"w": ' + b"[" * 500_000 + b"]" * 500_000 + b"}"
    path.write_bytes(len(nested).to_bytes(8, "little") + nested)
    assert refused_peak(path, "SafetensorError") < 8 * MiB  # the 1 MB file itself, read once


def test_safetensors_is_recognized_without_the_suffix():
    pytest.importorskip("safetensors")
    from safetensors.numpy import save as save_bytes

    data = save_bytes({"w": np.arange(3, dtype=np.float32)})
    assert load(io.BytesIO(data))["w"].tolist() == [0.0, 1.0, 2.0]


def test_randomly_corrupted_torch_checkpoints_raise_only_checkpoint_error(tmp_path):
    path = tmp_path / "good.pt"
    storage = _storage(numel=6)
    _torch_zip(
        path,
        _state_dict(a=_tensor(storage, size=(6,)), b=_tensor(storage, offset=2, size=(2,))),
        {"0": _floats(0, 1, 2, 3, 4, 5)},
    )
    data = path.read_bytes()
    assert load(io.BytesIO(data))["b"].tolist() == [2.0, 3.0]
    rng = np.random.default_rng(1)
    refused = 0
    for _ in range(600):
        corrupt = bytearray(data)
        if rng.integers(2):
            corrupt = corrupt[: int(rng.integers(len(corrupt)))]
        else:
            for position in rng.integers(len(corrupt), size=rng.integers(1, 5)):
                corrupt[position] = int(rng.integers(256))
        try:
            load(io.BytesIO(bytes(corrupt)))
        except CheckpointError:
            refused += 1
    assert refused > 500


def test_cuda_storage_without_cuda_asks_for_map_location(tmp_path, device):
    path = tmp_path / "cuda.pt"
    tensor = _tensor(_storage(numel=3, location="cuda:0"))
    _torch_zip(path, _state_dict(w=tensor), {"0": _floats(1, 2, 3)})
    if not gg.cuda.is_available():
        with pytest.raises(RuntimeError, match=r"map_location=gpugrad.device\('cpu'\)"):
            load(path)
    seen = []
    out = load(path, map_location=lambda storage, location: seen.append(location) or storage)
    assert seen == ["cuda:0"] and out["w"].device.type == "cpu"
    out = load(path, map_location={"cuda:0": device})
    assert out["w"].device.type == device and out["w"].tolist() == [1.0, 2.0, 3.0]


def test_pickled_whole_module_is_refused_naming_its_class(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "module.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(CheckpointError, match="GLOBAL torch.nn.modules.linear.Linear was refused"):
        load(path)
