"""Random number generators: ``gg.Generator``, ``gg.default_generator`` and the CUDA
default generators, and the in-place random Tensor methods (``normal_``, ``uniform_``,
``exponential_``, ``bernoulli_``, ``random_``).

A Generator's state is always a NumPy PCG64 stream on the host
(``backends/random_stream.py``), so it can be saved with ``get_state`` and restored with
``set_state`` whatever its device:

- on the CPU, samples come from that stream directly (``gg.manual_seed(s)`` then
  ``gg.rand(...)`` draws what ``numpy.random.default_rng(s).random(...)`` draws);
- on CUDA, each call takes one 64-bit seed from the stream and draws on the GPU from a
  CuPy Philox generator seeded with it (PyTorch's CUDA generators are also seed+offset
  Philox streams), so the same seed gives the same values run after run.

The values differ from PyTorch's (another bit generator); shapes, dtypes, distributions,
errors and reproducibility are PyTorch's.
"""

from __future__ import annotations

import operator
import threading
from typing import Any

from . import backends
from .backends import dtypes as _dtypes
from .backends.device import Device
from .backends.random_stream import STATE_BYTES, RandomStream, fresh_seed

__all__ = [
    "Generator",
    "RANDOM_METHODS",
    "default_generator",
    "generator_for",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
]

#: ``torch.Generator().initial_seed()``: the seed of a Generator nobody has seeded.
DEFAULT_SEED = 67280421310721
_UINT64 = (1 << 64) - 1
_STATE_BYTES = 8 + STATE_BYTES  # the initial seed, then the stream's state


def _seed_value(seed: Any, what: str = "manual_seed") -> int:
    """A seed as PyTorch takes one: any int in [-2**63, 2**64), negatives wrapped."""
    try:
        if isinstance(seed, bool):
            raise TypeError
        value = operator.index(seed)
    except TypeError:
        raise RuntimeError(f"{what} expected a long, but got {type(seed).__name__}") from None
    if value < -(1 << 63) or value > _UINT64:
        raise ValueError("Overflow when unpacking long long")
    return value & _UINT64


class Generator:
    """A random number generator for one device (``"cpu"`` by default): pass it as
    ``generator=`` to a random function to draw from its own stream."""

    def __init__(self, device: Device | str | int = "cpu") -> None:
        if isinstance(device, int):
            device = f"cuda:{device}"
        device = Device(device)
        if device.type == "cuda" and device.index is None:
            device = Device("cuda", 0)
        self._device = device
        self._lock = threading.Lock()
        self.manual_seed(DEFAULT_SEED)

    @property
    def device(self) -> Device:
        return self._device

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed``; returns the generator."""
        value = _seed_value(seed)
        with self._lock:
            self._initial_seed = value
            self._stream = RandomStream(value)
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the seed used."""
        value = fresh_seed()
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        """The seed the stream was last started from."""
        return self._initial_seed

    def get_state(self) -> Any:
        """The generator's state as a CPU ``uint8`` tensor (for ``set_state``)."""
        from ._tensor import _wrap

        with self._lock:
            raw = self._initial_seed.to_bytes(8, "little") + self._stream.state_bytes()
        return _wrap(backends.cpu.asarray(list(raw), _dtypes.uint8.numpy), backends.cpu)

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state returned by ``get_state``; returns the generator."""
        from ._tensor import Tensor

        if not isinstance(new_state, Tensor) or new_state.dtype.name != "uint8":
            raise TypeError("RNG state must be a torch.ByteTensor")
        raw = bytes(new_state.cpu().reshape(-1).tolist())
        if len(raw) != _STATE_BYTES:
            raise RuntimeError(
                f"Expected a gpugrad generator state of size {_STATE_BYTES} but found the "
                f"input RNG state size to be {len(raw)}"
            )
        stream = RandomStream.from_state_bytes(raw[8:])
        with self._lock:
            self._initial_seed = int.from_bytes(raw[:8], "little")
            self._stream = stream
        return self

    def __repr__(self) -> str:
        return f"<gpugrad.Generator object on {self._device}>"

    # --- sampling: arrays on ``backend`` (see backends/random_stream.py) ----------------
    def uniform(self, backend: backends.ArrayBackend, shape: tuple, dtype: Any) -> Any:
        with self._lock:
            return self._stream.uniform(backend, shape, dtype)

    def normal(self, backend: backends.ArrayBackend, shape: tuple, dtype: Any) -> Any:
        with self._lock:
            return self._stream.normal(backend, shape, dtype)

    def exponential(self, backend: backends.ArrayBackend, shape: tuple, dtype: Any) -> Any:
        with self._lock:
            return self._stream.exponential(backend, shape, dtype)

    def integers(self, backend: backends.ArrayBackend, low: int, high: int, shape: tuple) -> Any:
        with self._lock:
            return self._stream.integers(backend, low, high, shape)

    def permutation(self, backend: backends.ArrayBackend, n: int) -> Any:
        with self._lock:
            return self._stream.permutation(backend, n)

    def sample_categories(
        self, backend: backends.ArrayBackend, rows: Any, num_samples: int, replacement: bool
    ) -> Any:
        """``backend.sample_categories`` drawing from this generator's stream."""
        with self._lock:
            return backend.sample_categories(rows, num_samples, replacement, self._stream)

    # --- s7-dist ---
    def parametrized(self, backend: backends.ArrayBackend, method: str, *params: Any) -> Any:
        """``RandomStream.parametrized``: gamma/Poisson/binomial draws for gg.distributions."""
        with self._lock:
            return self._stream.parametrized(backend, method, *params)


default_generator = Generator("cpu")
default_generator.seed()  # as in PyTorch, the default stream differs from run to run
_cuda_generators: dict[int, Generator] = {}
_cuda_seed: int | None = None


def cuda_default_generator(index: int) -> Generator:
    """The default generator of ``cuda:index`` (created on first use)."""
    generator = _cuda_generators.get(index)
    if generator is None:
        generator = _cuda_generators[index] = Generator(f"cuda:{index}")
        if _cuda_seed is None:
            generator.seed()
        else:
            generator.manual_seed(_cuda_seed)
    return generator


def cuda_manual_seed_all(seed: int) -> None:
    """Seed the default generator of every CUDA device, present and future."""
    global _cuda_seed
    _cuda_seed = _seed_value(seed)
    for generator in _cuda_generators.values():
        generator.manual_seed(_cuda_seed)


def generator_for(generator: Generator | None, backend: backends.ArrayBackend) -> Generator:
    """``generator`` checked against ``backend``'s device, or the device's default."""
    device = backend.device
    if generator is None:
        if device.type == "cpu":
            return default_generator
        return cuda_default_generator(device.index or 0)
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a gpugrad.Generator, but got {type(generator).__name__}"
        )
    if generator.device.type != device.type:
        raise RuntimeError(
            f"Expected a '{device.type}' device type for generator but found "
            f"'{generator.device.type}'"
        )
    return generator


def manual_seed(seed: int) -> Generator:
    """Seed the CPU default generator and every CUDA device's; returns
    ``gg.default_generator``."""
    value = _seed_value(seed)
    default_generator.manual_seed(value)
    cuda_manual_seed_all(value)
    return default_generator


def seed() -> int:
    """Seed every default generator from the operating system's entropy; returns the seed."""
    value = fresh_seed()
    manual_seed(value)
    return value


def initial_seed() -> int:
    """The initial seed of ``gg.default_generator``."""
    return default_generator.initial_seed()


def get_rng_state() -> Any:
    """The CPU default generator's state as a ``uint8`` tensor (``torch.get_rng_state``)."""
    return default_generator.get_state()


def set_rng_state(new_state: Any) -> None:
    """Restore the CPU default generator to a state ``get_rng_state`` returned
    (``torch.set_rng_state``)."""
    default_generator.set_state(new_state)


# --- in-place random Tensor methods ------------------------------------------------------
def _type_name(array: Any) -> str:
    return _dtypes.SCALAR_TYPE_NAMES[array.dtype.name]


def _require_float(t: Any, kernel: str) -> None:
    if t._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_name(t._data)}'")


def _fill(t: Any, values: Any) -> Any:
    """Write the array ``values`` into ``t`` as an in-place op (version counter bumped; a
    leaf that requires grad is refused outside ``no_grad``, as in PyTorch)."""
    from ._tensor import _wrap

    t[...] = _wrap(values, t._backend)
    return t


def _generator(t: Any, generator: Generator | None) -> Generator:
    return generator_for(generator, t._backend)


def normal_(t: Any, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None):
    """Fill with samples of N(mean, std²)."""
    _require_float(t, "normal_kernel_cpu")
    if not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    dtype = t._data.dtype
    draw = _generator(t, generator).normal(t._backend, t._data.shape, dtype)
    return _fill(t, (draw * std + mean).astype(dtype, copy=False))


def uniform_(t: Any, a: float = 0.0, b: float = 1.0, *, generator: Generator | None = None):
    """Fill with samples of U[a, b) (``from`` and ``to`` in PyTorch's signature)."""
    _require_float(t, "check_uniform_bounds")
    dtype = t._data.dtype
    largest = _dtypes.finfo(_dtypes.from_numpy_dtype(dtype)).max
    for label, bound in (("from", a), ("to", b)):
        if not -largest <= bound <= largest:  # NaN and inf too
            raise RuntimeError(f"{label} is out of bounds for {_C_NAMES[dtype.name]}")
    if a > b:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}"
        )
    if b - a > largest:
        raise RuntimeError(
            f"uniform_ expects to-from <= std::numeric_limits<{_type_name(t._data)}>::max(), "
            f"but found to={b:g} and from={a:g} which result in to-from to exceed the limit"
        )
    draw = _generator(t, generator).uniform(t._backend, t._data.shape, dtype)
    return _fill(t, (draw * (b - a) + a).astype(dtype, copy=False))


def exponential_(t: Any, lambd: float = 1.0, *, generator: Generator | None = None):
    """Fill with samples of Exp(lambd)."""
    if t._data.dtype.kind != "f":
        raise RuntimeError(
            "Exponential distribution is a continuous probability distribution. dtype must be "
            f"a floating point but you specified {_type_name(t._data)}"
        )
    if not lambd > 0.0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    dtype = t._data.dtype
    draw = _generator(t, generator).exponential(t._backend, t._data.shape, dtype)
    return _fill(t, (draw / lambd).astype(dtype, copy=False))


def bernoulli_(t: Any, p: Any = 0.5, *, generator: Generator | None = None):
    """Fill with 1 with probability ``p`` (a number or a tensor broadcastable to ``t``),
    else 0."""
    from ._tensor import Tensor

    if isinstance(p, Tensor):
        probs = p._data
        if probs.dtype.kind != "f":
            raise NotImplementedError(
                f"\"bernoulli_tensor_cpu_p_\" not implemented for '{_type_name(probs)}'"
            )
        backend = t._backend
        if bool(backend.any((probs < 0) | (probs > 1) | backend.isnan(probs))):
            raise RuntimeError(
                "Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this "
                "error message be improved?  If so, please report an enhancement request "
                "to PyTorch.)"
            )
    elif not 0.0 <= p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
    else:
        probs = p
    draw = _generator(t, generator).uniform(t._backend, t._data.shape, _dtypes.float64.numpy)
    return _fill(t, (draw < probs).astype(t._data.dtype))


def _random_bounds(dtype: Any) -> tuple[int, int]:
    """``random_()``'s default range [0, high] inclusive, as PyTorch."""
    if dtype.kind == "b":
        return 0, 1
    if dtype.kind == "f":
        return 0, 1 << (backends.cpu.mantissa_bits(dtype) + 1)
    return 0, backends.cpu.integer_range(dtype)[1]


def random_(t: Any, from_: int = 0, to: int | None = None, *, generator: Generator | None = None):
    """Fill with integers uniform in ``[from, to)``; ``random_(to)`` draws from
    ``[0, to)`` and ``random_()`` from ``[0, 2**mantissa]`` (floats) or the dtype's
    non-negative range."""
    dtype = t._data.dtype
    if to is None and from_ != 0:
        from_, to = 0, from_
    if to is None:
        low, high = _random_bounds(dtype)
        high += 1
    else:
        low, high = int(from_), int(to)
        if low >= high:
            raise RuntimeError(
                f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
            )
        if dtype.kind in "iub" and not _fits(dtype, low):
            raise RuntimeError(f"from is out of bounds for {_C_NAMES.get(dtype.name, dtype.name)}")
        if dtype.kind in "iub" and not _fits(dtype, high - 1):
            raise RuntimeError(
                f"to - 1 is out of bounds for {_C_NAMES.get(dtype.name, dtype.name)}"
            )
    draw = _generator(t, generator).integers(t._backend, low, high, t._data.shape)
    return _fill(t, draw.astype(dtype))


_C_NAMES = {
    "uint8": "unsigned char",
    "int8": "signed char",
    "int16": "short",
    "int32": "int",
    "int64": "long int",
    "bool": "bool",
    "float16": "c10::Half",
    "float32": "float",
    "float64": "double",
}
"""C++ type names, as PyTorch's range checks print them."""


def _fits(dtype: Any, value: int) -> bool:
    if dtype.kind == "b":
        return value in (0, 1)
    low, high = backends.cpu.integer_range(dtype)
    return low <= value <= high


#: (name, function) of the in-place random Tensor methods; ``gpugrad.ops.random`` declares
#: them in the op registry, which attaches them with every other method.
RANDOM_METHODS = [
    ("normal_", normal_),
    ("uniform_", uniform_),
    ("exponential_", exponential_),
    ("bernoulli_", bernoulli_),
    ("random_", random_),
]
