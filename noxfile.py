"""Contributors' sessions, the same steps CI runs: ``nox -s tests docs lint bench-quick``.

Each session makes its own virtual environment under ``.nox/`` and installs gpugrad from
this checkout with the extras it needs. On Linux, set
``PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu`` to get PyTorch's CPU-only
build (PyPI's Linux wheel is the CUDA one).
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "docs", "lint"]
nox.options.reuse_existing_virtualenvs = True
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The README's test command: ``python -m pytest -q`` (arguments pass through)."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The API reference, warnings as errors, into build/docs."""
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-q", "-b", "html", "docs", "build/docs")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and actionlint (with ShellCheck) over .github/workflows."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("actionlint")


@nox.session(name="bench-quick")
def bench_quick(session: nox.Session) -> None:
    """Every benchmark once at tiny sizes, as CI runs them."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", "-q", "bench", "--benchmark-disable")
