"""The backward engine's node loop compiled from C (``_engine_loop.c``), and when it runs.

A small step's backward spends most of its time in the engine's own bookkeeping, not in
the gradient formulas; the C loop does that bookkeeping (the same steps, in the same
order, so both loops give the same values) and calls the formulas as the Python loop does.

It follows the CPU kernels' choice (``gg.set_cpu_kernels``, ``GPUGRAD_CPU_KERNELS``):
``"numpy"`` runs the Python loop (nothing compiled); ``"auto"`` (the default) and
``"native"`` build the C loop on the first backward, once per machine, into the native
kernels' cache (about a second; later processes load it in milliseconds), with the same
compiler plus ``-x c`` and Python's headers. Without a compiler or Python's headers, or
when the build fails, the Python loop runs: silently for ``"auto"`` without a compiler,
with one ``RuntimeWarning`` naming the reason otherwise. It serves every backward
(``create_graph=True`` and ``autograd.grad`` included: their tensor formulas and captures
are Python calls from the C loop).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .backends import cpu as _cpu
from .backends.kernels import native_exec, numpy_exec

MODULE = "_gg_engine_loop"
SOURCE = Path(__file__).with_name("_engine_loop.c")
FLAGS = ("-x", "c", "-O2", "-fPIC", "-shared", "-fno-strict-aliasing")

_lock = threading.Lock()
_state: dict[str, Any] = {"loop": None, "tried": False, "reason": "not built yet"}


def _flags() -> tuple[str, ...]:
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        raise native_exec.NativeBuildError(f"Python's headers are not installed ({include})")
    extra = ("-undefined", "dynamic_lookup") if sys.platform == "darwin" else ()
    return (*FLAGS, f"-I{include}", *extra)


def _load(path: Path) -> Any:
    loader = importlib.machinery.ExtensionFileLoader(MODULE, str(path))
    spec = importlib.util.spec_from_file_location(MODULE, str(path), loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _toolchain_missing() -> str | None:
    """Why nothing can be built here (no compiler, no Python headers), or ``None``."""
    try:
        native_exec.compiler()
        _flags()
    except native_exec.NativeBuildError as error:
        return str(error)
    return None


def build(configure: Callable[[Any], None]) -> Callable[..., None]:
    """The compiled ``run_nodes``, built (or loaded from the cache) now; ``configure``
    hands it the engine's classes and helpers. Raises ``NativeBuildError``."""
    path = native_exec.build_cached(
        SOURCE.read_text(),
        "engine_loop",
        _flags(),
        "the native backward loop",
        extra=sys.version + str(sysconfig.get_config_var("EXT_SUFFIX")),
    )
    try:
        module = _load(path)
    except (ImportError, OSError) as error:
        raise native_exec.NativeBuildError(f"the native backward loop: {error}") from error
    configure(module)
    return module.run_nodes


def loop(configure: Callable[[Any], None]) -> Callable[..., None] | None:
    """The node loop to run this backward: the compiled one, or ``None`` for Python's."""
    kernels = _cpu.kernels
    if kernels is numpy_exec:
        return None
    found = _state["loop"]
    if found is not None or _state["tried"]:
        return found
    with _lock:
        if not _state["tried"]:
            missing = _toolchain_missing()
            try:
                if missing is not None:
                    raise native_exec.NativeBuildError(missing)
                _state["loop"] = build(configure)
                _state["reason"] = "built or loaded from the cache"
            except native_exec.NativeBuildError as error:
                _state["reason"] = str(error)
                if missing is None or kernels is native_exec:  # "auto" without tools: quiet
                    message = f"{error}; the backward engine runs its Python loop"
                    warnings.warn(message, RuntimeWarning, stacklevel=4)
            _state["tried"] = True
    return _state["loop"]


def describe() -> str:
    """Which loop runs backward, in words (``gg.backends.cpu_kernels()`` adds it)."""
    if _cpu.kernels is numpy_exec:
        return "backward loop: Python (the CPU kernels are NumPy's)"
    if _state["loop"] is not None:
        return "backward loop: C (built or loaded from the cache)"
    if _state["tried"]:
        return f"backward loop: Python ({_state['reason']})"
    return "backward loop: C on the first backward, where it builds"
