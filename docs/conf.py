"""Sphinx configuration: gpugrad's API reference from its docstrings (autodoc).

Build it with ``nox -s docs`` or ``sphinx-build -W -b html docs build/docs``
(warnings are errors). It imports the gpugrad of this checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gpugrad  # noqa: E402

project = "gpugrad"
author = "gpugrad contributors"
release = version = gpugrad.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
exclude_patterns: list[str] = []
html_theme = "alabaster"
html_static_path: list[str] = []
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Optional libraries that the documented modules import lazily; never needed to build.
autodoc_mock_imports = ["cupy", "mpi4py", "graphviz"]
