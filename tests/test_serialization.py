"""gg.save / gg.load: round trips, and refusal of malformed, truncated or hostile files."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.nn.modules import CrossEntropyLoss, Linear, ReLU, Sequential
from gpugrad.nn.parameter import Parameter
from gpugrad.optim import Adam
from gpugrad.serialization import CheckpointError, load, save


def _round_trip(obj, tmp_path, name="checkpoint.gg"):
    path = tmp_path / name
    save(obj, path)
    return load(path)


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
)
def test_tensor_round_trip_keeps_dtype_shape_and_values(dtype: str, tmp_path, device: str):
    values = np.arange(-3, 9).reshape(3, 2, 2) % (2 if dtype == "bool" else 100)
    t = gg.tensor(values.astype(dtype), device=device)
    out = _round_trip(t, tmp_path)
    assert out.dtype.name == dtype and out.shape == t.shape and out.device == t.device
    assert out.tolist() == t.tolist()


def test_scalars_empty_and_grad_flags(tmp_path):
    p = Parameter(gg.tensor([1.0, 2.0]))
    frozen = Parameter(gg.tensor([3.0]), requires_grad=False)
    leaf = gg.tensor(1.5, requires_grad=True)
    out = _round_trip(
        {"p": p, "frozen": frozen, "leaf": leaf, "empty": gg.zeros(0, 3), "int": gg.tensor(7)},
        tmp_path,
    )
    assert isinstance(out["p"], Parameter) and out["p"].requires_grad
    assert isinstance(out["frozen"], Parameter) and not out["frozen"].requires_grad
    assert not isinstance(out["leaf"], Parameter) and out["leaf"].requires_grad
    assert out["leaf"].shape == () and out["leaf"].item() == 1.5
    assert out["empty"].shape == (0, 3) and out["int"].item() == 7


def test_nested_structure_round_trip(tmp_path):
    shared = gg.randn(3)
    obj = {
        "state": {0: {"step": gg.tensor(3.0), "buf": shared}, 1: {"buf": shared}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "nesterov": False, "params": [0, 1]}],
        "meta": [None, "text", 1e-8, float("inf"), -5, True, ()],
        2.5: "float key",
        None: "none key",
    }
    out = _round_trip(obj, tmp_path)
    assert list(out) == ["state", "param_groups", "meta", 2.5, None]
    assert list(out["state"]) == [0, 1]
    assert out["param_groups"] == obj["param_groups"]
    assert isinstance(out["param_groups"][0]["betas"], tuple)
    assert out["meta"] == obj["meta"]
    assert out["state"][0]["buf"] is out["state"][1]["buf"]  # stored once, loaded once
    assert gg.equal(out["state"][0]["buf"], shared)


def test_model_state_dict_round_trip_restores_outputs(tmp_path, device: str):
    gg.manual_seed(0)
    model = Sequential(Linear(6, 16), ReLU(), Linear(16, 3)).to(device)
    x = gg.randn(5, 6, device=device)
    loss = CrossEntropyLoss()(model(x), gg.tensor([0, 1, 2, 1, 0], device=device))
    loss.backward()
    Adam(model.parameters(), lr=0.1).step()  # trained values, not the initial ones
    expected = model(x)

    path = tmp_path / "model.npz"
    save(model.state_dict(), path)
    loaded = load(path)
    assert list(loaded) == ["0.weight", "0.bias", "2.weight", "2.bias"]

    gg.manual_seed(123)
    fresh = Sequential(Linear(6, 16), ReLU(), Linear(16, 3)).to(device)
    assert not gg.equal(fresh(x), expected)
    fresh.load_state_dict(loaded)
    assert gg.equal(fresh(x), expected)


def test_optimizer_state_dict_round_trip(tmp_path):
    w = Parameter(gg.tensor([1.0, -2.0]))
    optimizer = Adam([w], lr=0.1, amsgrad=True)
    (w * w).sum().backward()
    optimizer.step()
    loaded = _round_trip(optimizer.state_dict(), tmp_path)
    w2 = Parameter(w.detach().clone())
    restored = Adam([w2])
    restored.load_state_dict(loaded)
    for opt, p in ((optimizer, w), (restored, w2)):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    assert w2.tolist() == w.tolist()
    assert restored.param_groups[0]["betas"] == (0.9, 0.999)


def test_file_objects_and_exact_paths(tmp_path):
    buffer = io.BytesIO()
    save({"w": gg.ones(2)}, buffer)
    buffer.seek(0)
    assert load(buffer)["w"].tolist() == [1.0, 1.0]
    path = tmp_path / "weights.pt"  # written as named, no ".npz" appended
    save(gg.ones(1), str(path))
    assert os.listdir(tmp_path) == ["weights.pt"]
    assert zipfile.is_zipfile(path)


def test_map_location(tmp_path, device: str):
    t = gg.ones(2, device=device)
    path = tmp_path / "t.npz"
    save(t, path)
    assert load(path, map_location="cpu").device.type == "cpu"
    assert load(path, map_location={str(t.device): "cpu"}).device.type == "cpu"


def test_save_refuses_unsupported_objects(tmp_path):
    with pytest.raises(TypeError, match="cannot store an object of type function"):
        save({"x": lambda: 0}, tmp_path / "x.npz")  # objects are pickled; lambdas cannot be
    with pytest.raises(TypeError, match="dict keys must be"):
        save({(1, 2): gg.ones(1)}, tmp_path / "x.npz")


# --- hostile and broken files ---------------------------------------------------------------
class _Exploit:
    """Unpickling this runs ``os.system`` (creating a marker file)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _header(root) -> np.ndarray:
    text = json.dumps({"format": "gpugrad", "version": 1, "root": root})
    return np.frombuffer(text.encode(), dtype=np.uint8)


def test_pickle_bearing_npz_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    payload = np.empty(1, dtype=object)
    payload[0] = _Exploit(str(marker))
    path = tmp_path / "evil.npz"
    root = {"tensor": "t0", "dtype": "float32", "shape": [1], "device": "cpu"}
    with open(path, "wb") as f:
        np.savez(f, __gpugrad__=_header(root), t0=payload)
    with pytest.raises(ValueError, match="pickled Python objects"):
        load(path)
    # Even a description claiming the right dtype, or a pickled header, runs nothing.
    with open(path, "wb") as f:
        np.savez(f, __gpugrad__=payload)
    with pytest.raises(ValueError, match="pickled|object"):
        load(path)
    assert not marker.exists()


def test_raw_pickle_file_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": _Exploit(str(marker))}))
    with pytest.raises(ValueError, match="a pickle, which gpugrad never unpickles"):
        load(path)
    assert not marker.exists()


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    save(Sequential(Linear(20, 20), Linear(20, 2)).state_dict(), path)
    data = path.read_bytes()
    for cut in (len(data) // 3, len(data) - 30, 10):
        truncated = tmp_path / f"cut{cut}.npz"
        truncated.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="truncated or corrupt|not a valid"):
            load(truncated)


def test_corrupted_bytes_are_refused(tmp_path):
    path = tmp_path / "model.npz"
    save({"w": gg.ones(100)}, path)
    data = bytearray(path.read_bytes())
    start = data.index(b"\x93NUMPY", 200)  # inside the tensor entry
    data[start + 200 : start + 240] = b"\xff" * 40
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load(path)


@pytest.mark.parametrize(
    "content",
    [
        (b"", "the file is empty"),
        (b"hello, not a checkpoint\n", "not an .npz .zip. archive, a PyTorch zip checkpoint"),
        (b"\x93NUMPY\x01\x00" + b"x" * 100, "a single .npy array"),
    ],
    ids=["empty", "text", "npy"],
)
def test_non_npz_files_are_refused(content, tmp_path):
    data, message = content
    path = tmp_path / "bad.npz"
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match=message):
        load(path)


def _write_npz(path, **arrays) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"weights": np.ones(2)}, "no '__gpugrad__' entry"),
        ({"__gpugrad__": np.frombuffer(b"{not json", dtype=np.uint8)}, "not valid JSON"),
        ({"__gpugrad__": np.ones(3)}, "not a byte string"),
        ({"__gpugrad__": _header({"tensor": "t9", "dtype": "float32", "shape": [1],
                                  "device": "cpu"})}, "missing from the archive"),
        ({"__gpugrad__": _header({"tensor": "t0", "dtype": "float32", "shape": [3],
                                  "device": "cpu"}), "t0": np.ones(2, np.float32)}, "shape"),
        ({"__gpugrad__": _header({"tensor": "t0", "dtype": "float64", "shape": [2],
                                  "device": "cpu"}), "t0": np.ones(2, np.float32)}, "dtype"),
        ({"__gpugrad__": _header({"tensor": "t0", "dtype": "complex64", "shape": [2],
                                  "device": "cpu"}), "t0": np.ones(2, np.complex64)},
         "unsupported dtype"),
        ({"__gpugrad__": _header({"tensor": "t0", "dtype": "float32", "shape": [2],
                                  "device": "tpu"}), "t0": np.ones(2, np.float32)},
         "saved on device 'tpu', which gpugrad does not know"),
        ({"__gpugrad__": _header({"exec": "rm -rf /"})}, "unknown description node"),
        ({"__gpugrad__": np.frombuffer(b'{"format": "other"}', dtype=np.uint8)},
         "does not name the gpugrad format"),
        ({"__gpugrad__": np.frombuffer(
            b'{"format": "gpugrad", "version": 99, "root": {}}', dtype=np.uint8)},
         "unsupported gpugrad checkpoint version"),
    ],
    ids=["no-header", "bad-json", "header-not-bytes", "missing-entry", "shape-mismatch",
         "dtype-mismatch", "unsupported-dtype", "bad-device", "unknown-node", "other-format",
         "future-version"],
)  # fmt: skip
def test_malformed_descriptions_are_refused(arrays, message, tmp_path):
    path = tmp_path / "bad.npz"
    _write_npz(path, **arrays)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_deeply_nested_description_is_refused(tmp_path):
    root: dict = {"value": 1}
    for _ in range(300):
        root = {"list": [root]}
    path = tmp_path / "deep.npz"
    _write_npz(path, __gpugrad__=_header(root))
    with pytest.raises(ValueError, match="nested deeper"):
        load(path)
