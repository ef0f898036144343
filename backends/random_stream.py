"""``RandomStream``: the state of a ``gg.Generator``, a NumPy PCG64 stream on the host,
and the draws it makes on a backend.

On the CPU, samples come from the stream directly; on CUDA, each call takes one 64-bit
seed from the stream and draws on the GPU from a CuPy Philox generator seeded with it, so
the state stays one small host object that can be saved and restored.
"""

from __future__ import annotations

from typing import Any

import numpy

STATE_BYTES = 16 + 16 + 1 + 4  # PCG64 state and increment, cached uint32 flag and value
_FLOATS = (numpy.float32, numpy.float64)


def fresh_seed() -> int:
    """64 bits of operating-system entropy."""
    return int(numpy.random.SeedSequence().generate_state(1, numpy.uint64)[0])


class RandomStream:
    def __init__(self, seed: int) -> None:
        self._rng = numpy.random.default_rng(seed)

    def state_bytes(self) -> bytes:
        state = self._rng.bit_generator.state
        return (
            state["state"]["state"].to_bytes(16, "little")
            + state["state"]["inc"].to_bytes(16, "little")
            + bytes([state["has_uint32"]])
            + int(state["uinteger"]).to_bytes(4, "little")
        )

    @classmethod
    def from_state_bytes(cls, raw: bytes) -> RandomStream:
        stream = cls(0)
        stream._rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {
                "state": int.from_bytes(raw[0:16], "little"),
                "inc": int.from_bytes(raw[16:32], "little"),
            },
            "has_uint32": raw[32],
            "uinteger": int.from_bytes(raw[33:37], "little"),
        }
        return stream

    def _draw(self, backend: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        if backend.device.type == "cpu":
            return getattr(self._rng, method)(*args, **kwargs)
        xp = backend.xp
        seed = int(self._rng.integers(0, 1 << 63))
        with backend.cuda_device:
            generator = xp.random.Generator(xp.random.Philox4x3210(seed))
            return getattr(generator, method)(*args, **kwargs)

    def _floats(self, backend: Any, method: str, shape: tuple, dtype: Any) -> Any:
        """Samples of a floating ``dtype`` (float16 drawn in float32 and rounded)."""
        draw_dtype = dtype if dtype in _FLOATS else numpy.float32
        return self._draw(backend, method, shape, dtype=draw_dtype).astype(dtype, copy=False)

    def uniform(self, backend: Any, shape: tuple, dtype: Any) -> Any:
        """U[0, 1) samples."""
        return self._floats(backend, "random", shape, dtype)

    def normal(self, backend: Any, shape: tuple, dtype: Any) -> Any:
        """Standard normal samples."""
        return self._floats(backend, "standard_normal", shape, dtype)

    def exponential(self, backend: Any, shape: tuple, dtype: Any) -> Any:
        """Exp(1) samples."""
        return self._floats(backend, "standard_exponential", shape, dtype)

    def integers(self, backend: Any, low: int, high: int, shape: tuple) -> Any:
        """Uniform int64 samples in ``[low, high)``."""
        return self._draw(backend, "integers", low, high, shape)

    def permutation(self, backend: Any, n: int) -> Any:
        """A uniformly random permutation of ``0 .. n-1`` (int64)."""
        if backend.device.type == "cpu":
            return self._rng.permutation(n)
        keys = self.uniform(backend, (n,), numpy.float64)
        return backend.xp.argsort(keys).astype(numpy.int64)

    # --- s7-dist: parametrized draws for gg.distributions (gamma, Poisson, binomial) ---
    def parametrized(self, backend: Any, method: str, *params: Any) -> Any:
        """``numpy.random.Generator.<method>(*params)`` drawn from this stream, as an array
        on ``backend`` of the first parameter's dtype (the parameters are arrays of one
        shape on ``backend``). Drawn on the host for CUDA too (the parameters go there and
        the samples come back), so every backend has these samplers."""
        host = [backend.to_host(p) for p in params]
        draw = getattr(self._rng, method)(*host)
        return backend.asarray(numpy.asarray(draw).astype(host[0].dtype, copy=False))
