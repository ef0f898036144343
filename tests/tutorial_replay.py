"""Replaying a PyTorch tutorial program with ``import gpugrad as gg`` in place of torch.

A program is a function ``program(L, device)`` written as the tutorial writes it with
``torch = L``; it prints what the tutorial prints. ``replay`` runs it once with PyTorch (on
the CPU) and once with gpugrad (on ``device``), and ``assert_same_output`` compares what
they printed: the text between numbers must be the same (after reading ``gpugrad.`` as
``torch.``, object addresses as one address and dropping gpugrad's ``device='cuda:0'``),
and the numbers must agree to float tolerance.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gpugrad as gg

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w])")


def normalize(text: str) -> str:
    text = text.replace("gpugrad.", "torch.")
    text = re.sub(r"0x[0-9a-f]+", "0xADDR", text)
    return re.sub(r",\s*device='cuda:\d+'", "", text)


def assert_same_output(
    ours: str,
    theirs: str,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    known_gaps: dict[str, str] | None = None,
) -> None:
    """``ours`` (gpugrad's output) matches ``theirs`` (PyTorch's): line for line, the same
    text between numbers and the numbers equal within ``rtol``/``atol``. ``known_gaps``
    maps text gpugrad prints to PyTorch's where a strict xfail in test_tutorials_gaps.py
    records the difference (a ``grad_fn`` name), so the rest of the program is compared."""
    for gap, torch_text in (known_gaps or {}).items():
        assert gap in ours, f"known gap {gap!r} no longer printed: remove it"
        ours = ours.replace(gap, torch_text)
    ours_lines, theirs_lines = normalize(ours).splitlines(), normalize(theirs).splitlines()
    assert len(ours_lines) == len(theirs_lines), "\n".join(
        ["gpugrad printed:", *ours_lines, "PyTorch printed:", *theirs_lines]
    )
    for number, (line, expected) in enumerate(zip(ours_lines, theirs_lines, strict=True)):
        where = f"line {number}:\n  gpugrad: {line}\n  PyTorch: {expected}"
        assert _skeleton(line) == _skeleton(expected), where
        for text, expected_text in zip(NUMBER.findall(line), NUMBER.findall(expected)):
            value, expected_value = float(text), float(expected_text)
            # a printed value may round the other way in its last digit
            allowed = atol + rtol * abs(expected_value) + _last_digit(expected_text)
            assert abs(value - expected_value) <= allowed, f"{text} != {expected_text} in {where}"


def _last_digit(text: str) -> float:
    """The value of one unit in the last printed digit of the number ``text``."""
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def _skeleton(line: str) -> str:
    """The line with each number replaced by ``#`` and runs of spaces collapsed (a value
    that rounds differently in the last digit may shift PyTorch's column padding)."""
    return re.sub(r" +", " ", NUMBER.sub("#", line))


def replay(
    program: Callable[[Any, str], None], device: str, capsys: pytest.CaptureFixture
) -> tuple[str, str]:
    """What ``program`` printed with gpugrad on ``device`` and with PyTorch on the CPU."""
    torch = pytest.importorskip("torch")
    capsys.readouterr()
    theirs = printed(program, torch, "cpu")
    ours = printed(program, gg, device)
    assert theirs.strip(), "the program printed nothing to compare"
    return ours, theirs


def printed(program: Callable[[Any, str], None], library: Any, device: str) -> str:
    """What ``program(library, device)`` printed: ``sys.stdout`` is redirected for the call
    itself, so output lands here whatever stream earlier code left in ``sys.stdout``."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        program(library, device)
    return buffer.getvalue()


def fill_parameters(L: Any, model: Any, seed: int = 0, scale: float = 0.05) -> None:
    """Give ``model``'s parameters the same seeded values under either library (their own
    initializations draw from different random streams)."""
    rng = np.random.default_rng(seed)
    with L.no_grad():
        for p in model.parameters():
            values = (rng.standard_normal(tuple(p.shape)) * scale).astype(np.float32)
            p.copy_(L.from_numpy(values).to(p.device))
