"""The CI workflow's structure, checked offline (actionlint checks it too where it can be
installed: .ci/run and the workflow's lint job)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def commands(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_cpu_matrix_covers_three_systems_and_every_supported_python(workflow):
    matrix = workflow["jobs"]["tests"]["strategy"]["matrix"]
    assert matrix["os"] == ["ubuntu-latest", "macos-latest", "windows-latest"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.10"' in pyproject and matrix["python"] == [
        "3.10",
        "3.11",
        "3.12",
        "3.13",
    ]
    assert workflow["jobs"]["tests"]["strategy"]["fail-fast"] is False


def test_cpu_jobs_run_the_readmes_commands_and_ci_run_on_linux(workflow):
    readme = (ROOT / "README.md").read_text()
    job = workflow["jobs"]["tests"]
    assert "python -m pytest -q" in readme and "python -m pytest -q" in commands(job)
    assert 'pip install -e ".[dev]"' in readme and 'pip install -e ".[dev]"' in commands(job)
    linux = [s for s in job["steps"] if s.get("run") == "bash .ci/run"]
    assert len(linux) == 1 and linux[0]["if"] == "runner.os == 'Linux'"


def test_gpu_job_runs_the_gpu_check_on_a_self_hosted_runner_only_when_one_exists(workflow):
    job = workflow["jobs"]["gpu"]
    assert job["runs-on"] == ["self-hosted", "gpu"]
    assert job["if"] == "vars.GPU_RUNNER == 'true'"  # skipped, not queued, without a runner
    assert "scripts/gpu-check gpu-results" in commands(job)
    upload = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload and upload[0]["if"] == "always()"
    assert upload[0]["with"]["path"] == "gpu-results/"
    config = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text())
    assert "gpu" in config["self-hosted-runner"]["labels"]


def test_lint_job_runs_ruff_actionlint_and_the_docs(workflow):
    run = commands(workflow["jobs"]["lint"])
    for command in ("ruff check .", "ruff format --check .", "actionlint", "sphinx-build -W"):
        assert command in run


def test_every_action_is_pinned_and_every_script_exists(workflow):
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]
    text = WORKFLOW.read_text()
    for path in set(re.findall(r"(?:scripts|\.ci|docs)/[\w.-]+", text)):
        assert (ROOT / path).exists(), path


def test_nox_has_the_sessions_the_readme_names():
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                name = node.name
                if isinstance(decorator, ast.Call):
                    for keyword in decorator.keywords:
                        if keyword.arg == "name":
                            name = keyword.value.value
                names.add(name)
    assert {"tests", "docs", "lint", "bench-quick"} <= names
