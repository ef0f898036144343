"""The ops ``gpugrad`` exports (``gpugrad.sin``, ``gpugrad.sum`` …), taken from the op
registry; ``_exports.pyi``, generated beside it by ``scripts/gen_stubs.py``, spells them
out for type checkers."""

from .ops import registry

globals().update(registry.exports())
__all__ = sorted(registry.exports())
