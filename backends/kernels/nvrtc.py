"""Compile CUDA sources with NVRTC from pip, without a GPU or a driver: the CI gate.

Needs ``pip install "nvidia-cuda-nvrtc==13.*" "cuda-bindings==13.*"``. Compiles to cubin
(``-arch=sm_XX``), which checks the source fully, including the inline PTX.

    python -m backends.kernels.nvrtc            # every shipped module, sm_80 and sm_90
"""

from __future__ import annotations

import sys

ARCHES = ("sm_80", "sm_90")


class CompileError(RuntimeError):
    """NVRTC rejected a source; the message holds its log."""


def available() -> bool:
    try:
        from cuda.bindings import nvrtc  # noqa: F401
    except Exception:
        return False
    return True


def _check(result: object, what: str) -> None:
    from cuda.bindings import nvrtc

    if result != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise CompileError(f"{what} failed: {result}")


def compile_cubin(
    source: str, name: str = "kernel.cu", arch: str = "sm_90", options: tuple[str, ...] = ()
) -> bytes:
    """The cubin of ``source`` for ``arch`` (``-arch=sm_XX``), compiled with ``options``
    (``-std=c++14`` when none); raises ``CompileError`` with NVRTC's log."""
    return _compile(source, name, f"-arch={arch}", options, "CUBIN")


def compile_ptx(
    source: str, name: str = "kernel.cu", arch: str = "compute_90", options: tuple[str, ...] = ()
) -> str:
    """The PTX of ``source`` for the virtual ``arch``, compiled with ``options``: its
    instructions show what the flags did (``abs.ftz.f32`` where subnormals are flushed)."""
    return _compile(source, name, f"-arch={arch}", options, "PTX").rstrip(b"\x00").decode()


def _compile(source: str, name: str, arch: str, options: tuple[str, ...], output: str) -> bytes:
    from cuda.bindings import nvrtc

    err, program = nvrtc.nvrtcCreateProgram(source.encode(), name.encode(), 0, [], [])
    _check(err, "nvrtcCreateProgram")
    try:
        flags = [arch.encode()] + [o.encode() for o in (options or ("-std=c++14",))]
        (result,) = nvrtc.nvrtcCompileProgram(program, len(flags), flags)
        err, size = nvrtc.nvrtcGetProgramLogSize(program)
        _check(err, "nvrtcGetProgramLogSize")
        # NVRTC writes into the buffer it is given: a fresh bytearray, never ``b" " * size``
        # (at size 1 that is CPython's shared ``b" "``, and the log's NUL overwrote it:
        # every later ``b" "`` in the process read ``b"\x00"``; print wrote NULs, and
        # torch.load misread its own files).
        log = bytearray(size)
        (err,) = nvrtc.nvrtcGetProgramLog(program, log)
        log_text = bytes(log).rstrip(b"\x00 ").decode(errors="replace")
        if result != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise CompileError(f"{name} ({arch}): {result.name}\n{log_text}")
        err, size = getattr(nvrtc, f"nvrtcGet{output}Size")(program)
        _check(err, f"nvrtcGet{output}Size")
        binary = bytearray(size)
        (err,) = getattr(nvrtc, f"nvrtcGet{output}")(program, binary)
        _check(err, f"nvrtcGet{output}")
        return bytes(binary)
    finally:
        nvrtc.nvrtcDestroyProgram(program)


def version() -> tuple[int, int]:
    from cuda.bindings import nvrtc

    err, major, minor = nvrtc.nvrtcVersion()
    _check(err, "nvrtcVersion")
    return major, minor


def main() -> int:
    from .cuda_source import all_sources

    failures = 0
    sources = all_sources()
    for name, text in sources.items():
        for arch in ARCHES:
            try:
                compile_cubin(text, f"{name}.cu", arch)
            except CompileError as error:
                failures += 1
                print(error, file=sys.stderr)
    print(f"NVRTC {version()}: {len(sources)} modules x {len(ARCHES)} arches, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
