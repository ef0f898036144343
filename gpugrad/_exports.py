"""The ops ``gpugrad`` exports (``gpugrad.sin``, ``gpugrad.sum`` …), taken from the op
registry; ``_exports.pyi``, generated beside it by ``scripts/gen_stubs.py``, spells them
out for type checkers. The ops PyTorch gives an ``out=`` keyword are exported wrapped to
take it (``_out.accepts_out``); their Tensor methods stay the plain registered functions."""

from ._out import OUT_RULES, accepts_out
from .ops import registry


def _exported() -> dict:
    """The registry's exports, the ``out=`` ones wrapped once per op (an alias is the
    same function as its op: ``gpugrad.arcsin is gpugrad.asin``)."""
    wrapped: dict[int, object] = {}
    exported = {}
    for name, function in registry.exports().items():
        if name in OUT_RULES:
            if id(function) not in wrapped:
                wrapped[id(function)] = accepts_out(name, function)
            function = wrapped[id(function)]
        exported[name] = function
    return exported


globals().update(_exported())
__all__ = sorted(registry.exports())
