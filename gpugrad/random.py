"""``gpugrad.random``: the global random state, as ``torch.random`` (``manual_seed``,
``seed``, ``initial_seed``, ``get_rng_state``, ``set_rng_state``, ``fork_rng``,
``thread_safe_generator``). Every function works on the generators of
``gpugrad/_random.py``; nothing here keeps a second stream."""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterable, Iterator

from ._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

__all__ = [
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
    "thread_safe_generator",
]

_fork_rng_warned_already = False
_thread_generators = threading.local()


@contextlib.contextmanager
def fork_rng(
    devices: Iterable[int] | None = None,
    enabled: bool = True,
    _caller: str = "fork_rng",
    _devices_kw: str = "devices",
    device_type: str | None = None,
) -> Iterator[None]:
    """Save the CPU generator's state (and that of each CUDA device in ``devices``, every
    visible device by default) and restore it on exit, so random draws inside the block
    leave the global streams as they were; ``enabled=False`` forks nothing."""
    global _fork_rng_warned_already
    from . import cuda

    if device_type == "meta" or not enabled:
        yield
        return
    device_type = device_type or "cuda"
    if device_type != "cuda":
        raise RuntimeError(
            f"torch has no module of `{device_type}`, you should register a module by "
            "`torch._register_device_module`."
        )
    if devices is None:
        count = cuda.device_count()
        if count > 1 and not _fork_rng_warned_already:
            warnings.warn(
                f"CUDA reports that you have {count} available devices, and you have used "
                f"{_caller} without explicitly specifying which devices are being used. "
                "For safety, we initialize *every* CUDA device by default, which can be "
                "quite slow if you have a lot of CUDAs. If you know that you are only making "
                "use of a few CUDA devices, set the environment variable "
                f"CUDA_VISIBLE_DEVICES or the '{_devices_kw}' keyword argument of {_caller} "
                "with the set of devices you are actually using.",
                stacklevel=3,
            )
            _fork_rng_warned_already = True
        devices = list(range(count))
    else:
        devices = list(devices)  # a generator would be used up by the first pass
    cpu_state = get_rng_state()
    device_states = [cuda.get_rng_state(device) for device in devices]
    try:
        yield
    finally:
        set_rng_state(cpu_state)
        for device, state in zip(devices, device_states):
            cuda.set_rng_state(state, device)


def thread_safe_generator() -> Generator | None:
    """Inside a ``DataLoader`` worker thread, a generator of that thread's own (seeded with
    the worker's seed, created on first use); ``None`` elsewhere, which makes random
    functions use the global default generator."""
    from .utils.data import get_worker_info

    info = get_worker_info()
    if info is None:
        return None
    generator = getattr(_thread_generators, "generator", None)
    if generator is None or _thread_generators.seed != info.seed:
        generator = Generator().manual_seed(info.seed)
        _thread_generators.generator, _thread_generators.seed = generator, info.seed
    return generator
