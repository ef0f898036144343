"""Workloads A–D of the benchmark suite: one place defines each case and its variants.

Both ``python -m bench`` and the pytest-benchmark tests (``bench/test_bench_*.py``) take
their cases from :func:`cases`.

- A: the seed notebook's scalar programs, forward + backward (0-d float32).
- B: a 100-op elementwise chain on 1 and 1,000 float32 elements, forward + backward, per op.
- C: sigmoid + BCE, forward (mean) + backward on 1M and 10M float32 (100M on a GPU).
- D: full-batch training steps (logistic regression, MLP 30→64→1 tanh) on scikit-learn's
  breast-cancer data, SGD with lr 0.1.

Each of A–D also has ``gpugrad compiled`` and ``torch.compile`` (issue 18): the user's
whole step (forward, backward, gradient reset; D's update too), the same function for
both libraries, under ``gg.compile`` and ``torch.compile``, with the first call timed
apart (:func:`compiled_variant`); ``Case.compiled`` names what the report shows side by
side.
"""

from __future__ import annotations

import importlib
import os
import time
import warnings
from dataclasses import dataclass, replace
from functools import partial
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import programs as P
from .harness import Case, Compiled, Target, Unavailable, Variant
from .libs import (
    Env,
    Ops,
    autograd_ops,
    envs,
    gg_fused_bce,
    gg_has_inplace_sub,
    gg_ops,
    mygrad_ops,
    optional,
    torch_ops,
)

LR = 0.1
TRAIN_CHECK_STEPS = 100  # D: final losses after this many steps must agree


@dataclass(frozen=True)
class Settings:
    quick: bool = False  # tiny sizes, every benchmark once
    # torch.compile variants: None runs them except in quick mode (inductor compiles C++,
    # seconds per case); True runs them in quick mode too; False (--no-compile) never.
    # gg.compile's variants always run (they are the subject).
    compile: bool | None = None

    @property
    def torch_compile(self) -> bool:
        return self.compile if self.compile is not None else not self.quick


def _size_name(n: int) -> str:
    for unit, scale in (("M", 1_000_000), ("K", 1_000)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


# --- tape libraries (gpugrad, PyTorch, mygrad): one generic variant ------------------------
@dataclass(frozen=True)
class Tape:
    ops: Ops
    leaf: Any  # host array -> tensor that requires grad
    const: Any  # host array -> tensor that does not
    clear: Any  # tensor -> None: drop its gradient


def gg_tape(env: Env) -> Tape:
    return Tape(gg_ops(), partial(env.gg, requires_grad=True), env.gg, _set_grad_none)


def torch_tape(env: Env) -> Tape:
    return Tape(torch_ops(), partial(env.torch, requires_grad=True), env.torch, _set_grad_none)


def mygrad_tape(env: Env) -> Tape:
    if env.name != "cpu":
        raise Unavailable("mygrad runs on the CPU only")
    ops = mygrad_ops()
    mg = optional("mygrad")
    return Tape(ops, mg.tensor, partial(mg.tensor, constant=True), lambda t: t.null_grad())


def _set_grad_none(t: Any) -> None:
    t.grad = None


def tape_step(tape: Tape, program: Any, leaves: int, grad_out: bool) -> Any:
    """The user's step, written once for every tape library: ``step(*leaves, *consts[,
    grad_out])`` drops the leaves' gradients, runs ``program(ops, *leaves, *consts)``
    forward and backward, and returns the output and the leaves' gradients. The tensors
    are the step's arguments, so that a compiler (``gg.compile``, ``torch.compile``) sees
    them as its inputs."""
    o, clear = tape.ops, tape.clear

    def step(*tensors):
        xs = tensors[:leaves]
        for x in xs:
            clear(x)
        if grad_out:
            out = program(o, *tensors[:-1])
            out.backward(tensors[-1])
        else:
            out = program(o, *tensors)
            out.backward()
        return (out, *[x.grad for x in xs])

    return step


def tape_args(tape: Tape, leaves: list, consts: list, grad_out=None) -> tuple:
    """:func:`tape_step`'s arguments: the leaves, the constants and the output gradient as
    the library's tensors."""
    tensors = [tape.leaf(h) for h in leaves] + [tape.const(h) for h in consts]
    if grad_out is not None:
        tensors.append(tape.const(grad_out))
    return tuple(tensors)


def tape_variant(tape: Tape, program: Any, leaves: list, consts: list, grad_out=None, **kw):
    """``program(ops, *leaves, *consts)`` forward + backward; returns the output and the
    leaves' gradients. Gradients are dropped at the start of every iteration."""
    step = tape_step(tape, program, len(leaves), grad_out is not None)
    args = tape_args(tape, leaves, consts, grad_out)
    return Variant("", lambda: step(*args), **kw)


# --- compiled variants (issue 18): the user's step under gg.compile / torch.compile ------
STANDIN_ENV = "BENCH_GG_COMPILE_STANDIN"
"""``module:function`` standing in for ``gg.compile`` (the benchmark's own tests use it to
check the plumbing in the measuring processes; unset, ``gg.compile`` itself is used)."""


def identity_compile(fn: Any, **options: Any) -> Any:
    """A stand-in compiler that returns ``fn`` unchanged (for :data:`STANDIN_ENV`)."""
    return fn


def compiler(library: str, settings: Settings) -> tuple[Any, str]:
    """``(compile, name)`` for ``library``'s compiled variants, or :class:`Unavailable`."""
    if library == "gpugrad":
        standin = os.environ.get(STANDIN_ENV)
        if standin:
            module, _, name = standin.partition(":")
            return getattr(importlib.import_module(module), name), f"{standin} (stand-in)"
        import gpugrad as gg

        if not callable(getattr(gg, "compile", None)):
            raise Unavailable("this gpugrad has no gg.compile (issue 18)")
        return gg.compile, "gg.compile"
    if not settings.torch_compile:
        raise Unavailable("torch.compile not run (quick mode or --no-compile)")
    import torch

    return partial(torch.compile, dynamic=False), "torch.compile"


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:300] if text else ''}"


def compiled_variant(
    env: Env,
    library: str,
    settings: Settings,
    step: Any,
    args: tuple,
    reset: Any = None,
    note: str = "",
    **kw: Any,
) -> Variant:
    """``compile(step)`` called on ``args``, as the user would: the first three calls (the
    first traces and compiles; a compiler may trace again on the second, when the leaves
    now hold gradients, or build kernels on the third) are timed here, once, and reported
    apart (``info``); the timed rounds come after them and after the warm-up. Warnings
    raised meanwhile (a graph break, a fallback to eager) go into the note. A failing
    ``torch.compile`` makes the variant unavailable, with the reason; a failing
    ``gg.compile`` is an error."""
    compile_fn, how = compiler(library, settings)
    compiled = compile_fn(step)
    calls = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            if reset is not None:
                reset()
            t0 = time.perf_counter()
            try:
                compiled(*args)
                if env.sync is not None:
                    env.sync()
            except Exception as e:
                if library == "gpugrad":
                    raise
                raise Unavailable(f"{how} failed: {_first_line(e)}") from e
            calls.append(time.perf_counter() - t0)
    warned = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    text = (
        f"{how} of the whole step; first call {calls[0]:.2f} s, then "
        f"{calls[1] * 1e3:.2f} ms and {calls[2] * 1e3:.2f} ms (excluded from the timing)"
    )
    if warned:
        text += "; warned: " + " | ".join(w[:200] for w in warned[:3])
    info = {"compile_s": calls[0], "second_call_s": calls[1], "third_call_s": calls[2]}
    info["compiler"] = how
    if warned:
        info["warnings"] = warned
    return Variant(
        "",
        lambda: compiled(*args),
        reset=reset,
        note=f"{note}; {text}" if note else text,
        info=info,
        **kw,
    )


def compiled_tape_variant(
    env: Env, library: str, settings: Settings, program: Any, leaves, consts, grad_out=None
) -> Variant:
    """:func:`tape_variant`'s step for gpugrad or PyTorch, compiled."""
    tape = gg_tape(env) if library == "gpugrad" else torch_tape(env)
    step = tape_step(tape, program, len(leaves), grad_out is not None)
    args = tape_args(tape, leaves, consts, grad_out)
    role = "subject" if library == "gpugrad" else "torch"
    return compiled_variant(env, library, settings, step, args, role=role)


def compiled_builders(env: Env, settings: Settings, arguments: Any) -> dict:
    """Builders of ``gpugrad compiled`` and ``torch.compile`` for a tape workload;
    ``arguments(inp)`` gives ``(program, leaves, consts, grad_out)``."""
    return {
        label: lambda inp, library=library: compiled_tape_variant(
            env, library, settings, *arguments(inp)
        )
        for label, library in (("gpugrad compiled", "gpugrad"), ("torch.compile", "torch"))
    }


def hips_variant(env: Env, program: Any, leaves: list, consts: list, grad_out=None, **kw):
    """The same with HIPS autograd (functional: value_and_grad / make_vjp)."""
    if env.name != "cpu":
        raise Unavailable("HIPS autograd runs on the CPU only")
    ag = optional("autograd")
    o = autograd_ops()
    argnum = tuple(range(len(leaves)))
    f = lambda *xs: program(o, *xs, *consts)
    if grad_out is None:
        value_and_grad = ag.value_and_grad(f, argnum)

        def run():
            value, grads = value_and_grad(*leaves)
            return (value, *grads)

    else:
        make_vjp = ag.make_vjp(f, argnum)

        def run():
            vjp, value = make_vjp(*leaves)
            return (value, *vjp(grad_out))

    return Variant("", run, **kw)


def peers(env: Env, program: Any, leaves: list, consts: list, grad_out=None) -> dict:
    """Builders for the optional peers (skipped when not installed)."""

    def mygrad(inp):
        return tape_variant(mygrad_tape(env), program, leaves, consts, grad_out, role="peer")

    def hips(inp):
        return hips_variant(env, program, leaves, consts, grad_out, role="peer")

    return {"mygrad": mygrad, "HIPS autograd": hips}


def cpu_only(env: Env, targets: tuple[Target, ...]) -> tuple[Target, ...]:
    """The issues' targets for A, B and D are CPU targets; on CUDA the ratios are reported."""
    return targets if env.name == "cpu" else ()


def compiled_target(env: Env, what: str, cpu: float, reference: str = "torch") -> Target:
    """Issue 18's target for ``gpugrad compiled``: ``cpu``× PyTorch eager on the CPU, and
    0.3× PyTorch eager CUDA on a GPU (A, B and D; C has its own)."""
    limit, where = (cpu, "PyTorch") if env.name == "cpu" else (0.3, "PyTorch CUDA")
    return Target("gpugrad compiled", reference, limit, f"{what} compiled ≤ {limit}× {where}")


def _repeat(settings: Settings, rounds: int, inner: int) -> dict:
    return {"rounds": 1, "inner": 1} if settings.quick else {"rounds": rounds, "inner": inner}


# --- A: the seed notebook's scalar programs ---------------------------------------------
def cases_a(env: Env, settings: Settings) -> list[Case]:
    f32 = np.float32

    def sin_sq_by_hand(inp):
        xp = env.xp
        x = env.array(f32(3.0))

        def run():
            y = x * x
            return xp.sin(y), xp.cos(y) * (2 * x)

        return Variant("", run, role="floor", note="derivative written by hand")

    def logistic_by_hand(inp):
        xp = env.xp
        w, b, x, y = (env.array(f32(v)) for v in (1.0, 0.0, 6.7, 0.0))

        def run():
            y_pred = 1 / (1 + xp.exp(-(w * x + b)))
            p = xp.clip(y_pred, P.EPS, 1 - P.EPS)
            loss = -(y * xp.log(p) + (1 - y) * xp.log(1 - p))
            inside = (y_pred >= P.EPS) & (y_pred <= 1 - P.EPS)
            dz = (-(y / p) + (1 - y) / (1 - p)) * inside * y_pred * (1 - y_pred)
            return loss, dz * x, dz

        return Variant("", run, role="floor", note="derivative written by hand")

    common = {"reference": "torch", "floor": "numpy by hand", **_repeat(settings, 21, 100)}
    out = []
    for name, title, program, leaves, consts, by_hand in (
        ("sin_sq", "z = sin(x**2), x=3", lambda o, x: P.sin_sq(x, o), [3.0], [], sin_sq_by_hand),
        (
            "logistic_bce",
            "notebook logistic unit + clamped BCE (w, b leaves; x=6.7, y=0)",
            lambda o, w, b, x, y: P.logistic_bce(w, b, x, y, o),
            [1.0, 0.0],
            [6.7, 0.0],
            logistic_by_hand,
        ),
    ):
        leaves = [f32(v) for v in leaves]
        consts = [f32(v) for v in consts]
        args = (program, leaves, consts)
        builders = {
            "gpugrad": lambda inp, a=args: tape_variant(gg_tape(env), *a, role="subject"),
            **compiled_builders(env, settings, lambda inp, a=args: (*a, None)),
            "torch": lambda inp, a=args: tape_variant(torch_tape(env), *a, role="reference"),
            "numpy by hand": by_hand,
            **peers(env, *args),
        }
        out.append(
            Case(
                "A",
                name,
                f"{title}; forward + backward, 0-d float32",
                env.name,
                make_inputs=lambda: None,
                builders=builders,
                targets=(
                    *cpu_only(env, (Target("gpugrad", "torch", 0.35, "A ≤ 0.35× PyTorch"),)),
                    compiled_target(env, f"A {name}", 0.15),
                ),
                compiled=Compiled("torch"),
                rtol=1e-5,
                sync=env.sync,
                **common,
            )
        )
    return out


# --- B: per-op overhead, a 100-op elementwise chain --------------------------------------
def _chain_by_hand(env: Env, inp: Any) -> Variant:
    xp = env.xp
    x, ones = env.array(inp.x), env.array(inp.ones)
    sin, cos, exp, maximum, minimum, equal = (
        xp.sin,
        xp.cos,
        xp.exp,
        xp.maximum,
        xp.minimum,
        xp.equal,
    )

    def run():
        h = x
        saved = []
        for _ in range(P.CHAIN_CYCLES):
            a = h * 0.5 + 0.25
            s = sin(a)
            c = minimum(maximum(s, -1.0), 1.0)
            h = exp(c)
            saved.append((a, equal(c, s), h))  # clamp passes the gradient where c == s
        g = ones
        for a, inside, e in reversed(saved):
            g = g * e * inside  # exp, then clamp
            g = g * cos(a) * 0.5  # sin, add, mul
        return h, g

    return Variant("", run, role="floor", note="forward and backward written by hand")


def cases_b(env: Env, settings: Settings) -> list[Case]:
    program = lambda o, x: P.chain(x, o)
    out = []
    for n in (1, 1000):

        def inputs(n=n):
            rng = np.random.default_rng(1)
            return SimpleNamespace(
                x=rng.random(n, dtype=np.float32), ones=np.ones(n, dtype=np.float32)
            )

        def tape_builder(tape_of, role):
            def build(inp):
                return tape_variant(tape_of(env), program, [inp.x], [], inp.ones, role=role)

            return build

        def peer_builder(label):
            return lambda inp: peers(env, program, [inp.x], [], inp.ones)[label](inp)

        targets = cpu_only(env, (Target("gpugrad", "torch", 0.5, "B ≤ 0.5× PyTorch per op"),))
        if n == 1000:
            targets += (compiled_target(env, f"B n={n} per op", 0.15),)

        out.append(
            Case(
                "B",
                f"n={n}",
                f"{P.CHAIN_OPS}-op elementwise chain (mul, add, sin, clamp, exp) on {n} "
                "float32, forward + backward",
                env.name,
                make_inputs=inputs,
                builders={
                    "gpugrad": tape_builder(gg_tape, "subject"),
                    **compiled_builders(
                        env, settings, lambda inp: (program, [inp.x], [], inp.ones)
                    ),
                    "torch": tape_builder(torch_tape, "reference"),
                    "numpy by hand": partial(_chain_by_hand, env),
                    "mygrad": peer_builder("mygrad"),
                    "HIPS autograd": peer_builder("HIPS autograd"),
                },
                reference="torch",
                floor="numpy by hand",
                per=P.CHAIN_OPS,
                unit="op",
                targets=targets,
                compiled=Compiled("torch"),
                rtol=1e-4,
                sync=env.sync,
                **_repeat(settings, 21, 10),
            )
        )
    return out


# --- C: sigmoid + BCE on large arrays ---------------------------------------------------
def _torch_functional() -> Any:
    import torch.nn.functional

    return torch.nn.functional


def _composed(o: Ops, z: Any, y: Any) -> Any:
    return P.composed_bce_mean(z, y, o)


def _torch_composed(z: Any, y: Any) -> Any:
    return P.composed_bce_mean(z, y, torch_ops())


def _bce_naive(env: Env, inp: Any) -> Variant:
    """NumPy/CuPy composed op by op, forward and backward, fresh temporaries."""
    xp = env.xp
    z, y = env.array(inp.z), env.array(inp.y)
    scale = 1 / z.size

    def run():
        p = 1 / (1 + xp.exp(-z))
        pc = xp.clip(p, P.EPS, 1 - P.EPS)
        loss = xp.mean(-(y * xp.log(pc) + (1 - y) * xp.log(1 - pc)))
        g = -xp.full_like(z, scale)
        g = g * y / pc - g * (1 - y) / (1 - pc)
        g = g * ((p >= P.EPS) & (p <= 1 - P.EPS))
        return loss, g * p * (1 - p)

    return Variant("", run, role="other", note="composed, fresh temporaries")


def _bce_out(env: Env, inp: Any) -> Variant:
    """NumPy/CuPy by hand into preallocated buffers (``out=``): the stable logits form,
    loss = mean(max(z, 0) - z*y + log(1 + exp(-|z|))), grad = (sigmoid(z) - y) / n, with
    sigmoid(z) = 0.5 + sign(z) * (1 / (1 + exp(-|z|)) - 0.5): one exp and one log.
    (``log(1 + e)`` rather than ``log1p(e)``: NumPy's float32 log1p is not vectorized and
    was 5× slower than log here; the loss differs by < 1e-7 per element.)"""
    xp = env.xp
    z, y = env.array(inp.z), env.array(inp.y)
    n = z.size
    e, g = xp.empty_like(z), xp.empty_like(z)

    def run():
        xp.abs(z, out=e)
        xp.negative(e, out=e)
        xp.exp(e, out=e)
        xp.add(e, 1, out=e)  # e = 1 + exp(-|z|)
        loss = xp.log(e, out=g).sum()
        loss += xp.maximum(z, 0, out=g).sum()
        loss -= xp.multiply(z, y, out=g).sum()
        xp.divide(1, e, out=e)
        xp.subtract(e, 0.5, out=e)  # sigmoid(|z|) - 0.5
        xp.sign(z, out=g)
        xp.multiply(g, e, out=g)
        xp.add(g, 0.5, out=g)  # sigmoid(z)
        xp.subtract(g, y, out=g)
        xp.multiply(g, 1 / n, out=g)
        return loss / n, g

    return Variant("", run, role="floor", note="by hand, preallocated out= buffers, one exp")


def _copy_floor(env: Env, inp: Any) -> Variant:
    import torch

    z, y = env.torch(inp.z), env.torch(inp.y)
    bz, by = torch.empty_like(z), torch.empty_like(y)

    def run():
        bz.copy_(z)
        by.copy_(y)

    threads = f"{torch.get_num_threads()} threads" if env.name == "cpu" else "device copy"
    note = f"memory floor: copy of z and y (torch .copy_, {threads})"
    return Variant("", run, role="memory", note=note, checked=False)


def _gg_bce(env: Env, composed_only: bool, inp: Any) -> Variant:
    fused, how = gg_fused_bce()
    tape = gg_tape(env)
    if composed_only:
        if fused is None:
            raise Unavailable("same program as 'gpugrad' here (it has no fused BCE)")
        return tape_variant(tape, _composed, [inp.z], [inp.y], note="composed ops")
    if fused is None:
        note = f"composed ops ({how})"
        return tape_variant(tape, _composed, [inp.z], [inp.y], role="subject", note=note)
    program = lambda o, z, y: fused(z, y)
    return tape_variant(tape, program, [inp.z], [inp.y], role="subject", note=how)


NATIVE = "gpugrad native"


def cpu_native(env: Env, builder: Any) -> dict:
    """``{NATIVE: builder}`` on the CPU: the same gpugrad variant, run with the fused
    kernels' native build (``gg.set_cpu_kernels("native")`` around each call)."""
    if env.name != "cpu":
        return {}

    def build(inp: Any) -> Variant:
        import gpugrad as gg

        before = gg.get_cpu_kernels()
        try:
            gg.set_cpu_kernels("native")  # built once per machine, loaded once per process
        except RuntimeError as e:
            raise Unavailable(f"native CPU kernels do not build here: {e}") from e
        finally:
            gg.set_cpu_kernels(before)
        variant = builder(inp)
        inner = variant.run

        def run():
            before = gg.get_cpu_kernels()
            gg.set_cpu_kernels("native")
            try:
                return inner()
            finally:
                gg.set_cpu_kernels(before)

        note = f"{variant.note}; native CPU kernels" if variant.note else "native CPU kernels"
        return replace(variant, run=run, note=note)

    return {NATIVE: build}


def cases_c(env: Env, settings: Settings) -> list[Case]:
    if settings.quick:
        sizes = (1_000, 10_000)
    elif env.name == "cuda":
        sizes = (1_000_000, 10_000_000, 100_000_000)
    else:
        sizes = (1_000_000, 10_000_000)
    xp_name = "numpy" if env.name == "cpu" else "cupy"
    reference = "torch bce_with_logits"
    out = []
    for n in sizes:

        def inputs(n=n):
            rng = np.random.default_rng(2)
            z = rng.standard_normal(n, dtype=np.float32)
            y = (rng.random(n, dtype=np.float32) < 0.5).astype(np.float32)
            return SimpleNamespace(z=z, y=y)

        def torch_builder(program, role="torch"):
            return lambda inp: tape_variant(torch_tape(env), program, [inp.z], [inp.y], role=role)

        if env.name == "cuda":
            targets = {
                100_000_000: (
                    Target("gpugrad", "copy", 1.3, "C GPU ≤ 1.3× a device copy at 100M"),
                    Target("gpugrad", reference, 1.0, "C GPU ≤ 1.0× bce_with_logits at 100M"),
                    Target(
                        "gpugrad compiled",
                        "copy",
                        1.3,
                        "C GPU composed, compiled ≤ 1.3× a device copy at 100M",
                    ),
                ),
            }.get(n, ())
        else:
            limit = {1_000_000: 1.0, 10_000_000: 0.5}.get(n)
            targets = tuple(
                Target(
                    subject,
                    reference,
                    limit,
                    f"C{how} ≤ {limit}× bce_with_logits at {_size_name(n)}",
                )
                for subject, how in (("gpugrad", ""), (NATIVE, " native"))
                if limit is not None
            )
            if n == 10_000_000:
                targets += (
                    Target(
                        "gpugrad compiled",
                        reference,
                        0.3,
                        "C composed, compiled ≤ 0.3× bce_with_logits at 10M",
                    ),
                )
        if env.name == "cuda":
            repeat = _repeat(settings, 15, 5 if n <= 10_000_000 else 1)
        else:
            repeat = _repeat(settings, 11 if n <= 1_000_000 else 5, 1)
        out.append(
            Case(
                "C",
                f"n={_size_name(n)}",
                f"sigmoid + BCE, forward (mean) + backward, {_size_name(n)} float32",
                env.name,
                make_inputs=inputs,
                builders={
                    "gpugrad": partial(_gg_bce, env, False),
                    **cpu_native(env, partial(_gg_bce, env, False)),
                    "gpugrad composed": partial(_gg_bce, env, True),
                    **compiled_builders(env, settings, lambda inp: (_composed, [inp.z], [inp.y])),
                    "torch composed": torch_builder(_composed),
                    "torch F.bce(sigmoid)": torch_builder(
                        lambda o, z, y: _torch_functional().binary_cross_entropy(o.sigmoid(z), y)
                    ),
                    reference: torch_builder(
                        lambda o, z, y: _torch_functional().binary_cross_entropy_with_logits(z, y),
                        "reference",
                    ),
                    f"{xp_name} naive": partial(_bce_naive, env),
                    f"{xp_name} out=": partial(_bce_out, env),
                    "copy": partial(_copy_floor, env),
                },
                reference=reference,
                floor=f"{xp_name} out=",
                targets=targets,
                compiled=Compiled(reference, eager="gpugrad composed"),
                rtol=1e-4,
                sync=env.sync,
                **repeat,
            )
        )
    return out


# --- D: training steps on the breast-cancer data -----------------------------------------
def _breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_breast_cancer
    except ImportError as e:
        raise Unavailable("scikit-learn is not installed (pip install scikit-learn)") from e

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.astype(np.float32), y.astype(np.float32).reshape(-1, 1)


def _initial_weights(model: str, n_in: int) -> list[np.ndarray]:
    """The same starting point for every library (NumPy, seeded, float32)."""
    rng = np.random.default_rng(3)
    f32 = np.float32
    if model == "logistic":
        return [rng.normal(0, 0.1, (n_in, 1)).astype(f32), np.zeros(1, f32)]
    hidden = 64
    a1, a2 = 1 / np.sqrt(n_in), 1 / np.sqrt(hidden)
    return [
        rng.uniform(-a1, a1, (n_in, hidden)).astype(f32),
        np.zeros(hidden, f32),
        rng.uniform(-a2, a2, (hidden, 1)).astype(f32),
        np.zeros(1, f32),
    ]


def train_step(no_grad: Any, ops: Ops, logits: Any, loss: Any) -> Any:
    """The user's training step, written once for gpugrad and PyTorch: forward, loss,
    backward, a hand-written SGD update under ``no_grad``, then the gradients dropped.
    ``step(X, y, *params)`` returns the loss.

    (The gradients are dropped after the update loop, not inside it: PyTorch 2.13's
    ``torch.compile`` of ``for p in params: p -= lr * p.grad; p.grad = None`` computes
    the third step wrong on the CPU, diverging to NaN within 10 steps.)"""

    def step(X, y, *params):
        value = loss(logits(X, params, ops), y)
        value.backward()
        with no_grad():
            for p in params:
                p -= LR * p.grad
        for p in params:
            p.grad = None
        return value

    return step


def _train_variant(
    env: Env, logits: Any, library: str, loss: str, compiled: Settings | None, inp: Any
) -> Variant:
    """:func:`train_step` in gpugrad or PyTorch (``loss``: ``"composed"``, the seed's
    clamped BCE, or ``"with_logits"``, PyTorch's fused one), eager, or compiled when
    ``compiled`` (the run's settings) is given. The parameters are updated in place and
    reset in place, so a compiled step always sees the same tensors."""
    if library == "gpugrad":
        import gpugrad as lib

        if not gg_has_inplace_sub():
            raise Unavailable("this gpugrad has no in-place w -= lr * w.grad")
        ops, tensor = gg_ops(), env.gg
    else:
        import torch as lib

        ops, tensor = torch_ops(), env.torch
    if loss == "composed":
        loss_fn = partial(_composed, ops)
    else:
        loss_fn = _torch_functional().binary_cross_entropy_with_logits
    X, y = tensor(inp.X), tensor(inp.y)
    params = [tensor(p, requires_grad=True) for p in inp.init]
    initial = [tensor(p) for p in inp.init]

    def reset():
        with lib.no_grad():
            for p, p0 in zip(params, initial):
                p.copy_(p0)
                p.grad = None

    step = train_step(lib.no_grad, ops, logits, loss_fn)
    role = ("subject" if compiled is not None else "other") if library == "gpugrad" else "torch"
    note = "composed BCE" if loss == "composed" else "bce_with_logits"
    if compiled is not None:
        return compiled_variant(
            env, library, compiled, step, (X, y, *params), reset, note=note, role=role
        )
    args = (X, y, *params)
    return Variant("", lambda: step(*args), role=role, reset=reset, note=note)


def _gg_train(env: Env, logits: Any, inp: Any) -> Variant:
    import gpugrad as gg

    ops = gg_ops()
    X, y = env.gg(inp.X), env.gg(inp.y)
    fused, how = gg_fused_bce()
    inplace = gg_has_inplace_sub()
    params: list[Any] = []

    def reset():
        params[:] = [env.gg(p, requires_grad=True) for p in inp.init]

    def run():
        z = logits(X, params, ops)
        loss = fused(z, y) if fused is not None else _composed(ops, z, y)
        loss.backward()
        with gg.no_grad():
            if inplace:
                for p in params:
                    p -= LR * p.grad
                    p.grad = None
            else:
                params[:] = [p - LR * p.grad for p in params]
        if not inplace:
            for p in params:
                p.requires_grad_()
        return loss

    loss_note = how if fused is not None else f"composed BCE ({how})"
    update = "w -= lr * w.grad under no_grad" if inplace else "leaves rebuilt under no_grad"
    return Variant("", run, role="subject", reset=reset, note=f"{loss_note}; {update}")


def _hand_train(env: Env, model: str, inp: Any) -> Variant:
    xp = env.xp
    X, y = env.array(inp.X), env.array(inp.y)
    initial = [env.array(p) for p in inp.init]
    params = [env.array(p) for p in inp.init]
    scale = 1 / X.shape[0]
    Xt = X.T

    def reset():
        for p, p0 in zip(params, initial):
            p[...] = p0

    def loss_and_dz(z):
        p = 1 / (1 + xp.exp(-z))
        pc = xp.clip(p, P.EPS, 1 - P.EPS)
        loss = -xp.mean(y * xp.log(pc) + (1 - y) * xp.log(1 - pc))
        return loss, (p - y) * scale  # exact while no prediction is clamped

    if model == "logistic":
        w, b = params

        def run():
            loss, dz = loss_and_dz(X @ w + b)
            xp.subtract(w, LR * (Xt @ dz), out=w)
            xp.subtract(b, LR * dz.sum(axis=0), out=b)
            return loss

    else:
        W1, b1, W2, b2 = params

        def run():
            h = xp.tanh(X @ W1 + b1)
            loss, dz = loss_and_dz(h @ W2 + b2)
            da = (dz @ W2.T) * (1 - h * h)
            xp.subtract(W2, LR * (h.T @ dz), out=W2)
            xp.subtract(b2, LR * dz.sum(axis=0), out=b2)
            xp.subtract(W1, LR * (Xt @ da), out=W1)
            xp.subtract(b1, LR * da.sum(axis=0), out=b1)
            return loss

    return Variant("", run, role="floor", reset=reset, note="forward and backward by hand")


def _mygrad_train(env: Env, logits: Any, inp: Any) -> Variant:
    if env.name != "cpu":
        raise Unavailable("mygrad runs on the CPU only")
    mg, o = optional("mygrad"), mygrad_ops()
    params: list[Any] = []

    def reset():
        params[:] = [mg.tensor(p) for p in inp.init]

    def run():
        loss = _composed(o, logits(inp.X, params, o), inp.y)
        loss.backward()
        params[:] = [mg.tensor(p.data - LR * p.grad) for p in params]
        return loss

    return Variant("", run, role="peer", reset=reset, note="composed BCE")


def _hips_train(env: Env, logits: Any, inp: Any) -> Variant:
    if env.name != "cpu":
        raise Unavailable("HIPS autograd runs on the CPU only")
    ag, o = optional("autograd"), autograd_ops()
    value_and_grad = ag.value_and_grad(lambda ps: _composed(o, logits(inp.X, ps, o), inp.y))
    params: list[Any] = []

    def reset():
        params[:] = [p.copy() for p in inp.init]

    def run():
        loss, grads = value_and_grad(params)
        params[:] = [p - LR * g for p, g in zip(params, grads)]
        return loss

    return Variant("", run, role="peer", reset=reset, note="composed BCE")


def cases_d(env: Env, settings: Settings) -> list[Case]:
    # gpugrad runs its fused loss where it has one (an older commit measured with
    # --baseline may not: it then runs the composed loss, and its note says so)
    reference = "torch bce_with_logits"
    steps = 10 if settings.quick else TRAIN_CHECK_STEPS
    out = []
    for model, logits, title, target, compiled_limit in (
        ("logistic", P.logistic_logits, "logistic regression 30→1", 0.5, 0.3),
        ("mlp", P.mlp_logits, "MLP 30→64 tanh→1", 0.8, 0.8),
    ):
        compiled_targets = (compiled_target(env, f"D {model}", compiled_limit, "torch composed"),)
        if model == "mlp" and env.name == "cpu":  # NumPy's matrix products bound this one
            compiled_targets += (
                Target(
                    "gpugrad compiled",
                    "numpy by hand",
                    1.1,
                    "D mlp compiled ≤ 1.1× the same step by hand in NumPy",
                ),
            )

        def inputs(model=model):
            X, y = _breast_cancer()
            return SimpleNamespace(X=X, y=y, init=_initial_weights(model, X.shape[1]))

        out.append(
            Case(
                "D",
                model,
                f"{title}, breast-cancer data (569×30, standardized), full-batch SGD step "
                f"(lr {LR}), float32",
                env.name,
                make_inputs=inputs,
                builders={
                    "gpugrad": partial(_gg_train, env, logits),
                    **cpu_native(env, partial(_gg_train, env, logits)),
                    "gpugrad composed": partial(
                        _train_variant, env, logits, "gpugrad", "composed", None
                    ),
                    "gpugrad compiled": partial(
                        _train_variant, env, logits, "gpugrad", "composed", settings
                    ),
                    "torch composed": partial(
                        _train_variant, env, logits, "torch", "composed", None
                    ),
                    "torch bce_with_logits": partial(
                        _train_variant, env, logits, "torch", "with_logits", None
                    ),
                    "torch.compile": partial(
                        _train_variant, env, logits, "torch", "composed", settings
                    ),
                    "numpy by hand": partial(_hand_train, env, model),
                    "mygrad": partial(_mygrad_train, env, logits),
                    "HIPS autograd": partial(_hips_train, env, logits),
                },
                reference=reference,
                floor="numpy by hand",
                unit="step",
                targets=cpu_only(
                    env,
                    tuple(
                        Target(subject, reference, target, f"D {model}{how} ≤ {target}× PyTorch")
                        for subject, how in (("gpugrad", ""), (NATIVE, " native"))
                    ),
                )
                + compiled_targets,
                compiled=Compiled("torch composed", eager="gpugrad composed"),
                # one more step than the updates, so the last loss is the one after them
                check_steps=steps + 1,
                rtol=1e-3,
                sync=env.sync,
                **_repeat(settings, 21, 20),
            )
        )
    return out


FACTORIES = {"A": cases_a, "B": cases_b, "C": cases_c, "D": cases_d}


def cases(only: str = "ABCD", device: str = "all", settings: Settings | None = None) -> list[Case]:
    """Every case of the chosen workloads on every available device (CPU first)."""
    settings = settings or Settings()
    unknown = set(only) - set(FACTORIES)
    if unknown:
        raise ValueError(f"unknown workload(s) {sorted(unknown)}; choose from {list(FACTORIES)}")
    return [
        case
        for env in envs(device)
        for workload in FACTORIES
        if workload in only
        for case in FACTORIES[workload](env, settings)
    ]


def find_case(workload: str, device: str, name: str, settings: Settings) -> Case:
    """One case, made on ``device`` as given (a measuring process asks no library which
    devices exist: it has been told)."""
    for case in FACTORIES[workload](Env(device), settings):
        if case.name == name:
            return case
    raise KeyError(f"no case {workload} {name} [{device}]")


# --- E: einsum contractions, forward + backward (issue 16) ------------------------------
EINSUM_CASES = (
    ("matmul", "ij,jk->ik", ((256, 256), (256, 256))),
    ("batched_attention", "bhqd,bhkd->bhqk", ((8, 4, 64, 32), (8, 4, 64, 32))),
    ("chain3", "ij,jk,kl->il", ((64, 512), (512, 32), (32, 512))),
    ("bilinear", "bn,anm,bm->ba", ((64, 32), (16, 32, 32), (64, 32))),
)


def _einsum_variant(env: Env, library: str, equation: str, inp: Any, role: str) -> Variant:
    """``einsum(equation, *leaves).sum()`` forward + backward; gradients dropped each time."""
    module = __import__("gpugrad" if library == "gpugrad" else "torch")
    make = env.gg if library == "gpugrad" else env.torch
    xs = [make(h, requires_grad=True) for h in inp]

    def run():
        for x in xs:
            x.grad = None
        out = module.einsum(equation, *xs).sum()
        out.backward()
        return (out, *[x.grad for x in xs])

    return Variant("", run, role=role)


def _einsum_by_hand(env: Env, equation: str, inp: Any) -> Variant:
    """NumPy/CuPy ``einsum(optimize=True)`` forward only: the floor for the forward half."""
    xp = env.xp
    arrays = [env.array(h) for h in inp]

    def run():
        return (xp.einsum(equation, *arrays, optimize=True).sum(),)

    return Variant("", run, role="floor", note="forward only; no gradient")


def cases_e(env: Env, settings: Settings) -> list[Case]:
    rng = np.random.default_rng(16)
    out = []
    for name, equation, shapes in EINSUM_CASES:
        if settings.quick:
            shapes = tuple(tuple(min(n, 8) for n in s) for s in shapes)
        inputs = partial(
            lambda shapes: [rng.standard_normal(s).astype(np.float32) for s in shapes], shapes
        )
        out.append(
            Case(
                "E",
                name,
                f"einsum {equation!r} on {' , '.join('×'.join(map(str, s)) for s in shapes)}; "
                "forward + backward (sum), float32",
                env.name,
                make_inputs=inputs,
                builders={
                    "gpugrad": partial(_einsum_variant, env, "gpugrad", equation, role="subject"),
                    "torch": partial(_einsum_variant, env, "torch", equation, role="reference"),
                    "numpy by hand": partial(_einsum_by_hand, env, equation),
                },
                reference="torch",
                floor="numpy by hand",
                rtol=1e-3,
                atol=1e-3,
                sync=env.sync,
                **_repeat(settings, 11, 5),
            )
        )
    return out


FACTORIES["E"] = cases_e


# ===========================================================================================
# --- L: layers (issue 17): a conv block, LayerNorm + causal self-attention, an LSTM --------
# ===========================================================================================
# The same module is built from each library's own ``nn`` (gpugrad's mirrors PyTorch's), in
# each library's own measuring process; its parameters are drawn from one seeded NumPy
# stream in ``named_parameters()`` order, so both processes hold the same weights. One
# iteration: forward, ``(out * out).mean()``, backward; it returns the loss and the
# gradients of the input and of the first parameter.
def _conv_block(lib: Any) -> Any:
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2)
    )


def _attention_block(lib: Any, width: int = 128, heads: int = 4) -> Any:
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln = nn.LayerNorm(width)
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)

        def forward(self, x: Any) -> Any:
            b, t, c = x.shape
            q, k, v = (
                z.reshape(b, t, heads, c // heads).transpose(1, 2)
                for z in self.qkv(self.ln(x)).split(c, dim=2)
            )
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return x + self.proj(y.transpose(1, 2).reshape(b, t, c))

    return Block()


def _lstm(lib: Any) -> Any:
    return _LSTMOutput(lib.nn.LSTM(64, 128))


class _LSTMOutput:
    """``lstm(x)[0]``: the LSTM's output sequence, as a plain callable module wrapper."""

    def __init__(self, lstm: Any) -> None:
        self.lstm = lstm

    def named_parameters(self) -> Any:
        return self.lstm.named_parameters()

    def to(self, device: str) -> _LSTMOutput:
        self.lstm.to(device)
        return self

    def __call__(self, x: Any) -> Any:
        return self.lstm(x)[0]


def _layer_variant(env: Env, library: str, make_module: Any, inp: Any) -> Variant:
    if library == "gpugrad":
        import gpugrad as lib

        tensor, role = env.gg, "subject"
    else:
        import torch as lib

        tensor, role = env.torch, "reference"
    module = make_module(lib).to(env.name)
    rng = np.random.default_rng(17)
    params = []
    with lib.no_grad():
        for _, p in module.named_parameters():
            values = rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.2
            p.copy_(tensor(values))
            params.append(p)
    x = tensor(inp.x, requires_grad=True)

    def run():
        x.grad = None
        for p in params:
            p.grad = None
        out = module(x)
        loss = (out * out).mean()
        loss.backward()
        return loss, x.grad, params[0].grad

    return Variant("", run, role=role)


LAYER_CASES = (
    # name, module, input shape, CPU target, title
    ("conv-block", _conv_block, (64, 3, 32, 32), 2.0,
     "Conv2d(3→16, 3×3) + BatchNorm2d + ReLU + MaxPool2d(2) on (64, 3, 32, 32)"),
    ("attention", _attention_block, (16, 128, 128), 1.5,
     "LayerNorm + causal self-attention (4 heads, SDPA) + residual on (16, 128, 128)"),
    ("lstm", _lstm, (32, 16, 64), 1.5,
     "LSTM(64→128) over a 32-step sequence, batch 16"),
)  # fmt: skip


def cases_l(env: Env, settings: Settings) -> list[Case]:
    out = []
    for name, make_module, shape, cpu_target, title in LAYER_CASES:
        if settings.quick:  # tiny: a quarter of the batch
            shape = (max(1, shape[0] // 4), *shape[1:]) if name != "lstm" else (8, 4, 64)

        def inputs(shape=shape):
            return SimpleNamespace(x=np.random.default_rng(2).standard_normal(shape, np.float32))

        target = cpu_target if env.name == "cpu" else 1.3
        out.append(
            Case(
                "L",
                name,
                f"{title}, float32, forward + backward",
                env.name,
                make_inputs=inputs,
                builders={
                    "gpugrad": partial(_layer_variant, env, "gpugrad", make_module),
                    "torch": partial(_layer_variant, env, "torch", make_module),
                },
                reference="torch",
                targets=(Target("gpugrad", "torch", target, f"L {name} ≤ {target}× PyTorch"),),
                rtol=2e-3,
                atol=1e-5,
                sync=env.sync,
                **_repeat(settings, 11, 3),
            )
        )
    return out


FACTORIES["L"] = cases_l


# === I: embedding-style index_select / gather, forward + backward ========================
# (a block of its own: other workloads are added in blocks of their own)
EMBEDDING_ROWS, EMBEDDING_DIM, EMBEDDING_LOOKUPS = 50_000, 64, 32_768


def _embedding_inputs(settings: Settings) -> SimpleNamespace:
    rows, dim, lookups = (
        (100, 8, 64) if settings.quick else (EMBEDDING_ROWS, EMBEDDING_DIM, EMBEDDING_LOOKUPS)
    )
    rng = np.random.default_rng(5)
    index = rng.integers(0, rows, lookups)
    return SimpleNamespace(
        weight=rng.standard_normal((rows, dim), dtype=np.float32),
        index=index,
        index_2d=np.ascontiguousarray(np.broadcast_to(index[:, None], (lookups, dim))),
        grad_out=rng.standard_normal((lookups, dim), dtype=np.float32),
        index_free=rng.integers(0, rows, (lookups, dim)),  # a row per element: no whole rows
    )


def _embedding_tape(env: Env, library: str, how: str, inp: Any) -> Variant:
    """``weight.index_select(0, index)`` (or ``weight.gather(0, index_2d)``), then backward
    of a given output gradient, in gpugrad or PyTorch."""
    to = env.gg if library == "gpugrad" else env.torch
    weight = to(inp.weight, requires_grad=True)
    index = to({"index_select": inp.index, "gather": inp.index_2d}.get(how, inp.index_free))
    grad_out = to(inp.grad_out)

    def run():
        weight.grad = None
        out = weight.index_select(0, index) if how == "index_select" else weight.gather(0, index)
        out.backward(grad_out)
        return out, weight.grad

    role = "subject" if library == "gpugrad" else "reference"
    return Variant("", run, role=role)


def _embedding_by_hand(env: Env, scatter: str, inp: Any) -> Variant:
    """NumPy/CuPy by hand: ``take`` forward; the gradient scattered with ``bincount``
    (gpugrad's CPU path; CuPy's ``scatter_add`` on CUDA) or with ``add.at``."""
    xp = env.xp
    weight, index, grad_out = env.array(inp.weight), env.array(inp.index), env.array(inp.grad_out)
    rows, dim = weight.shape
    columns = xp.arange(dim)

    free = env.array(inp.index_free)

    def run():
        if scatter == "elementwise":  # gather with an index that varies along dim 1
            positions = (free * dim + columns).reshape(-1)
            out = xp.take(weight.reshape(-1), positions).reshape(free.shape)
            flat = xp.bincount(positions, weights=grad_out.reshape(-1), minlength=rows * dim)
            return out, flat.astype(weight.dtype).reshape(rows, dim)
        out = xp.take(weight, index, axis=0)
        if scatter == "add.at":
            grad = xp.zeros_like(weight)
            if env.name == "cuda":
                import cupyx

                cupyx.scatter_add(grad, index, grad_out)
            else:
                xp.add.at(grad, index, grad_out)
        else:
            positions = (index[:, None] * dim + columns).reshape(-1)
            flat = xp.bincount(positions, weights=grad_out.reshape(-1), minlength=rows * dim)
            grad = flat.astype(weight.dtype).reshape(rows, dim)
        return out, grad

    role = "floor" if scatter in ("bincount", "elementwise") else "other"
    note = "flat take + bincount" if scatter == "elementwise" else f"take + {scatter} scatter-add"
    return Variant("", run, role=role, note=note)


def cases_i(env: Env, settings: Settings) -> list[Case]:
    out = []
    for how in ("index_select", "gather", "gather_free"):
        by_hand = {"numpy by hand": partial(_embedding_by_hand, env, "bincount")}
        if how == "gather_free":
            by_hand = {"numpy by hand": partial(_embedding_by_hand, env, "elementwise")}
        else:
            by_hand["numpy add.at"] = partial(_embedding_by_hand, env, "add.at")
        what = (
            f"embedding-style weight.{how}(0, index)"
            if how != "gather_free"
            else "weight.gather(0, index) with an index that varies along dim 1"
        )
        out.append(
            Case(
                "I",
                how,
                f"{what} on a {EMBEDDING_ROWS}×{EMBEDDING_DIM} "
                f"float32 table, {EMBEDDING_LOOKUPS} lookups, forward + backward",
                env.name,
                make_inputs=partial(_embedding_inputs, settings),
                builders={
                    "gpugrad": partial(_embedding_tape, env, "gpugrad", how),
                    "torch": partial(_embedding_tape, env, "torch", how),
                    **by_hand,
                },
                reference="torch",
                floor="numpy by hand",
                rtol=1e-4,
                atol=1e-4,
                sync=env.sync,
                **_repeat(settings, 11, 1),
            )
        )
    return out


FACTORIES["I"] = cases_i
