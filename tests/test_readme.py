"""The README cannot drift: the files it names exist and its ``>>>`` examples run, as do
the examples in gpugrad's docstrings (what the API reference shows)."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path

import pytest

import gpugrad as gg

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

NOT_PATHS = {
    "/": "a separator in prose ('train()/eval()')",
    "NumPy/CuPy": "prose",
    ".venv/bin/activate": "made by the README's first command",
    "train.py": "the user's own script in an mpiexec example",
    "model.npz": "written by the training example",
    "build/docs/index.html": "written by the docs build",
    "build/docs": "the docs build's output folder",
}
"""Tokens in code spans that look like paths but do not name a file of the repository."""

OUTSIDE = ("../", "~", "$", "/", "-")  # outside the repository, per machine, or an option
SKIPPED_DIRS = {".git", "__pycache__", "node_modules", "_build"}


def repository_paths() -> set[str]:
    """Every file and folder of the working tree, as POSIX paths from the root."""
    paths = set()
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if any(p in SKIPPED_DIRS or p.startswith(".venv") for p in parts):
            continue
        paths.add("/".join(parts))
    return paths


def referenced_paths() -> set[str]:
    """Relative link targets, and path-like words in code spans and fenced blocks."""
    found = {t for t in re.findall(r"\]\(([^)\s#]+)", README) if "://" not in t}
    for span in re.findall(r"```.*?```|`[^`\n]+`", README, re.S):
        for token in re.findall(r"[\w.~$<>{}*/-]+", span):
            token = token.rstrip(".,")
            looks_like_file = re.search(r"\.(py|md|txt|json|png|svg|toml|ya?ml|npz)$", token)
            if "/" in token or looks_like_file:
                found.add(token)
    return {
        t
        for t in found
        if t not in NOT_PATHS
        and not t.startswith(OUTSIDE)
        and not re.search(r"[<>{}*]|^\.\w+$", t)  # a template, or only an extension
    }


def exists(reference: str, paths: set[str]) -> bool:
    """A path from the root, or (in the README's tree of the sources) the tail of one."""
    reference = reference.rstrip("/")
    return reference in paths or any(p.endswith("/" + reference) for p in paths)


def test_every_file_the_readme_names_exists():
    paths = repository_paths()
    references = referenced_paths()
    assert {"examples/seed_notebook.py", "tests/test_notebook_cells.py"} <= references
    missing = sorted(r for r in references if not exists(r, paths))
    assert not missing, f"README.md names files that do not exist: {missing}"


def test_the_path_check_catches_a_missing_file():
    assert not exists("tests/test_seed_notebook.py", repository_paths())
    assert exists("_engine.py", repository_paths())


def readme_examples() -> list[tuple[str, str]]:
    """Each fenced ``python`` block of the README holding ``>>>`` examples: (heading, code)."""
    blocks = []
    heading = ""
    for match in re.finditer(r"^(#+ [^\n]*)$|^```python\n(.*?)^```", README, re.M | re.S):
        if match.group(1):
            heading = match.group(1).lstrip("# ")
        elif ">>>" in match.group(2):
            blocks.append((heading, match.group(2)))
    return blocks


def run_doctest(name: str, text: str, globs: dict) -> doctest.TestResults:
    test = doctest.DocTestParser().get_doctest(text, globs, name, "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    return runner.summarize(verbose=False)


@pytest.mark.parametrize("heading,code", readme_examples(), ids=lambda v: v[:20])
def test_readme_examples_run(heading, code, capsys):
    if heading == "Devices" and importlib.util.find_spec("cupy") is not None:
        pytest.skip("the Devices examples show a machine without CuPy")
    result = run_doctest(heading, code, {})
    output = capsys.readouterr().out
    assert result.attempted > 0
    assert result.failed == 0, output


def test_readme_has_doctests_for_the_first_look():
    assert any(heading == "A first look" for heading, _ in readme_examples())


def test_a_drifted_example_fails():
    result = run_doctest("drift", ">>> 1 + 1\n3\n", {})
    assert result.failed == 1


def modules_with_examples() -> list[str]:
    names = ["gpugrad"]
    for module in pkgutil.walk_packages(gg.__path__, "gpugrad."):
        if ".backends" in module.name or module.name.endswith("__main__"):
            continue
        names.append(module.name)
    with_examples = []
    for name in names:
        source = importlib.util.find_spec(name).origin
        if source and ">>>" in Path(source).read_text(encoding="utf-8"):
            with_examples.append(name)
    return with_examples


FRAGMENTS: dict[str, str] = {}
"""Modules whose docstring examples are fragments rather than runnable sessions (to fix in
the docstrings; strict, so a fixed one fails here until it is taken off this list)."""


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=FRAGMENTS[n]))
        if n in FRAGMENTS
        else n
        for n in modules_with_examples()
    ],
)
def test_docstring_examples_run(name, capsys):
    """The reference's examples, with ``import gpugrad as gg`` done, as PyTorch's doctests
    assume ``import torch``."""
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs={"gg": gg}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, capsys.readouterr().out
