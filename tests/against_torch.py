"""Checks that gpugrad answers as PyTorch does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def assert_raises_like_torch(ours: Callable[[], Any], theirs: Callable[[], Any]) -> None:
    """``ours()`` raises the exception class ``theirs()`` (PyTorch) raises, with its text
    (``torch.`` read as ``gpugrad.``)."""
    with pytest.raises(Exception) as torch_raised:
        theirs()
    with pytest.raises(Exception) as raised:
        ours()
    assert type(raised.value) is type(torch_raised.value), (raised.value, torch_raised.value)
    assert str(raised.value) == str(torch_raised.value).replace("torch.", "gpugrad.")
