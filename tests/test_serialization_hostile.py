"""gg.load of hostile files: decompression bombs, absurd declared sizes, hostile JSON
descriptions, unsupported zip features; one exception type; map_location as PyTorch reads
it; and gg.save's atomic replace. Every hostile file is built here, small (a few MB at most),
and each refusal is shown to allocate far less than the file declares (tracemalloc, which
sees NumPy's allocations too)."""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import tracemalloc
import zipfile

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import serialization
from gpugrad.backends import checkpoint_io
from gpugrad.serialization import CheckpointError, load, save

MiB = 1 << 20


# --- building files by hand -----------------------------------------------------------------
def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _header_bytes(root, text: str | None = None) -> bytes:
    if text is None:
        text = json.dumps({"format": "gpugrad", "version": 1, "root": root})
    return _npy(np.frombuffer(text.encode(), dtype=np.uint8))


def _tensor_node(key="t0", dtype="float32", shape=(2,), device="cpu"):
    return {"tensor": key, "dtype": dtype, "shape": list(shape), "device": device}


def _write_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _zeros_member(archive: zipfile.ZipFile, name: str, count: int) -> None:
    """A deflated .npy member of ``count`` float32 zeros, streamed (never held whole)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (count,)}
    )
    chunk = bytes(MiB)
    with archive.open(name, "w", force_zip64=True) as member:
        member.write(header.getvalue())
        left = count * 4
        while left:
            member.write(chunk[: min(left, MiB)])
            left -= min(left, MiB)


def _bomb(path, count: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("__gpugrad__.npy", _header_bytes(_tensor_node(shape=(count,))))
        _zeros_member(archive, "t0.npy", count)


def _peak(fn) -> tuple[BaseException | None, int]:
    """Run ``fn``; return what it raised and the peak of traced allocations."""
    tracemalloc.start()
    raised = None
    try:
        fn()
    except BaseException as error:  # noqa: BLE001 - returned to the caller to assert on
        raised = error
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return raised, peak


def _patch_central_directory(path, offset: int, value: int, width: int = 4) -> None:
    """Overwrite a field of the (only) member's central-directory record."""
    data = bytearray(path.read_bytes())
    start = data.rindex(b"PK\x01\x02")
    data[start + offset : start + offset + width] = value.to_bytes(width, "little")
    path.write_bytes(bytes(data))


# --- one exception type -------------------------------------------------------------------
def test_checkpoint_error_is_what_pytorch_users_catch():
    assert issubclass(CheckpointError, pickle.UnpicklingError)
    assert issubclass(CheckpointError, RuntimeError)
    assert issubclass(CheckpointError, ValueError)
    assert "CheckpointError" in serialization.__all__


# --- decompression bombs and absurd sizes -------------------------------------------------
def test_decompression_bomb_is_refused_before_allocating(tmp_path):
    path = tmp_path / "bomb.npz"
    count = 8 * MiB  # 32 MiB of float32 zeros, deflated to ~32 KB
    _bomb(path, count)
    assert path.stat().st_size < MiB // 4
    raised, peak = _peak(lambda: load(path))
    assert isinstance(raised, CheckpointError), raised
    assert "decompression bomb" in str(raised) and "max_bytes=" in str(raised)
    assert peak < 4 * MiB, peak  # the member declares 32 MiB


def test_max_bytes_lets_a_trusted_compressed_file_load_and_caps_a_plain_one(tmp_path, device):
    path = tmp_path / "zeros.npz"
    _bomb(path, MiB // 4)  # 1 MiB of zeros, deflated to ~1 KB
    with pytest.raises(CheckpointError, match="decompression bomb"):
        load(path)
    out = load(path, max_bytes=2 * MiB, map_location=device)
    assert out.shape == (MiB // 4,) and out.device.type == device
    assert float(out.abs().sum()) == 0.0

    plain = tmp_path / "plain.npz"
    save({"w": gg.ones(1000)}, plain)
    assert load(plain)["w"].shape == (1000,)
    with pytest.raises(CheckpointError, match="more than the 1000 bytes allowed"):
        load(plain, max_bytes=1000)
    with pytest.raises(ValueError, match="max_bytes must be a non-negative int"):
        load(plain, max_bytes=-1)


def test_member_declaring_more_than_deflate_can_hold_is_refused(tmp_path):
    path = tmp_path / "liar.npz"
    _write_zip(path, {"t0.npy": bytes(5000)}, zipfile.ZIP_DEFLATED)
    _patch_central_directory(path, 24, 0xFFFF_FFF0)  # uncompressed size: ~4 GiB
    raised, peak = _peak(lambda: load(path, max_bytes=1 << 40))
    assert isinstance(raised, CheckpointError), raised
    assert "more than deflate can expand to" in str(raised)
    assert peak < MiB


def test_stored_member_whose_sizes_disagree_is_refused(tmp_path):
    path = tmp_path / "liar.npz"
    _write_zip(path, {"__gpugrad__.npy": _header_bytes({"value": 1})})
    _patch_central_directory(path, 24, 0xFFFF_FFF0)
    with pytest.raises(CheckpointError, match="stored member '__gpugrad__.npy' declares"):
        load(path, max_bytes=1 << 40)


def test_array_header_declaring_more_than_its_member_is_refused(tmp_path):
    path = tmp_path / "big.npz"
    huge = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        huge, {"descr": "<f8", "fortran_order": False, "shape": (1 << 40,)}
    )
    root = _tensor_node(dtype="float64", shape=(1 << 40,))
    _write_zip(path, {"__gpugrad__.npy": _header_bytes(root), "t0.npy": huge.getvalue()})
    raised, peak = _peak(lambda: load(path))
    assert isinstance(raised, CheckpointError), raised
    assert "declares 8796093022208 bytes of <f8 data, but the member holds 0" in str(raised)
    assert peak < MiB


# --- hostile JSON descriptions ------------------------------------------------------------
def _header_zip(path, text: str) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("__gpugrad__.npy", _header_bytes(None, text))


def test_header_of_many_small_arrays_is_refused_before_parsing(tmp_path):
    # 3M empty arrays: 9 MB of text (a ~20 KB file) that json.loads would turn into
    # ~200 MB of Python lists.
    path = tmp_path / "wide.npz"
    _header_zip(path, '{"format": "gpugrad", "version": 1, "root": [' + "[]," * 3_000_000 + "[]]}")
    assert path.stat().st_size < MiB // 10
    with pytest.raises(CheckpointError, match="decompression bomb"):
        load(path)
    raised, peak = _peak(lambda: load(path, max_bytes=1 << 30))
    assert isinstance(raised, CheckpointError), raised
    assert "more than 1048576 arrays/objects" in str(raised)
    assert peak < 48 * MiB, peak


def test_deeply_nested_header_is_refused_before_parsing(tmp_path):
    path = tmp_path / "deep.npz"
    _header_zip(path, '{"root": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(CheckpointError, match="nested deeper than 1024 levels"):
        load(path, max_bytes=1 << 30)


def test_header_larger_than_the_limit_is_refused(tmp_path):
    path = tmp_path / "long.npz"
    _header_zip(path, " " * (serialization.MAX_HEADER_BYTES + 1))
    with pytest.raises(CheckpointError, match="description entry declares 16.0 MiB"):
        load(path, max_bytes=1 << 30)


def test_five_thousand_digit_integer_is_named_not_called_truncated(tmp_path):
    path = tmp_path / "digits.npz"
    text = '{"format": "gpugrad", "version": 1, "root": {"value": ' + "9" * 5000 + "}}"
    _header_zip(path, text)
    with pytest.raises(CheckpointError, match="an integer of 5000 digits") as raised:
        load(path)
    assert "truncated" not in str(raised.value)


# --- unsupported zip features -------------------------------------------------------------
def test_unsupported_compression_is_refused_by_name(tmp_path):
    path = tmp_path / "bzip.npz"
    _write_zip(path, {"__gpugrad__.npy": _header_bytes({"value": 1})}, zipfile.ZIP_BZIP2)
    with pytest.raises(CheckpointError, match="compression method 12"):
        load(path)


def test_encrypted_member_is_refused(tmp_path):
    path = tmp_path / "secret.npz"
    _write_zip(path, {"__gpugrad__.npy": _header_bytes({"value": 1})})
    assert load(path) == 1  # the same file, unencrypted, loads
    _patch_central_directory(path, 8, 0x1, width=2)  # general-purpose flag: encrypted
    with pytest.raises(CheckpointError, match="member '__gpugrad__.npy' is encrypted"):
        load(path)


def test_member_past_the_end_of_the_file_is_refused(tmp_path):
    path = tmp_path / "short.npz"
    _write_zip(path, {"__gpugrad__.npy": _header_bytes({"value": 1})})
    _patch_central_directory(path, 20, 1 << 30)  # compressed size: 1 GiB
    with pytest.raises(CheckpointError, match="extends past the end of the file"):
        load(path, max_bytes=1 << 40)


# --- map_location ---------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "t.npz"
    save({"w": gg.tensor([1.0, 2.0]), "n": gg.tensor([3, 4])}, path)
    return path


@pytest.mark.parametrize("bad", ["tpu", {"cpu": "tpu"}], ids=["str", "dict"])
def test_bad_map_location_blames_the_argument_with_pytorchs_text(bad, saved):
    with pytest.raises(RuntimeError) as raised:
        load(saved, map_location=bad)
    assert not isinstance(raised.value, CheckpointError)
    ours = str(raised.value)
    assert ours == (
        "don't know how to restore data location of gpugrad.storage.UntypedStorage "
        "(tagged with tpu)"
    )
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    torch.save(torch.ones(2), buffer)
    buffer.seek(0)
    with pytest.raises(RuntimeError) as torch_raised:
        torch.load(buffer, map_location=bad)
    assert str(torch_raised.value).replace("torch.", "gpugrad.") == ours


def test_map_location_forms(saved, device):
    for form in (device, gg.device(device), {"cpu": device}):
        out = load(saved, map_location=form)
        assert out["w"].device.type == device and out["w"].tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="map_location should be"):
        load(saved, map_location=3)


def test_callable_map_location_gets_each_storage_and_its_location(saved, device):
    seen = []

    def move(storage, location):
        seen.append((tuple(storage.shape), storage.dtype, location))
        return storage.to(device)

    out = load(saved, map_location=move)
    assert sorted(seen, key=str) == sorted(
        [((2,), gg.float32, "cpu"), ((2,), gg.int64, "cpu")], key=str
    )
    assert out["w"].device.type == device and out["n"].tolist() == [3, 4]
    assert load(saved, map_location=lambda storage, location: None)["w"].tolist() == [1.0, 2.0]
    assert load(saved, map_location=lambda s, loc: s)["w"].device.type == "cpu"
    with pytest.raises(RuntimeError, match="map_location must return a storage"):
        load(saved, map_location=lambda storage, location: "cpu")


def test_cuda_checkpoint_without_cuda_says_to_pass_map_location(tmp_path):
    if gg.cuda.is_available():
        pytest.skip("a CUDA device is present")
    path = tmp_path / "cuda.npz"
    root = _tensor_node(device="cuda:0")
    _write_zip(path, {"__gpugrad__.npy": _header_bytes(root), "t0.npy": _npy(np.ones(2, "f4"))})
    with pytest.raises(RuntimeError, match="torch|gpugrad.cuda.is_available.. is False") as e:
        load(path)
    assert "map_location=gpugrad.device('cpu')" in str(e.value)
    assert load(path, map_location="cpu").tolist() == [1.0, 1.0]


# --- atomic save ----------------------------------------------------------------------------
def _disk_full_after(calls: int):
    state = {"left": calls}
    original = checkpoint_io.write_npy

    def write_npy(stream, array):
        if state["left"] == 0:
            stream.write(b"partial bytes")
            raise OSError(errno.ENOSPC, "No space left on device")
        state["left"] -= 1
        original(stream, array)

    return write_npy


@pytest.mark.parametrize("name", ["ckpt.npz", "ckpt.pt"])
def test_failed_save_keeps_the_previous_checkpoint_and_leaves_no_temporary(
    name, tmp_path, monkeypatch
):
    path = tmp_path / name
    save({"w": gg.tensor([1.0, 2.0])}, path)
    good = path.read_bytes()
    monkeypatch.setattr(checkpoint_io, "write_npy", _disk_full_after(1))
    with pytest.raises(OSError, match="No space left on device"):
        save({"w": gg.tensor([5.0, 6.0]), "v": gg.ones(100)}, path)
    assert os.listdir(tmp_path) == [name]
    assert path.read_bytes() == good
    assert load(path)["w"].tolist() == [1.0, 2.0]
    monkeypatch.undo()

    fresh = tmp_path / "fresh.npz"
    monkeypatch.setattr(checkpoint_io, "write_npy", _disk_full_after(0))
    with pytest.raises(OSError):
        save({"w": gg.ones(2)}, fresh)
    assert os.listdir(tmp_path) == [name]


def test_save_fsyncs_then_replaces_and_keeps_the_umask(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1]
    )
    path = tmp_path / "ckpt.npz"
    save({"w": gg.ones(2)}, path)
    assert events[:2] == ["fsync", "replace"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_through_a_symlink_replaces_the_target(tmp_path):
    target = tmp_path / "real.npz"
    link = tmp_path / "link.npz"
    save(gg.ones(1), target)
    link.symlink_to(target)
    save(gg.zeros(1), link)
    assert link.is_symlink() and load(target).tolist() == [0.0]


# --- random corruption ------------------------------------------------------------------------
def _corruptions(data: bytes, count: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        corrupt = bytearray(data)
        kind = rng.integers(3)
        if kind == 0:  # a few flipped bytes anywhere
            for position in rng.integers(len(corrupt), size=rng.integers(1, 5)):
                corrupt[position] = int(rng.integers(256))
        elif kind == 1:  # truncated
            corrupt = corrupt[: int(rng.integers(len(corrupt)))]
        else:  # four random bytes, e.g. over a size or an offset
            position = int(rng.integers(len(corrupt)))
            corrupt[position : position + 4] = rng.integers(256, size=4).astype(np.uint8).tobytes()
        yield bytes(corrupt)


def test_randomly_corrupted_checkpoints_raise_only_checkpoint_error():
    """Flipped bytes, truncations and overwritten fields in the directory, the headers
    or the data either load (a flip in padding or in a value) or raise CheckpointError,
    never zipfile's, NumPy's or the codec's own exceptions (the cases each were found by)."""
    buffer = io.BytesIO()
    save({"w": gg.randn(5, 3), "meta": [1, 2.5, "x"], "n": gg.arange(4)}, buffer)
    outcomes = {"loaded": 0, "refused": 0}
    for corrupt in _corruptions(buffer.getvalue(), 600, seed=0):
        try:
            load(io.BytesIO(corrupt))
            outcomes["loaded"] += 1
        except CheckpointError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 500, outcomes
